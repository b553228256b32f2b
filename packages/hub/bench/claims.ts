/**
 * `npm run bench:claims`: capacity claims under concurrent orchestrators, and the capacity query
 * over a large fleet, on SQLite and on PostgreSQL, over real HTTP against `vigil server` child
 * processes (so the load generator in this process does not share the hubs' event loop).
 *
 *  1. Claims: BENCH_CLIENTS orchestrators, each looping claim → (hold up to BENCH_HOLD + 1 claims) →
 *     release the oldest (and one after a refusal), against BENCH_CLAIM_AGENTS agents with two GPUs
 *     each (80 and 40 GB free), 8 cores and 64 GB. Every claim asks for 2 cores, 8 GB and one GPU with
 *     30 GB free; claims of other jobs, written before the run, leave room for one more claim on each
 *     of BENCH_FREE_AGENTS agents, so the fleet is nearly full from the start and some claims are
 *     answered VIGIL_NO_CAPACITY. Runs: one SQLite hub; one PostgreSQL hub; two PostgreSQL hubs on
 *     one database (the clients split between them). Latency p50/p99 of granted and refused claims
 *     and of releases, CPU of the load generator and the hubs, and on PostgreSQL transactions and
 *     server CPU a claim; and a correctness check: every BENCH_CHECK_MS and at the end, the active
 *     claims (one consistent read of the database) must fit each agent's cores, memory and each
 *     GPU's VRAM. A breach, or an answer other than 201/409 VIGIL_NO_CAPACITY, fails the run (exit 1).
 *  2. The capacity query, `GET /api/v1/capacity` (cores and memory; and a GPU condition), over
 *     BENCH_QUERY_AGENTS agents written straight into the store: p50/p99 with no claims (the
 *     baseline), then with BENCH_ACTIVE_CLAIMS active claims (and 10× as many ended ones); and
 *     BENCH_CLAIMS_ONE_BY_ONE claims one at a time on that fleet (a claim runs the same query).
 *
 * Environment: BENCH_SECONDS (a claim run, default 10), BENCH_CLIENTS (50), BENCH_HOLD (2),
 * BENCH_CLAIM_AGENTS (200), BENCH_FREE_AGENTS (100), BENCH_CHECK_MS (2000), BENCH_QUERY_AGENTS
 * (10000), BENCH_ACTIVE_CLAIMS (2000), BENCH_QUERIES (40 a case), BENCH_QUERY_LIMIT (10),
 * BENCH_CLAIMS_ONE_BY_ONE (20), BENCH_PARTS (claims,query), BENCH_DIALECTS (sqlite,postgres),
 * VIGIL_TEST_PG_URL (the PostgreSQL server to create databases on).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { Agent, request } from 'undici';
import { openStore } from '../src/store/open.js';
import { mergeReport } from '../src/store/resource-patch.js';
import { envInt } from './env.js';

const SECONDS = envInt('BENCH_SECONDS', 10);
const CLIENTS = envInt('BENCH_CLIENTS', 50);
const HOLD = envInt('BENCH_HOLD', 2);
const FREE_AGENTS = envInt('BENCH_FREE_AGENTS', 100);
const CLAIM_AGENTS = envInt('BENCH_CLAIM_AGENTS', 200);
const QUERY_AGENTS = envInt('BENCH_QUERY_AGENTS', 10_000);
const ACTIVE_CLAIMS = envInt('BENCH_ACTIVE_CLAIMS', 2000);
const QUERIES = envInt('BENCH_QUERIES', 40);
const QUERY_LIMIT = envInt('BENCH_QUERY_LIMIT', 10);
const CLAIMS_ONE_BY_ONE = envInt('BENCH_CLAIMS_ONE_BY_ONE', 20);
const CHECK_MS = envInt('BENCH_CHECK_MS', 2000);
const DIALECTS = (process.env.BENCH_DIALECTS ?? 'sqlite,postgres').split(',') as Dialect[];
const PARTS = (process.env.BENCH_PARTS ?? 'claims,query').split(',');
const PG_ADMIN_URL = process.env.VIGIL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TOKEN = 'bench-admin-token-0123456789abcdef';
const VIGIL = fileURLToPath(new URL('../../bin/vigil.js', import.meta.url));
const HEADERS = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
// Enough sockets that no client waits for another's connection.
const dispatcher = new Agent({ connections: CLIENTS + 10 });

type Dialect = 'sqlite' | 'postgres';
const log = (line: string) => process.stdout.write(`${line}\n`);

/** A deterministic generator, so every run seeds the same fleet. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

// ---------------------------------------------------------------------------------------------------------
// Stores: a SQLite file or a fresh PostgreSQL database, migrated by the hub's own code, then written raw.

interface Raw {
  all<T>(sql: string, params?: unknown[]): Promise<T[]>;
  run(sql: string, params?: unknown[]): Promise<void>;
  close(): Promise<void>;
}

async function rawConnection(dialect: Dialect, target: string): Promise<Raw> {
  if (dialect === 'sqlite') {
    const db = new Database(target);
    db.pragma('busy_timeout = 10000');
    return {
      all: async <T>(sql: string, params: unknown[] = []) => db.prepare(sql).all(...params) as T[],
      run: async (sql, params = []) => void db.prepare(sql).run(...params),
      close: async () => void db.close(),
    };
  }
  const client = new pg.Client({ connectionString: target });
  await client.connect();
  const numbered = (sql: string) => {
    let n = 0;
    return sql.replace(/\?/g, () => `$${++n}`);
  };
  return {
    all: async <T>(sql: string, params: unknown[] = []) => (await client.query(numbered(sql), params)).rows as T[],
    run: async (sql, params = []) => void (await client.query(numbered(sql), params)),
    close: () => client.end(),
  };
}

interface Store {
  dialect: Dialect;
  target: string;
  dir: string;
  drop(): Promise<void>;
}

async function createStore(dialect: Dialect): Promise<Store> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-claims-'));
  let target = join(dir, 'vigil.db');
  let dropDb = async () => undefined;
  if (dialect === 'postgres') {
    const name = `vigil_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(PG_ADMIN_URL);
    url.pathname = `/${name}`;
    target = url.toString();
    dropDb = async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    };
  }
  const { db } = await openStore(target, { sqliteSynchronous: 'normal', now: Date.now() });
  await db.close();
  return {
    dialect,
    target,
    dir,
    drop: async () => {
      await dropDb();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface Gpu {
  index: number;
  free: number;
}
interface SeedAgent {
  id: string;
  pool: string;
  cores: number;
  memory: number;
  gpus: Gpu[];
}

const AGENT_COLUMNS = [
  'agent_id', 'name', 'agent_type', 'pool_name', 'status', 'last_heartbeat_at', 'resource_metrics', 'heartbeat_interval_s',
  'registered_at', 'updated_at', 'cpu_cores_available', 'memory_available_gb', 'gpu_vram_available_gb', 'gpu_type',
]; // prettier-ignore

/**
 * Agents written straight into the schema, as a heartbeat would leave them: online, their resources
 * in the stored dict and the capacity columns. A day's heartbeat interval keeps them online through the run.
 */
