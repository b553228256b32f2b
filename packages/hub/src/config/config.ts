import { resolve, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Every setting of `vigil server`: its flag, its environment variable, its default and why.
 * The loader, the validation messages and `vigil server --help` all come from this one table.
 */
interface Setting<T> {
  flag: string;
  env: string;
  help: string;
  /** Shown in --help; the real default is computed in `defaults`. */
  defaultText: string;
  parse: (raw: string) => T | { error: string };
}

const port: Setting<number>['parse'] = (raw) => {
  const n = Number(raw);
  return Number.isInteger(n) && n >= 0 && n <= 65535 ? n : { error: 'must be an integer from 0 to 65535' };
};
const positiveInt =
  (max: number): Setting<number>['parse'] =>
  (raw) => {
    const n = Number(raw);
    return Number.isInteger(n) && n >= 1 && n <= max ? n : { error: `must be an integer from 1 to ${max}` };
  };
const days: Setting<number>['parse'] = (raw) => {
  const n = Number(raw);
  return Number.isInteger(n) && n >= 0 && n <= 36_500 ? n : { error: 'must be a whole number of days from 0 to 36500' };
};
const trueFalse: Setting<boolean>['parse'] = (raw) =>
  ['true', '1', 'yes'].includes(raw.toLowerCase())
    ? true
    : ['false', '0', 'no'].includes(raw.toLowerCase())
      ? false
      : { error: 'must be true or false' };
const nonEmpty: Setting<string>['parse'] = (raw) => (raw.trim() === '' ? { error: 'must not be empty' } : raw);
const oneOf =
  <T extends string>(...values: T[]): Setting<T>['parse'] =>
  (raw) =>
    (values as string[]).includes(raw.toLowerCase()) ? (raw.toLowerCase() as T) : { error: `must be one of ${values.join(', ')}` };

export const SETTINGS = {
  port: {
    flag: '--port',
    env: 'VIGIL_PORT',
    defaultText: '7070',
    help: 'TCP port to listen on (0 picks a free one)',
    parse: port,
  },
  host: {
    flag: '--host',
    env: 'VIGIL_HOST',
    defaultText: '127.0.0.1',
    // Loopback by default: a fresh hub should not be reachable from the network until asked.
    help: 'Address to listen on; use 0.0.0.0 to accept agents from other machines',
    parse: nonEmpty,
  },
  dataDir: {
    flag: '--data-dir',
    env: 'VIGIL_DATA_DIR',
    defaultText: './vigil-data',
    help: 'Directory for the SQLite database and the admin token file',
    parse: nonEmpty,
  },
  db: {
    flag: '--db',
    env: 'VIGIL_DATABASE_URL',
    defaultText: '<data-dir>/vigil.db',
    help: 'A SQLite file path, or a postgres:// URL to share one database between hubs',
    parse: nonEmpty,
  },
  adminToken: {
    flag: '--admin-token',
    env: 'VIGIL_ADMIN_TOKEN',
    defaultText: 'generated into <data-dir>/admin-token',
    help: 'The admin token to accept (at least 16 characters); prefer the environment over the flag, which shows in ps',
    parse: (raw: string) => (raw.length >= 16 ? raw : { error: 'must be at least 16 characters' }),
  },
  sqliteSynchronous: {
    flag: '--sqlite-synchronous',
    env: 'VIGIL_SQLITE_SYNCHRONOUS',
    defaultText: 'full',
    // FULL survives power loss; group commit makes its fsync per batch cheap (see bench/RESULTS.md).
    help: 'SQLite synchronous mode: full (survives power loss) or normal (may lose the last commits on power loss)',
    parse: oneOf('full', 'normal'),
  },
  sqliteInitEmpty: {
    flag: '--sqlite-init-empty',
    env: 'VIGIL_SQLITE_INIT_EMPTY',
    defaultText: 'false',
    // SQLite takes a zero-length file for a new database, so a truncated vigil.db would start as an empty hub.
    help: 'true lets the hub start a new database in an existing zero-length SQLite file (otherwise refused as possibly truncated)',
    parse: trueFalse,
  },
  queueCapacity: {
    flag: '--queue-capacity',
    env: 'VIGIL_QUEUE_CAPACITY',
    defaultText: '20000',
    // Bounds memory when the store stalls; beyond it clients get 429 and retry.
    help: 'Most items waiting for the writer before ingest answers 429',
    parse: positiveInt(1_000_000),
  },
  batchMaxItems: {
    flag: '--batch-max-items',
    env: 'VIGIL_BATCH_MAX_ITEMS',
    defaultText: '1000',
    // 100-1000 rows per transaction reach the SQLite and PostgreSQL insert ceiling (docs/ARCHITECTURE.md).
    help: 'Most items the writer commits in one transaction',
    parse: positiveInt(100_000),
  },
  batchMaxDelayMs: {
    flag: '--batch-max-delay-ms',
    env: 'VIGIL_BATCH_MAX_DELAY_MS',
    defaultText: '2',
    help: 'Longest the writer waits to fill a batch before committing',
    parse: positiveInt(1000),
  },
  writeDeadlineMs: {
    flag: '--write-deadline-ms',
    env: 'VIGIL_WRITE_DEADLINE_MS',
    defaultText: '5000',
    // Half the SDK's 10 s request timeout: a client hears 503 (and retries) instead of timing out.
    help: "Longest a write waits for its commit before it is answered 503 + Retry-After (keep it below clients' timeouts)",
    parse: positiveInt(120_000),
  },
  bodyLimitBytes: {
    flag: '--body-limit',
    env: 'VIGIL_BODY_LIMIT',
    defaultText: '1048576',
    help: 'Largest request body in bytes (413 above it); /api/v1/ingest accepts 4x this',
    parse: positiveInt(64 * 1024 * 1024),
  },
  missedHeartbeats: {
    flag: '--missed-heartbeats',
    env: 'VIGIL_MISSED_HEARTBEATS',
    defaultText: '3',
    help: 'An agent is offline after this many heartbeat intervals without one',
    parse: positiveInt(100),
  },
  hostMetricsIntervalS: {
    flag: '--host-metrics-interval',
    env: 'VIGIL_HOST_METRICS_INTERVAL',
    defaultText: '15',
    help: "Seconds between samples of the hub's own host (CPU, memory, disk, I/O); 0 turns sampling off",
    parse: (raw: string) => {
      const n = Number(raw);
      return Number.isInteger(n) && n >= 0 && n <= 86_400 ? n : { error: 'must be an integer from 0 to 86400' };
    },
  },
  sampleLocalPids: {
    flag: '--sample-local-pids',
    env: 'VIGIL_SAMPLE_LOCAL_PIDS',
    defaultText: 'true with SQLite, false with PostgreSQL',
    // Off by default with PostgreSQL: several hubs on several hosts would read one PID number on different machines.
    help: 'true samples the process of an agent registered with metadata.pid alive on this host (docs/local-pids.md)',
    parse: trueFalse,
  },
  webDir: {
    flag: '--web-dir',
    env: 'VIGIL_WEB_DIR',
    defaultText: 'packages/web/dist/public',
    help: 'Directory of the built dashboard served at / (npm run build writes it)',
    parse: nonEmpty,
  },
  authFailuresPerMinute: {
    flag: '--auth-failures-per-minute',
    env: 'VIGIL_AUTH_FAILURES_PER_MINUTE',
    defaultText: '10',
    // Enough for a person mistyping a token; a guesser gets 10 a minute, not thousands a second.
    help: 'Failed keys and sign-ins a client address (an IPv6 /64) may make a minute before it gets 429; 0 turns the limit off',
    parse: (raw: string) => {
      const n = Number(raw);
      return Number.isInteger(n) && n >= 0 && n <= 100_000 ? n : { error: 'must be an integer from 0 to 100000' };
    },
  },
  sessionIdleMinutes: {
    flag: '--session-idle',
    env: 'VIGIL_SESSION_IDLE',
    defaultText: '60',
    // The admin token's powers sit behind the cookie, so a forgotten browser should not stay signed in for
    // long; an open live feed counts as use, so a dashboard left on a wall display is not signed out.
    help: 'Minutes a dashboard session may go unused (no request, no open live feed) before it ends',
    parse: positiveInt(43_200),
  },
  liveMaxSockets: {
    flag: '--live-max-sockets',
    env: 'VIGIL_LIVE_MAX_SOCKETS',
    defaultText: '2000',
    // Measured in bench/RESULTS.md: 2,000 open sockets keep ingest p99 within 2x of none. More are refused (close 4029).
    help: 'Most live-feed WebSockets open at once; one more is closed with 4029',
    parse: positiveInt(100_000),
  },
  liveMaxSocketsPerClient: {
    flag: '--live-max-sockets-per-client',
    env: 'VIGIL_LIVE_MAX_SOCKETS_PER_CLIENT',
    defaultText: '50',
    // One dashboard tab is one socket; a runaway page or script must not take the whole hub's share.
    help: 'Most live-feed WebSockets of one sign-in session or one admin token; one more is closed with 4029',
    parse: positiveInt(100_000),
  },
  liveMaxBufferedBytes: {
    flag: '--live-max-buffered',
    env: 'VIGIL_LIVE_MAX_BUFFERED',
    defaultText: '4194304',
    // A socket that does not read would otherwise hold every later message in the hub's memory.
    help: 'Bytes a live-feed socket may have unsent before it is closed with 4008 (the dashboard reconnects and refetches)',
    parse: (raw: string) => {
      const n = Number(raw);
      return Number.isInteger(n) && n >= 16_384 && n <= 1024 * 1024 * 1024 ? n : { error: 'must be an integer from 16384 to 1073741824' };
    },
  },
  alertRulesFile: {
    flag: '--alert-rules',
    env: 'VIGIL_ALERT_RULES',
    defaultText: 'none',
    help: 'A JSON file of alert rules ({"rules": [...]}), checked at start; its rules replace those of the same name',
    parse: nonEmpty,
  },
  webhookAllowPrivate: {
    flag: '--webhook-allow-private',
    env: 'VIGIL_WEBHOOK_ALLOW_PRIVATE',
    defaultText: 'false',
    // Off: a webhook could otherwise reach services bound to loopback or the private network (SSRF).
    // Cloud metadata and link-local addresses stay refused either way.
    help: 'true lets webhooks target loopback and private-network addresses (never metadata or link-local)',
    parse: trueFalse,
  },
  webhookAttempts: {
    flag: '--webhook-attempts',
    env: 'VIGIL_WEBHOOK_ATTEMPTS',
    defaultText: '5',
    help: 'Attempts per webhook delivery before it is logged as failed',
    parse: positiveInt(20),
  },
  webhookBackoffMs: {
    flag: '--webhook-backoff-ms',
    env: 'VIGIL_WEBHOOK_BACKOFF_MS',
    defaultText: '1000',
    // 1, 2, 4 and 8 s: a receiver restarting within about 15 s still gets the notification.
    help: 'Wait before the second webhook attempt; each later wait doubles',
    parse: positiveInt(600_000),
  },
  alertRepeatS: {
    flag: '--alert-repeat',
    env: 'VIGIL_ALERT_REPEAT',
    defaultText: '14400',
    // Alertmanager's repeat_interval default: a firing alert nobody acknowledged is not forgotten, nor spammed.
    help: 'Seconds between repeat notifications of a firing, unacknowledged alert; 0 never repeats',
    parse: (raw: string) => {
      const n = Number(raw);
      return Number.isInteger(n) && n >= 0 && n <= 30 * 86_400 ? n : { error: 'must be an integer from 0 to 2592000' };
    },
  },
  retentionMetricsDays: {
    flag: '--retention-metrics-days',
    env: 'VIGIL_RETENTION_METRICS_DAYS',
    defaultText: '7',
    // The seed's 7 days; older history is read from the rollups, which are a fraction of the size.
    help: 'Days raw agent and host metric samples are kept; 0 keeps them forever',
    parse: days,
  },
  retentionEventsDays: {
    flag: '--retention-events-days',
    env: 'VIGIL_RETENTION_EVENTS_DAYS',
    defaultText: '30',
    help: 'Days agent events are kept; 0 keeps them forever',
    parse: days,
  },
  retentionErrorsDays: {
    flag: '--retention-errors-days',
    env: 'VIGIL_RETENTION_ERRORS_DAYS',
    defaultText: '7',
    // As the seed: an error nobody resolved stays until someone does, however old.
    help: 'Days a resolved error is kept after it was resolved and last seen; unresolved errors are never purged',
    parse: days,
  },
  retentionTracesDays: {
    flag: '--retention-traces-days',
    env: 'VIGIL_RETENTION_TRACES_DAYS',
    defaultText: '30',
    help: 'Days LLM traces are kept; 0 keeps them forever',
    parse: days,
  },
  retentionRollup1mDays: {
    flag: '--retention-rollup-1m-days',
    env: 'VIGIL_RETENTION_ROLLUP_1M_DAYS',
    defaultText: '3',
    help: 'Days per-minute metric rollups are kept; 0 keeps them forever',
    parse: days,
  },
  retentionRollup1hDays: {
    flag: '--retention-rollup-1h-days',
    env: 'VIGIL_RETENTION_ROLLUP_1H_DAYS',
    defaultText: '365',
    help: 'Days per-hour metric rollups are kept; 0 keeps them forever',
    parse: days,
  },
  retentionIntervalS: {
    flag: '--retention-interval',
    env: 'VIGIL_RETENTION_INTERVAL',
    defaultText: '300',
    // Each pass deletes in small batches; every 5 minutes keeps a pass short without letting much pile up.
    help: 'Seconds between retention passes (purge in small batches, then give space back); one also runs at start',
    parse: positiveInt(86_400),
  },
  rollupIntervalS: {
    flag: '--rollup-interval',
    env: 'VIGIL_ROLLUP_INTERVAL',
    defaultText: '60',
    // Charts read the minutes not yet rolled from raw rows, so a minute's delay costs no freshness.
    help: 'Seconds between rollup passes (per-minute and per-hour metric rollups); one also runs at start',
    parse: positiveInt(3_600),
  },
  otlpBodyLimitBytes: {
    flag: '--otlp-body-limit',
    env: 'VIGIL_OTLP_BODY_LIMIT',
    defaultText: '16777216',
    // Measured after gzip is undone, so a small compressed body cannot expand without bound.
    help: 'Largest OTLP export in bytes after decompression (413 above it)',
    parse: positiveInt(256 * 1024 * 1024),
  },
  otlpGrpcPort: {
    flag: '--otlp-grpc-port',
    env: 'VIGIL_OTLP_GRPC_PORT',
    defaultText: '4317',
    // OTLP's registered gRPC port; a port already taken is logged and OTLP/HTTP still works.
    help: 'TCP port for OTLP/gRPC on the --host address; 0 turns it off',
    parse: port,
  },
  otlpMaxSeries: {
    flag: '--otlp-max-series',
    env: 'VIGIL_OTLP_MAX_SERIES',
    defaultText: '2000',
    help: 'Most OTLP metric series one agent may have; points of new series beyond it are dropped and counted',
    parse: positiveInt(1_000_000),
  },
  llmBusyWindowS: {
    flag: '--llm-busy-window',
    env: 'VIGIL_LLM_BUSY_WINDOW',
    defaultText: '120',
    // Claude Code exports its events every 5 s and its metrics every 60 s; two minutes spans both.
    help: 'Seconds after its last LLM activity that an agent counts as busy rather than idle',
    parse: positiveInt(86_400),
  },
  metricsPublic: {
    flag: '--metrics-public',
    env: 'VIGIL_METRICS_PUBLIC',
    defaultText: 'false',
    // Off: the fleet's names, pools and spend are not for anyone who can reach the port.
    help: 'true serves GET /metrics (Prometheus) without a key; otherwise it needs the admin token',
    parse: trueFalse,
  },
  metricsPerAgent: {
    flag: '--metrics-per-agent',
    env: 'VIGIL_METRICS_PER_AGENT',
    defaultText: 'true',
    help: 'false leaves per-agent series out of /metrics (very large fleets): pools, types and models remain',
    parse: trueFalse,
  },
  logLevel: {
    flag: '--log-level',
    env: 'VIGIL_LOG_LEVEL',
    defaultText: 'info',
    help: 'Log level: fatal, error, warn, info, debug, trace or silent',
    parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
  },
} satisfies Record<string, Setting<unknown>>;

type Settings = typeof SETTINGS;
type Parsed<K extends keyof Settings> = Exclude<ReturnType<Settings[K]['parse']>, { error: string }>;

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly db: string;
  readonly adminToken: string | undefined;
  readonly sqliteSynchronous: Parsed<'sqliteSynchronous'>;
  readonly sqliteInitEmpty: boolean;
  readonly queueCapacity: number;
  readonly batchMaxItems: number;
  readonly batchMaxDelayMs: number;
  readonly writeDeadlineMs: number;
  readonly hostMetricsIntervalS: number;
  readonly sampleLocalPids: boolean;
  readonly bodyLimitBytes: number;
  readonly missedHeartbeats: number;
  readonly webDir: string;
  readonly sessionIdleMinutes: number;
  readonly authFailuresPerMinute: number;
  readonly liveMaxSockets: number;
  readonly liveMaxSocketsPerClient: number;
  readonly liveMaxBufferedBytes: number;
  readonly alertRulesFile: string | undefined;
  readonly webhookAllowPrivate: boolean;
  readonly webhookAttempts: number;
  readonly webhookBackoffMs: number;
  readonly alertRepeatS: number;
  readonly retentionMetricsDays: number;
  readonly retentionEventsDays: number;
  readonly retentionErrorsDays: number;
  readonly retentionTracesDays: number;
  readonly retentionRollup1mDays: number;
  readonly retentionRollup1hDays: number;
  readonly retentionIntervalS: number;
  readonly rollupIntervalS: number;
  readonly otlpBodyLimitBytes: number;
  readonly otlpGrpcPort: number;
  readonly otlpMaxSeries: number;
  readonly llmBusyWindowS: number;
  readonly metricsPublic: boolean;
  readonly metricsPerAgent: boolean;
  readonly logLevel: Parsed<'logLevel'>;
}

