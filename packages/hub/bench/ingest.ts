/**
 * `npm run bench:ingest`: ingest throughput of the hub beside baselines measured in the same run.
 *
 *  - single heartbeats (POST /api/v1/agents/:id/heartbeat) against a bare Fastify server that
 *    validates the same body with the hub's own Ajv setup and answers 200 without storing anything;
 *  - batched heartbeats (POST /api/v1/ingest) against raw better-sqlite3 writing the same
 *    agent_metrics rows and agents updates, in transactions of the same size, on the hub's schema;
 *  - each of those with SQLite synchronous FULL and NORMAL;
 *  - single heartbeats while rollup and purge steps run (on rows seeded before the run), against
 *    the same seeded store without them: the writer is one connection, so a step delays the
 *    commits queued behind it, but it no longer holds the event loop.
 *
 * Every server (hub, bare Fastify), the raw insert loop and the load generator (autocannon, in
 * BENCH_CLIENTS processes) run in child processes of their own, so the client cannot take the
 * server's CPU time in its own process; each reports its CPU, the hub per thread (the HTTP thread
 * and the SQLite writer thread). Figures are ratios to a baseline taken in the same run, because
 * the machine is shared and absolute rates move from one run to the next.
 *
 * Environment: BENCH_SECONDS (measured seconds per run, default 10), BENCH_WARMUP_SECONDS
 * (default a fifth of that, at least 1), BENCH_ROUNDS (repeat everything, report medians; default
 * 3), BENCH_AGENTS (100), BENCH_BATCH (heartbeats per batch, 500), BENCH_CONNECTIONS (single
 * heartbeats, 50), BENCH_BATCH_CONNECTIONS (8), BENCH_CLIENTS (load-generator processes sharing the
 * connections, 1), BENCH_STEP_ROWS (rows seeded for the rollup and purge steps, 200,000),
 * BENCH_STEPS_RATE (requests/s offered in the steps runs and their seeded baseline, as a fleet
 * below saturation sends them; unset: as fast as answers come), BENCH_DIR (where temporary databases go; default
 * the OS temp dir), BENCH_CPU_PROF (a directory: every child writes a `--cpu-prof` profile there),
 * BENCH_HUB_FLAGS (extra `vigil server` flags for the hub runs, space-separated, e.g.
 * `--batch-max-delay-ms 1`), BENCH_ONLY (comma-separated run names, e.g. `hubSingleFull,bareSingle`, for profiling; the
 * summary tables need every run).
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import { request } from 'undici';
import { Heartbeat, IngestBatch, type Heartbeat as HeartbeatBody } from '@vigil/protocol';
import { AgentParams } from '../src/api/agents.js';
import { STEP_TARGET_MS } from '../src/jobs/passes.js';
import { resizeBudget, START_BUDGET } from '../src/jobs/rollups.js';
import { PURGE_START_ROWS, resizePurge } from '../src/jobs/retention.js';
import { validatorCompiler } from '../src/api/validation.js';
import { loadConfig } from '../src/config/config.js';
import type { Command } from '../src/ingest/commands.js';
import type { Writer } from '../src/ingest/writer.js';
import { createLogger, startHub } from '../src/main.js';
import { registerAgent } from '../src/store/agents.js';
import { openStore } from '../src/store/open.js';
import { SqliteDb } from '../src/store/sqlite-db.js';
import { percentile } from './env.js';

type Sync = 'full' | 'normal';

const envInt = (name: string, fallback: number, min = 1): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number >= ${min}, got ${JSON.stringify(raw)}`);
  return n;
};

const SECONDS = envInt('BENCH_SECONDS', 10);
const WARMUP_SECONDS = envInt('BENCH_WARMUP_SECONDS', Math.max(1, Math.round(SECONDS / 5)), 0);
const ROUNDS = Math.round(envInt('BENCH_ROUNDS', 3));
const AGENTS = Math.round(envInt('BENCH_AGENTS', 100));
const BATCH = Math.round(envInt('BENCH_BATCH', 500));
const CONNECTIONS = Math.round(envInt('BENCH_CONNECTIONS', 50));
const BATCH_CONNECTIONS = Math.round(envInt('BENCH_BATCH_CONNECTIONS', 8));
const CLIENTS = Math.round(envInt('BENCH_CLIENTS', 1));
const STEP_ROWS = Math.round(envInt('BENCH_STEP_ROWS', 200_000));
// Unset: the steps runs (and their seeded baseline) send as fast as answers come, like the others.
const STEPS_RATE = process.env.BENCH_STEPS_RATE ? envInt('BENCH_STEPS_RATE', 1) : undefined;
const BEFORE = process.env.BENCH_BEFORE ? resolve(process.env.BENCH_BEFORE) : undefined;
const ONLY = process.env.BENCH_ONLY?.split(',').filter(Boolean);
const HUB_FLAGS = process.env.BENCH_HUB_FLAGS?.split(' ').filter(Boolean) ?? [];
const CPU_PROF = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined;

const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
const SCRIPT = fileURLToPath(import.meta.url);

// autocannon ships no types; this is the part of its API the benchmark uses.
interface CannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  setupRequest?: (req: CannonRequest, context: Record<string, unknown>) => CannonRequest;
}
interface CannonResult {
  duration: number;
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  latency: { p50: number; p99: number; average: number };
  statusCodeStats: Record<string, { count: number }>;
}
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: {
  url: string;
  connections: number;
  duration: number;
  pipelining?: number;
  timeout?: number;
  requests: CannonRequest[];
}) => Promise<CannonResult>;

// ---------------------------------------------------------------------------------------------
// The workload: the same heartbeats for every measurement.

const agentId = (i: number) => `bench-agent-${String(i % AGENTS).padStart(4, '0')}`;

/** Idempotency ids shaped like a UUIDv7 (36 characters, increasing), unique across runs. */
function idSource(): (seq: number) => string {
  const prefix = randomUUID().slice(0, 23);
  return (seq) => `${prefix}-${seq.toString(16).padStart(12, '0')}`;
}