async function seedAgents(store: Store, agents: SeedAgent[]): Promise<void> {
  const raw = await rawConnection(store.dialect, store.target);
  const now = Date.now();
  const BATCH = 500;
  try {
    await raw.run('BEGIN');
    for (let i = 0; i < agents.length; i += BATCH) {
      const rows = agents.slice(i, i + BATCH);
      const params: unknown[] = [];
      for (const a of rows) {
        const vram = a.gpus.reduce((sum, g) => sum + g.free, 0);
        const report = {
          cpu_cores_available: a.cores,
          memory_available_gb: a.memory,
          ...(a.gpus.length > 0
            ? {
                gpu_type: 'nvidia',
                gpu_vram_total_gb: 80 * a.gpus.length,
                gpu_vram_available_gb: vram,
                gpus: a.gpus.map((g) => ({
                  index: g.index,
                  uuid: `GPU-${a.id}-${g.index}`,
                  name: 'NVIDIA H100',
                  vram_total_gb: 80,
                  vram_used_gb: 80 - g.free,
                  vram_free_gb: g.free,
                })),
              }
            : {}),
        };
        params.push(
          a.id,
          a.id,
          'bench',
          a.pool,
          'online',
          now,
          JSON.stringify(mergeReport({}, report, now)),
          86_400,
          now,
          now,
          a.cores,
          a.memory,
        );
        params.push(a.gpus.length > 0 ? vram : null, a.gpus.length > 0 ? 'nvidia' : null);
      }
      const tuple = `(${AGENT_COLUMNS.map(() => '?').join(', ')})`;
      await raw.run(`INSERT INTO agents (${AGENT_COLUMNS.join(', ')}) VALUES ${rows.map(() => tuple).join(', ')}`, params);
    }
    await raw.run('COMMIT');
    if (store.dialect === 'postgres') await raw.run('ANALYZE');
  } finally {
    await raw.close();
  }
}

