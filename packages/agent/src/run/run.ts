import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join, resolve } from 'node:path';
import { Collector, toProcessMetrics, toResources } from '../collector/index.js';
import { VigilClient } from '../sdk/index.js';
import { FORWARDED_SIGNALS, type RunArgs } from './args.js';
import { exceptionTitle, findException } from './exception.js';
import { StderrTail } from './stderr-tail.js';
import { revokeTelemetryKey, telemetryEnv, telemetryKey, type TelemetryKey } from './telemetry.js';

export interface RunIo {
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** The wrapper's own process, whose SIGINT/SIGTERM are forwarded to the child. */
  signals: NodeJS.EventEmitter;
}

/**
 * Runs the command as a monitored agent and resolves with the exit code `vigil run` should exit
 * with. Reporting never stands in the command's way: the child starts before the hub answers
 * and runs on whether or not the hub is reachable.
 */
export async function runMonitored(a: RunArgs, io: RunIo): Promise<number> {
  const key = a.key ?? localAdminToken(a.url, io.env, io.cwd);
  const startedAt = Date.now();
  const tail = new StderrTail();
  const note = (message: string) => io.stderr.write(`vigil run: ${message}\n`);

  let childEnv = io.env;
  let telemetry: TelemetryKey = { kind: 'none', reason: 'telemetry setup is off (--no-telemetry)' };
  if (a.telemetry && key !== undefined) {
    telemetry = await telemetryKey(a.url, key, a.agentId);
    if (telemetry.kind === 'none') {
      note(`the command's OpenTelemetry is not pointed at the hub: ${telemetry.reason}`);
    } else {
      const setup = telemetryEnv(io.env, { url: a.url, agentId: a.agentId, key: telemetry.key, intervalS: a.intervalS });
      childEnv = setup.env;
      if (telemetry.kind === 'minted')
        note(`an agent key for ${a.agentId} was created for the command's OpenTelemetry export (revoked when it ends)`);
      if (setup.set.length > 0) note(`OpenTelemetry export to ${a.url} set up (${setup.set.join(', ')})`);
    }
  }

  let child: ChildProcess;
  try {
    // No shell: the command and its arguments reach the program exactly as given.
    child = spawn(a.command, a.args, { stdio: ['inherit', 'inherit', 'pipe'], cwd: io.cwd, env: childEnv });
  } catch (err) {
    note(`cannot start ${a.command}: ${(err as Error).message}`);
    return 127;
  }
  const spawned = new Promise<number | undefined>((res) => {
    child.once('spawn', () => res(child.pid));
    child.once('error', () => res(undefined));
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    io.stderr.write(chunk);
    tail.push(chunk);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((res) => {
    child.once('error', (error) => res({ code: null, signal: null, error }));
    child.once('close', (code, signal) => res({ code, signal }));
  });
  // A signal the operator sent to `vigil run` makes whatever exit follows a planned stop.
  let operatorSignal: NodeJS.Signals | undefined;
  const forward = (signal: NodeJS.Signals) => {
    operatorSignal ??= signal;
    child.kill(signal);
  };
  for (const s of FORWARDED_SIGNALS) io.signals.on(s, forward);

  const pid = await spawned;
  let warnedTransient = false;
  const collector = pid === undefined ? undefined : new Collector({ pid, tree: true, diskPaths: [io.cwd] });
  const client = new VigilClient({
    url: a.url,
    key: key ?? '',
    agentId: a.agentId,
    name: a.name,
    agentType: a.agentType,
    ...(a.pool ? { pool: a.pool } : {}),
    capabilities: a.capabilities,
    interval: a.intervalS * 1000,
    metadata: {
      command: [a.command, ...a.args].join(' ').slice(0, 2000),
      cwd: io.cwd,
      wrapper: 'vigil run',
      // The hub flags the agent "telemetry silent" when no OTLP data follows (docs/otlp.md).
      ...(childEnv !== io.env ? { otel_export_since: startedAt } : {}),
    },
    ...(collector
      ? {
          collect: async () => {
            const s = await collector.sample();
            return { resources: toResources(s), metrics: toProcessMetrics(s) };
          },
        }
      : {}),
    onError: (err) => {
      // An outage is announced once, not on every retry; the command's own stderr must stay readable.
      if (!err.transient) note(err.message);
      else if (!warnedTransient) note(`${err.message}; the command runs on and reports are kept until the hub answers`);
      warnedTransient ||= err.transient;
    },
  });
  if (key === undefined) note('no key: pass --key or set VIGIL_KEY (the hub will answer 401)');
  client.start();

  if (pid !== undefined) client.event('started', `started ${a.command}`, { pid, command: a.command, args: a.args, cwd: io.cwd });
  const result = await exited;
  for (const s of FORWARDED_SIGNALS) io.signals.off(s, forward);
  collector?.close();

  const durationMs = Date.now() - startedAt;
  const exitCode = result.error ? 127 : result.signal ? 128 + (constants.signals[result.signal] ?? 0) : (result.code ?? 1);
  const outcome = classifyExit(result, operatorSignal);
  if (outcome.kind === 'failed_to_start') {
    const error = result.error as NodeJS.ErrnoException;
    note(`cannot start ${a.command}: ${error.message}`);
    client.error(error, { command: a.command, code: error.code });
    client.event('crashed', `${a.command} could not start: ${error.message}`, {
      phase: 'start',
      code: error.code ?? null,
      command: a.command,
    });
  } else if (outcome.kind === 'stopped') {
    client.event('stopped', `${a.command} ${outcome.how}`, {
      exit_code: result.code,
      signal: result.signal,
      duration_ms: durationMs,
      ...(operatorSignal ? { requested_by: operatorSignal } : {}),
    });
  } else {
    const stderr = tail.text();
    const exception = findException(stderr);
    const failure = new Error(exception ? exception.message || exception.type : `${a.command} ${outcome.how}`);
    failure.name = exception?.type ?? (result.signal ? 'KilledBySignal' : 'NonZeroExit');
    failure.stack = stderr || `(${a.command} wrote nothing to stderr)`;
    const facts = { exit_code: result.code, signal: result.signal, duration_ms: durationMs };
    client.error(failure, facts);
    const title = exception ? exceptionTitle(exception) : undefined;
    client.event('crashed', title ? `${a.command} crashed: ${title}` : `${a.command} ${outcome.how}`, {
      ...facts,
      phase: 'run',
      exception: title ?? null,
      runtime: exception?.runtime ?? null,
    });
  }

  const undelivered = await client.close({ timeoutMs: a.flushTimeoutS * 1000 });
  if (telemetry.kind === 'minted' && key !== undefined && !(await revokeTelemetryKey(a.url, key, telemetry.keyId))) {
    note(`the agent key ${telemetry.keyId} created for the command could not be revoked; revoke it with vigil keys revoke`);
  }
  if (undelivered > 0) note(`${undelivered} report(s) could not be delivered to ${a.url} within ${a.flushTimeoutS} s`);
  return exitCode;
}

type ExitOutcome = { kind: 'failed_to_start' } | { kind: 'stopped' | 'crashed'; how: string };

/**
 * A stop is planned when the command exits 0 or the operator signalled `vigil run`; any other
 * non-zero exit, or a death by a signal nobody sent through `vigil run` (the OOM killer's SIGKILL,
 * a segfault), is a crash.
 */
export function classifyExit(
  result: { code: number | null; signal: NodeJS.Signals | null; error?: Error },
  operatorSignal: NodeJS.Signals | undefined,
): ExitOutcome {
  if (result.error) return { kind: 'failed_to_start' };
  const how = result.signal ? `killed by ${result.signal}` : `exited with code ${result.code}`;
  if (operatorSignal !== undefined) return { kind: 'stopped', how: `${how} after ${operatorSignal} from the operator` };
  return { kind: result.signal === null && result.code === 0 ? 'stopped' : 'crashed', how };
}

/**
 * When the hub runs on this machine with its default data dir, `vigil run` needs no key: it
 * reads the hub's admin token file, which only the hub's user can read (mode 0600).
 */
function localAdminToken(url: string, env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  const host = new URL(url).hostname;
  if (!['127.0.0.1', 'localhost', '[::1]', '::1'].includes(host)) return undefined;
  try {
    const token = readFileSync(join(resolve(cwd, env.VIGIL_DATA_DIR ?? 'vigil-data'), 'admin-token'), 'utf8').trim();
    return token || undefined;
  } catch {
    return undefined;
  }
}