/** A full heartbeat (every field of docs/seed-requirements.md): every resources and metrics field, a timestamp and an event id. */
function heartbeat(seq: number, eventId: string, now = Date.now()): HeartbeatBody {
  return {
    status: 'online',
    timestamp: now,
    event_id: eventId,
    resources: {
      cpu_percent: (seq % 1000) / 10,
      cpu_cores_physical: 16,
      cpu_cores_available: 12.5,
      cpu_load_1min: 1.25,
      cpu_load_5min: 0.98,
      memory_percent: 41.3,
      memory_available_gb: 9.4,
      gpu_vram_total_gb: 24,
      gpu_vram_available_gb: 20.5,
      gpu_type: 'nvidia',
    },
    metrics: { memory_mb: 312.4, message_count: seq, cpu_percent: 7.1, io_read_bps: 1024, io_write_bps: 2048 },
  };
}

/**
 * heartbeat() as JSON text, built from a template: JSON.stringify of the object per request cost
 * the load generator more CPU than the server it measured. Checked against heartbeat() at start.
 */
function heartbeatJson(seq: number, eventId: string, now: number, agent?: string): string {
  return (
    `{${agent === undefined ? '' : `"agent_id":"${agent}",`}"status":"online","timestamp":${now},"event_id":"${eventId}",` +
    `"resources":{"cpu_percent":${(seq % 1000) / 10},"cpu_cores_physical":16,"cpu_cores_available":12.5,"cpu_load_1min":1.25,` +
    '"cpu_load_5min":0.98,"memory_percent":41.3,"memory_available_gb":9.4,"gpu_vram_total_gb":24,"gpu_vram_available_gb":20.5,' +
    `"gpu_type":"nvidia"},"metrics":{"memory_mb":312.4,"message_count":${seq},"cpu_percent":7.1,"io_read_bps":1024,"io_write_bps":2048}}`
  );
}

