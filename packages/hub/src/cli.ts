import { RunUsageError } from '@vigil/agent/run-args';
import { ConfigError, settingsHelp } from './config/config.js';
import { EXIT, UsageError, type Command } from './cli/command.js';

/**
 * Every `vigil` command: its lines in `vigil --help`, and its module, loaded only when it runs. Each
 * command loads only what it uses: `vigil run` sits beside every agent for its whole life, so it must
 * not carry the hub's HTTP server and database drivers in memory. A new command is one module
 * (exporting `command`) and one entry here.
 */
const COMMANDS: Record<string, { help: [string, string][]; load: () => Promise<{ command: Command }> }> = {
  server: {
    help: [['vigil server [options]', 'Run the hub (HTTP API on 127.0.0.1:7070 by default)']],
    load: () => import('./cli/server.js'),
  },
  demo: {
    help: [['vigil demo [--agents N] [options]', 'Run a hub with N (8) simulated agents to try the dashboard']],
    load: () => import('./cli/demo.js'),
  },
  migrate: {
    help: [['vigil migrate [options]', 'Create or upgrade the database schema, then exit']],
    load: () => import('./cli/migrate.js'),
  },
  keys: {
    help: [
      ['vigil keys create --agent ID [--name TEXT]', "Create a key that writes only agent ID's data"],
      ['vigil keys create --pool NAME [--name TEXT]', 'Create a key that registers and writes agents in pool NAME'],
      ['vigil keys list [options]', 'List keys (never their secrets)'],
      ['vigil keys revoke KEY_ID|PREFIX [options]', 'Revoke a key; it stops working within a second'],
    ],
    load: () => import('./cli/keys.js'),
  },
  storage: {
    help: [['vigil storage [--json] [options]', 'Rows and bytes per table, and the size at the configured retention']],
    load: () => import('./cli/storage.js'),
  },
  agents: {
    help: [
      ['vigil agents [--status S --pool P --type T]', 'List the fleet (through the API, as every command below)'],
      ['vigil agents rm|rename|pause|resume ID', 'Delete, rename, or pause or resume monitoring of an agent'],
    ],
    load: () => import('./cli/agents.js'),
  },
  agent: { help: [['vigil agent ID', 'One agent: status, resources, LLM totals']], load: () => import('./cli/agent.js') },
  errors: { help: [['vigil errors [--open]', 'Error groups, newest first']], load: () => import('./cli/errors.js') },
  alerts: {
    help: [
      ['vigil alerts [--state STATE]', 'Alerts, newest first'],
      ['vigil alerts rules list|add|rm [options]', 'List, add or remove alert rules (in the database)'],
    ],
    load: () => import('./cli/alerts.js'),
  },
  capacity: {
    help: [['vigil capacity --gpu-vram GB --cpu N [--pool P]', 'Online agents with room for a job, best fit first']],
    load: () => import('./cli/capacity.js'),
  },
  traces: { help: [['vigil traces [--agent ID]', 'LLM calls, newest first']], load: () => import('./cli/traces.js') },
  usage: {
    help: [['vigil usage [--by agent|model|pool]', 'LLM calls, tokens, cost and latency per group']],
    load: () => import('./cli/usage.js'),
  },
  run: {
    help: [['vigil run [options] -- <command> [args...]', 'Run a command and report it to a hub as an agent']],
    load: () => import('./cli/run.js'),
  },
};

function usage(): string {
  const lines = Object.values(COMMANDS).flatMap((c) => c.help);
  const width = Math.max(...lines.map(([synopsis]) => synopsis.length)) + 2;
  return `vigil: the hub that watches and steers a fleet of AI agents

Usage:
${lines.map(([synopsis, what]) => `  ${synopsis.padEnd(width)}${what}`).join('\n')}
  vigil --help | vigil <command> --help

The server's options (also taken by demo; migrate, keys, storage and the database actions take those
that find the database):
${settingsHelp()}

The commands that read the API (agents, agent, errors, alerts, capacity, traces, usage) take --url
(VIGIL_URL), --key (VIGIL_KEY; default: the local hub's admin token) and --json; docs/cli.md.
Exit codes: 0 done, 1 failed (the hub answered an error), 2 wrong usage or settings, 3 hub unreachable.

Flags win over environment variables, which win over defaults.
The admin token is VIGIL_ADMIN_TOKEN when set; otherwise it is generated at first start
into <data-dir>/admin-token (mode 0600). Send it as "Authorization: Bearer <token>".
`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (entry === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)} (vigil --help lists them)`);
  const { command } = await entry.load();
  // Everything after `--` belongs to a wrapped command (vigil run), including its own --help.
  const own = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  if (own.includes('--help') || own.includes('-h')) {
    process.stdout.write(await command.usage());
    return EXIT.ok;
  }
  return command.run(rest, { env: process.env, stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() });
}

/**
 * Exits once stdout and stderr are written out: on a pipe they are asynchronous, and exiting at once
 * would cut a long answer (`vigil agents --json | jq`) short.
 */
function exit(code: number): void {
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

main(process.argv.slice(2)).then(exit, (err: unknown) => {
  const usageError =
    err instanceof ConfigError ||
    err instanceof UsageError ||
    err instanceof RunUsageError ||
    (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
  process.stderr.write(`vigil: ${err instanceof Error ? err.message : String(err)}\n`);
  // A command's own failures say their exit code (the API client: 1 for an error answer, 3 for no answer).
  exit(usageError ? EXIT.usage : ((err as { exitCode?: number }).exitCode ?? EXIT.failed));
});
