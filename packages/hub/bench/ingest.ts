/**
 * `npm run bench:ingest`: ingest throughput of the hub beside baselines measured in the same run.
 *
 *  - single heartbeats (POST /api/v1/agents/:id/heartbeat) against a bare Fastify server that
 *    validates the same body with the hub's own Ajv setup and answers 200 without storing anything;
 *  - batched heartbeats (POST /api/v1/ingest) against raw better-sqlite3 writing the same
 *    agent_metrics rows and agents updates, in transactions of the same size, on the hub's schema;
 *  - each of those with SQLite synchronous FULL and NORMAL.
 *
 * Every server (hub, bare Fastify) and the raw insert loop run in a child process of their own;
 * the load generator (autocannon) runs here. Figures are ratios to a baseline taken in the same
 * run, because the machine is shared and absolute rates move from one run to the next.
 *
 * Environment: BENCH_SECONDS (measured seconds per run, default 10), BENCH_WARMUP_SECONDS
 * (default a fifth of that, at least 1), BENCH_ROUNDS (repeat everything, report medians; default
 * 3), BENCH_AGENTS (100), BENCH_BATCH (heartbeats per batch, 500), BENCH_CONNECTIONS (single
 * heartbeats, 50), BENCH_BATCH_CONNECTIONS (8), BENCH_DIR (where temporary databases go; default
 * the OS temp dir), BENCH_CPU_PROF (a directory: every child writes a `--cpu-prof` profile there),
 * BENCH_ONLY (comma-separated run names, e.g. `hubSingleFull,bareSingle`, for profiling; the
 * summary tables need every run).
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import { request } from 'undici';
import { Heartbeat, IngestBatch, type Heartbeat as HeartbeatBody } from '@vigil/protocol';
import { AgentParams } from '../src/api/agents.js';
import { validatorCompiler } from '../src/api/validation.js';
import { loadConfig } from '../src/config/config.js';
import { createLogger, startHub } from '../src/main.js';
import { registerAgent } from '../src/store/agents.js';
import { openStore } from '../src/store/open.js';

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
const ONLY = process.env.BENCH_ONLY?.split(',').filter(Boolean);
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

/** A full seed-001 heartbeat: every resources and metrics field, a timestamp and an event id. */
function heartbeat(seq: number, eventId: string): HeartbeatBody {
  return {
    status: 'online',
    timestamp: Date.now(),
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

// ---------------------------------------------------------------------------------------------
// Child processes: one server (or the raw insert loop) each, driven over IPC.

type ChildSpec =
  | { role: 'bare' }
  | { role: 'hub'; dir: string; sync: Sync }
  | { role: 'raw'; dir: string; sync: Sync; warmupS: number; seconds: number; batch: number };

type ToChild = { type: 'mark' } | { type: 'sample' } | { type: 'stop' };
interface Usage {
  /** CPU time over wall time since the last mark (1.0 = one core busy). */
  cpu: number;
  /** Event-loop utilisation: time the main thread was not idle, including blocking fsync. */
  busy: number;
}
type FromChild =
  | { type: 'ready'; url: string }
  | { type: 'ok' }
  | { type: 'stopped' }
  | { type: 'error'; message: string }
  | ({ type: 'sample'; rows: number | undefined } & Usage)
  | ({ type: 'raw'; rows: number; seconds: number; txP50Ms: number; txP99Ms: number } & Usage);

/** CPU and event-loop use of this process between `mark()` and `sample()`. */
class Meter {
  private cpu = process.cpuUsage();
  private elu = performance.eventLoopUtilization();
  private t = performance.now();
  mark(): void {
    this.cpu = process.cpuUsage();
    this.elu = performance.eventLoopUtilization();
    this.t = performance.now();
  }
  sample(): Usage {
    const wallUs = (performance.now() - this.t) * 1000;
    const c = process.cpuUsage(this.cpu);
    return { cpu: (c.user + c.system) / wallUs, busy: performance.eventLoopUtilization(this.elu).utilization };
  }
}

async function childMain(spec: ChildSpec): Promise<void> {
  const send = (msg: FromChild, then?: () => void) => process.send?.(msg, undefined, {}, then);
  try {
    if (spec.role === 'raw') {
      send({ type: 'raw', ...(await rawInserts(spec)) }, () => process.exit(0));
      return;
    }
    const server = spec.role === 'bare' ? await startBare() : await startHubChild(spec);
    const meter = new Meter();
    process.on('message', (msg: ToChild) => {
      void (async () => {
        if (msg.type === 'mark') {
          meter.mark();
          send({ type: 'ok' });
        } else if (msg.type === 'sample') {
          send({ type: 'sample', ...meter.sample(), rows: await server.rows() });
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

interface ChildServer {
  url: string;
  rows(): Promise<number | undefined>;
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
async function startHubChild(spec: { dir: string; sync: Sync }): Promise<ChildServer> {
  const config = loadConfig(
    ['--port', '0', '--data-dir', spec.dir, '--admin-token', ADMIN_TOKEN, '--sqlite-synchronous', spec.sync, '--log-level', 'silent'],
    {},
  );
  const hub = await startHub(config, { logger: createLogger('silent') });
  return {
    url: hub.url,
    rows: async () => (await hub.db.get<{ n: number }>('SELECT count(*) AS n FROM agent_metrics'))?.n,
    stop: () => hub.stop(),
  };
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

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] as number;
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
  note: string;
}

const jsonHeaders = { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` };

function singleRequests(): CannonRequest[] {
  const eventId = idSource();
  let seq = 0;
  return [
    {
      method: 'POST',
      headers: jsonHeaders,
      setupRequest: (req) => {
        const n = seq++;
        req.path = `/api/v1/agents/${agentId(n)}/heartbeat`;
        req.body = JSON.stringify(heartbeat(n, eventId(n)));
        return req;
      },
    },
  ];
}

function batchRequests(): CannonRequest[] {
  const eventId = idSource();
  let seq = 0;
  return [
    {
      method: 'POST',
      path: '/api/v1/ingest',
      headers: jsonHeaders,
      setupRequest: (req) => {
        const heartbeats: ({ agent_id: string } & HeartbeatBody)[] = [];
        for (let i = 0; i < BATCH; i++, seq++) heartbeats.push({ agent_id: agentId(seq), ...heartbeat(seq, eventId(seq)) });
        req.body = JSON.stringify({ heartbeats });
        return req;
      },
    },
  ];
}

/** Warms up, then measures one autocannon run against a child server. */
async function drive(proc: ChildProcess, url: string, kind: 'single' | 'batch'): Promise<Measured> {
  const connections = kind === 'single' ? CONNECTIONS : BATCH_CONNECTIONS;
  const requests = kind === 'single' ? singleRequests : batchRequests;
  const rowsPerRequest = kind === 'single' ? 1 : BATCH;
  let acked = 0;
  if (WARMUP_SECONDS > 0) {
    const warm = await autocannon({ url, connections, duration: WARMUP_SECONDS, requests: requests(), timeout: 30 });
    acked += warm['2xx'];
  }
  await ask(proc, { type: 'mark' }, 'ok');
  const client = new Meter();
  const r = await autocannon({ url, connections, duration: SECONDS, requests: requests(), timeout: 30 });
  const clientUsage = client.sample();
  const { rows, cpu, busy } = await ask(proc, { type: 'sample' }, 'sample');
  acked += r['2xx'];
  const failed = r.non2xx + r.errors + r.timeouts;
  const codes = Object.entries(r.statusCodeStats)
    .filter(([code]) => !code.startsWith('2'))
    .map(([code, { count }]) => `${count}×${code}`)
    .join(', ');
  let note = failed > 0 ? `${failed} failed (${codes || `${r.errors} errors, ${r.timeouts} timeouts`})` : '';
  if (rows !== undefined && rows < acked * rowsPerRequest) {
    note += `${note ? '; ' : ''}STORED ${rows} < ACKNOWLEDGED ${acked * rowsPerRequest}`;
  }
  return {
    rate: (r['2xx'] * rowsPerRequest) / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r['2xx'],
    failed,
    server: { cpu, busy },
    client: clientUsage,
    stored: rows,
    note,
  };
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
async function measureHub(kind: 'single' | 'batch', sync: Sync): Promise<Measured> {
  const dir = freshDir(`hub-${kind}-${sync}-${hubRuns++}`);
  try {
    return await withChild({ role: 'hub', dir, sync }, async (proc, url) => {
      await registerAgents(url);
      return drive(proc, url, kind);
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
  ['rawFull', `raw better-sqlite3, ${BATCH} rows/tx, FULL`],
  ['hubBatchFull', `hub, /api/v1/ingest ${BATCH}/request, FULL`],
  ['rawNormal', `raw better-sqlite3, ${BATCH} rows/tx, NORMAL`],
  ['hubBatchNormal', `hub, /api/v1/ingest ${BATCH}/request, NORMAL`],
  ['bareBatch', `bare Fastify, ${BATCH}-heartbeat IngestBatch (validate only)`],
] as const;
type RunKey = (typeof RUNS)[number][0];

const MEASURE: Record<RunKey, () => Promise<Measured>> = {
  bareSingle: () => measureBare('single'),
  hubSingleFull: () => measureHub('single', 'full'),
  hubSingleNormal: () => measureHub('single', 'normal'),
  rawFull: () => measureRaw('full'),
  hubBatchFull: () => measureHub('batch', 'full'),
  rawNormal: () => measureRaw('normal'),
  hubBatchNormal: () => measureHub('batch', 'normal'),
  bareBatch: () => measureBare('batch'),
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
        0.5,
      ),
      ratioRow('Single heartbeat p99 latency (ms), hub FULL vs bare Fastify', m('hubSingleFull').p99, m('bareSingle').p99, ms),
      ratioRow(
        `Batched rows/s (${BATCH}/request, ${BATCH_CONNECTIONS} conn), hub FULL vs raw better-sqlite3 FULL`,
        m('hubBatchFull').rate,
        m('rawFull').rate,
        int,
        0.5,
      ),
      ratioRow(`Batched rows/s, hub NORMAL vs raw better-sqlite3 NORMAL`, m('hubBatchNormal').rate, m('rawNormal').rate, int, 0.5),
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
    ['Run', 'Rate (range)', 'p50 ms', 'p99 ms', 'Server CPU', 'Server busy', 'Client CPU', 'Notes'],
    RUNS.map(([key, label]) => {
      const runs = all[key];
      const med = (f: (r: Measured) => number) => median(runs.map(f));
      const client = runs.every((r) => r.client) ? pct(med((r) => (r.client as Usage).cpu)) : '—';
      const notes = runs
        .map((r) => r.note)
        .filter(Boolean)
        .join('; ');
      const latencyNote = key.startsWith('raw') ? ` (per ${BATCH}-row tx)` : key.includes('Batch') ? ` (per ${BATCH}-row request)` : '';
      const rates = runs.map((r) => r.rate);
      const range = runs.length > 1 ? ` (${int(Math.min(...rates))}–${int(Math.max(...rates))})` : '';
      return [
        label,
        `${int(med((r) => r.rate))} ${unit(key)}${range}`,
        ms(med((r) => r.p50)),
        `${ms(med((r) => r.p99))}${latencyNote}`,
        pct(med((r) => r.server.cpu)),
        pct(med((r) => r.server.busy)),
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
    'Client CPU: the autocannon process; near 100 % means the load generator, not the server, set the pace.',
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
  const runs = RUNS.filter(([key]) => !ONLY || ONLY.includes(key));
  if (runs.length === 0) throw new Error(`BENCH_ONLY names no run; the runs are ${RUNS.map(([key]) => key).join(', ')}`);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [key, label] of runs) {
      const r = await MEASURE[key]();
      all[key].push(r);
      const client = r.client ? `, client CPU ${pct(r.client.cpu)}` : '';
      console.log(
        `[${round}/${ROUNDS}] ${label}: ${int(r.rate)} ${unit(key)}, p50 ${ms(r.p50)} ms, p99 ${ms(r.p99)} ms ` +
          `(server CPU ${pct(r.server.cpu)}, busy ${pct(r.server.busy)}${client})${r.note ? ` ${r.note}` : ''}`,
      );
    }
  }
  if (runs.length === RUNS.length) console.log(`\n${report(all)}`);
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
  main()
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