export class ConfigError extends Error {}

/**
 * Reads flags (`--port 8080` or `--port=8080`), then the environment, then defaults; flags win.
 * Throws ConfigError naming the setting and what is wrong, so `vigil server` can print it and exit 2.
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv, cwd = process.cwd()): Config {
  const flags = parseFlags(argv);
  const raw = (key: keyof Settings): string | undefined => {
    const s = SETTINGS[key];
    return flags.get(s.flag) ?? env[s.env];
  };
  const value = <K extends keyof Settings>(key: K): Parsed<K> | undefined => {
    const text = raw(key);
    if (text === undefined) return undefined;
    const parsed = SETTINGS[key].parse(text) as Parsed<K> | { error: string };
    if (typeof parsed === 'object' && parsed !== null && 'error' in parsed) {
      const s = SETTINGS[key];
      throw new ConfigError(`${s.flag} / ${s.env}: ${JSON.stringify(text)} ${parsed.error}`);
    }
    return parsed;
  };

  const dataDir = resolve(cwd, value('dataDir') ?? 'vigil-data');
  const db = value('db') ?? join(dataDir, 'vigil.db');
  return Object.freeze({
    port: value('port') ?? 7070,
    host: value('host') ?? '127.0.0.1',
    dataDir,
    db: isPostgresUrl(db) ? db : resolve(cwd, db),
    adminToken: value('adminToken'),
    sqliteSynchronous: value('sqliteSynchronous') ?? 'full',
    sqliteInitEmpty: value('sqliteInitEmpty') ?? false,
    queueCapacity: value('queueCapacity') ?? 20_000,
    batchMaxItems: value('batchMaxItems') ?? 1000,
    batchMaxDelayMs: value('batchMaxDelayMs') ?? 2,
    writeDeadlineMs: value('writeDeadlineMs') ?? 5000,
    bodyLimitBytes: value('bodyLimitBytes') ?? 1024 * 1024,
    missedHeartbeats: value('missedHeartbeats') ?? 3,
    webDir: resolve(cwd, value('webDir') ?? DEFAULT_WEB_DIR),
    sessionIdleMinutes: value('sessionIdleMinutes') ?? 60,
    authFailuresPerMinute: value('authFailuresPerMinute') ?? 10,
    liveMaxSockets: value('liveMaxSockets') ?? 2000,
    liveMaxSocketsPerClient: value('liveMaxSocketsPerClient') ?? 50,
    liveMaxBufferedBytes: value('liveMaxBufferedBytes') ?? 4 * 1024 * 1024,
    hostMetricsIntervalS: value('hostMetricsIntervalS') ?? 15,
    sampleLocalPids: value('sampleLocalPids') ?? !isPostgresUrl(db),
    alertRulesFile: value('alertRulesFile'),
    webhookAllowPrivate: value('webhookAllowPrivate') ?? false,
    webhookAttempts: value('webhookAttempts') ?? 5,
    webhookBackoffMs: value('webhookBackoffMs') ?? 1000,
    alertRepeatS: value('alertRepeatS') ?? 14_400,
    retentionMetricsDays: value('retentionMetricsDays') ?? 7,
    retentionEventsDays: value('retentionEventsDays') ?? 30,
    retentionErrorsDays: value('retentionErrorsDays') ?? 7,
    retentionTracesDays: value('retentionTracesDays') ?? 30,
    retentionRollup1mDays: value('retentionRollup1mDays') ?? 3,
    retentionRollup1hDays: value('retentionRollup1hDays') ?? 365,
    retentionIntervalS: value('retentionIntervalS') ?? 300,
    rollupIntervalS: value('rollupIntervalS') ?? 60,
    otlpBodyLimitBytes: value('otlpBodyLimitBytes') ?? 16 * 1024 * 1024,
    otlpGrpcPort: value('otlpGrpcPort') ?? 4317,
    otlpMaxSeries: value('otlpMaxSeries') ?? 2000,
    llmBusyWindowS: value('llmBusyWindowS') ?? 120,
    metricsPublic: value('metricsPublic') ?? false,
    metricsPerAgent: value('metricsPerAgent') ?? true,
    logLevel: value('logLevel') ?? 'info',
  });
}

/** Where `npm run build` writes the dashboard, found from this file's place in the compiled hub. */
const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../../../web/dist/public', import.meta.url));

export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

function parseFlags(argv: readonly string[]): Map<string, string> {
  const known = new Set(Object.values(SETTINGS).map((s) => s.flag));
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (!known.has(name)) throw new ConfigError(`unknown option ${JSON.stringify(name)} (see vigil server --help)`);
    const val = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (val === undefined) throw new ConfigError(`${name} needs a value`);
    flags.set(name, val);
  }
  return flags;
}

/** The options table of `vigil server --help`, generated from SETTINGS so it cannot drift. */
export function settingsHelp(): string {
  const rows = Object.values(SETTINGS).map((s) => [`${s.flag} <value>`, s.env, s.help, s.defaultText] as const);
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  return rows.map(([flag, env, help, def]) => `  ${flag.padEnd(w0)}  ${env.padEnd(w1)}  ${help} (default: ${def})`).join('\n');
}
