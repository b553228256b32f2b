import { existsSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { isPostgresUrl } from '../store/db-target.js';

/**
 * Every setting of the `vigil` commands: its flag, its environment variable, its default and why.
 * The `Config` type, the defaults, the `parseArgs` options of each command, the validation messages,
 * each command's --help and docs/configuration.md (checked by test/config-docs) all come from this one table.
 */
interface Setting<T> {
  flag: `--${string}`;
  env: `VIGIL_${string}`;
  help: string;
  /** What --help and the docs say the default is, where `String(default)` would not say it. */
  defaultText?: string;
  /** The value when neither flag nor variable is given: computed from the settings read before it, or none. */
  default: T | ((d: Defaults) => T) | undefined;
  /** `client`: read by the terminal commands that call a hub over HTTP (docs/cli.md), not by the hub. */
  group?: 'client';
  parse: Parse<T>;
}

/** What a computed default may depend on: the working directory and the settings it follows. */
interface Defaults {
  cwd: string;
  dataDir: string;
  db: string;
}

type Invalid = { error: string };
/** Paths are taken relative to `cwd`, the directory the command runs in. */
type Parse<T> = (raw: string, cwd: string) => T | Invalid;

type Group = 'client' | undefined;
/** A setting with a default, checked against its parser's type (the group is kept so `Config` can leave client settings out). */
const setting = <T, G extends Group = undefined>(
  s: Omit<Setting<T>, 'default' | 'group'> & { default: NoInfer<T> | ((d: Defaults) => NoInfer<T>); group?: G },
) => s;
/** A setting that is unset unless given: its `Config` type includes `undefined`. */
const unset = <T, G extends Group = undefined>(s: Omit<Setting<T>, 'default' | 'group'> & { group?: G }) => ({ ...s, default: undefined });

const integer =
  (min: number, max: number, what = 'an integer'): Parse<number> =>
  (raw) => {
    const n = Number(raw);
    // Digits only: Number('') and Number(' ') are 0, and '1e3' or '0x10' are not what a person means.
    return /^\d+$/.test(raw) && n >= min && n <= max ? n : { error: `must be ${what} from ${min} to ${max}` };
  };
const port = integer(0, 65_535);
const positiveInt = (max: number) => integer(1, max);
const days = integer(0, 36_500, 'a whole number of days');
const trueFalse: Parse<boolean> = (raw) =>
  ['true', '1', 'yes'].includes(raw.toLowerCase())
    ? true
    : ['false', '0', 'no'].includes(raw.toLowerCase())
      ? false
      : { error: 'must be true or false' };
const nonEmpty: Parse<string> = (raw) => (raw.trim() === '' ? { error: 'must not be empty' } : raw);
const path: Parse<string> = (raw, cwd) => (raw.trim() === '' ? { error: 'must not be empty' } : resolve(cwd, raw));
const oneOf =
  <T extends string>(...values: T[]): Parse<T> =>
  (raw) =>
    (values as string[]).includes(raw.toLowerCase()) ? (raw.toLowerCase() as T) : { error: `must be one of ${values.join(', ')}` };
const hubUrl: Parse<string> = (raw) => {
  try {
    const url = new URL(raw);
    if ((url.protocol === 'http:' || url.protocol === 'https:') && url.search === '' && url.hash === '') return raw.replace(/\/+$/, '');
  } catch {
    // not a URL: said below
  }
  return { error: 'must be an http:// or https:// URL, e.g. http://127.0.0.1:7070' };
};

export const SETTINGS = {
  port: setting({
    flag: '--port',
    env: 'VIGIL_PORT',
    default: 7070,
    help: 'TCP port to listen on (0 picks a free one)',
    parse: port,
  }),
  host: setting({
    flag: '--host',
    env: 'VIGIL_HOST',
    default: '127.0.0.1',
    // Loopback by default: a fresh hub should not be reachable from the network until asked.
    help: 'Address to listen on; use 0.0.0.0 to accept agents from other machines',
    parse: nonEmpty,
  }),
  dataDir: setting({
    flag: '--data-dir',
    env: 'VIGIL_DATA_DIR',
    defaultText: './vigil-data',
    default: ({ cwd }) => resolve(cwd, 'vigil-data'),
    help: 'Directory for the SQLite database and the admin token file',
    parse: path,
  }),
  db: setting({
    flag: '--db',
    env: 'VIGIL_DATABASE_URL',
    defaultText: '<data-dir>/vigil.db',
    default: ({ dataDir }) => join(dataDir, 'vigil.db'),
    help: 'A SQLite file path, or a postgres:// URL to share one database between hubs',
    parse: (raw, cwd) => (isPostgresUrl(raw) ? raw : path(raw, cwd)),
  }),
  adminToken: unset({
    flag: '--admin-token',
    env: 'VIGIL_ADMIN_TOKEN',
    defaultText: 'generated into <data-dir>/admin-token',
    help: 'The admin token to accept (at least 16 characters); prefer the environment over the flag, which shows in ps',
    parse: (raw) => (raw.length >= 16 ? raw : { error: 'must be at least 16 characters' }),
  }),
  sqliteSynchronous: setting({
    flag: '--sqlite-synchronous',
    env: 'VIGIL_SQLITE_SYNCHRONOUS',
    default: 'full',
    // FULL survives power loss; group commit makes its fsync per batch cheap (see bench/RESULTS.md).
    help: 'SQLite synchronous mode: full (survives power loss) or normal (may lose the last commits on power loss)',
    parse: oneOf('full', 'normal'),
  }),
  sqliteInitEmpty: setting({
    flag: '--sqlite-init-empty',
    env: 'VIGIL_SQLITE_INIT_EMPTY',
    default: false,
    // SQLite takes a zero-length file for a new database, so a truncated vigil.db would start as an empty hub.
    help: 'true lets the hub start a new database in an existing zero-length SQLite file (otherwise refused as possibly truncated)',
    parse: trueFalse,
  }),
  queueCapacity: setting({
    flag: '--queue-capacity',
    env: 'VIGIL_QUEUE_CAPACITY',
    default: 20_000,
    // Bounds memory when the store stalls; beyond it clients get 429 and retry.
    help: 'Most items waiting for the writer before ingest answers 429',
    parse: positiveInt(1_000_000),
  }),
  batchMaxItems: setting({
    flag: '--batch-max-items',
    env: 'VIGIL_BATCH_MAX_ITEMS',
    default: 1000,
    // 100-1000 rows per transaction reach the SQLite and PostgreSQL insert ceiling (docs/ARCHITECTURE.md).
    help: 'Most items the writer commits in one transaction',
    parse: positiveInt(100_000),
  }),
  batchMaxDelayMs: setting({
    flag: '--batch-max-delay-ms',
    env: 'VIGIL_BATCH_MAX_DELAY_MS',
    default: 2,
    help: 'Longest the writer waits to fill a batch before committing',
    parse: positiveInt(1000),
  }),
  writeDeadlineMs: setting({
    flag: '--write-deadline-ms',
    env: 'VIGIL_WRITE_DEADLINE_MS',
    default: 5000,
    // Half the SDK's 10 s request timeout: a client hears 503 (and retries) instead of timing out.
    help: "Longest a write waits for its commit before it is answered 503 + Retry-After (keep it below clients' timeouts)",
    parse: positiveInt(120_000),
  }),
  bodyLimitBytes: setting({
    flag: '--body-limit',
    env: 'VIGIL_BODY_LIMIT',
    default: 1024 * 1024,
    help: 'Largest request body in bytes (413 above it); /api/v1/ingest accepts 4x this',
    parse: positiveInt(64 * 1024 * 1024),
  }),
  missedHeartbeats: setting({
    flag: '--missed-heartbeats',
    env: 'VIGIL_MISSED_HEARTBEATS',
    default: 3,
    help: 'An agent is offline after this many heartbeat intervals without one',
    parse: positiveInt(100),
  }),
  hostMetricsIntervalS: setting({
    flag: '--host-metrics-interval',
    env: 'VIGIL_HOST_METRICS_INTERVAL',
    default: 15,
    help: "Seconds between samples of the hub's own host (CPU, memory, disk, I/O); 0 turns sampling off",
    parse: integer(0, 86_400),
  }),
  sampleLocalPids: setting({
    flag: '--sample-local-pids',
    env: 'VIGIL_SAMPLE_LOCAL_PIDS',
    defaultText: 'true with SQLite, false with PostgreSQL',
    default: ({ db }) => !isPostgresUrl(db),
    // Off by default with PostgreSQL: several hubs on several hosts would read one PID number on different machines.
    help: 'true samples the process of an agent registered with metadata.pid alive on this host (docs/local-pids.md)',
    parse: trueFalse,
  }),
  webDir: setting({
    flag: '--web-dir',
    env: 'VIGIL_WEB_DIR',
    defaultText: 'packages/web/dist/public',
    default: () => DEFAULT_WEB_DIR,
    help: 'Directory of the built dashboard served at / (npm run build writes it)',
    parse: path,
  }),
  authFailuresPerMinute: setting({
    flag: '--auth-failures-per-minute',
    env: 'VIGIL_AUTH_FAILURES_PER_MINUTE',
    default: 10,
    // Enough for a person mistyping a token; a guesser gets 10 a minute, not thousands a second.
    help: 'Failed keys and sign-ins a client address (an IPv6 /64) may make a minute before it gets 429; 0 turns the limit off',
    parse: integer(0, 100_000),
  }),
  keyRequestsPerS: setting({
    flag: '--key-rate-limit',
    env: 'VIGIL_KEY_RATE_LIMIT',
    default: 100,
    // A relay sending 1,000 agents' heartbeats one by one every 15 s under one pool key needs 67.
    help: 'Requests a second each agent or pool key may send (bursts of 2 s of it); beyond, a request waits up to 1 s, then 429; the admin token is not limited; 0 turns it off',
    parse: integer(0, 1_000_000),
  }),
  keyBytesPerS: setting({
    flag: '--key-byte-limit',
    env: 'VIGIL_KEY_BYTE_LIMIT',
    default: 8 * 1024 * 1024,
    help: 'Request body bytes a second each agent or pool key may send (bursts of 2 s of it); beyond, a request waits up to 1 s, then 429; 0 turns it off',
    parse: integer(0, 1024 * 1024 * 1024),
  }),
  sessionIdleMinutes: setting({
    flag: '--session-idle',
    env: 'VIGIL_SESSION_IDLE',
    default: 60,
    // The admin token's powers sit behind the cookie, so a forgotten browser should not stay signed in for
    // long; an open live feed counts as use, so a dashboard left on a wall display is not signed out.
    help: 'Minutes a dashboard session may go unused (no request, no open live feed) before it ends',
    parse: positiveInt(43_200),
  }),
  liveMaxSockets: setting({
    flag: '--live-max-sockets',
    env: 'VIGIL_LIVE_MAX_SOCKETS',
    default: 2000,
    // Measured in bench/RESULTS.md: 2,000 open sockets keep ingest p99 within 2x of none. More are refused (close 4029).
    help: 'Most live-feed WebSockets open at once; one more is closed with 4029',
    parse: positiveInt(100_000),
  }),
  liveMaxSocketsPerClient: setting({
    flag: '--live-max-sockets-per-client',
    env: 'VIGIL_LIVE_MAX_SOCKETS_PER_CLIENT',
    default: 50,
    // One dashboard tab is one socket; a runaway page or script must not take the whole hub's share.
    help: 'Most live-feed WebSockets of one sign-in session or one admin token; one more is closed with 4029',
    parse: positiveInt(100_000),
  }),
  liveMaxBufferedBytes: setting({
    flag: '--live-max-buffered',
    env: 'VIGIL_LIVE_MAX_BUFFERED',
    default: 4 * 1024 * 1024,
    // A socket that does not read would otherwise hold every later message in the hub's memory.
    help: 'Bytes a live-feed socket may have unsent before it is closed with 4008 (the dashboard reconnects and refetches)',
    parse: integer(16_384, 1024 * 1024 * 1024),
  }),
  alertRulesFile: unset({
    flag: '--alert-rules',
    env: 'VIGIL_ALERT_RULES',
    defaultText: 'none',
    help: 'A JSON file of alert rules ({"rules": [...]}), checked at start; its rules replace those of the same name',
    parse: nonEmpty,
  }),
  webhookAllowPrivate: setting({
    flag: '--webhook-allow-private',
    env: 'VIGIL_WEBHOOK_ALLOW_PRIVATE',
    default: false,
    // Off: a webhook could otherwise reach services bound to loopback or the private network (SSRF).
    // Cloud metadata and link-local addresses stay refused either way.
    help: 'true lets webhooks target loopback and private-network addresses (never metadata or link-local)',
    parse: trueFalse,
  }),
  webhookAttempts: setting({
    flag: '--webhook-attempts',
    env: 'VIGIL_WEBHOOK_ATTEMPTS',
    default: 5,
    help: 'Attempts per webhook delivery before it is logged as failed',
    parse: positiveInt(20),
  }),
  webhookBackoffMs: setting({
    flag: '--webhook-backoff-ms',
    env: 'VIGIL_WEBHOOK_BACKOFF_MS',
    default: 1000,
    // 1, 2, 4 and 8 s: a receiver restarting within about 15 s still gets the notification.
    help: 'Wait before the second webhook attempt; each later wait doubles',
    parse: positiveInt(600_000),
  }),
  alertRepeatS: setting({
    flag: '--alert-repeat',
    env: 'VIGIL_ALERT_REPEAT',
    default: 14_400,
    // Alertmanager's repeat_interval default: a firing alert nobody acknowledged is not forgotten, nor spammed.
    help: 'Seconds between repeat notifications of a firing, unacknowledged alert; 0 never repeats',
    parse: integer(0, 30 * 86_400),
  }),
  retentionMetricsDays: setting({
    flag: '--retention-metrics-days',
    env: 'VIGIL_RETENTION_METRICS_DAYS',
    default: 7,
    // The 7 days of docs/seed-requirements.md; older history is read from the rollups, which are a fraction of the size.
    help: 'Days raw agent and host metric samples are kept; 0 keeps them forever',
    parse: days,
  }),
  retentionEventsDays: setting({
    flag: '--retention-events-days',
    env: 'VIGIL_RETENTION_EVENTS_DAYS',
    default: 30,
    help: 'Days agent events, capacity claims after they end, and resolved alerts, webhook deliveries and silences are kept; 0 keeps them forever',
    parse: days,
  }),
  retentionErrorsDays: setting({
    flag: '--retention-errors-days',
    env: 'VIGIL_RETENTION_ERRORS_DAYS',
    default: 7,
    // As docs/seed-requirements.md asks: an error nobody resolved stays until someone does, however old.
    help: 'Days a resolved error is kept after it was resolved and last seen; unresolved errors are never purged',
    parse: days,
  }),
  retentionTracesDays: setting({
    flag: '--retention-traces-days',
    env: 'VIGIL_RETENTION_TRACES_DAYS',
    default: 30,
    help: 'Days LLM traces are kept; 0 keeps them forever',
    parse: days,
  }),
  retentionRollup1hDays: setting({
    flag: '--retention-rollup-1h-days',
    env: 'VIGIL_RETENTION_ROLLUP_1H_DAYS',
    default: 365,
    help: 'Days per-hour metric rollups are kept; 0 keeps them forever',
    parse: days,
  }),
  retentionIntervalS: setting({
    flag: '--retention-interval',
    env: 'VIGIL_RETENTION_INTERVAL',
    default: 300,
    // Each pass deletes in small batches; every 5 minutes keeps a pass short without letting much pile up.
    help: 'Seconds between retention passes (purge in small batches, then give space back); one also runs at start',
    parse: positiveInt(86_400),
  }),
  rollupIntervalS: setting({
    flag: '--rollup-interval',
    env: 'VIGIL_ROLLUP_INTERVAL',
    default: 60,
    // Charts read the minutes not yet rolled from raw rows, so a minute's delay costs no freshness.
    help: 'Seconds between rollup passes (raw minutes folded into the per-hour metric rollups); one also runs at start',
    parse: positiveInt(3_600),
  }),
  otlpBodyLimitBytes: setting({
    flag: '--otlp-body-limit',
    env: 'VIGIL_OTLP_BODY_LIMIT',
    default: 16 * 1024 * 1024,
    // Measured after gzip is undone, so a small compressed body cannot expand without bound.
    help: 'Largest OTLP export in bytes after decompression (413 above it)',
    parse: positiveInt(256 * 1024 * 1024),
  }),
  otlpGrpcPort: setting({
    flag: '--otlp-grpc-port',
    env: 'VIGIL_OTLP_GRPC_PORT',
    default: 4317,
    // OTLP's registered gRPC port; a port already taken is logged and OTLP/HTTP still works.
    help: 'TCP port for OTLP/gRPC on the --host address; 0 turns it off',
    parse: port,
  }),
  otlpMaxSeries: setting({
    flag: '--otlp-max-series',
    env: 'VIGIL_OTLP_MAX_SERIES',
    default: 2000,
    help: 'Most OTLP metric series one agent may have; points of new series beyond it are dropped and counted',
    parse: positiveInt(1_000_000),
  }),
  llmBusyWindowS: setting({
    flag: '--llm-busy-window',
    env: 'VIGIL_LLM_BUSY_WINDOW',
    default: 120,
    // Claude Code exports its events every 5 s and its metrics every 60 s; two minutes spans both.
    help: 'Seconds after its last LLM activity that an agent counts as busy rather than idle',
    parse: positiveInt(86_400),
  }),
  metricsPublic: setting({
    flag: '--metrics-public',
    env: 'VIGIL_METRICS_PUBLIC',
    default: false,
    // Off: the fleet's names, pools and spend are not for anyone who can reach the port.
    help: 'true serves GET /metrics (Prometheus) without a key; otherwise it needs the admin token',
    parse: trueFalse,
  }),
  metricsPerAgent: setting({
    flag: '--metrics-per-agent',
    env: 'VIGIL_METRICS_PER_AGENT',
    default: true,
    help: 'false leaves per-agent series out of /metrics (very large fleets): pools, types and models remain',
    parse: trueFalse,
  }),
  logLevel: setting({
    flag: '--log-level',
    env: 'VIGIL_LOG_LEVEL',
    default: 'info',
    help: 'Log level: fatal, error, warn, info, debug, trace or silent',
    parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
  }),
  url: setting({
    flag: '--url',
    env: 'VIGIL_URL',
    default: 'http://127.0.0.1:7070',
    group: 'client',
    help: "The hub's address, for the commands that call its API (vigil agents, errors, alerts, capacity, traces, usage)",
    parse: hubUrl,
  }),
  key: unset({
    flag: '--key',
    env: 'VIGIL_KEY',
    defaultText: 'for a hub on this machine, the admin token in <data-dir>/admin-token',
    group: 'client',
    // The file `vigil server` writes at first start, so on the hub's own machine the commands need no setup.
    help: 'The key or admin token those commands send; prefer the environment over the flag, which shows in ps',
    parse: nonEmpty,
  }),
};

/**
 * Where `npm run build` writes the dashboard, found from this file's place in the compiled hub; an installed
 * @vigil/hub package has no packages/web beside it and serves the copy its `prepack` put in its own dist/public.
 */
const REPO_WEB_DIR = fileURLToPath(new URL('../../../../web/dist/public', import.meta.url));
const DEFAULT_WEB_DIR = existsSync(REPO_WEB_DIR) ? REPO_WEB_DIR : fileURLToPath(new URL('../../public', import.meta.url));

export type SettingKey = keyof typeof SETTINGS;
type SettingOf<K extends SettingKey> = (typeof SETTINGS)[K];
/** A setting's parsed type, and `undefined` where it has no default (unset unless given). */
type Value<K extends SettingKey> =
  Exclude<ReturnType<SettingOf<K>['parse']>, Invalid> | (undefined extends SettingOf<K>['default'] ? undefined : never);
export type ClientKey = { [K in SettingKey]: 'client' extends SettingOf<K>['group'] ? K : never }[SettingKey];
export type HubKey = Exclude<SettingKey, ClientKey>;
/** The values of some settings, as a command that reads only those gets them. */
export type Settings<K extends SettingKey> = { readonly [P in K]: Value<P> };
/** Everything `vigil server` reads. */
export type Config = Settings<HubKey>;

const ALL_KEYS = Object.keys(SETTINGS) as SettingKey[];
const table: Record<SettingKey, Setting<unknown>> = SETTINGS;
/** The settings of `vigil server` (and `vigil demo`), in table order. */
export const HUB_SETTINGS = ALL_KEYS.filter((k) => table[k].group !== 'client') as HubKey[];
/** The settings of the commands that call a hub's API; --data-dir finds the local admin token. */
export const CLIENT_SETTINGS = ['url', 'key', 'dataDir'] as const satisfies readonly SettingKey[];
/** The settings that find and open the database, for the commands that work on it directly. */
export const STORE_SETTINGS = ['dataDir', 'db', 'sqliteSynchronous'] as const satisfies readonly SettingKey[];

export class ConfigError extends Error {}

export type OptionSpec = { type: 'string' | 'boolean' };
/** A command's own options' values: `--json` a boolean, `--pool NAME` a string; absent when not given. */
export type OptionValues<O extends Record<string, OptionSpec>> = { [N in keyof O]?: O[N]['type'] extends 'boolean' ? boolean : string };

export interface CommandLine<O extends Record<string, OptionSpec>, K extends SettingKey> {
  values: OptionValues<O>;
  positionals: string[];
  config: Settings<K>;
  /** The settings given as flags, each as one `--flag=value`, for a command that hands them on (vigil demo). */
  settingArgs: string[];
}

/**
 * Reads one command's arguments: its own `options`, the `settings` it takes (as flags, else from the
 * environment, else their defaults; flags win) and at most `positionals` plain arguments. Every problem
 * (unknown option, missing value, invalid flag or variable, stray argument) is reported in one
 * ConfigError, so a person fixes them all in one go; the CLI prints it and exits 2.
 */
export function parseCommandLine<O extends Record<string, OptionSpec>, K extends SettingKey>(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  spec: { command: string; settings: readonly K[]; options?: O; positionals?: number },
  cwd = process.cwd(),
): CommandLine<O, K> {
  const byName = new Map<string, SettingKey>(spec.settings.map((k) => [table[k].flag.slice(2), k]));
  const options: Record<string, OptionSpec> = { ...Object.fromEntries([...byName.keys()].map((n) => [n, { type: 'string' }])) };
  Object.assign(options, spec.options);
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const problems: string[] = [];
  const values: Record<string, string | boolean> = {};
  const flags = new Map<SettingKey, string>();
  const settingArgs: string[] = [];
  const positionals: string[] = [];
  let valueOfUnknown = -1;
  for (const t of tokens) {
    if (t.kind === 'positional') {
      // Without strict parsing, `--nope 1` reads as a flag and a positional; the 1 was meant as the flag's value.
      if (t.index !== valueOfUnknown) positionals.push(t.value);
    } else if (t.kind === 'option') {
      const def = options[t.name];
      if (def === undefined || t.rawName.startsWith('-') !== t.rawName.startsWith('--')) {
        problems.push(`unknown option ${JSON.stringify(t.rawName)} (see vigil ${spec.command} --help)`);
        if (!t.inlineValue) valueOfUnknown = t.index + 1;
      } else if (def.type === 'boolean') {
        if (t.inlineValue) problems.push(`${t.rawName} takes no value`);
        else values[t.name] = true;
      } else if (t.value === undefined) problems.push(`${t.rawName} needs a value`);
      else {
        const key = byName.get(t.name);
        if (key === undefined || spec.options?.[t.name] !== undefined) values[t.name] = t.value;
        else {
          flags.set(key, t.value);
          settingArgs.push(`${t.rawName}=${t.value}`);
        }
      }
    }
  }
  const most = spec.positionals ?? 0;
  for (const extra of positionals.slice(most))
    problems.push(`unexpected argument ${JSON.stringify(extra)} (see vigil ${spec.command} --help)`);
  const config = readSettings(spec.settings, flags, env, cwd, problems);
  if (problems.length === 1) throw new ConfigError(problems[0]);
  if (problems.length > 1) throw new ConfigError(`${problems.length} problems:\n  ${problems.join('\n  ')}`);
  return { values: values as OptionValues<O>, positionals: positionals.slice(0, most), config, settingArgs };
}

/**
 * Reads flags (`--port 8080` or `--port=8080`), then the environment, then defaults; flags win.
 * Throws one ConfigError naming every setting that is wrong and how, so `vigil server` can print it and exit 2.
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv, cwd = process.cwd()): Config {
  return parseCommandLine(argv, env, { command: 'server', settings: HUB_SETTINGS }, cwd).config;
}

/** Every setting in table order (a default may depend on the ones before it); only `keys` are read from flags and env. */
function readSettings<K extends SettingKey>(
  keys: readonly K[],
  flags: ReadonlyMap<SettingKey, string>,
  env: NodeJS.ProcessEnv,
  cwd: string,
  problems: string[],
): Settings<K> {
  const wanted = new Set<SettingKey>(keys);
  const defaults: Defaults = { cwd, dataDir: '', db: '' };
  const read: Partial<Record<SettingKey, unknown>> = {};
  for (const key of ALL_KEYS) {
    const s = table[key];
    const raw = wanted.has(key) ? (flags.get(key) ?? env[s.env]) : undefined;
    let value: unknown;
    if (raw !== undefined) {
      const parsed = s.parse(raw, cwd);
      if (isInvalid(parsed)) problems.push(`${s.flag} / ${s.env}: ${JSON.stringify(raw)} ${parsed.error}`);
      else value = parsed;
    }
    value ??= typeof s.default === 'function' ? (s.default as (d: Defaults) => unknown)(defaults) : s.default;
    if (key === 'dataDir' || key === 'db') defaults[key] = value as string;
    read[key] = value;
  }
  return Object.freeze(Object.fromEntries(keys.map((k) => [k, read[k]]))) as Settings<K>;
}

function isInvalid(v: unknown): v is Invalid {
  return typeof v === 'object' && v !== null && 'error' in v;
}

/** What --help and the docs show as a setting's default. */
export function defaultText(key: SettingKey): string {
  const s = table[key];
  return s.defaultText ?? String(s.default);
}

/** The options table of a command's --help (`vigil server --help`: all of them), generated from SETTINGS so it cannot drift. */
export function settingsHelp(keys: readonly SettingKey[] = HUB_SETTINGS): string {
  const rows = keys.map((k) => [`${table[k].flag} <value>`, table[k].env, table[k].help, defaultText(k)] as const);
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  return rows.map(([flag, env, help, def]) => `  ${flag.padEnd(w0)}  ${env.padEnd(w1)}  ${help} (default: ${def})`).join('\n');
}
