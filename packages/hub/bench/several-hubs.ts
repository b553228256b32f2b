/**
 * `npm run bench:hubs`: ingest throughput of one hub against two hubs on one PostgreSQL database,
 * measured in the same run (docs/several-hubs.md).
 *
 * Each configuration gets a fresh database and real `vigil server` processes; the load (batches of
 * heartbeats through POST /api/v1/ingest) runs here with the same total number of connections, spread
 * evenly over the hubs. Two hubs run twice: every batch over all agents (both hubs write the same agent
 * rows, the worst case for row locks), and each hub with its own half of the agents (as when agents
 * keep their connection to one hub). Figures are stored heartbeats (rows) per second,
 * counted from 2xx answers; rounds alternate the configurations and the medians are reported.
 *
 * A second table isolates what telling the other hubs costs: the hub's own writer on PostgreSQL,
 * in this process, committing the same batches with and without the batch's NOTIFY (and, for a batch
 * over the 8,000-byte payload limit, its `live_messages` row), alternating, same run.
 *
 * A third table measures what daily partitioning (store/partitions.ts, migration 13) costs ingest: the
 * writer alone committing the same batches into two databases, one at the schema before migration 13
 * (plain tables) and one partitioned by day, alternating, same run. A fourth times migration 13 on a
 * table of BENCH_MIGRATION_ROWS samples (1,000,000) against, on the same table in the same run, a
 * COUNT(*) (one read of it) and a copy of it with its indexes (what a migration that moved the rows
 * would cost at the least).
 *
 * Environment: BENCH_SECONDS (measured seconds per run, default 10), BENCH_ROUNDS (3), BENCH_AGENTS
 * (100), BENCH_BATCH (heartbeats per batch, 200), BENCH_CONNECTIONS (total, 8), VIGIL_TEST_PG_URL
 * (the server, default postgres://postgres@127.0.0.1:5432/postgres), BENCH_ONLY (`hubs`, `notify`,
 * `partitions` or `migration`: one table).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Agent, request } from 'undici';
import { ClusterLink } from '../src/cluster/link.js';
import type { Command } from '../src/ingest/commands.js';
import { Writer } from '../src/ingest/writer.js';
import { messagesFor } from '../src/live/messages.js';
import { migrate } from '../src/store/migrate.js';
import { openStore } from '../src/store/open.js';
import { PostgresDb } from '../src/store/postgres-db.js';

const envInt = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(n) || n < 1) throw new Error(`${name} must be a number >= 1, got ${JSON.stringify(raw)}`);
  return Math.round(n);
};

const SECONDS = envInt('BENCH_SECONDS', 10);
const ROUNDS = envInt('BENCH_ROUNDS', 3);
const AGENTS = envInt('BENCH_AGENTS', 100);
const BATCH = envInt('BENCH_BATCH', 200);
const CONNECTIONS = envInt('BENCH_CONNECTIONS', 8);
const PG_URL = process.env.VIGIL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
const ONLY = process.env.BENCH_ONLY;
const MIGRATION_ROWS = envInt('BENCH_MIGRATION_ROWS', 1_000_000);
const VIGIL = fileURLToPath(new URL('../../bin/vigil.js', import.meta.url));

const agentId = (i: number) => `hubs-agent-${String(i % AGENTS).padStart(4, '0')}`;

async function createDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `vigil_bench_hubs_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

interface HubChild {
  child: ChildProcess;
  url: string;
  dir: string;
}

async function spawnHub(dbUrl: string): Promise<HubChild> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-hubs-'));
  const args = [VIGIL, 'server', '--port', '0', '--data-dir', dir, '--db', dbUrl, '--admin-token', ADMIN_TOKEN];
  const child = spawn(process.execPath, [...args, '--log-level', 'warn', '--otlp-grpc-port', '0', '--host-metrics-interval', '0'], {
    env: { PATH: process.env.PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hub did not start:\n${out}`)), 30_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /Vigil hub listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    child.once('exit', (code) => reject(new Error(`hub exited (${code}):\n${out}`)));
  });
  return { child, url, dir };
}

async function stopHub(h: HubChild): Promise<void> {
  const exited = new Promise((r) => h.child.once('exit', r));
  h.child.kill('SIGTERM');
  await exited;
  rmSync(h.dir, { recursive: true, force: true });
}

async function post(dispatcher: Agent, url: string, path: string, body: unknown): Promise<number> {
  const res = await request(`${url}${path}`, {
    method: 'POST',
    dispatcher,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await res.body.dump();
  return res.statusCode;
}

type Config = '1 hub' | '2 hubs, shared agents' | '2 hubs, own agents';
const CONFIGS: Config[] = ['1 hub', '2 hubs, shared agents', '2 hubs, own agents'];

/** One configuration on a fresh database, CONNECTIONS loops posting batches for SECONDS. */
async function measure(config: Config): Promise<{ rowsPerS: number; refused: number; p99Ms: number }> {
  const hubs = config === '1 hub' ? 1 : 2;
  const own = config === '2 hubs, own agents';
  const db = await createDatabase();
  const started: HubChild[] = [];
  const dispatcher = new Agent({ connections: CONNECTIONS });
  try {
    for (let i = 0; i < hubs; i++) started.push(await spawnHub(db.url));
    const first = started[0] as HubChild;
    for (let i = 0; i < AGENTS; i++) {
      const status = await post(dispatcher, first.url, '/api/v1/agents', { agent_id: agentId(i), name: agentId(i), agent_type: 'bench' });
      if (status >= 300) throw new Error(`register answered ${status}`);
    }
    let seq = 0;
    // With own agents, hub h writes the agents whose number is h modulo the hubs.
    const batch = (h: number) => ({
      heartbeats: Array.from({ length: BATCH }, () => {
        const n = own ? seq++ * hubs + h : seq++;
        return { agent_id: agentId(n), status: 'online', event_id: randomUUID(), metrics: { cpu_percent: n % 100, memory_mb: 300 } };
      }),
    });
    let stored = 0;
    let refused = 0;
    const latencies: number[] = [];
    const warmupEnd = performance.now() + 1000;
    const end = warmupEnd + SECONDS * 1000;
    const loop = async (h: number) => {
      const hub = started[h] as HubChild;
      while (performance.now() < end) {
        const t = performance.now();
        const status = await post(dispatcher, hub.url, '/api/v1/ingest', batch(h));
        if (t < warmupEnd) continue;
        latencies.push(performance.now() - t);
        if (status === 200) stored += BATCH;
        else refused++;
      }
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => loop(i % hubs)));
    latencies.sort((a, b) => a - b);
    return { rowsPerS: stored / SECONDS, refused, p99Ms: latencies[Math.floor(latencies.length * 0.99)] ?? 0 };
  } finally {
    await dispatcher.close();
    for (const h of started) await stopHub(h);
    await db.drop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function hubsTable(): Promise<void> {
  const results = new Map<Config, { rowsPerS: number; refused: number; p99Ms: number }[]>(CONFIGS.map((c) => [c, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Each round in another order, so a machine that gets busier or quieter does not favour one.
    const order = CONFIGS.map((_, i) => CONFIGS[(i + round) % CONFIGS.length] as Config);
    for (const config of order) {
      const r = await measure(config);
      results.get(config)?.push(r);
      process.stdout.write(
        `round ${round + 1}, ${config}: ${r.rowsPerS.toFixed(0)} rows/s, p99 ${r.p99Ms.toFixed(0)} ms, ${r.refused} refused\n`,
      );
    }
  }
  const base = median((results.get('1 hub') ?? []).map((r) => r.rowsPerS));
  let table = `\n| Hubs on one PostgreSQL | rows/s (median of ${ROUNDS}) | ratio | p99 batch (ms) | refused |\n| --- | ---: | ---: | ---: | ---: |\n`;
  for (const config of CONFIGS) {
    const rs = results.get(config) ?? [];
    const rate = median(rs.map((r) => r.rowsPerS));
    table += `| ${config}${config === '1 hub' ? ' (baseline)' : ''} | ${rate.toFixed(0)} | ${(rate / base).toFixed(2)}× | ${median(rs.map((r) => r.p99Ms)).toFixed(0)} | ${rs.reduce((n, r) => n + r.refused, 0)} |\n`;
  }
  process.stdout.write(`${table}\n${AGENTS} agents, batches of ${BATCH}, ${CONNECTIONS} connections in all, ${SECONDS} s per run.\n`);
}

let heartbeatSeq = 0;
/** Heartbeats per second `writer` commits, in batches of BATCH over all agents, for SECONDS. */
async function writerRate(writer: Writer): Promise<number> {
  const end = performance.now() + SECONDS * 1000;
  let rows = 0;
  while (performance.now() < end) {
    const now = Date.now();
    const commands: Command[] = Array.from({ length: BATCH }, () => {
      const n = heartbeatSeq++;
      return {
        kind: 'heartbeat',
        agentId: agentId(n),
        heartbeat: { status: 'online', metrics: { cpu_percent: n % 100, memory_mb: 300 } },
        now,
      };
    });
    await writer.submit(commands);
    rows += BATCH;
  }
  return rows / SECONDS;
}

/** Rows per second through the writer alone, with or without the batch's NOTIFY, alternating on one database. */
async function notifyCost(): Promise<void> {
  const target = await createDatabase();
  const { db } = await openStore(target.url, { sqliteSynchronous: 'full', now: Date.now() });
  const link = new ClusterLink(target.url, 'bench', db, {
    onMessages() {},
    onSessionsEnded() {},
    onKeysRevoked() {},
    onAlertsChanged() {},
    onGap() {},
    onError() {},
  });
  const log = { error: () => undefined, warn: () => undefined };
  const writers = {
    without: new Writer(db, { capacity: 1e6, batchMaxItems: BATCH, batchMaxDelayMs: 2 }, log),
    with: new Writer(
      db,
      {
        capacity: 1e6,
        batchMaxItems: BATCH,
        batchMaxDelayMs: 2,
        inTransaction: (tx, committed) => link.notifyInTransaction(tx, committed.flatMap(messagesFor), Date.now()),
      },
      log,
    ),
  };
  try {
    for (let i = 0; i < AGENTS; i++) {
      await writers.without.submitOne({
        kind: 'register',
        agent: { agent_id: agentId(i), name: agentId(i), agent_type: 'bench' },
        now: Date.now(),
        mayMovePool: true,
      });
    }
    const rates: Record<'with' | 'without', number[]> = { with: [], without: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const k of round % 2 === 0 ? (['without', 'with'] as const) : (['with', 'without'] as const))
        rates[k].push(await writerRate(writers[k]));
    }
    const without = median(rates.without);
    const withNotify = median(rates.with);
    process.stdout.write(
      `\n| Writer alone, batches of ${BATCH} heartbeats | rows/s (median of ${ROUNDS}) | ratio |\n| --- | ---: | ---: |\n` +
        `| without NOTIFY (baseline) | ${without.toFixed(0)} | 1.00× |\n| with the batch's NOTIFY and its live_messages row | ${withNotify.toFixed(0)} | ${(withNotify / without).toFixed(2)}× |\n`,
    );
  } finally {
    await writers.with.drain();
    await writers.without.drain();
    await db.close();
    await target.drop();
  }
}
/** Rows per second through the writer alone into plain tables (schema 12) and daily partitions (13), alternating. */
async function partitionCost(): Promise<void> {
  const plainTarget = await createDatabase();
  const partTarget = await createDatabase();
  const plain = new PostgresDb({ url: plainTarget.url });
  await migrate(plain, Date.now(), undefined, 12);
  const { db: parted } = await openStore(partTarget.url, { sqliteSynchronous: 'full', now: Date.now() });
  const log = { error: () => undefined, warn: () => undefined };
  const options = { capacity: 1e6, batchMaxItems: BATCH, batchMaxDelayMs: 2 };
  const writers = { plain: new Writer(plain, options, log), partitioned: new Writer(parted, options, log) };
  try {
    for (const writer of Object.values(writers)) {
      for (let i = 0; i < AGENTS; i++) {
        await writer.submitOne({
          kind: 'register',
          agent: { agent_id: agentId(i), name: agentId(i), agent_type: 'bench' },
          now: Date.now(),
          mayMovePool: true,
        });
      }
    }
    const rates: Record<'plain' | 'partitioned', number[]> = { plain: [], partitioned: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const k of round % 2 === 0 ? (['plain', 'partitioned'] as const) : (['partitioned', 'plain'] as const))
        rates[k].push(await writerRate(writers[k]));
    }
    const base = median(rates.plain);
    const parts = median(rates.partitioned);
    // The load on a shared machine drifts between runs; a round's two runs are adjacent, so the
    // median of the rounds' own ratios is the steadier figure.
    const ratios = rates.plain.map((p, i) => (rates.partitioned[i] as number) / p);
    process.stdout.write(
      `rounds (rows/s): plain ${rates.plain.map((r) => r.toFixed(0)).join(', ')}; ` +
        `partitioned ${rates.partitioned.map((r) => r.toFixed(0)).join(', ')}; median of the rounds' ratios ${median(ratios).toFixed(2)}×\n`,
    );
    process.stdout.write(
      `\n| Writer alone, batches of ${BATCH} heartbeats | rows/s (median of ${ROUNDS}) | ratio |\n| --- | ---: | ---: |\n` +
        `| plain agent_metrics (schema 12, baseline) | ${base.toFixed(0)} | 1.00× |\n` +
        `| agent_metrics partitioned by day (migration 13) | ${parts.toFixed(0)} | ${(parts / base).toFixed(2)}× |\n`,
    );
  } finally {
    await writers.plain.drain();
    await writers.partitioned.drain();
    await plain.close();
    await parted.close();
    await plainTarget.drop();
    await partTarget.drop();
  }
}

/** Migration 13 on a populated agent_metrics, beside one read of the table and a copy of it, same run. */
async function migrationCost(): Promise<void> {
  const target = await createDatabase();
  const db = new PostgresDb({ url: target.url, statementTimeoutMs: 600_000 });
  const now = Date.now();
  try {
    await migrate(db, now, undefined, 12);
    await db.transaction(async (tx) => {
      await tx.run(`INSERT INTO agent_keys (agent_id) SELECT 'm-' || g FROM generate_series(1, ${AGENTS}) g`);
      // One sample every 10 s per agent, ending now: days of history, as an existing store has.
      await tx.run(
        `INSERT INTO agent_metrics (agent_key, received_at, status, cpu_percent, memory_mb) ` +
          `SELECT 1 + g % ${AGENTS}, ${now} - (${MIGRATION_ROWS} - g) * ${Math.round(10_000 / AGENTS)}, 1, g % 100, 300 ` +
          `FROM generate_series(1, ${MIGRATION_ROWS}) g`,
      );
    });
    await db.exec('VACUUM ANALYZE agent_metrics');
    const size = Number((await db.get<{ n: number }>("SELECT pg_total_relation_size('agent_metrics') AS n"))?.n);
    const timed = async (step: () => Promise<unknown>) => {
      const started = performance.now();
      await step();
      return performance.now() - started;
    };
    const read = await timed(() => db.get('SELECT COUNT(*) FROM agent_metrics'));
    const copy = await timed(() =>
      db.transaction(async (tx) => {
        await tx.run('CREATE TABLE copy_probe (LIKE agent_metrics INCLUDING ALL)');
        await tx.run('INSERT INTO copy_probe OVERRIDING SYSTEM VALUE SELECT * FROM agent_metrics');
        await tx.run('DROP TABLE copy_probe');
      }),
    );
    const migration = await timed(() => migrate(db, now));
    process.stdout.write(
      `\n| agent_metrics of ${MIGRATION_ROWS.toLocaleString('en-US')} rows (${(size / 1e6).toFixed(0)} MB with indexes) | ms | ratio |\n| --- | ---: | ---: |\n` +
        `| COUNT(*), one read (baseline) | ${read.toFixed(0)} | 1.00× |\n` +
        `| migration 13 (legacy partition attached) | ${migration.toFixed(0)} | ${(migration / read).toFixed(1)}× |\n` +
        `| copying the table with its indexes | ${copy.toFixed(0)} | ${(copy / read).toFixed(1)}× |\n`,
    );
  } finally {
    await db.close();
    await target.drop();
  }
}

if (ONLY === undefined || ONLY === 'hubs') await hubsTable();
if (ONLY === undefined || ONLY === 'notify') await notifyCost();
if (ONLY === undefined || ONLY === 'partitions') await partitionCost();
if (ONLY === undefined || ONLY === 'migration') await migrationCost();
