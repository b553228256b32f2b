import { parseArgs } from 'node:util';
import { parseRunArgs, RUN_USAGE, RunUsageError } from '@vigil/agent/run-args';
import { ConfigError, loadConfig, settingsHelp, type Config } from './config/config.js';

// Each command loads only what it uses: `vigil run` sits beside every agent for its whole life,
// so it must not carry the hub's HTTP server and database drivers in memory.
const loadHub = () => import('./main.js');
const loadStore = () => import('./store/open.js');

const USAGE = `vigil: the hub that watches and steers a fleet of AI agents

Usage:
  vigil server [options]                     Run the hub (HTTP API on 127.0.0.1:7070 by default)
  vigil migrate [options]                    Create or upgrade the database schema, then exit
  vigil keys create --agent ID [--name TEXT] Create a key that writes only agent ID's data
  vigil keys create --pool NAME [--name TEXT]
                                             Create a key that registers and writes agents in pool NAME
  vigil keys list [options]                  List keys (never their secrets)
  vigil keys revoke KEY_ID|PREFIX [options]  Revoke a key; it stops working within a second
  vigil alerts rules list|add|rm [options]   List, add or remove alert rules (vigil alerts --help)
  vigil agents rm|rename|pause|resume ID     Delete, rename, or pause or resume monitoring of an agent
                                             (vigil agents --help)
  vigil storage [--json] [options]           Rows and bytes per table, and the size at the configured retention
  vigil demo [--agents N] [options]          Run a hub with N (8) simulated agents to try the dashboard
  vigil run [options] -- <command> [args...] Run a command and report it to a hub as an agent
  vigil --help | vigil <command> --help

The server's options (also taken by migrate and keys, to find the database):
${settingsHelp()}

Flags win over environment variables, which win over defaults.
The admin token is VIGIL_ADMIN_TOKEN when set; otherwise it is generated at first start
into <data-dir>/admin-token (mode 0600). Send it as "Authorization: Bearer <token>".
`;

const SERVER_USAGE = `vigil server [options]: run the hub

Starts the HTTP API, migrates the database, and prints the URL and where the admin token is.
SIGINT or SIGTERM stops accepting requests, commits everything queued, and exits 0.

Options (flag, environment variable, meaning):
${settingsHelp()}
`;

const MIGRATE_USAGE = `vigil migrate [options]: create or upgrade the database schema, then exit

Applies the migrations the database lacks, each in its own transaction, and says which it applied.
vigil server does the same at start; run this on its own to upgrade before starting several hubs.
Options: --data-dir and --db find the database, as for vigil server (vigil server --help).
`;

const KEYS_USAGE = `vigil keys create --agent ID [--name TEXT] [options]
                                   Create a key that writes only agent ID's data
vigil keys create --pool NAME [--name TEXT] [options]
                                   Create a key that registers and writes agents in pool NAME
vigil keys list [options]          List keys (never their secrets)
vigil keys revoke KEY_ID|PREFIX [options]
                                   Revoke a key; it stops working within a second

A key is shown once, when it is created; the hub keeps only its SHA-256.
Options: --data-dir and --db find the database, as for vigil server.
`;

const STORAGE_USAGE = `vigil storage [--json] [options]: rows and bytes per table, and the size at the configured retention

Measures the database (rows, bytes, rows a day and the projected size per table; the file, WAL and
free space on SQLite) as GET /api/v1/storage does; --json prints the report as JSON.
Options: --data-dir and --db find the database, and the retention settings say how long data is kept,
as for vigil server (vigil server --help).
`;

const DEMO_USAGE = `vigil demo [--agents N] [options]: a hub with simulated agents, to try the dashboard

Starts a hub on a temporary SQLite directory (removed on exit) with N simulated agents (8 by default,
at most 1000) that report through the real API every 2 s, with wandering CPU and memory, GPUs on
some, occasional errors, warnings, restarts and crashes. Prints the dashboard's URL and a token.
Takes the server's options (vigil server --help), e.g. --port 7071. SIGINT or SIGTERM stops it.
`;

