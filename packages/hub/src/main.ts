import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import pino, { type Logger } from 'pino';
import { Authenticator } from './auth/authenticate.js';
import { FailureThrottle } from './auth/failure-throttle.js';
import { KeyRateLimit } from './auth/key-rate-limit.js';
import { loadAdminToken } from './auth/secrets.js';
import { Sessions } from './auth/sessions.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config/config.js';
import { isPostgresUrl } from './store/db-target.js';
import { buildApp } from './api/app.js';
import type { App } from './api/context.js';
import { Writer } from './ingest/writer.js';
import { HostMetricsJob } from './jobs/host-metrics.js';
import { LocalPidSampler } from './jobs/local-pids.js';
import { Bus } from './live/bus.js';
import { LIVE_MISSED_CLOSE, LiveFanout } from './live/fanout.js';
import { messagesFor } from './live/messages.js';
import { LivenessJob } from './jobs/liveness.js';
import { retentionFromConfig, RetentionJob } from './jobs/retention.js';
import { RollupJob } from './jobs/rollups.js';
import type { Db } from './store/db.js';
import { openStoreWhenReachable } from './store/open-when-reachable.js';
import { listenWhileWaiting, type WaitingServer } from './api/waiting-server.js';
import { submitAlertAction } from './alerts/submit.js';
import { AlertEngine } from './alerts/engine.js';
import { loadRulesFile } from './alerts/rules-file.js';
import { WebhookNotifier } from './alerts/webhooks.js';
import { loadDashboardBuild } from './web/assets.js';
import { ensurePrivateDir, type Warn } from './private-files.js';
import { OtlpGrpcServer } from './otlp/grpc.js';
import { HubMetrics } from './metrics/hub-metrics.js';
import { ClusterLink } from './cluster/link.js';
import { JobOwner } from './cluster/job-owner.js';

/** Longest one webhook attempt may take; a receiver slower than this is failing. */
const WEBHOOK_TIMEOUT_MS = 10_000;
/** How often the job owner looks for webhook deliveries left unsent (a dead hub's lapsed claims). */
const DELIVERY_SWEEP_MS = 5000;

/** Headers that carry credentials; never logged. */
const REDACT = ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]'];

export interface HubOptions {
  clock?: Clock;
  logger?: Logger;
  /** How often the liveness sweep runs (tests drive it by hand through `hub.liveness`). */
  livenessEveryMs?: number;
  /** How often the alert engine's timer runs (tests drive it by hand through `hub.alerts.tick()`). */
  alertsEveryMs?: number;
}

export interface Hub {
  url: string;
  /** The OTLP/gRPC port, when it listens (`--otlp-grpc-port`; 0 turns it off). */
  otlpGrpcPort: number | undefined;
  app: App;
  db: Db;
  writer: Writer;
  /** What each commit stored, for live listeners (WebSocket, alerts). */
  bus: Bus;
  /** The live feed's sockets (`/api/v1/live`). */
  live: LiveFanout;
  liveness: LivenessJob;
  /** Per-minute and per-hour metric rollups (tests run a pass by hand with `runOnce`). */
  rollups: RollupJob;
  /** Purges what is past retention and gives the space back. */
  retention: RetentionJob;
  /** Alert rules evaluated on every commit and on a timer. */
  alerts: AlertEngine;
  /** Webhook deliveries of alert notifications. */
  notifier: WebhookNotifier;
  /** Dashboard sign-in sessions. */
  sessions: Sessions;
  /** This hub's id among several on one database ('local' on SQLite, which has one hub). */
  hubId: string;
  /** PostgreSQL only: what the other hubs commit, sessions they end, keys they revoke (LISTEN/NOTIFY). */
  cluster: ClusterLink | undefined;
  /** PostgreSQL only: whether this hub holds the lock that runs liveness, alerts, retention and rollups. */
  jobOwner: JobOwner | undefined;
  /** Absent when host sampling is turned off (`--host-metrics-interval 0`). */
  hostMetrics: HostMetricsJob | undefined;
  /** Absent when `--sample-local-pids false` (the default with PostgreSQL). */
  localPids: LocalPidSampler | undefined;
  adminToken: string;
  /** Where the admin token came from: the credentials file's path, or VIGIL_ADMIN_TOKEN. */
  adminTokenSource: string;
  /** Stops accepting, commits everything already acknowledged or queued, closes the store. */
  stop(): Promise<void>;
}

/**
 * OTLP/gRPC beside the API. A port already taken is logged, not fatal: OTLP/HTTP on the API port
 * carries the same data, and a second hub on one machine should not fail for want of port 4317.
 */