/** Claims written straight into the table, rows in the order of CLAIM_COLUMNS. */
async function writeClaims(store: Store, rows: unknown[][]): Promise<void> {
  const raw = await rawConnection(store.dialect, store.target);
  const tuple = `(${CLAIM_COLUMNS.map(() => '?').join(', ')})`;
  try {
    await raw.run('BEGIN');
    for (let i = 0; i < rows.length; i += 500) {
      const batch = rows.slice(i, i + 500);
      await raw.run(`INSERT INTO capacity_claims (${CLAIM_COLUMNS.join(', ')}) VALUES ${batch.map(() => tuple).join(', ')}`, batch.flat());
    }
    await raw.run('COMMIT');
    if (store.dialect === 'postgres') await raw.run('ANALYZE capacity_claims');
  } finally {
    await raw.close();
  }
}

const CLAIM_COLUMNS = [
  'claim_id', 'agent_id', 'pool_name', 'job', 'cpu_cores', 'memory_gb', 'gpu_vram_gb', 'gpu_count', 'gpus', 'claimed_by',
  'created_at', 'expires_at', 'released_at',
]; // prettier-ignore

// ---------------------------------------------------------------------------------------------------------
// Hubs: `vigil server` child processes.

interface Hub {
  url: string;
  child: ChildProcess;
  /** CPU seconds the process has used so far (user + system), from /proc. */
  cpu(): number;
  close(): Promise<void>;
}

const TICKS = 100; // USER_HZ on Linux
function processCpu(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return NaN;
  }
}