function checkHeartbeatJson(): void {
  for (const seq of [0, 7, 999, 1234567]) {
    const want = JSON.stringify({ agent_id: agentId(seq), ...heartbeat(seq, `id-${seq}`, 1_700_000_000_000 + seq) });
    const got = JSON.stringify(JSON.parse(heartbeatJson(seq, `id-${seq}`, 1_700_000_000_000 + seq, agentId(seq))));
    if (got !== want) throw new Error(`heartbeatJson differs from heartbeat():\n${got}\n${want}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Child processes: one server (or the raw insert loop) each, driven over IPC.

type ChildSpec =
  | { role: 'bare' }
  | { role: 'hub'; dir: string; sync: Sync; before?: boolean }
  | { role: 'raw'; dir: string; sync: Sync; warmupS: number; seconds: number; batch: number }
  | { role: 'client'; url: string; kind: 'single' | 'batch'; connections: number; offset: number; rate: number | undefined };

type ToChild =
  | { type: 'mark' }
  | { type: 'sample' }
  | { type: 'stop' }
  | { type: 'seed'; rows: number }
  | { type: 'steps' }
  | { type: 'cannon'; seconds: number };
interface Usage {
  /** CPU time of the whole process over wall time since the last mark (1.0 = one core busy). */
  cpu: number;
  /** Event-loop utilisation: time the main thread was not idle, including blocking fsync. */
  busy: number;
  /** CPU of the main (HTTP) thread alone, from /proc (Linux); undefined elsewhere. */
  main?: number | undefined;
  /** CPU of the SQLite writer thread alone, and its event-loop utilisation (hub only). */
  writer?: number | undefined;
  writerBusy?: number | undefined;
}
interface StepsReport {
  steps: number;
  rollupSteps: number;
  purgeSteps: number;
  /** Time the steps held the writer, over the measured time. */
  share: number;
  maxStepMs: number;
}
interface CannonOutcome {
  duration: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  p50: number;
  p99: number;
  codes: Record<string, number>;
}
type FromChild =
  | { type: 'ready'; url: string }
  | { type: 'ok' }
  | { type: 'stopped' }
  | { type: 'error'; message: string }
  | ({ type: 'sample'; rows: number | undefined; steps: StepsReport | undefined } & Usage)
  | ({ type: 'raw'; rows: number; seconds: number; txP50Ms: number; txP99Ms: number } & Usage)
  | ({ type: 'cannon'; outcome: CannonOutcome } & Usage);

/** CPU seconds one thread of this process has used, from /proc (Linux); undefined where it cannot tell. */
function threadCpuSeconds(tid: number | undefined): number | undefined {
  if (tid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // Fields after the command name in parentheses: utime and stime are the 12th and 13th, in clock ticks (100/s).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** CPU and event-loop use of this process (and of its threads) between `mark()` and `sample()`. */
class Meter {
  private cpu = process.cpuUsage();
  private elu = performance.eventLoopUtilization();
  private t = performance.now();
  private main: number | undefined;
  private writer: number | undefined;
  private writerElu: EventLoopUtilization | undefined;
  constructor(private readonly db?: SqliteDb) {
    this.mark();
  }
  mark(): void {
    this.cpu = process.cpuUsage();
    this.elu = performance.eventLoopUtilization();
    this.main = threadCpuSeconds(process.pid);
    this.writer = threadCpuSeconds(this.db?.writerThreadId);
    this.writerElu = this.db?.writerUtilization();
    this.t = performance.now();
  }
  sample(): Usage {
    const wallS = (performance.now() - this.t) / 1000;
    const c = process.cpuUsage(this.cpu);
    const since = (before: number | undefined, now: number | undefined) =>
      before === undefined || now === undefined ? undefined : (now - before) / wallS;
    return {
      cpu: (c.user + c.system) / 1e6 / wallS,
      busy: performance.eventLoopUtilization(this.elu).utilization,
      main: since(this.main, threadCpuSeconds(process.pid)),
      writer: since(this.writer, threadCpuSeconds(this.db?.writerThreadId)),
      writerBusy: this.db && this.writerElu ? this.db.writerUtilization(this.writerElu).utilization : undefined,
    };
  }
}

async function childMain(spec: ChildSpec): Promise<void> {
  const send = (msg: FromChild, then?: () => void) => process.send?.(msg, undefined, {}, then);
  try {
    if (spec.role === 'raw') {
      send({ type: 'raw', ...(await rawInserts(spec)) }, () => process.exit(0));
      return;
    }
    if (spec.role === 'client') return clientMain(spec, send);
    const server = spec.role === 'bare' ? await startBare() : await startHubChild(spec);
    const meter = new Meter(server.db);
    process.on('message', (msg: ToChild) => {
      void (async () => {
        if (msg.type === 'mark') {
          meter.mark();
          server.steps?.start();
          send({ type: 'ok' });
        } else if (msg.type === 'seed') {
          await server.seed?.(msg.rows);
          send({ type: 'ok' });
        } else if (msg.type === 'steps') {
          server.steps?.arm();
          send({ type: 'ok' });
        } else if (msg.type === 'sample') {
          const usage = meter.sample();
          send({ type: 'sample', ...usage, rows: await server.rows(), steps: await server.steps?.stop() });
        } else if (msg.type === 'stop') {
          await server.stop();
          send({ type: 'stopped' }, () => process.exit(0));
        }
      })().catch((err: Error) => send({ type: 'error', message: err.stack ?? err.message }, () => process.exit(1)));
    });
    send({ type: 'ready', url: server.url });
  } catch (err) {
    send({ type: 'error', message: (err as Error).stack ?? String(err) }, () => process.exit(1));
  }
}

/**
 * The load generator, in a process of its own so that it has a core to itself where the machine
 * has one: autocannon against `url`, asked for one run at a time (warm-up, then the measured run).
 */
function clientMain(spec: Extract<ChildSpec, { role: 'client' }>, send: (msg: FromChild, then?: () => void) => void): void {
  checkHeartbeatJson();
  // Each client process numbers its heartbeats from its own offset: ids never collide between them.
  let seq = spec.offset;
  const eventId = idSource();
  const requests: CannonRequest[] =
    spec.kind === 'single'
      ? [
          {
            method: 'POST',
            headers: jsonHeaders,
            setupRequest: (req) => {
              const n = seq++;
              req.path = `/api/v1/agents/${agentId(n)}/heartbeat`;
              req.body = heartbeatJson(n, eventId(n), Date.now());
              return req;
            },
          },
        ]
      : [
          {
            method: 'POST',
            path: '/api/v1/ingest',
            headers: jsonHeaders,
            setupRequest: (req) => {
              const now = Date.now();
              const parts: string[] = [];
              for (let i = 0; i < BATCH; i++, seq++) parts.push(heartbeatJson(seq, eventId(seq), now, agentId(seq)));
              req.body = `{"heartbeats":[${parts.join(',')}]}`;
              return req;
            },
          },
        ];
  process.on('message', (msg: ToChild) => {
    if (msg.type === 'stop') return send({ type: 'stopped' }, () => process.exit(0));
    if (msg.type !== 'cannon') return;
    void (async () => {
      const meter = new Meter();
      const r = await autocannon({
        url: spec.url,
        connections: spec.connections,
        duration: msg.seconds,
        requests,
        timeout: 30,
        ...(spec.rate === undefined ? {} : { overallRate: spec.rate }),
      });
      const codes = Object.fromEntries(Object.entries(r.statusCodeStats).map(([code, { count }]) => [code, count]));
      const outcome: CannonOutcome = {
        duration: r.duration,
        ok: r['2xx'],
        non2xx: r.non2xx,
        errors: r.errors,
        timeouts: r.timeouts,
        p50: r.latency.p50,
        p99: r.latency.p99,
        codes,
      };
      send({ type: 'cannon', outcome, ...meter.sample() });
    })().catch((err: Error) => send({ type: 'error', message: err.stack ?? err.message }, () => process.exit(1)));
  });
  send({ type: 'ready', url: spec.url });
}

interface ChildServer {
  url: string;
  db?: SqliteDb;
  rows(): Promise<number | undefined>;
  /** Hub only: stores `rows` heartbeats from two to three hours ago, for the rollup and purge steps to work on. */
  seed?(rows: number): Promise<void>;
  steps?: Steps;
  stop(): Promise<void>;
}

/** The baseline: Fastify with the hub's validator compiler and the same schemas, storing nothing. */
async function startBare(): Promise<ChildServer> {
  const app = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024 });
  app.setValidatorCompiler(validatorCompiler);
  app.post('/api/v1/agents/:agentId/heartbeat', { schema: { params: AgentParams, body: Heartbeat } }, async () => ({
    status: 'online',
    duplicate: false,
    received_at: Date.now(),
  }));
  app.post('/api/v1/ingest', { schema: { body: IngestBatch } }, async (req) => ({
    accepted: { heartbeats: (req.body as { heartbeats?: unknown[] }).heartbeats?.length ?? 0, events: 0, errors: 0 },
    duplicates: 0,
    rejected: [],
    received_at: Date.now(),
  }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, rows: async () => undefined, stop: () => app.close() };
}

/** The hub as `vigil server` starts it, on a fresh SQLite file, logging nothing. */
async function startHubChild(spec: { dir: string; sync: Sync; before?: boolean }): Promise<ChildServer> {
  const config = loadConfig(
    [
      ...['--port', '0', '--data-dir', spec.dir, '--admin-token', ADMIN_TOKEN, '--sqlite-synchronous', spec.sync, '--log-level', 'silent'],
      // The hub's own rollup and retention passes run once at start, not again inside a measured run:
      // maintenance runs only where a run asks for it (the steps run), and its baseline has none.
      ...['--rollup-interval', '3600', '--retention-interval', '86400'],
      ...HUB_FLAGS,
    ],
    {},
  );
  // BENCH_BEFORE: the same bench against an earlier build of the hub (its dist/src/main.js), for a before/after in one run.
  const main = spec.before ? ((await import(pathToFileURL(BEFORE as string).href)) as { startHub: typeof startHub }) : { startHub };
  const hub = await main.startHub(config, { logger: createLogger('silent') });
  if (!spec.before && !(hub.db instanceof SqliteDb)) throw new Error('the bench hub runs on SQLite');
  const seed = async (rows: number) => {
    const eventId = idSource();
    const start = Date.now() - 3 * HOUR_MS;
    for (let seq = 0; seq < rows;) {
      const commands: Command[] = [];
      for (let i = 0; i < 1000 && seq < rows; i++, seq++) {
        const at = start + Math.floor((seq / rows) * HOUR_MS);
        commands.push({ kind: 'heartbeat', agentId: agentId(seq), heartbeat: heartbeat(seq, eventId(seq), at), now: at });
      }
      await hub.writer.submit(commands, { background: true });
    }
  };
  return {
    url: hub.url,
    // By shape, not instanceof: a BENCH_BEFORE build has its own SqliteDb class, and its writer thread is measured too.
    db:
      hub.db instanceof SqliteDb || typeof (hub.db as Partial<SqliteDb>).writerUtilization === 'function'
        ? (hub.db as SqliteDb)
        : undefined,
    rows: async () => (await hub.db.get<{ n: number }>('SELECT count(*) AS n FROM agent_metrics'))?.n,
    seed,
    steps: new Steps(hub.writer),
    stop: () => hub.stop(),
  };
}

const HOUR_MS = 3_600_000;

/**
 * Rollup and purge steps as the hub's own jobs submit them (background writer jobs, the rollup budget
 * and the purge batch sized by the jobs' own rules and step target), one after another
 * for as long as the measured run lasts: first rolling the seeded rows up, then purging them.
 */
class Steps {
  private armed = false;
  private running: Promise<StepsReport> | undefined;
  private stopping = false;
  constructor(private readonly writer: Writer) {}
  arm(): void {
    this.armed = true;
  }
  start(): void {
    if (!this.armed) return;
    this.armed = false;
    this.stopping = false;
    this.running = this.loop();
  }
  async stop(): Promise<StepsReport | undefined> {
    this.stopping = true;
    const r = await this.running;
    this.running = undefined;
    return r;
  }
  private async loop(): Promise<StepsReport> {
    const report: StepsReport = { steps: 0, rollupSteps: 0, purgeSteps: 0, share: 0, maxStepMs: 0 };
    const t0 = performance.now();
    let held = 0;
    let budget = START_BUDGET;
    let limit = PURGE_START_ROWS;
    let rolled = false;
    while (!this.stopping) {
      const now = Date.now();
      const started = performance.now();
      let ms: number;
      if (!rolled) {
        const step = { series: 'agent' as const, until: now - 5_000, budget, lateFloor: 0, now };
        const r = await this.writer.submitOne({ kind: 'rollup', step }, { background: true });
        ms = r.ms;
        budget = resizeBudget(budget, r, STEP_TARGET_MS);
        rolled = r.done;
        report.rollupSteps++;
      } else {
        const r = await this.writer.submitOne(
          { kind: 'purge', target: 'agent_metrics', cutoff: now - HOUR_MS, limit },
          { background: true },
        );
        ms = r.ms;
        limit = resizePurge(limit, r, STEP_TARGET_MS);
        report.purgeSteps++;
        if (r.deleted === 0) break; // nothing left: the report says how much of the run had steps
      }
      report.steps++;
      held += ms;
      report.maxStepMs = Math.max(report.maxStepMs, performance.now() - started);
    }
    report.share = held / (performance.now() - t0);
    return report;
  }
}

const METRIC_COLUMNS = [
  'agent_key', 'timestamp', 'received_at', 'status',
  'cpu_percent', 'memory_mb', 'message_count', 'io_read_bps', 'io_write_bps',
  'host_cpu_percent', 'cpu_cores_physical', 'cpu_cores_available', 'cpu_load_1min', 'cpu_load_5min',
  'memory_percent', 'memory_available_gb', 'gpu_vram_total_gb', 'gpu_vram_available_gb',
]; // prettier-ignore

/**
 * The ceiling: better-sqlite3 on the hub's migrated schema with the hub's pragmas, writing what a
 * heartbeat writes (its event id, one agent_metrics row by the agent's key, one agents update) for `batch` heartbeats per
 * transaction, in a tight synchronous loop. No HTTP, no validation, no agent lookup.
 */
async function rawInserts(spec: Extract<ChildSpec, { role: 'raw' }>) {
  const file = join(spec.dir, 'raw.db');
  const now0 = Date.now();
  // Same schema and the same registered agents as the hub, through the hub's own code.
  const { db: store } = await openStore(file, { sqliteSynchronous: spec.sync, now: now0 });
  await store.transaction(async (tx) => {
    for (let i = 0; i < AGENTS; i++) {
      await registerAgent(tx, store.dialect, { agent_id: agentId(i), name: `bench agent ${i}`, agent_type: 'code' }, now0, undefined, true);
    }
  });
  await store.close();

  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${spec.sync === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.pragma('wal_autocheckpoint = 10000');
  db.pragma('cache_size = -32768');
  // What the hub writes per heartbeat since migration 10: its event id into the hour's window, then
  // the sample, by the agent's integer key.
  const keyOf = db.prepare('SELECT agent_key FROM agent_keys WHERE agent_id = ?').pluck();
  const remember = db.prepare(
    'INSERT INTO heartbeat_event_ids (event_id, agent_key, received_at) VALUES (?, ?, ?) ON CONFLICT (event_id, agent_key) DO NOTHING',
  );
  const insert = db.prepare(
    `INSERT INTO agent_metrics (${METRIC_COLUMNS.join(', ')}) VALUES (${METRIC_COLUMNS.map(() => '?').join(', ')})`,
  );
  const update = db.prepare(
    `UPDATE agents SET status = ?, offline_reason = NULL, last_heartbeat_at = ?, updated_at = ?, resource_metrics = ?,
       cpu_cores_available = ?, memory_available_gb = ?, gpu_vram_available_gb = ?, gpu_type = ?,
       memory_mb = COALESCE(?, memory_mb), message_count = COALESCE(?, message_count), cpu_percent = COALESCE(?, cpu_percent)
     WHERE agent_id = ?`,
  );
  const writeBatch = db.transaction((items: { agent: string; hb: HeartbeatBody }[], now: number) => {
    for (const { agent, hb } of items) {
      const r = hb.resources ?? {};
      const m = hb.metrics ?? {};
      const status = hb.status ?? 'online';
      const key = keyOf.get(agent) as number;
      if (hb.event_id !== undefined && remember.run(hb.event_id, key, now).changes === 0) continue;
      insert.run(
        key, hb.timestamp, now, status === 'busy' ? 2 : 1,
        m.cpu_percent, m.memory_mb, m.message_count, m.io_read_bps, m.io_write_bps,
        r.cpu_percent, r.cpu_cores_physical, r.cpu_cores_available, r.cpu_load_1min, r.cpu_load_5min,
        r.memory_percent, r.memory_available_gb, r.gpu_vram_total_gb, r.gpu_vram_available_gb,
      ); // prettier-ignore
      update.run(
        status, now, now, JSON.stringify(r), r.cpu_cores_available, r.memory_available_gb, r.gpu_vram_available_gb, r.gpu_type,
        m.memory_mb, m.message_count, m.cpu_percent ?? r.cpu_percent, agent,
      ); // prettier-ignore
    }
  });

  const eventId = idSource();
  let seq = 0;
  const loop = (seconds: number) => {
    const txMs: number[] = [];
    let rows = 0;
    const start = performance.now();
    const end = start + seconds * 1000;
    while (performance.now() < end) {
      const items: { agent: string; hb: HeartbeatBody }[] = [];
      for (let i = 0; i < spec.batch; i++, seq++) items.push({ agent: agentId(seq), hb: heartbeat(seq, eventId(seq)) });
      const t = performance.now();
      writeBatch.immediate(items, Date.now());
      txMs.push(performance.now() - t);
      rows += items.length;
    }
    return { rows, seconds: (performance.now() - start) / 1000, txMs };
  };

  try {
    loop(spec.warmupS);
    const meter = new Meter();
    const { rows, seconds, txMs } = loop(spec.seconds);
    const usage = meter.sample();
    const stored = (db.prepare('SELECT count(*) AS n FROM agent_metrics').get() as { n: number }).n;
    if (stored < seq) throw new Error(`raw baseline stored ${stored} rows of ${seq}`);
    return { rows, seconds, txP50Ms: percentile(txMs, 0.5), txP99Ms: percentile(txMs, 0.99), ...usage };
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The parent: starts children, drives them with autocannon, prints the tables.

const children = new Set<ChildProcess>();
let workRoot: string | undefined;

function spawnChild(spec: ChildSpec): ChildProcess {
  const execArgv = CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : [];
  const proc = fork(SCRIPT, ['--child', JSON.stringify(spec)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  if (CPU_PROF) console.log(`# CPU profile of pid ${proc.pid}: ${JSON.stringify(spec)}`);
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return proc;
}

function nextMessage<T extends FromChild['type']>(
  proc: ChildProcess,
  type: T,
  timeoutMs = 60_000,
): Promise<Extract<FromChild, { type: T }>> {
  return new Promise((resolvePromise, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      proc.off('message', onMessage);
      proc.off('exit', onExit);
    };
    const onMessage = (msg: FromChild) => {
      if (msg.type === type) {
        cleanup();
        resolvePromise(msg as Extract<FromChild, { type: T }>);
      } else if (msg.type === 'error') {
        cleanup();
        reject(new Error(`child failed: ${msg.message}`));
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      cleanup();
      reject(new Error(`child exited (${code ?? signal}) before answering ${type}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`child did not answer ${type} within ${timeoutMs} ms`));
    }, timeoutMs);
    proc.on('message', onMessage);
    proc.on('exit', onExit);
  });
}

function ask<T extends FromChild['type']>(proc: ChildProcess, msg: ToChild, type: T, timeoutMs?: number) {
  const answer = nextMessage(proc, type, timeoutMs);
  proc.send(msg);
  return answer;
}

async function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  try {
    await ask(proc, { type: 'stop' }, 'stopped', 30_000);
  } catch {
    // fall through to the kill below
  }
  const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function freshDir(name: string): string {
  const dir = join(workRoot as string, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Deletes a finished run's database and flushes the page cache, so the next run does not pay
 * for the previous one's writeback.
 */
function settle(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  try {
    execFileSync('sync', { stdio: 'ignore' });
  } catch {
    // no sync(1) here: the next run may share the disk with a little writeback
  }
}

interface Measured {
  /** Requests per second (single) or rows per second (batched, raw). */
  rate: number;
  p50: number;
  p99: number;
  requests: number;
  failed: number;
  server: Usage;
  client: Usage | undefined;
  stored: number | undefined;
  /** Rollup and purge steps that ran during the measured run (hubSingleSteps). */
  steps?: StepsReport | undefined;
  note: string;
}

const jsonHeaders = { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` };

/** Runs autocannon for `seconds` in every client process at once; rates add up, p99 is the worst client's. */
async function cannon(clients: ChildProcess[], seconds: number): Promise<{ outcome: CannonOutcome; usage: Usage }> {
  const answers = await Promise.all(clients.map((c) => ask(c, { type: 'cannon', seconds }, 'cannon', (seconds + 120) * 1000)));
  const sum = (f: (o: CannonOutcome) => number) => answers.reduce((n, a) => n + f(a.outcome), 0);
  const codes: Record<string, number> = {};
  for (const a of answers) for (const [code, n] of Object.entries(a.outcome.codes)) codes[code] = (codes[code] ?? 0) + n;
  const ok = sum((o) => o.ok);
  return {
    outcome: {
      duration: Math.max(...answers.map((a) => a.outcome.duration)),
      ok,
      non2xx: sum((o) => o.non2xx),
      errors: sum((o) => o.errors),
      timeouts: sum((o) => o.timeouts),
      p50: ok > 0 ? sum((o) => o.p50 * o.ok) / ok : 0,
      p99: Math.max(...answers.map((a) => a.outcome.p99)),
      codes,
    },
    usage: { cpu: answers.reduce((n, a) => n + a.cpu, 0), busy: Math.max(...answers.map((a) => a.busy)) },
  };
}

/** Warms up, then measures one run of the client processes against a child server. */
async function drive(
  proc: ChildProcess,
  url: string,
  kind: 'single' | 'batch',
  options: { steps?: boolean; rate?: number | undefined } = {},
): Promise<Measured> {
  const connections = kind === 'single' ? CONNECTIONS : BATCH_CONNECTIONS;
  const rowsPerRequest = kind === 'single' ? 1 : BATCH;
  const clients = Array.from({ length: CLIENTS }, (_, i) =>
    spawnChild({
      role: 'client',
      url,
      kind,
      connections: Math.ceil(connections / CLIENTS),
      offset: i * 1_000_000_000,
      rate: options.rate === undefined ? undefined : options.rate / CLIENTS,
    }),
  );
  try {
    await Promise.all(clients.map((c) => nextMessage(c, 'ready')));
    let acked = 0;
    if (WARMUP_SECONDS > 0) acked += (await cannon(clients, WARMUP_SECONDS)).outcome.ok;
    if (options.steps) await ask(proc, { type: 'steps' }, 'ok');
    await ask(proc, { type: 'mark' }, 'ok');
    const { outcome: r, usage: client } = await cannon(clients, SECONDS);
    const { rows, steps, type: _type, ...server } = await ask(proc, { type: 'sample' }, 'sample', 120_000);
    acked += r.ok;
    const failed = r.non2xx + r.errors + r.timeouts;
    const codes = Object.entries(r.codes)
      .filter(([code]) => !code.startsWith('2'))
      .map(([code, count]) => `${count}×${code}`)
      .join(', ');
    let note = failed > 0 ? `${failed} failed (${codes || `${r.errors} errors, ${r.timeouts} timeouts`})` : '';
    // Purge steps delete seeded rows: the count is checked only where nothing was deleted.
    if (!options.steps && rows !== undefined && rows < acked * rowsPerRequest) {
      note += `${note ? '; ' : ''}STORED ${rows} < ACKNOWLEDGED ${acked * rowsPerRequest}`;
    }
    return {
      rate: (r.ok * rowsPerRequest) / r.duration,
      p50: r.p50,
      p99: r.p99,
      requests: r.ok,
      failed,
      server,
      client,
      stored: rows,
      steps,
      note,
    };
  } finally {
    await Promise.all(clients.map((c) => stopChild(c)));
  }
}

async function withChild<T>(spec: ChildSpec, fn: (proc: ChildProcess, url: string) => Promise<T>): Promise<T> {
  const proc = spawnChild(spec);
  try {
    const { url } = await nextMessage(proc, 'ready');
    return await fn(proc, url);
  } finally {
    await stopChild(proc);
  }
}

async function registerAgents(url: string): Promise<void> {
  await Promise.all(
    Array.from({ length: AGENTS }, async (_, i) => {
      const res = await request(`${url}/api/v1/agents`, {
        method: 'POST',
        headers: jsonHeaders,
        body: JSON.stringify({ agent_id: agentId(i), name: `bench agent ${i}`, agent_type: 'code' }),
      });
      const text = await res.body.text();
      if (res.statusCode !== 201) throw new Error(`registering ${agentId(i)} answered ${res.statusCode}: ${text}`);
    }),
  );
}

async function measureBare(kind: 'single' | 'batch'): Promise<Measured> {
  return withChild({ role: 'bare' }, (proc, url) => drive(proc, url, kind));
}

let hubRuns = 0;
async function measureHub(
  kind: 'single' | 'batch',
  sync: Sync,
  options: { steps?: boolean; seeded?: boolean; before?: boolean } = {},
): Promise<Measured> {
  if (options.before && !BEFORE) throw new Error('set BENCH_BEFORE to the dist/src/main.js of an earlier build');
  const dir = freshDir(`hub-${kind}-${sync}-${hubRuns++}`);
  try {
    return await withChild({ role: 'hub', dir, sync, before: options.before ?? false }, async (proc, url) => {
      await registerAgents(url);
      const seeded = options.steps || options.seeded;
      if (seeded) await ask(proc, { type: 'seed', rows: STEP_ROWS }, 'ok', 600_000);
      return drive(proc, url, kind, { ...options, rate: seeded ? STEPS_RATE : undefined });
    });
  } finally {
    settle(dir);
  }
}

let rawRuns = 0;
async function measureRaw(sync: Sync): Promise<Measured> {
  const dir = freshDir(`raw-${sync}-${rawRuns++}`);
  const proc = spawnChild({ role: 'raw', dir, sync, warmupS: WARMUP_SECONDS, seconds: SECONDS, batch: BATCH });
  try {
    const r = await nextMessage(proc, 'raw', (WARMUP_SECONDS + SECONDS) * 1000 + 120_000);
    return {
      rate: r.rows / r.seconds,
      p50: r.txP50Ms,
      p99: r.txP99Ms,
      requests: r.rows / BATCH,
      failed: 0,
      server: { cpu: r.cpu, busy: r.busy },
      client: undefined,
      stored: undefined,
      note: '',
    };
  } finally {
    await stopChild(proc);
    settle(dir);
  }
}

// ---------------------------------------------------------------------------------------------
// Report.

const RUNS = [
  ['bareSingle', 'bare Fastify, single heartbeat (validate, answer 200)'],
  ['hubSingleFull', 'hub, single heartbeat, synchronous FULL'],
  ['hubSingleNormal', 'hub, single heartbeat, synchronous NORMAL'],
  ['hubSingleSteps', 'hub, single heartbeat, FULL, while rollup and purge steps run'],
  ['hubSingleSeeded', 'hub, single heartbeat, FULL, the same seeded rows, no steps'],
  ['rawFull', `raw better-sqlite3, ${BATCH} rows/tx, FULL`],
  ['hubBatchFull', `hub, /api/v1/ingest ${BATCH}/request, FULL`],
  ['rawNormal', `raw better-sqlite3, ${BATCH} rows/tx, NORMAL`],
  ['hubBatchNormal', `hub, /api/v1/ingest ${BATCH}/request, NORMAL`],
  ['bareBatch', `bare Fastify, ${BATCH}-heartbeat IngestBatch (validate only)`],
  // Only with BENCH_BEFORE (and named in BENCH_ONLY): an earlier build of the hub, same client, same run.
  ['beforeSingleFull', 'BEFORE: hub, single heartbeat, synchronous FULL'],
  ['beforeSingleSteps', 'BEFORE: hub, single heartbeat, FULL, while rollup and purge steps run'],
  ['beforeBatchFull', `BEFORE: hub, /api/v1/ingest ${BATCH}/request, FULL`],
] as const;
type RunKey = (typeof RUNS)[number][0];

const MEASURE: Record<RunKey, () => Promise<Measured>> = {
  bareSingle: () => measureBare('single'),
  hubSingleFull: () => measureHub('single', 'full'),
  hubSingleNormal: () => measureHub('single', 'normal'),
  hubSingleSteps: () => measureHub('single', 'full', { steps: true }),
  hubSingleSeeded: () => measureHub('single', 'full', { seeded: true }),
  rawFull: () => measureRaw('full'),
  hubBatchFull: () => measureHub('batch', 'full'),
  rawNormal: () => measureRaw('normal'),
  hubBatchNormal: () => measureHub('batch', 'normal'),
  bareBatch: () => measureBare('batch'),
  beforeSingleFull: () => measureHub('single', 'full', { before: true }),
  beforeSingleSteps: () => measureHub('single', 'full', { steps: true, before: true }),
  beforeBatchFull: () => measureHub('batch', 'full', { before: true }),
};

const median = (xs: number[]) => percentile(xs, 0.5);
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => (n < 10 ? n.toFixed(2) : n.toFixed(1));
const pct = (n: number) => `${(n * 100).toFixed(0)} %`;
const unit = (key: RunKey) => (key === 'bareSingle' || key.includes('Single') ? 'req/s' : 'rows/s');

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/**
 * CPU microseconds one thread spent per request (or row), median over the rounds: less at the mercy of
 * a shared machine than rates are, since a thread that is descheduled spends no CPU either.
 */
function perUnit(runs: Measured[], cpu: (r: Measured) => number | undefined, rate: (r: Measured) => number): string {
  const xs = runs.map((r) => {
    const c = cpu(r);
    return c === undefined || rate(r) <= 0 ? undefined : (c / rate(r)) * 1e6;
  });
  return xs.length > 0 && xs.every((x) => x !== undefined) ? int(median(xs as number[])) : '—';
}

function stepsNote(st: StepsReport): string {
  return `${st.rollupSteps} rollup + ${st.purgeSteps} purge steps, writer held ${pct(st.share)} of the run, slowest step ${ms(st.maxStepMs)} ms`;
}

function report(all: Record<RunKey, Measured[]>): string {
  const m = (key: RunKey) => {
    const runs = all[key];
    return {
      rate: median(runs.map((r) => r.rate)),
      p99: median(runs.map((r) => r.p99)),
      p50: median(runs.map((r) => r.p50)),
    };
  };
  const ratioRow = (what: string, a: number, b: number, fmt: (n: number) => string, target?: number): string[] => [
    what,
    fmt(a),
    fmt(b),
    target === undefined ? `${(a / b).toFixed(2)}×` : pct(a / b),
    target === undefined ? '—' : `≥ ${pct(target)}: ${a / b >= target ? 'met' : 'MISSED'}`,
  ];
  const summary = table(
    ['Measurement', 'Vigil hub', 'Baseline', 'Hub / baseline', 'Target'],
    [
      ratioRow(
        `Single heartbeats/s (${CONNECTIONS} conn), hub FULL vs bare Fastify`,
        m('hubSingleFull').rate,
        m('bareSingle').rate,
        int,
        0.8,
      ),
      ratioRow('Single heartbeat p99 latency (ms), hub FULL vs bare Fastify', m('hubSingleFull').p99, m('bareSingle').p99, ms),
      ratioRow(
        `Batched rows/s (${BATCH}/request, ${BATCH_CONNECTIONS} conn), hub FULL vs raw better-sqlite3 FULL`,
        m('hubBatchFull').rate,
        m('rawFull').rate,
        int,
        0.8,
      ),
      ratioRow(`Batched rows/s, hub NORMAL vs raw better-sqlite3 NORMAL`, m('hubBatchNormal').rate, m('rawNormal').rate, int, 0.8),
      ratioRow(
        'Single heartbeat p99 (ms) while rollup/purge steps run vs the same seeded store without them (both FULL)',
        m('hubSingleSteps').p99,
        m('hubSingleSeeded').p99,
        ms,
      ),
      ratioRow(`Batched rows/s, hub FULL vs bare Fastify validating the batch`, m('hubBatchFull').rate, m('bareBatch').rate, int),
    ],
  );
  const durability = table(
    ['Measurement', 'FULL', 'NORMAL', 'FULL / NORMAL'],
    [
      ['Hub single heartbeats/s', m('hubSingleFull').rate, m('hubSingleNormal').rate],
      ['Hub single heartbeat p99 (ms)', m('hubSingleFull').p99, m('hubSingleNormal').p99],
      ['Hub batched rows/s', m('hubBatchFull').rate, m('hubBatchNormal').rate],
      [`Raw better-sqlite3 rows/s (${BATCH}/tx)`, m('rawFull').rate, m('rawNormal').rate],
      [`Raw better-sqlite3 p99 per ${BATCH}-row transaction (ms)`, m('rawFull').p99, m('rawNormal').p99],
    ].map(([what, a, b]) => {
      const isMs = String(what).includes('(ms)');
      const f = isMs ? ms : int;
      return [what as string, f(a as number), f(b as number), pct((a as number) / (b as number))];
    }),
  );
  const details = table(
    [
      'Run',
      'Rate (range)',
      'p50 ms',
      'p99 ms',
      'Server CPU',
      'HTTP thread CPU',
      'Writer thread CPU',
      'HTTP µs/req',
      'Writer µs/row',
      'Server busy',
      'Writer busy',
      'Client CPU',
      'Notes',
    ],
    RUNS.filter(([key]) => all[key].length > 0).map(([key, label]) => {
      const runs = all[key];
      const med = (f: (r: Measured) => number) => median(runs.map(f));
      const client = runs.every((r) => r.client) ? pct(med((r) => (r.client as Usage).cpu)) : '—';
      const notes = runs
        .map((r) => [r.note, r.steps ? stepsNote(r.steps) : ''].filter(Boolean).join('; '))
        .filter(Boolean)
        .join('; ');
      const share = (f: (u: Usage) => number | undefined) => {
        const xs = runs.map((r) => f(r.server)).filter((x): x is number => x !== undefined);
        return xs.length === runs.length ? pct(median(xs)) : '—';
      };
      const latencyNote = key.startsWith('raw') ? ` (per ${BATCH}-row tx)` : key.includes('Batch') ? ` (per ${BATCH}-row request)` : '';
      const rates = runs.map((r) => r.rate);
      const range = runs.length > 1 ? ` (${int(Math.min(...rates))}–${int(Math.max(...rates))})` : '';
      return [
        label,
        `${int(med((r) => r.rate))} ${unit(key)}${range}`,
        ms(med((r) => r.p50)),
        `${ms(med((r) => r.p99))}${latencyNote}`,
        pct(med((r) => r.server.cpu)),
        share((u) => u.main),
        share((u) => u.writer),
        perUnit(
          runs,
          (r) => r.server.main,
          (r) => (key.includes('Batch') ? r.rate / BATCH : r.rate),
        ),
        perUnit(
          runs,
          (r) => r.server.writer,
          (r) => r.rate,
        ),
        pct(med((r) => r.server.busy)),
        share((u) => u.writerBusy),
        client,
        notes || '—',
      ];
    }),
  );
  return [
    `### Targets (median of ${ROUNDS} round${ROUNDS > 1 ? 's' : ''}, ${SECONDS} s measured per run after ${WARMUP_SECONDS} s warm-up)`,
    '',
    summary,
    '',
    '### SQLite synchronous FULL against NORMAL',
    '',
    durability,
    '',
    '### Every run',
    '',
    details,
    '',
    'Server CPU: CPU time of the server process (or raw insert loop) over wall time, 100 % = one core. Server busy: its',
    'event-loop utilisation, which also counts time the thread was blocked (fsync, write) or descheduled; busy minus CPU is',
    'mostly time waiting on the disk.',
    'HTTP thread / writer thread CPU: per-thread CPU time from /proc/self/task/<tid>/stat; the rest of server CPU is V8 and',
    "libuv helper threads (GC, compilation). Writer busy: the writer thread's event-loop utilisation (fsync waits included).",
    "HTTP µs/req: the HTTP thread's CPU per request; writer µs/row: the writer thread's per stored row. Both are steadier",
    'than rates on a shared machine, where a thread that is descheduled spends no CPU either.',
    `Client CPU: the autocannon process(es) (${CLIENTS}), each a process of its own; near 100 % per process means the load`,
    'generator, not the server, set the pace.',
  ].join('\n');
}

async function main(): Promise<number> {
  workRoot = mkdtempSync(join(process.env.BENCH_DIR ? resolve(process.env.BENCH_DIR) : tmpdir(), 'vigil-bench-'));
  if (CPU_PROF) mkdirSync(CPU_PROF, { recursive: true });
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`# Vigil ingest benchmark — ${new Date().toISOString()}`);
  console.log(`node ${process.version}, ${cpus().length} CPUs (${cpu}), databases under ${workRoot}`);
  console.log(
    `${SECONDS} s per run after ${WARMUP_SECONDS} s warm-up, ${ROUNDS} round(s), ${AGENTS} agents, ` +
      `${CONNECTIONS} connections (single), ${BATCH_CONNECTIONS} connections × ${BATCH} heartbeats (batched)\n`,
  );
  const all = Object.fromEntries(RUNS.map(([key]) => [key, [] as Measured[]])) as Record<RunKey, Measured[]>;
  const runs = RUNS.filter(([key]) => (ONLY ? ONLY.includes(key) : !key.startsWith('before')));
  if (runs.length === 0) throw new Error(`BENCH_ONLY names no run; the runs are ${RUNS.map(([key]) => key).join(', ')}`);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [key, label] of runs) {
      const r = await MEASURE[key]();
      all[key].push(r);
      const client = r.client ? `, client CPU ${pct(r.client.cpu)}` : '';
      // Per request (HTTP thread) and per stored row (writer thread), as the report's table has them.
      const perReq = (cpu: number) => `${int((cpu / (key.includes('Batch') ? r.rate / BATCH : r.rate)) * 1e6)} µs/req`;
      const threads =
        r.server.main !== undefined
          ? `, HTTP thread ${pct(r.server.main)} = ${perReq(r.server.main)}` +
            (r.server.writer !== undefined
              ? `, writer thread ${pct(r.server.writer)} = ${int((r.server.writer / r.rate) * 1e6)} µs/row`
              : '')
          : '';
      const steps = r.steps ? ` [${stepsNote(r.steps)}]` : '';
      console.log(
        `[${round}/${ROUNDS}] ${label}: ${int(r.rate)} ${unit(key)}, p50 ${ms(r.p50)} ms, p99 ${ms(r.p99)} ms ` +
          `(server CPU ${pct(r.server.cpu)}${threads}, busy ${pct(r.server.busy)}${client})${r.note ? ` ${r.note}` : ''}${steps}`,
      );
    }
  }
  if (RUNS.every(([key]) => key.startsWith('before') || runs.some(([run]) => run === key))) console.log(`\n${report(all)}`);
  return 0;
}

function cleanup(): void {
  for (const proc of children) proc.kill('SIGKILL');
  if (workRoot) rmSync(workRoot, { recursive: true, force: true });
  workRoot = undefined;
}

if (process.argv[2] === '--child') {
  void childMain(JSON.parse(process.argv[3] ?? '{}') as ChildSpec);
} else {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      cleanup();
      process.exit(code);
    });
  }
  void main()
    .then(
      (code) => code,
      (err: unknown) => {
        console.error(err);
        return 1;
      },
    )
    .then((code) => {
      cleanup();
      process.exit(code);
    });
}