async function startOtlpGrpc(
  config: Config,
  d: { auth: Authenticator; writer: Writer; db: Db; clock: Clock; lifecycle: { shuttingDown: boolean }; log: Logger },
): Promise<OtlpGrpcServer | undefined> {
  if (config.otlpGrpcPort === 0) return undefined;
  const server = new OtlpGrpcServer({
    host: config.host,
    port: config.otlpGrpcPort,
    maxMessageBytes: config.otlpBodyLimitBytes,
    auth: d.auth,
    ingest: { writer: d.writer, db: d.db, now: () => d.clock.now(), maxSeriesPerAgent: config.otlpMaxSeries },
    shuttingDown: () => d.lifecycle.shuttingDown,
    onError: (err) => d.log.error({ err }, 'OTLP/gRPC export failed'),
  });
  try {
    const port = await server.listen();
    d.log.info({ port }, 'OTLP/gRPC listening');
    return server;
  } catch (err) {
    d.log.error({ err, port: config.otlpGrpcPort }, 'OTLP/gRPC cannot listen; OTLP/HTTP on the API port still works');
    await server.close();
    return undefined;
  }
}

export function createLogger(level: string): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' } });
}

/** The composition root: config → credentials → store → writer → HTTP app → listening hub. */
export async function startHub(config: Config, options: HubOptions = {}): Promise<Hub> {
  const clock = options.clock ?? systemClock;
  const log = options.logger ?? createLogger(config.logLevel);
  const startedAt = clock.now();
  // A bad rules file stops the start here, before anything is opened, with a message naming the rule.
  const fileRules = config.alertRulesFile !== undefined ? loadRulesFile(config.alertRulesFile) : undefined;
  const warn: Warn = (details, message) => log.warn(details, message);
  // The directories holding the admin token file and the SQLite database are the hub's user's alone.
  const privateDirs = new Set<string>();
  if (config.adminToken === undefined) privateDirs.add(config.dataDir);
  if (!isPostgresUrl(config.db)) privateDirs.add(dirname(config.db));
  for (const dir of privateDirs) ensurePrivateDir(dir, warn);
  const { token, source } = loadAdminToken(config.dataDir, config.adminToken, warn);

  // A database that is not there yet is waited for. Meanwhile the port answers /healthz (alive,
  // "starting") and /readyz 503, so a supervisor's liveness probe does not restart the hub and a
  // load balancer sends it nothing; the real app takes the port over once the store is open.
  let waiting: WaitingServer | undefined;
  const opened = openStoreWhenReachable(
    config.db,
    {
      sqliteSynchronous: config.sqliteSynchronous,
      sqliteInitEmpty: config.sqliteInitEmpty,
      onWarning: warn,
      onProgress: (line) => log.info(line),
      now: startedAt,
      onIdleError: (err) => log.warn({ err: err.message }, 'database connection lost; will reconnect'),
    },
    log,
    {
      onWaiting: async () => {
        if (waiting) return;
        waiting = await listenWhileWaiting(config.host, config.port, startedAt, () => clock.now());
        log.warn({ url: waiting.url }, 'answering /healthz (alive) and /readyz (not ready) until the database is reached');
      },
    },
  );
  const { db, applied } = await opened.catch(async (err: unknown) => {
    await waiting?.close();
    throw err;
  });
  if (applied.length > 0) log.info({ applied }, 'migrated the store');
  const durability = await db.durability();
  if (durability.level !== 'full') log.warn({ detail: durability.detail }, 'acknowledged writes may not survive a power loss');

  const bus = new Bus((err) => log.error({ err }, 'a live listener failed'));
  // Several hubs may share a PostgreSQL database (docs/several-hubs.md); a SQLite file has one hub.
  const shared = isPostgresUrl(config.db);
  const hubId = shared ? randomUUID() : 'local';
  let cluster: ClusterLink | undefined;
  const live = new LiveFanout({
    maxSockets: config.liveMaxSockets,
    maxSocketsPerClient: config.liveMaxSocketsPerClient,
    maxBufferedBytes: config.liveMaxBufferedBytes,
  });
  bus.subscribe((messages) => live.publish(messages));
  // Read at scrape time only, so the writer it reads from may be built after it.
  const metrics = new HubMetrics({
    db,
    perAgent: config.metricsPerAgent,
    now: () => clock.now(),
    sources: {
      queueDepth: () => writer.queueDepth,
      queueCapacity: () => writer.capacity,
      liveSockets: () => live.stats().sockets,
      liveDropped: () => live.stats().dropped,
    },
  });
  const writer = new Writer(
    db,
    {
      capacity: config.queueCapacity,
      batchMaxItems: config.batchMaxItems,
      batchMaxDelayMs: config.batchMaxDelayMs,
      deadlineMs: config.writeDeadlineMs,
      onCommitted: (committed) => bus.publish(committed.flatMap(messagesFor)),
      inTransaction: shared
        ? (tx, committed) => (cluster as ClusterLink).notifyInTransaction(tx, committed.flatMap(messagesFor), clock.now())
        : undefined,
      onBatch: (commands, seconds, ok) => metrics.batchCommitted(commands, seconds, ok),
    },
    log,
    () => clock.now(),
  );
  const now = () => clock.now();
  const auth = new Authenticator(
    token,
    db,
    now,
    new FailureThrottle(config.authFailuresPerMinute, now),
    new KeyRateLimit(config.keyRequestsPerS, config.keyBytesPerS, now),
  );
  const notifier = new WebhookNotifier(
    { db, writer, clock, onError: (err) => log.warn({ err }, 'webhook delivery failed') },
    {
      maxAttempts: config.webhookAttempts,
      backoffMs: config.webhookBackoffMs,
      timeoutMs: WEBHOOK_TIMEOUT_MS,
      allowPrivate: config.webhookAllowPrivate,
      hubId,
    },
  );
  const alerts = new AlertEngine(
    { db, writer, bus, clock, notifier },
    {
      everyMs: options.alertsEveryMs ?? 5000,
      renotifyMs: config.alertRepeatS * 1000,
      missedHeartbeats: config.missedHeartbeats,
      onError: (err) => log.warn({ err }, 'alert evaluation failed'),
    },
  );
  const sessions = new Sessions(db, () => clock.now(), {
    idleMs: config.sessionIdleMinutes * 60_000,
    onEnded: shared ? (hashes) => cluster?.sessionsEnded(hashes) : undefined,
  });
  if (shared) {
    cluster = new ClusterLink(config.db, hubId, db, {
      onMessages: (messages) => bus.publish(messages, 'remote'),
      onSessionsEnded: (hashes) => sessions.closeSockets(hashes),
      onKeysRevoked: () => auth.forgetCached(),
      // A no-op on hubs that do not run the engine (tick runs only while it is started).
      onAlertsChanged: () => void alerts.tick().catch((err: unknown) => log.warn({ err }, 'applying alert changes failed')),
      onGap: () => {
        log.warn("may have missed other hubs' changes; live sockets refetch");
        live.closeAll(LIVE_MISSED_CLOSE, 'missed changes from another hub; reconnect and refetch');
        // The engine's state is built from the feed: the owner reloads it from the store.
        if (jobOwner?.isOwner)
          void alerts
            .stop()
            .then(() => (jobOwner?.isOwner ? alerts.start() : undefined))
            .catch((err: unknown) => log.warn({ err }, 'reloading alerts failed'));
      },
      onError: (err, message) => log.warn({ err }, message),
    });
    auth.onForget = () => cluster?.keysRevoked();
  }
  const dashboard = loadDashboardBuild(config.webDir);
  if (!dashboard.ok) log.warn({ reason: dashboard.reason }, 'the web dashboard is not built (npm run build); / says how to build it');
  const lifecycle = { shuttingDown: false };
  const retention = retentionFromConfig(config);
  // With several hubs: set once this hub asks for the job lock (below), read by /healthz.
  let jobOwner: JobOwner | undefined;
  const app = await buildApp(
    {
      db,
      writer,
      bus,
      live,
      auth,
      alerts: {
        // With several hubs, a change made here reaches the engine on the hub that runs it at once.
        engine: {
          tick: async () => {
            await alerts.tick();
            cluster?.alertsChanged();
          },
        },
        allowPrivateWebhooks: config.webhookAllowPrivate,
      },
      sessions,
      dashboard,
      clock,
      retention,
      bodyLimitBytes: config.bodyLimitBytes,
      otlp: {
        bodyLimitBytes: config.otlpBodyLimitBytes,
        maxSeriesPerAgent: config.otlpMaxSeries,
        busyWindowMs: config.llmBusyWindowS * 1000,
      },
      startedAt,
      lifecycle,
      metrics: { hub: metrics, public: config.metricsPublic },
      jobs: {
        hubId,
        runsHere: () => (shared ? (jobOwner?.isOwner ?? false) : true),
        owner: async () => (shared ? ((await jobOwner?.holder()) ?? null) : hubId),
      },
    },
    log,
  );
  const liveness = new LivenessJob(writer, clock, {
    missed: config.missedHeartbeats,
    everyMs: options.livenessEveryMs ?? 5000,
    bootedAt: startedAt,
    onError: (err) => log.warn({ err }, 'liveness sweep failed'),
  });

  const rollups = new RollupJob(writer, clock, {
    everyMs: config.rollupIntervalS * 1000,
    retention,
    onRolled: (series, rows) => metrics.rolledUp(series, rows),
    onError: (err) => log.warn({ err }, 'rollup pass failed'),
  });
  const purge = new RetentionJob(writer, db, clock, {
    everyMs: config.retentionIntervalS * 1000,
    retention,
    onPurged: (table, rows) => metrics.purged(table, rows),
    onPartitions: (created, dropped) => metrics.partitions(created, dropped),
    onError: (err) => log.warn({ err }, 'retention pass failed'),
  });

  const hostMetrics =
    config.hostMetricsIntervalS > 0
      ? new HostMetricsJob(writer, clock, {
          everyMs: config.hostMetricsIntervalS * 1000,
          diskPath: config.dataDir,
          onError: (err) => log.warn({ err }, 'host metrics sample failed'),
        })
      : undefined;

  const localPids = config.sampleLocalPids
    ? new LocalPidSampler(writer, db, bus, clock, { onError: (err) => log.warn({ err }, 'sampling a local agent process failed') })
    : undefined;

  // Alerts start before the hub listens, so no commit goes unseen by the engine.
  if (fileRules) await submitAlertAction(writer, { type: 'sync_file_rules', rules: fileRules, now: startedAt });
  // With several hubs, the hub holding the job lock runs the jobs; it hears the others' commits through
  // the cluster link, so it listens first. The first ask is answered before this hub listens.
  let sweep: NodeJS.Timeout | undefined;
  if (shared) {
    await (cluster as ClusterLink).start();
    jobOwner = new JobOwner(
      config.db,
      {
        acquired: async () => {
          log.info({ hub: hubId }, 'this hub runs the jobs (liveness, alerts, retention, rollups)');
          await notifier.resume();
          await alerts.start();
          liveness.start();
          rollups.start();
          purge.start();
          // Deliveries a dead hub had claimed are taken over once their claim lapses.
          sweep = setInterval(
            () => void notifier.resume().catch((err: unknown) => log.warn({ err }, 'webhook sweep failed')),
            DELIVERY_SWEEP_MS,
          );
          sweep.unref();
        },
        lost: async () => {
          log.warn({ hub: hubId }, 'this hub no longer runs the jobs');
          clearInterval(sweep);
          liveness.stop();
          await Promise.all([rollups.stop(), purge.stop(), alerts.stop()]);
        },
        onError: (err, message) => log.warn({ err }, message),
      },
      { hubId },
    );
    await jobOwner.start();
  } else {
    // What a stop or a crash left in the outbox is read before the engine can add to it, so nothing is sent twice at once.
    await notifier.resume();
    await alerts.start();
  }
  sessions.start();

  let address: string;
  try {
    const port = waiting ? waiting.port : config.port;
    await waiting?.close();
    address = await app.listen({ port, host: config.host });
  } catch (err) {
    await app.close().catch(() => undefined);
    await jobOwner?.stop().catch(() => undefined);
    await cluster?.stop().catch(() => undefined);
    await db.close().catch(() => undefined);
    throw err;
  }
  const otlpGrpc = await startOtlpGrpc(config, { auth, writer, db, clock, lifecycle, log });
  hostMetrics?.start();
  localPids?.start();
  if (!shared) {
    liveness.start();
    rollups.start();
    purge.start();
  }

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      lifecycle.shuttingDown = true;
      sessions.stop();
      hostMetrics?.stop();
      localPids?.stop();
      // A rollup or purge pass stops between its steps; one already queued commits with the drain.
      // Letting the job lock go hands the jobs to another hub at once.
      liveness.stop();
      const jobsIdle = jobOwner ? jobOwner.stop() : Promise.all([rollups.stop(), purge.stop()]);
      // In-flight requests finish (their commits are still accepted); new ones get 503.
      await Promise.all([app.close(), otlpGrpc?.close()]);
      live.stop();
      // Alert changes raised by the last requests commit; deliveries in flight stop and resume at the next start.
      await alerts.stop();
      await notifier.stop();
      await writer.drain();
      // A pass's last space-reclaiming step runs on the write connection, so it ends before the store closes.
      await jobsIdle;
      await cluster?.stop();
      await db.close();
    })());

  return {
    url: address,
    otlpGrpcPort: otlpGrpc?.boundPort,
    app,
    db,
    writer,
    bus,
    live,
    liveness,
    rollups,
    retention: purge,
    alerts,
    notifier,
    sessions,
    hubId,
    cluster,
    jobOwner,
    hostMetrics,
    localPids,
    adminToken: token,
    adminTokenSource: source,
    stop,
  };
}