async function startHub(store: Store, n: number): Promise<Hub> {
  const dataDir = join(store.dir, `hub-${n}`);
  const args = [VIGIL, 'server', '--port', '0', '--data-dir', dataDir, '--db', store.target, '--admin-token', TOKEN, '--log-level', 'warn'];
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hub did not start in 60 s:\n${out}`)), 60_000);
    const onData = () => {
      const m = /Vigil hub listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        resolve(m[1] as string);
      }
    };
    child.stdout.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`hub exited before listening:\n${out}`));
    });
  });
  return {
    url,
    child,
    cpu: () => processCpu(child.pid as number),
    close: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The few fields of the hub's answers this benchmark reads. */
interface Answer {
  claim_id?: string;
  agents?: unknown[];
  error?: { code: string };
}

async function call(url: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: Answer }> {
  const res = await request(`${url}${path}`, {
    method,
    headers: HEADERS,
    dispatcher,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.statusCode, body: (await res.body.json()) as Answer };
}

// ---------------------------------------------------------------------------------------------------------
// Figures.

const pct = (sorted: number[], p: number) =>
  sorted.length === 0 ? NaN : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number);
const ms = (n: number) => (Number.isNaN(n) ? '–' : n < 10 ? n.toFixed(1) : n.toFixed(0));
function summary(samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  return `n ${s.length}, p50 ${ms(pct(s, 50))} ms, p99 ${ms(pct(s, 99))} ms`;
}

/** Measures this process's and the hubs' CPU over a stretch of wall time, as % of one core. */
function cpuMeter(hubs: Hub[]): () => string {
  const wall = performance.now();
  const self = process.cpuUsage();
  const hubStart = hubs.map((h) => h.cpu());
  return () => {
    const seconds = (performance.now() - wall) / 1000;
    const used = process.cpuUsage(self);
    const gen = ((used.user + used.system) / 1e6 / seconds) * 100;
    const hubPct = hubs.map((h, i) => (((h.cpu() - (hubStart[i] as number)) / seconds) * 100).toFixed(0));
    return `CPU (% of one core): load generator ${gen.toFixed(0)}, hub${hubs.length > 1 ? 's' : ''} ${hubPct.join(' + ')}; load average ${loadavg()[0]?.toFixed(1)}`;
  };
}

// ---------------------------------------------------------------------------------------------------------
// 1. Claims under concurrent orchestrators.

const CORES = 8;
const MEMORY = 64;
const GPU_FREE = [80, 40];
const CLAIM = { min_cpu_cores: 2, min_memory_gb: 8, min_gpu_vram_gb: 30 };

interface Held {
  agent_id: string;
  cpu_cores: number;
  memory_gb: number;
  gpu_vram_gb: number;
  gpus: unknown;
}

/**
 * What other jobs already hold when the run starts, so the fleet is nearly full from the first claim:
 * two claims on GPU 0 of every agent (60 of its 80 GB), and GPU 1 (40 GB) of all but FREE_AGENTS agents.
 * What is left fits one more claim on each of FREE_AGENTS agents (by GPU, and by cores: 8 - 3 × 2).
 */
function backgroundClaims(): unknown[][] {
  const now = Date.now();
  const rows: unknown[][] = [];
  for (let i = 0; i < CLAIM_AGENTS; i++) {
    const agent = claimAgentId(i);
    const on = (index: number, n: number) =>
      rows.push([
        `bg-${i}-${n}`,
        agent,
        'default',
        'background',
        2,
        8,
        30,
        1,
        JSON.stringify([{ index }]),
        'admin',
        now,
        now + 3_600_000,
        null,
      ]);
    on(0, 0);
    on(0, 1);
    if (i >= FREE_AGENTS) on(1, 2);
  }
  return rows;
}

const claimAgentId = (i: number) => `gpu-${String(i).padStart(4, '0')}`;

/** Active claims must fit every agent's cores and memory and every GPU's VRAM; answers the breaches. */
function overbooked(claims: Held[]): string[] {
  const sums = new Map<string, number>();
  const add = (key: string, n: number) => sums.set(key, (sums.get(key) ?? 0) + n);
  for (const c of claims) {
    add(`${c.agent_id} cores`, Number(c.cpu_cores));
    add(`${c.agent_id} memory`, Number(c.memory_gb));
    const gpus = (typeof c.gpus === 'string' ? JSON.parse(c.gpus) : c.gpus) as { index: number }[] | null;
    for (const g of gpus ?? []) add(`${c.agent_id} gpu ${g.index}`, Number(c.gpu_vram_gb));
  }
  const breaches: string[] = [];
  for (const [key, held] of sums) {
    const [, what, index] = key.split(' ');
    const capacity = what === 'cores' ? CORES : what === 'memory' ? MEMORY : (GPU_FREE[Number(index)] as number);
    if (held > capacity) breaches.push(`${key}: ${held} held of ${capacity}`);
  }
  return breaches;
}

/** PostgreSQL only: transactions ended in the database so far (committed and rolled back). */
async function pgTransactions(raw: Raw): Promise<number> {
  const [row] = await raw.all<{ n: string }>(
    'SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()',
  );
  return Number(row?.n ?? NaN);
}

/** PostgreSQL only: CPU seconds of the server processes serving this database's other connections (the hubs' pools). */
async function pgBackendCpu(raw: Raw): Promise<number> {
  const rows = await raw.all<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
  );
  return rows.reduce((sum, r) => sum + (processCpu(r.pid) || 0), 0);
}

/** One statement, so one consistent snapshot: what the committed claims hold right now. */
async function checkNoOverbooking(raw: Raw): Promise<{ active: number; breaches: string[] }> {
  const claims = await raw.all<Held>(
    'SELECT agent_id, cpu_cores, memory_gb, gpu_vram_gb, gpus FROM capacity_claims WHERE released_at IS NULL AND expires_at > ?',
    [Date.now()],
  );
  return { active: claims.length, breaches: overbooked(claims) };
}

async function claimRun(label: string, dialect: Dialect, hubCount: number): Promise<boolean> {
  const store = await createStore(dialect);
  const hubs: Hub[] = [];
  try {
    await seedAgents(
      store,
      Array.from({ length: CLAIM_AGENTS }, (_, i) => ({
        id: claimAgentId(i),
        pool: 'default',
        cores: CORES,
        memory: MEMORY,
        gpus: GPU_FREE.map((free, index) => ({ index, free })),
      })),
    );
    await writeClaims(store, backgroundClaims());
    for (let n = 0; n < hubCount; n++) hubs.push(await startHub(store, n));
    const checker = await rawConnection(dialect, store.target);
    const granted: number[] = [];
    const refused: number[] = [];
    const released: number[] = [];
    const errors = new Map<string, number>();
    const breaches: string[] = [];
    let checks = 0;
    let maxActive = 0;
    const meter = cpuMeter(hubs);
    const hubCpu0 = hubs.reduce((sum, h) => sum + h.cpu(), 0);
    const xacts0 = dialect === 'postgres' ? await pgTransactions(checker) : 0;
    const until = performance.now() + SECONDS * 1000;
    let checking = true;
    const periodic = (async () => {
      while (checking) {
        await new Promise((r) => setTimeout(r, CHECK_MS));
        const r = await checkNoOverbooking(checker);
        checks++;
        maxActive = Math.max(maxActive, r.active);
        breaches.push(...r.breaches);
      }
    })();
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        const url = (hubs[c % hubs.length] as Hub).url;
        const held: string[] = [];
        for (let n = 0; performance.now() < until; n++) {
          const body = { ...CLAIM, job: `c${c}-${n}`, lease_seconds: 600 };
          const t = performance.now();
          const r = await call(url, 'POST', '/api/v1/capacity/claim', body);
          const took = performance.now() - t;
          if (r.status === 201) {
            granted.push(took);
            held.push(r.body.claim_id as string);
          } else if (r.status === 409 && r.body?.error?.code === 'VIGIL_NO_CAPACITY') refused.push(took);
          else errors.set(`${r.status} ${r.body?.error?.code}`, (errors.get(`${r.status} ${r.body?.error?.code}`) ?? 0) + 1);
          if (held.length > HOLD || (r.status !== 201 && held.length > 0)) {
            const t2 = performance.now();
            const rel = await call(url, 'POST', `/api/v1/capacity/claims/${held.shift()}/release`);
            released.push(performance.now() - t2);
            if (rel.status !== 200) errors.set(`release ${rel.status}`, (errors.get(`release ${rel.status}`) ?? 0) + 1);
          }
        }
      }),
    );
    const wall = (performance.now() - started) / 1000;
    const cpu = meter();
    const hubCpu = hubs.reduce((sum, h) => sum + h.cpu(), 0) - hubCpu0;
    checking = false;
    await periodic;
    const pgLine =
      dialect === 'postgres'
        ? `; PostgreSQL: ${(((await pgTransactions(checker)) - xacts0 - checks - 2) / (granted.length + refused.length)).toFixed(1)} transactions a claim (releases included), ` +
          `its backends for the hubs ${(((await pgBackendCpu(checker)) / (granted.length + refused.length)) * 1000).toFixed(1)} ms CPU a claim`
        : '';
    const end = await checkNoOverbooking(checker);
    checks++;
    breaches.push(...end.breaches);
    await checker.close();
    const total = granted.length + refused.length;
    log(
      `\n${label}: ${CLIENTS} clients holding up to ${HOLD + 1} claims each, ${CLAIM_AGENTS} agents with room for ${FREE_AGENTS} more claims, ${wall.toFixed(1)} s`,
    );
    log(`  claims ${total} (${(total / wall).toFixed(0)}/s): granted ${granted.length}, VIGIL_NO_CAPACITY ${refused.length}`);
    log(`  granted:  ${summary(granted)}`);
    log(`  refused:  ${summary(refused)}`);
    log(`  release:  ${summary(released)}`);
    log(`  ${cpu}`);
    log(`  per claim (its release included): hub CPU ${((hubCpu / total) * 1000).toFixed(1)} ms${pgLine}`);
    log(`  errors: ${errors.size === 0 ? 'none' : [...errors].map(([k, v]) => `${k} ×${v}`).join(', ')}`);
    log(
      `  overbooking: ${checks} consistent reads (the last at the end: ${end.active} active claims; most seen ${Math.max(maxActive, end.active)}): ` +
        (breaches.length === 0 ? 'none' : `${breaches.length} BREACHES, e.g. ${breaches.slice(0, 5).join('; ')}`),
    );
    return breaches.length === 0 && errors.size === 0;
  } finally {
    for (const h of hubs) await h.close();
    await store.drop();
  }
}

// ---------------------------------------------------------------------------------------------------------
// 2. The capacity query over a large fleet, without and with active claims.

function queryFleet(): SeedAgent[] {
  const rnd = random(42);
  return Array.from({ length: QUERY_AGENTS }, (_, i) => {
    const withGpus = rnd() < 0.7;
    const gpuCount = withGpus ? 1 + Math.floor(rnd() * 8) : 0;
    return {
      id: `agent-${String(i).padStart(5, '0')}`,
      pool: `pool-${i % 20}`,
      cores: 4 + Math.floor(rnd() * 61),
      memory: 16 + Math.floor(rnd() * 497),
      gpus: Array.from({ length: gpuCount }, (_, index) => ({ index, free: Math.floor(rnd() * 81) })),
    };
  });
}

/**
 * ACTIVE_CLAIMS claims, two on each of half as many agents (2 cores, 4 GB and 5 GB of GPU 0 where it has
 * one), and ten times as many ended ones (released, or lapsed) as a fleet's history would leave behind.
 */
async function seedClaims(store: Store, fleet: SeedAgent[]): Promise<void> {
  const now = Date.now();
  const rows: unknown[][] = [];
  const step = Math.max(1, Math.floor(fleet.length / (ACTIVE_CLAIMS / 2)));
  for (let i = 0; i < ACTIVE_CLAIMS; i++) {
    const a = fleet[(Math.floor(i / 2) * step) % fleet.length] as SeedAgent;
    const gpu = a.gpus.length > 0 && (a.gpus[0] as Gpu).free >= 10;
    rows.push([
      `active-${i}`, a.id, a.pool, 'bench', 2, 4, gpu ? 5 : 0, gpu ? 1 : 0, gpu ? JSON.stringify([{ index: 0 }]) : null, 'admin',
      now, now + 3_600_000, null,
    ]); // prettier-ignore
  }
  for (let i = 0; i < ACTIVE_CLAIMS * 10; i++) {
    const a = fleet[(i * 7) % fleet.length] as SeedAgent;
    const lapsed = i % 4 === 0;
    rows.push([
      `ended-${i}`, a.id, a.pool, 'bench', 2, 4, 0, 0, null, 'admin',
      now - 7_200_000, now - 3_600_000, lapsed ? null : now - 3_700_000,
    ]); // prettier-ignore
  }
  await writeClaims(store, rows);
}

const QUERIES_ASKED = [
  { name: 'cores + memory', query: 'min_cpu_cores=8&min_memory_gb=32' },
  { name: 'one GPU, 40 GB', query: 'min_gpu_vram_gb=40' },
  { name: 'two GPUs, 20 GB, cores', query: 'min_gpu_vram_gb=20&gpu_count=2&min_cpu_cores=8' },
];

async function queryCases(hub: Hub, stage: string): Promise<string[]> {
  const lines: string[] = [];
  for (const q of QUERIES_ASKED) {
    const path = `/api/v1/capacity?${q.query}&limit=${QUERY_LIMIT}`;
    for (let i = 0; i < 3; i++) await call(hub.url, 'GET', path); // warm the statement cache
    const times: number[] = [];
    let found = 0;
    for (let i = 0; i < QUERIES; i++) {
      const t = performance.now();
      const r = await call(hub.url, 'GET', path);
      times.push(performance.now() - t);
      if (r.status !== 200) throw new Error(`capacity query answered ${r.status}: ${JSON.stringify(r.body)}`);
      found = r.body.agents?.length ?? 0;
    }
    lines.push(`  ${stage}, ${q.name} (${q.query}), ${found} found: ${summary(times)}`);
  }
  // A claim runs the same query for its candidates (on SQLite inside the single writer, which nothing else can use meanwhile).
  const claims: number[] = [];
  for (let i = 0; i < CLAIMS_ONE_BY_ONE; i++) {
    const t = performance.now();
    const r = await call(hub.url, 'POST', '/api/v1/capacity/claim', {
      min_gpu_vram_gb: 40,
      min_cpu_cores: 4,
      job: `q-${i}`,
      lease_seconds: 60,
    });
    claims.push(performance.now() - t);
    if (r.status !== 201) throw new Error(`claim answered ${r.status}: ${JSON.stringify(r.body)}`);
    await call(hub.url, 'POST', `/api/v1/capacity/claims/${r.body.claim_id}/release`);
  }
  lines.push(`  ${stage}, claim one at a time (min_gpu_vram_gb=40&min_cpu_cores=4, then its release): ${summary(claims)}`);
  return lines;
}

/**
 * What claims cost the hub's other writes: heartbeats one at a time (baseline), then the same while
 * CLAIMS_ONE_BY_ONE claims run one at a time beside them (on SQLite both go through the single writer).
 */
async function heartbeatsBesideClaims(hub: Hub): Promise<string[]> {
  const heartbeats = async (until: () => boolean): Promise<number[]> => {
    const times: number[] = [];
    for (let i = 0; !until(); i++) {
      const t = performance.now();
      const r = await call(hub.url, 'POST', `/api/v1/agents/agent-${String(i % 100).padStart(5, '0')}/heartbeat`, { status: 'online' });
      times.push(performance.now() - t);
      if (r.status !== 200) throw new Error(`heartbeat answered ${r.status}: ${JSON.stringify(r.body)}`);
    }
    return times;
  };
  let sent = 0;
  const alone = await heartbeats(() => sent++ >= QUERIES);
  let claiming = true;
  const [beside] = await Promise.all([
    heartbeats(() => !claiming),
    (async () => {
      for (let i = 0; i < CLAIMS_ONE_BY_ONE; i++) {
        const r = await call(hub.url, 'POST', '/api/v1/capacity/claim', {
          min_gpu_vram_gb: 40,
          min_cpu_cores: 4,
          job: `h-${i}`,
          lease_seconds: 60,
        });
        if (r.status === 201) await call(hub.url, 'POST', `/api/v1/capacity/claims/${r.body.claim_id}/release`);
      }
      claiming = false;
    })(),
  ]);
  return [
    `  heartbeats one at a time, alone: ${summary(alone)}`,
    `  heartbeats one at a time, beside ${CLAIMS_ONE_BY_ONE} claims one at a time: ${summary(beside)}`,
  ];
}

async function queryRun(dialect: Dialect): Promise<void> {
  const store = await createStore(dialect);
  let hub: Hub | undefined;
  try {
    const fleet = queryFleet();
    let t = performance.now();
    await seedAgents(store, fleet);
    log(
      `\ncapacity query on ${dialect}: ${QUERY_AGENTS} agents seeded in ${((performance.now() - t) / 1000).toFixed(1)} s; limit=${QUERY_LIMIT}, ${QUERIES} queries a case, one at a time`,
    );
    hub = await startHub(store, 0);
    for (const line of await queryCases(hub, 'no claims')) log(line);
    t = performance.now();
    await seedClaims(store, fleet);
    log(`  (${ACTIVE_CLAIMS} active and ${ACTIVE_CLAIMS * 10} ended claims written in ${((performance.now() - t) / 1000).toFixed(1)} s)`);
    for (const line of await queryCases(hub, `${ACTIVE_CLAIMS} active claims`)) log(line);
    for (const line of await heartbeatsBesideClaims(hub)) log(line);
  } finally {
    await hub?.close();
    await store.drop();
  }
}

// ---------------------------------------------------------------------------------------------------------

log(
  `bench:claims, ${new Date().toISOString()}, node ${process.version}, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
let ok = true;
if (PARTS.includes('claims')) {
  for (const dialect of DIALECTS) ok = (await claimRun(`claims on ${dialect}, one hub`, dialect, 1)) && ok;
  if (DIALECTS.includes('postgres')) ok = (await claimRun('claims on postgres, two hubs on one database', 'postgres', 2)) && ok;
}
if (PARTS.includes('query')) for (const dialect of DIALECTS) await queryRun(dialect);
await dispatcher.close();
if (!ok) {
  log('\nFAILED: overbooking or unexpected answers (see above)');
  process.exitCode = 1;
}
