import pino, { type Logger } from 'pino';
import { Authenticator } from './auth/authenticate.js';
import { loadAdminToken } from './auth/secrets.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config/config.js';
import { buildApp } from './api/app.js';
import type { App } from './api/context.js';
import type { CommandResult } from './ingest/commands.js';
import { Writer } from './ingest/writer.js';
import { HostMetricsJob } from './jobs/host-metrics.js';
import { Bus } from './live/bus.js';
import { messagesFor } from './live/messages.js';
import { LivenessJob } from './jobs/liveness.js';
import type { Db } from './store/db.js';
import { openStore } from './store/open.js';

/** Headers that carry credentials; never logged. */
const REDACT = ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]'];

export interface HubOptions {
  clock?: Clock;
  logger?: Logger;
  /** How often the liveness sweep runs (tests drive it by hand through `hub.liveness`). */
  livenessEveryMs?: number;
}

export interface Hub {
  url: string;
  app: App;
  db: Db;
  writer: Writer;
  /** What each commit stored, for live listeners (WebSocket, alerts). */
  bus: Bus;
  liveness: LivenessJob;
  /** Absent when host sampling is turned off (`--host-metrics-interval 0`). */
  hostMetrics: HostMetricsJob | undefined;
  adminToken: string;
  /** Where the admin token came from: the credentials file's path, or VIGIL_ADMIN_TOKEN. */
  adminTokenSource: string;
  /** Stops accepting, commits everything already acknowledged or queued, closes the store. */
  stop(): Promise<void>;
}

export function createLogger(level: string): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' } });
}

/** The composition root: config → credentials → store → writer → HTTP app → listening hub. */
export async function startHub(config: Config, options: HubOptions = {}): Promise<Hub> {
  const clock = options.clock ?? systemClock;
  const log = options.logger ?? createLogger(config.logLevel);
  const startedAt = clock.now();
  const { token, source } = loadAdminToken(config.dataDir, config.adminToken);

  const { db, applied } = await openStore(config.db, {
    sqliteSynchronous: config.sqliteSynchronous,
    now: startedAt,
    onIdleError: (err) => log.warn({ err: err.message }, 'database connection lost; will reconnect'),
  });
  if (applied.length > 0) log.info({ applied }, 'migrated the store');
  const durability = await db.durability();
  if (durability.level !== 'full') log.warn({ detail: durability.detail }, 'acknowledged writes may not survive a power loss');

  const bus = new Bus((err) => log.error({ err }, 'a live listener failed'));
  const writer = new Writer(
    db,
    {
      capacity: config.queueCapacity,
      batchMaxItems: config.batchMaxItems,
      batchMaxDelayMs: config.batchMaxDelayMs,
      onCommitted: (commands, results) => bus.publish(commands.flatMap((cmd, i) => messagesFor(cmd, results[i] as CommandResult))),
    },
    log,
    () => clock.now(),
  );
  const auth = new Authenticator(token, db, () => clock.now());
  const lifecycle = { shuttingDown: false };
  const app = await buildApp({ db, writer, bus, auth, clock, bodyLimitBytes: config.bodyLimitBytes, startedAt, lifecycle }, log);
  const liveness = new LivenessJob(writer, clock, {
    missed: config.missedHeartbeats,
    everyMs: options.livenessEveryMs ?? 5000,
    bootedAt: startedAt,
    onError: (err) => log.warn({ err }, 'liveness sweep failed'),
  });

  const hostMetrics =
    config.hostMetricsIntervalS > 0
      ? new HostMetricsJob(writer, clock, {
          everyMs: config.hostMetricsIntervalS * 1000,
          diskPath: config.dataDir,
          onError: (err) => log.warn({ err }, 'host metrics sample failed'),
        })
      : undefined;

  let address: string;
  try {
    address = await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await app.close().catch(() => undefined);
    await db.close().catch(() => undefined);
    throw err;
  }
  liveness.start();
  hostMetrics?.start();

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      lifecycle.shuttingDown = true;
      liveness.stop();
      hostMetrics?.stop();
      // In-flight requests finish (their commits are still accepted); new ones get 503.
      await app.close();
      await writer.drain();
      await db.close();
    })());

  return { url: address, app, db, writer, bus, liveness, hostMetrics, adminToken: token, adminTokenSource: source, stop };
}