/** Each command's own --help. */
const COMMAND_USAGE: Record<string, () => Promise<string> | string> = {
  server: () => SERVER_USAGE,
  migrate: () => MIGRATE_USAGE,
  keys: () => KEYS_USAGE,
  storage: () => STORAGE_USAGE,
  demo: () => DEMO_USAGE,
  run: () => RUN_USAGE,
  alerts: async () => (await import('./alerts/cli.js')).ALERTS_USAGE,
  agents: async () => (await import('./agents/cli.js')).AGENTS_USAGE,
};

/** Exit codes: 0 done, 1 failed while running, 2 bad usage or configuration. */
class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  // Everything after `--` belongs to the wrapped command, including its own --help.
  const own = command === 'run' && rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  const usage = Object.hasOwn(COMMAND_USAGE, command) ? COMMAND_USAGE[command] : undefined;
  if (usage && (own.includes('--help') || own.includes('-h'))) {
    process.stdout.write(await usage());
    return 0;
  }
  switch (command) {
    case 'server':
      return server(loadConfig(rest, process.env));
    case 'migrate':
      return migrateCommand(loadConfig(rest, process.env));
    case 'keys':
      return keys(rest);
    case 'alerts':
      return (await import('./alerts/cli.js')).alertsCommand(rest, process.env, process.stdout);
    case 'agents':
      return (await import('./agents/cli.js')).agentsCommand(rest, process.env, process.stdout);
    case 'storage':
      return storage(rest);
    case 'demo':
      return demo(rest);
    case 'run':
      return (await import('@vigil/agent')).runMonitored(parseRunArgs(rest, process.env), {
        stderr: process.stderr,
        env: process.env,
        cwd: process.cwd(),
        signals: process,
      });
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

async function server(config: Config): Promise<number> {
  const { createLogger, startHub } = await loadHub();
  const hub = await startHub(config, { logger: createLogger(config.logLevel) });
  const fromEnv = config.adminToken !== undefined;
  const where = fromEnv ? 'the VIGIL_ADMIN_TOKEN you set' : `in ${hub.adminTokenSource} (mode 0600)`;
  const token = fromEnv ? '$VIGIL_ADMIN_TOKEN' : `$(cat ${shellQuote(hub.adminTokenSource)})`;
  process.stdout.write(
    `\nVigil hub listening on ${hub.url}\n` +
      `  database:    ${hub.db.dialect.name === 'sqlite' ? config.db : redactUrl(config.db)}\n` +
      `  dashboard:   ${hub.url}/ (sign in with the admin token)\n` +
      `  admin token: ${where}\n` +
      `  try:         curl -H "Authorization: Bearer ${token}" ${hub.url}/api/monitoring/dashboard\n\n`,
  );
  return new Promise((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      if (++signals > 1) {
        process.stderr.write(`${signal} again: exiting without draining\n`);
        process.exit(1);
      }
      hub.app.log.info({ signal }, 'stopping: draining the ingest queue');
      hub.stop().then(
        () => resolve(0),
        (err: unknown) => {
          hub.app.log.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

async function migrateCommand(config: Config): Promise<number> {
  const { openStore } = await loadStore();
  const { db, applied } = await openStore(config.db, {
    sqliteSynchronous: config.sqliteSynchronous,
    sqliteInitEmpty: config.sqliteInitEmpty,
    now: Date.now(),
    onProgress: (line) => process.stdout.write(`${line}\n`),
  });
  await db.close();
  process.stdout.write(applied.length ? `applied migrations ${applied.join(', ')}\n` : 'the schema is up to date\n');
  return 0;
}

async function keys(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const own = ['--agent', '--pool', '--name'];
  // Split the key options from the store options (--data-dir, --db) that loadConfig reads.
  const mine: string[] = [];
  const store: string[] = [];
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    const name = arg.split('=')[0] as string;
    const target = own.includes(name) ? mine : arg.startsWith('--') ? store : positional;
    target.push(arg);
    if (arg.startsWith('--') && !arg.includes('=') && i + 1 < rest.length) target.push(rest[++i] as string);
  }
  const config = loadConfig(store, process.env);
  const { values } = parseArgs({
    args: mine,
    options: { agent: { type: 'string' }, pool: { type: 'string' }, name: { type: 'string' } },
    strict: true,
  });
  const { openStore } = await loadStore();
  const { createApiKey, revokeApiKey } = await import('./auth/key-admin.js');
  const { listKeys } = await import('./store/keys.js');
  const { db } = await openStore(config.db, { sqliteSynchronous: config.sqliteSynchronous, now: Date.now() });
  try {
    switch (sub) {
      case 'create': {
        if ((values.agent === undefined) === (values.pool === undefined))
          throw new UsageError('keys create needs exactly one of --agent ID or --pool NAME');
        const scope = values.agent !== undefined ? 'agent' : 'pool';
        const { key, info } = await createApiKey(db, scope, (values.agent ?? values.pool) as string, values.name ?? null, Date.now());
        process.stdout.write(
          `Created ${scope} key ${info.key_id} for ${scope} ${JSON.stringify(info.scope_value)}.\n` +
            `This is the only time the key is shown; store it now:\n\n${key}\n\n`,
        );
        return 0;
      }
      case 'list': {
        const all = await listKeys(db);
        if (all.length === 0) process.stdout.write('no keys\n');
        for (const k of all) {
          const state = k.revoked_at ? `revoked ${new Date(k.revoked_at).toISOString()}` : 'active';
          process.stdout.write(`${k.key_id}  ${k.prefix}…  ${k.scope}=${k.scope_value}  ${state}  ${k.name ?? ''}\n`);
        }
        return 0;
      }
      case 'revoke': {
        const id = positional[0];
        if (id === undefined) throw new UsageError('keys revoke needs a key id or prefix');
        const key = await revokeApiKey(db, id, Date.now());
        if (!key) {
          process.stderr.write(`no key ${JSON.stringify(id)}\n`);
          return 1;
        }
        process.stdout.write(`revoked ${key.key_id} (${key.prefix}…)\n`);
        return 0;
      }
      default:
        throw new UsageError(`unknown keys command ${JSON.stringify(sub ?? '')}: use create, list or revoke`);
    }
  } finally {
    await db.close();
  }
}

async function storage(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const config = loadConfig(
    argv.filter((a) => a !== '--json'),
    process.env,
  );
  const { openStore } = await loadStore();
  const { storageReport, formatStorageReport } = await import('./store/storage.js');
  const { retentionFromConfig } = await import('./jobs/retention.js');
  const { db } = await openStore(config.db, { sqliteSynchronous: config.sqliteSynchronous, now: Date.now() });
  try {
    const report = await storageReport(db, retentionFromConfig(config), Date.now());
    process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : formatStorageReport(report));
    return 0;
  } finally {
    await db.close();
  }
}

async function demo(argv: string[]): Promise<number> {
  let agents = 8;
  const serverArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg !== '--agents' && !arg.startsWith('--agents=')) {
      serverArgs.push(arg);
      continue;
    }
    agents = Number(arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i]);
    if (!Number.isInteger(agents) || agents < 1 || agents > 1000) throw new UsageError('--agents must be an integer from 1 to 1000');
  }
  const { startDemo } = await import('./demo/demo.js');
  const running = await startDemo({ serverArgs, env: process.env, agents, out: process.stdout });
  return new Promise((resolve) => {
    const onSignal = () =>
      running.stop().then(
        () => resolve(0),
        () => resolve(1),
      );
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}

function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

function shellQuote(s: string): string {
  return /^[\w./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (
      err instanceof ConfigError ||
      err instanceof UsageError ||
      err instanceof RunUsageError ||
      (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      process.stderr.write(`vigil: ${(err as Error).message}\n`);
      process.exit(2);
    }
    process.stderr.write(`vigil: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
