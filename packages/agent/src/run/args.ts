import { hostname } from 'node:os';
import { basename } from 'node:path';

export const DEFAULT_URL = 'http://127.0.0.1:7070';

export interface RunArgs {
  url: string;
  /** Absent when neither --key nor VIGIL_KEY is given; the local hub's credentials are tried then. */
  key: string | undefined;
  agentId: string;
  name: string;
  agentType: string;
  pool: string | undefined;
  capabilities: string[];
  intervalS: number;
  /** Point the child's OpenTelemetry export at the hub (off with --no-telemetry). */
  telemetry: boolean;
  /** How long to keep trying to deliver buffered reports after the child exits. */
  flushTimeoutS: number;
  command: string;
  args: string[];
}

/** Signals `vigil run` passes on to the command; one sent to `vigil run` makes the exit a planned stop. */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export const RUN_USAGE = `vigil run [options] -- <command> [args...]: run a command and report it to a Vigil hub

The command's stdin and stdout pass through untouched, and its stderr is copied through as it
is written (the last lines are kept for a crash report). The agent registers, sends a "started"
event, heartbeats with the resources of the command's whole process tree, and on exit sends a
"stopped" event for a planned stop, or a "crashed" event and an error log titled with the
exception found in the last stderr lines for a crash. vigil run exits with the command's exit code
(128 + the signal number when a signal ended it). If the hub is unreachable the command still
runs, and reports are delivered when the hub returns.

Signals: ${FORWARDED_SIGNALS.join(', ')} sent to vigil run are forwarded to the command, and
the exit that follows is a planned stop (exit 0 is one too). A non-zero exit, or a death by a
signal nobody sent through vigil run (SIGKILL from the OOM killer, SIGSEGV), is a crash.

Options:
  --url URL            Hub URL (env VIGIL_URL; default ${DEFAULT_URL})
  --key KEY            Agent or pool key (env VIGIL_KEY; default: the local hub's admin token
                       from <VIGIL_DATA_DIR or ./vigil-data>/admin-token when readable)
  --agent-id ID        Agent id (default <host>.<name>, so reruns report as the same agent)
  --name NAME          Display name (default: the command's file name)
  --type TYPE          Agent type (default "process")
  --pool NAME          Pool (default: the hub's "default")
  --capability CAP     A capability; repeat for several
  --interval SECONDS   Heartbeat interval (default 15)
  --flush-timeout S    After the command exits, how long to try delivering reports (default 10)
  --no-telemetry       Leave the command's OpenTelemetry settings alone (by default vigil run points
                       its OTLP export at the hub: CLAUDE_CODE_ENABLE_TELEMETRY, OTEL_* variables
                       the user has not set, and an agent key, never the admin token)
`;

export class RunUsageError extends Error {}

/** Parses `vigil run` arguments; everything after `--` is the command, never interpreted. */
export function parseRunArgs(argv: readonly string[], env: NodeJS.ProcessEnv): RunArgs {
  const sep = argv.indexOf('--');
  const own = sep === -1 ? argv : argv.slice(0, sep);
  const commandLine = sep === -1 ? [] : argv.slice(sep + 1);
  const [command, ...args] = commandLine;
  if (command === undefined || command === '') throw new RunUsageError('missing the command: vigil run [options] -- <command> [args...]');

  const values = new Map<string, string>();
  const capabilities: string[] = [];
  let noTelemetry = false;
  const known = new Set(['--url', '--key', '--agent-id', '--name', '--type', '--pool', '--capability', '--interval', '--flush-timeout']);
  for (let i = 0; i < own.length; i++) {
    const arg = own[i] as string;
    if (arg === '--no-telemetry') {
      noTelemetry = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    if (!known.has(flag)) throw new RunUsageError(`unknown option ${JSON.stringify(flag)} (see vigil run --help)`);
    const value = eq > 0 ? arg.slice(eq + 1) : own[++i];
    if (value === undefined || value === '') throw new RunUsageError(`${flag} needs a value`);
    if (flag === '--capability') capabilities.push(value);
    else values.set(flag, value);
  }

  const url = values.get('--url') ?? env.VIGIL_URL ?? DEFAULT_URL;
  if (!/^https?:\/\/[^\s]+$/i.test(url)) throw new RunUsageError(`--url must be an http:// or https:// URL, not ${JSON.stringify(url)}`);
  const name = values.get('--name') ?? basename(command);
  const agentId = values.get('--agent-id') ?? `${idPart(hostname())}.${idPart(name)}`;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/.test(agentId)) {
    throw new RunUsageError('--agent-id may hold 1-128 of A-Z a-z 0-9 _ . : - and must start with a letter or digit');
  }
  return {
    url: url.replace(/\/+$/, ''),
    key: values.get('--key') ?? env.VIGIL_KEY,
    agentId,
    name,
    agentType: values.get('--type') ?? 'process',
    pool: values.get('--pool'),
    capabilities,
    intervalS: seconds(values.get('--interval') ?? '15', '--interval', 1, 3600),
    telemetry: !noTelemetry,
    flushTimeoutS: seconds(values.get('--flush-timeout') ?? '10', '--flush-timeout', 0, 3600),
    command,
    args,
  };
}

function seconds(raw: string, flag: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new RunUsageError(`${flag} must be a whole number of seconds from ${min} to ${max}`);
  return n;
}

/** Maps a host or command name onto the agent id alphabet. */
function idPart(s: string): string {
  const cleaned = s.replace(/[^A-Za-z0-9_.:-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return (cleaned || 'agent').slice(0, 60);
}
