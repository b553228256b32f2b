/**
 * `npm run bench:rollups`: bytes on disk per heartbeat per tier, and chart and dashboard queries on
 * a fleet's week of metrics, read from the rollups beside the same answers computed from raw rows,
 * on one SQLite file.
 *
 *  1. Generates BENCH_AGENTS agents × BENCH_DAYS days of heartbeats every BENCH_INTERVAL_S seconds
 *     (1,000 × 7 × 15 s = 40.3 M rows by default) straight into `agent_metrics` with a prepared
 *     statement in large transactions, in arrival order (every agent at each tick), on the schema
 *     before compact samples (migrations 1–9: text ids, a unique event-id index), with every
 *     figure, a timestamp and a UUID-shaped event id; measures its bytes per heartbeat, then
 *     migrates it in place (migration 10, timed) and measures again: before and after, same rows.
 *  2. Rolls them up with the hub's own rollup step (the code the job runs through the writer),
 *     in steps of the job's default budget, and times it.
 *  3. Times each query BENCH_RUNS times (raw ones BENCH_RAW_RUNS times; they are slow) and reports
 *     medians, checking that the rollup answer and the raw answer agree; minute charts are summed
 *     from raw (there is no minute tier), so they are timed again once the hours are sealed.
 *  4. Over HTTP: one agent's charts (a year of its hours), the fleet chart, the dashboard's requests;
 *     then the fleet chart again with 900 more agents' hour rows (copies), i.e. at 1,000 agents.
 *
 * Environment: BENCH_AGENTS (1000), BENCH_DAYS (7), BENCH_INTERVAL_S (15), BENCH_RUNS (7),
 * BENCH_RAW_RUNS (3), BENCH_DIR (where the database goes; default the OS temp dir), BENCH_DB (an
 * existing file from an earlier run with BENCH_KEEP=1: skips generating and rolling up),
 * BENCH_KEEP (1: keep the database file).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { request } from 'undici';
import { loadConfig } from '../src/config/config.js';
import { createLogger, startHub } from '../src/main.js';
import { migrate } from '../src/store/migrate.js';
import { HEARTBEAT_EVENT_ID_WINDOW_MS } from '../src/store/heartbeat-samples.js';
import { SEAL_AFTER_MS, sealStep } from '../src/store/sealing.js';
import {
  AGENT_FIGURES,
  HOUR_MS,
  MINUTE_MS,
  rawBucketsSql,
  readBuckets,
  readFleet,
  refreshFleetHours,
  rollupStep,
  type Point,
} from '../src/store/rollups.js';
import { DAY_MS } from '../src/store/retention.js';
import { SqliteDb } from '../src/store/sqlite-db.js';
import type { Footprint } from '../src/store/db.js';
import { envInt } from './env.js';

const AGENTS = envInt('BENCH_AGENTS', 1000);
const DAYS = envInt('BENCH_DAYS', 7);
const INTERVAL_MS = envInt('BENCH_INTERVAL_S', 15) * 1000;
const RUNS = envInt('BENCH_RUNS', 7);
const RAW_RUNS = envInt('BENCH_RAW_RUNS', 3);
const KEEP = process.env.BENCH_KEEP === '1';
const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
/** The rollup job's first step budget (jobs/rollups.ts). */
const BUDGET = 20_000;

const agentId = (i: number) => `agent-${String(i).padStart(4, '0')}`;
const mib = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MiB`;
const size = (file: string) => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const log = (line: string) => process.stderr.write(`${line}\n`);

/** The newest sample's tick: the data ends just before the moment the benchmark runs. */
function endOf(now: number): number {
  return Math.floor(now / INTERVAL_MS) * INTERVAL_MS;
}

async function generate(path: string, end: number): Promise<{ rows: number; seconds: number }> {
  const db = new SqliteDb(path, { synchronous: 'normal' });
  await migrate(db, end, undefined, 9);
  await db.close();
  const raw = new Database(path);
  // Only the generator runs this way; the hub's pragmas apply when the benchmark opens it after.
  raw.pragma('synchronous = OFF');
  raw.pragma('cache_size = -524288');
  raw.pragma('wal_autocheckpoint = 100000');
  const addAgent = raw.prepare(
    "INSERT INTO agents (agent_id, name, agent_type, pool_name, status, last_heartbeat_at, registered_at, updated_at) VALUES (?, ?, 'bench', 'default', 'online', ?, ?, ?)",
  );
  raw.transaction(() => {
    for (let a = 0; a < AGENTS; a++) addAgent.run(agentId(a), agentId(a), end, end - DAYS * DAY_MS, end);
  })();
  const insert = raw.prepare(
    `INSERT INTO agent_metrics (agent_id, event_id, timestamp, received_at, status, cpu_percent, memory_mb, message_count,
       io_read_bps, io_write_bps, host_cpu_percent, cpu_cores_physical, cpu_cores_available, cpu_load_1min, cpu_load_5min,
       memory_percent, memory_available_gb, gpu_vram_total_gb, gpu_vram_available_gb, gpu_type)
     VALUES (?, ?, ?, ?, 'online', ?, ?, ?, ?, ?, ?, 16, ?, ?, ?, ?, ?, 24, ?, 'nvidia')`,
  );
  let seq = 0;
  let seed = 42;
  // A small LCG: deterministic, and far cheaper than Math.random for 40 M rows × 10 figures.
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const start = end - DAYS * DAY_MS;
  const ticks = Math.floor((end - start) / INTERVAL_MS);
  const started = performance.now();
  const batch = raw.transaction((fromTick: number, toTick: number) => {
    for (let k = fromTick; k < toTick; k++) {
      const t = start + k * INTERVAL_MS;
      for (let a = 0; a < AGENTS; a++) {
        const load = 20 + ((a * 7 + k) % 60) + rnd() * 10;
        insert.run(
          agentId(a),
          `01900000-0000-7000-8000-${(seq++).toString(16).padStart(12, '0')}`,
          t - 40,
          t + Math.floor(rnd() * 50),
          load / 4,
          300 + rnd() * 200,
          k,
          rnd() < 0.3 ? 0 : rnd() * 1e6,
          rnd() * 5e5,
          load,
          16 - load / 10,
          load / 25,
          load / 30,
          30 + rnd() * 40,
          8 + rnd() * 8,
          4 + rnd() * 20,
        );
      }
    }
  });
  const ticksPerTx = Math.max(1, Math.floor(100_000 / AGENTS));
  for (let k = 0; k < ticks; k += ticksPerTx) {
    batch(k, Math.min(ticks, k + ticksPerTx));
    if (k % (ticksPerTx * 50) === 0)
      log(`  generated ${(((k * AGENTS) / (ticks * AGENTS)) * 100).toFixed(0)} % (${(k * AGENTS).toLocaleString()} rows)`);
  }
  raw.pragma('wal_checkpoint(TRUNCATE)');
  raw.close();
  return { rows: ticks * AGENTS, seconds: (performance.now() - started) / 1000 };
}

async function rollUp(db: SqliteDb, end: number): Promise<{ seconds: number; steps: number; maxStepMs: number }> {
  const started = performance.now();
  let steps = 0;
  let maxStepMs = 0;
  for (;;) {
    const t0 = performance.now();
    const r = await db.transaction((tx) =>
      rollupStep(tx, db.dialect, { series: 'agent', until: end + MINUTE_MS, budget: BUDGET, lateFloor: 0, now: end }),
    );
    maxStepMs = Math.max(maxStepMs, performance.now() - t0);
    if (++steps % 200 === 0) log(`  rolled up to ${new Date(r.minuteMark).toISOString()} (${steps} steps)`);
    if (r.done) break;
  }
  return { seconds: (performance.now() - started) / 1000, steps, maxStepMs };
}

interface Timed<T> {
  ms: number[];
  answer: T;
}
async function time<T>(runs: number, fn: () => Promise<T>): Promise<Timed<T>> {
  const ms: number[] = [];
  let answer: T | undefined;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    answer = await fn();
    ms.push(performance.now() - t0);
  }
  return { ms, answer: answer as T };
}

type Row = Record<string, number | string | null>;

/** Raw bucket rows as the points readBuckets returns, so the two answers can be compared. */
function pointsOf(rows: Row[], only: readonly string[] = AGENT_FIGURES): Point[] {
  return rows.map((r) => {
    const figures: Point['figures'] = {};
    for (const f of only) {
      const n = Number(r[`${f}_n`]);
      figures[f] =
        n === 0
          ? null
          : {
              min: Number(r[`${f}_min`]),
              max: Number(r[`${f}_max`]),
              avg: Number(r[`${f}_sum`]) / n,
              last: r[`${f}_last`] === null ? null : Number(r[`${f}_last`]),
            };
    }
    return { t: Number(r.bucket), samples: Number(r.samples), figures };
  });
}

function assertSame(a: Point[], b: Point[], what: string, only: readonly string[] = AGENT_FIGURES): void {
  const close = (x: number | null | undefined, y: number | null | undefined) =>
    x === y || (typeof x === 'number' && typeof y === 'number' && Math.abs(x - y) <= 1e-6 * Math.max(1, Math.abs(x)));
  if (a.length !== b.length) throw new Error(`${what}: ${a.length} points from rollups, ${b.length} from raw`);
  a.forEach((p, i) => {
    const q = b[i] as Point;
    if (p.t !== q.t || p.samples !== q.samples)
      throw new Error(`${what}: point ${i} differs (t ${p.t}/${q.t}, samples ${p.samples}/${q.samples})`);
    for (const f of only) {
      const x = p.figures[f];
      const y = q.figures[f];
      if (!x || !y ? x !== y : !(close(x.min, y.min) && close(x.max, y.max) && close(x.avg, y.avg) && close(x.last, y.last))) {
        throw new Error(`${what}: point ${i} ${f} differs: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
      }
    }
  });
}

function assertSameRows(a: Row[], b: Row[], what: string): void {
  if (a.length !== b.length) throw new Error(`${what}: ${a.length} rows from rollups, ${b.length} from raw`);
  a.forEach((r, i) => {
    for (const [k, v] of Object.entries(r)) {
      const w = (b[i] as Row)[k];
      if (typeof v === 'number' && typeof w === 'number' ? Math.abs(v - w) > 1e-6 * Math.max(1, Math.abs(v)) : v !== w) {
        throw new Error(`${what}: row ${i} ${k}: ${v} vs ${w}`);
      }
    }
  });
}

async function main(): Promise<void> {
  const reuse = process.env.BENCH_DB;
  const dir = reuse ? undefined : mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'vigil-bench-rollups-'));
  const path = reuse ?? join(dir as string, 'vigil.db');
  const lines: string[] = [];
  const out = (line = '') => {
    lines.push(line);
    process.stdout.write(`${line}\n`);
  };
  try {
    let end: number;
    if (reuse) {
      const probe = new Database(path, { readonly: true });
      end = Number((probe.prepare('SELECT MAX(received_at) AS t FROM agent_metrics').get() as { t: number }).t) + 1;
      probe.close();
      log(`reusing ${path}`);
    } else {
      end = endOf(Date.now());
      log(`generating ${AGENTS} agents × ${DAYS} days every ${INTERVAL_MS / 1000} s into ${path}`);
      const g = await generate(path, end);
      out(
        `Generated ${g.rows.toLocaleString()} agent_metrics rows in ${g.seconds.toFixed(0)} s (${Math.round(g.rows / g.seconds).toLocaleString()} rows/s)`,
      );
    }
    const perHeartbeat = (fp: Footprint, table: string, heartbeats: number) =>
      (fp.tables.find((x) => x.name === table)?.bytes ?? 0) / heartbeats;
    const db = new SqliteDb(path, { synchronous: 'full' });
    let rawBefore: number | undefined;
    if (!reuse) {
      const heartbeats = AGENTS * Math.floor((DAYS * DAY_MS) / INTERVAL_MS);
      rawBefore = perHeartbeat(await db.footprint(), 'agent_metrics', heartbeats);
      out(`Before (schema 9): agent_metrics ${mib(rawBefore * heartbeats)} with indexes, ${rawBefore.toFixed(1)} B per heartbeat`);
      const t0 = performance.now();
      await migrate(db, end, (line) => log(`  ${line}`));
      out(`Migrated in place (migration 10) in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }
    if (!reuse) {
      log('rolling up');
      const r = await rollUp(db, end);
      out(
        `Rolled up with the job's step (budget ${BUDGET.toLocaleString()} raw rows) in ${r.seconds.toFixed(0)} s: ${r.steps} steps, ` +
          `slowest ${r.maxStepMs.toFixed(0)} ms`,
      );
    }
    const fpStarted = performance.now();
    const fp = await db.footprint();
    const fpSeconds = (performance.now() - fpStarted) / 1000;
    const rows = (t: string) => fp.tables.find((x) => x.name === t);
    out(`Database ${mib(size(path))}; footprint (dbstat, worker thread) took ${fpSeconds.toFixed(1)} s`);
    for (const t of ['agent_metrics', 'heartbeat_event_ids', 'agent_keys', 'agent_metrics_1h', 'fleet_metrics_1h']) {
      out(`  ${t}: ${rows(t)?.rows.toLocaleString()} rows, ${mib(rows(t)?.bytes ?? 0)} with indexes`);
    }
    out();
    // Every tier holds the same heartbeats (the whole generated span), so bytes per heartbeat compare
    // the tiers per unit of time as well.
    const heartbeats = rows('agent_metrics')?.rows ?? 1;
    const tiers = (f: Footprint, label: string) => {
      const bytes = (t: string) => f.tables.find((x) => x.name === t)?.bytes ?? 0;
      const raw = (bytes('agent_metrics') + bytes('agent_metric_blocks')) / heartbeats;
      const h1 = perHeartbeat(f, 'agent_metrics_1h', heartbeats);
      const idRows = f.tables.find((x) => x.name === 'heartbeat_event_ids')?.rows ?? 0;
      const ids = bytes('heartbeat_event_ids') / Math.max(1, idRows);
      out(`${label}:`);
      out();
      out('| Tier | Bytes per heartbeat (indexes included) | Of the tier below |');
      out('| ---- | -------------------------------------- | ----------------- |');
      if (rawBefore !== undefined) out(`| raw, before (schema 9) | ${rawBefore.toFixed(1)} | |`);
      out(`| raw (agent_metrics rows + agent_metric_blocks) | ${raw.toFixed(1)} | |`);
      // No minute tier: minutes are summed from raw when read, so the hour tier's is raw.
      out(`| 1 h (agent_metrics_1h) | ${h1.toFixed(2)} | ${((h1 / raw) * 100).toFixed(1)} % |`);
      out(`| event-id window (heartbeat_event_ids, per id kept) | ${ids.toFixed(1)} | |`);
      out(
        `| fleet hours (fleet_metrics_1h, one row an hour for all agents) | ${perHeartbeat(f, 'fleet_metrics_1h', heartbeats).toFixed(3)} | |`,
      );
      // The defaults (config.ts): raw 7 days, 1 h rollups 365; ids for an hour.
      const perDay = (1000 * DAY_MS) / 15_000;
      const gb = (b: number) => `${(b / 1e9).toFixed(1)} GB`;
      const projected = perDay * (7 * raw + 365 * h1) + (perDay * HEARTBEAT_EVENT_ID_WINDOW_MS * ids) / DAY_MS;
      out();
      out(
        `Projection, 1,000 agents at 15 s, default retentions (raw 7 d, 1 h 365 d, ids 1 h): ${gb(projected)} ` +
          `(raw ${gb(perDay * 7 * raw)}, hours ${gb(perDay * 365 * h1)})`,
      );
      out();
    };
    tiers(fp, 'Samples as rows (before sealing)');

    const agent = agentId(Math.floor(AGENTS / 2));
    // Ranges start on a bucket boundary, as the range API's do (it floors `since` to the bucket), so
    // the raw answer's first bucket covers the same samples as the rollup's.
    const week = { since: Math.floor((end - 7 * DAY_MS) / HOUR_MS) * HOUR_MS, until: end };
    const day = { since: Math.floor((end - DAY_MS) / MINUTE_MS) * MINUTE_MS, until: end };
    const page = Array.from({ length: Math.min(50, AGENTS) }, (_, i) => agentId(i));
    const inList = page.map(() => '?').join(', ');
    const results: { name: string; rollup: Timed<unknown>; raw: Timed<unknown>; points: number }[] = [];
    let dayAnswer: Point[] = [];

    // 1. One agent's 7-day chart, hourly: 168 points.
    {
      const rollup = await time(RUNS, () => readBuckets(db, { series: 'agent', key: agent, ...week, figures: AGENT_FIGURES }, '1h'));
      const raw = await time(RAW_RUNS, async () =>
        pointsOf(await db.all<Row>(rawBucketsSql('agent', '1h', true), [agent, week.since, week.until])),
      );
      const a = rollup.answer.get(agent) ?? [];
      assertSame(a, raw.answer, '7-day chart');
      results.push({ name: "one agent's 7-day chart, hourly, every figure", rollup, raw, points: a.length });
    }
    // 2. One agent's 1-day chart, per minute: 1,440 points.
    {
      const rollup = await time(RUNS, () => readBuckets(db, { series: 'agent', key: agent, ...day, figures: AGENT_FIGURES }, '1m'));
      const raw = await time(RAW_RUNS, async () =>
        pointsOf(await db.all<Row>(rawBucketsSql('agent', '1m', true), [agent, day.since, day.until])),
      );
      const a = rollup.answer.get(agent) ?? [];
      assertSame(a, raw.answer, '1-day chart');
      dayAnswer = a;
      results.push({
        name: "one agent's 1-day chart, per minute (summed from rows, before sealing), every figure",
        rollup,
        raw,
        points: a.length,
      });
    }
    // … and the same with the two figures a CPU and memory chart asks for (`fields=cpu_percent,memory_mb`).
    {
      const two = ['cpu_percent', 'memory_mb'];
      const rollup = await time(RUNS, () => readBuckets(db, { series: 'agent', key: agent, ...day, figures: two }, '1m'));
      const raw = await time(RAW_RUNS, async () =>
        pointsOf(await db.all<Row>(rawBucketsSql('agent', '1m', true, two), [agent, day.since, day.until]), two),
      );
      const a = rollup.answer.get(agent) ?? [];
      assertSame(a, raw.answer, '1-day chart, two figures', two);
      results.push({
        name: "one agent's 1-day chart, per minute (summed from rows, before sealing), CPU and memory",
        rollup,
        raw,
        points: a.length,
      });
    }
    // 3. Dashboard: the fleet's 7-day CPU and memory (hourly average and peak over every agent) …
    {
      // The fleet route's own read (store/rollups.ts readFleet), shaped like the raw query's rows.
      const rollup = await time(RUNS, async () =>
        (await readFleet(db, { ...week, figures: ['cpu_percent', 'memory_mb'] }, '1h')).map((p) => ({
          bucket: p.t,
          cpu_avg: p.figures.cpu_percent?.avg ?? null,
          cpu_max: p.figures.cpu_percent?.max ?? null,
          mem_avg: p.figures.memory_mb?.avg ?? null,
          samples: p.samples,
        })),
      );
      const raw = await time(RAW_RUNS, () =>
        db.all<Row>(
          `SELECT (received_at / ${HOUR_MS}) * ${HOUR_MS} AS bucket, AVG(cpu_percent) AS cpu_avg, MAX(cpu_percent) AS cpu_max,
             AVG(memory_mb) AS mem_avg, COUNT(*) AS samples
           FROM agent_metrics WHERE received_at >= ? AND received_at < ? GROUP BY 1 ORDER BY 1`,
          [week.since - (week.since % HOUR_MS), week.until],
        ),
      );
      assertSameRows(rollup.answer, raw.answer, 'fleet chart');
      results.push({ name: 'fleet 7-day CPU and memory chart (readFleet, all agents, hourly)', rollup, raw, points: rollup.answer.length });
    }
    // … and 24-hour CPU sparklines for a page of 50 agents.
    {
      const since = day.since - (day.since % HOUR_MS);
      const rollup = await time(RUNS, () =>
        db.all<Row>(
          `SELECT agent_id, bucket, cpu_percent_sum / cpu_percent_n AS cpu FROM agent_metrics_1h
           WHERE agent_id IN (${inList}) AND bucket >= ? AND bucket < ? ORDER BY agent_id, bucket`,
          [...page, since, day.until],
        ),
      );
      const raw = await time(RAW_RUNS, () =>
        db.all<Row>(
          `SELECT k.agent_id, (m.received_at / ${HOUR_MS}) * ${HOUR_MS} AS bucket, AVG(m.cpu_percent) AS cpu
           FROM agent_keys k JOIN agent_metrics m ON m.agent_key = k.agent_key
           WHERE k.agent_id IN (${inList}) AND m.received_at >= ? AND m.received_at < ? GROUP BY 1, 2 ORDER BY 1, 2`,
          [...page, since, day.until],
        ),
      );
      assertSameRows(rollup.answer, raw.answer, 'sparklines');
      results.push({ name: 'dashboard: 24-hour CPU sparklines for 50 agents (hourly)', rollup, raw, points: rollup.answer.length });
    }
    // Sealing: every agent's whole hours past the recent window become one block each, as the
    // rollup job does after each pass (the job's step, the job's budget).
    if (!reuse) {
      const t0 = performance.now();
      let steps = 0;
      let sealed = 0;
      let slowest = 0;
      const horizon = Math.floor((end - SEAL_AFTER_MS) / HOUR_MS) * HOUR_MS;
      // The job's budget rule (jobs/rollups.ts): start at 2,000 rows, halve past 100 ms, double under 25 ms.
      let budget = 2_000;
      for (;;) {
        const s0 = performance.now();
        const r = await db.transaction((tx) => sealStep(tx, db.dialect, { horizon, budget }));
        const ms = performance.now() - s0;
        if (ms > 100) budget = Math.max(200, Math.floor(budget / 2));
        else if (ms < 25) budget = Math.min(20_000, budget * 2);
        slowest = Math.max(slowest, ms);
        steps++;
        sealed += r.sealed;
        if (steps % 500 === 0) log(`  sealed ${sealed.toLocaleString()} samples (${steps} steps)`);
        if (r.done) break;
      }
      out(
        `Sealed ${sealed.toLocaleString()} samples into hourly blocks with the job's step in ${((performance.now() - t0) / 1000).toFixed(0)} s: ` +
          `${steps} steps, slowest ${slowest.toFixed(0)} ms`,
      );
      const sealedFp = await db.footprint();
      for (const t of ['agent_metrics', 'agent_metric_blocks']) {
        const x = sealedFp.tables.find((y) => y.name === t);
        out(`  ${t}: ${x?.rows.toLocaleString()} rows, ${mib(x?.bytes ?? 0)} with indexes`);
      }
      out();
      tiers(sealedFp, 'Samples sealed past the recent window (what the hub keeps)');
      // Minutes are summed from raw: once sealed, from the blocks of 22 hours and the rows of the rest.
      const sealedDay = await time(RUNS, () => readBuckets(db, { series: 'agent', key: agent, ...day, figures: AGENT_FIGURES }, '1m'));
      assertSame(sealedDay.answer.get(agent) ?? [], dayAnswer, '1-day chart from sealed blocks');
      const sealedTwo = await time(RUNS, () =>
        readBuckets(db, { series: 'agent', key: agent, ...day, figures: ['cpu_percent', 'memory_mb'] }, '1m'),
      );
      out(
        `One agent's 1-day chart per minute, summed from sealed blocks and rows (same answer as from rows): every figure median ` +
          `${median(sealedDay.ms).toFixed(1)} ms, CPU and memory ${median(sealedTwo.ms).toFixed(1)} ms`,
      );
      out();
    }
    await db.close();

    out('| Query | Points | Rollups (median ms) | Raw rows (median ms) | Raw / rollups |');
    out('| ----- | ------ | ------------------- | -------------------- | ------------- |');
    for (const r of results) {
      const a = median(r.rollup.ms);
      const b = median(r.raw.ms);
      out(`| ${r.name} | ${r.points.toLocaleString()} | ${a.toFixed(1)} | ${b.toFixed(0)} | ${(b / a).toFixed(0)}× |`);
    }
    out();

    // A year of hours for the charted agent (its week of hourly rows repeated 52 weeks back), so the
    // year-long range query below reads what a year of history holds: 8,760 hourly rows.
    {
      const w = new Database(path);
      const cols = (w.pragma('table_info(agent_metrics_1h)') as { name: string }[]).map((c) => c.name);
      const select = cols.map((c) => (c === 'bucket' ? `bucket - k.n * ${7 * DAY_MS}` : c)).join(', ');
      w.prepare(
        `WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < 52)
         INSERT OR IGNORE INTO agent_metrics_1h (${cols.join(', ')}) SELECT ${select} FROM agent_metrics_1h, k WHERE agent_id = ?`,
      ).run(agent);
      // Give back the pages sealing freed (the hub's retention job would, at its start, while the
      // requests below are timed) and empty the WAL: the hub then serves a settled file.
      w.pragma('incremental_vacuum');
      w.pragma('wal_checkpoint(TRUNCATE)');
      w.close();
    }

    // A year for one agent: every hour (the resolution used before `1d`) against days summed in SQL.
    {
      // Day-aligned, so the hours cover the same samples as the days.
      const year = { since: Math.floor((end - 365 * DAY_MS) / DAY_MS) * DAY_MS, until: end };
      const two = ['cpu_percent', 'memory_mb'];
      const ydb = new SqliteDb(path, { synchronous: 'full' });
      const hours = await time(RUNS, () => readBuckets(ydb, { series: 'agent', key: agent, ...year, figures: two }, '1h'));
      const days = await time(RUNS, () => readBuckets(ydb, { series: 'agent', key: agent, ...year, figures: two }, '1d'));
      const sum = (m: Map<string, Point[]>) => (m.get(agent) ?? []).reduce((n, p) => n + p.samples, 0);
      if (sum(hours.answer) !== sum(days.answer))
        throw new Error(`year: ${sum(hours.answer)} samples in hours, ${sum(days.answer)} in days`);
      out(
        `One agent's year, CPU and memory, read in the store: hourly ${hours.answer.get(agent)?.length} points median ` +
          `${median(hours.ms).toFixed(1)} ms; daily ${days.answer.get(agent)?.length} points ${median(days.ms).toFixed(1)} ms (same samples)`,
      );
      out();
      await ydb.close();
    }

    // End to end: the range API over HTTP on a hub opened on this file (retention off, so nothing is purged).
    const openHub = () =>
      startHub(
        loadConfig(
          [
            '--port',
            '0',
            '--db',
            path,
            '--data-dir',
            dir ?? join(path, '..'),
            '--admin-token',
            ADMIN_TOKEN,
            '--host-metrics-interval',
            '0',
            '--retention-metrics-days',
            '0',
            '--retention-rollup-1h-days',
            '0',
          ],
          {},
        ),
        { logger: createLogger('silent'), clock: { now: () => end } },
      );
    const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length * 0.95) - 1] ?? NaN;
    const fleetWeek = `/api/v1/fleet/metrics?since=${week.since}&until=${week.until}&fields=cpu_percent,memory_mb`;
    const fleetGet = async (hubUrl: string) => {
      const res = await request(`${hubUrl}${fleetWeek}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      const body = (await res.body.json()) as { points: { agents: number }[] };
      if (res.statusCode !== 200) throw new Error(`fleet route answered ${res.statusCode}`);
      return body;
    };
    const hub = await openHub();
    try {
      const get = async (q: string) => {
        const res = await request(`${hub.url}/api/v1/agents/${agent}/metrics?${q}`, {
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        });
        const body = (await res.body.json()) as { resolution: string; points: unknown[] };
        if (res.statusCode !== 200) throw new Error(`range API answered ${res.statusCode}`);
        return body;
      };
      for (const [label, q] of [
        ['365 days, CPU and memory', `since=${end - 365 * DAY_MS}&until=${end}&fields=cpu_percent,memory_mb`],
        ['365 days', `since=${end - 365 * DAY_MS}&until=${end}`],
        ['7 days', `since=${week.since}&until=${week.until}`],
        ['1 day', `since=${day.since}&until=${day.until}`],
        ['1 hour', `since=${end - HOUR_MS}&until=${end}`],
        ['6 hours a day ago (sealed blocks)', `since=${end - DAY_MS - 6 * HOUR_MS}&until=${end - DAY_MS}&fields=cpu_percent,memory_mb`],
      ] as const) {
        const t = await time(RUNS, () => get(q));
        out(
          `GET /api/v1/agents/:id/metrics, ${label}: ${t.answer.resolution}, ${t.answer.points.length} points, median ${median(t.ms).toFixed(1)} ms over HTTP`,
        );
      }
      const fleet = await time(RUNS, () => fleetGet(hub.url));
      out(
        `GET /api/v1/fleet/metrics, 7 days, CPU and memory, ${AGENTS} agents: ${fleet.answer.points.length} points, ` +
          `median ${median(fleet.ms).toFixed(1)} ms over HTTP`,
      );
      // The dashboard's own requests on this store: p95 of 20 each.
      for (const path of [
        '/api/monitoring/dashboard',
        '/api/v1/agents?limit=50',
        `/api/monitoring/agents/${agent}`,
        `/api/v1/agents/${agent}/metrics?since=${day.since}&until=${day.until}&fields=cpu_percent,memory_mb`,
        `/api/v1/agents/${agent}/metrics?since=${week.since}&until=${week.until}&fields=cpu_percent,memory_mb`,
        `/api/v1/agents/${agent}/metrics?since=${end - 365 * DAY_MS}&until=${end}&fields=cpu_percent,memory_mb`,
        fleetWeek,
      ]) {
        const t = await time(20, async () => {
          const res = await request(`${hub.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
          await res.body.dump();
          if (res.statusCode !== 200) throw new Error(`${path} answered ${res.statusCode}`);
        });
        out(
          `dashboard request ${path.replace(agent, ':id').replace(/\?.*/, '')}${path.includes('?') ? '?' + path.split('?')[1]?.replace(/\d{10,}/g, '…') : ''}: p95 ${p95(t.ms).toFixed(1)} ms of 20`,
        );
      }
    } finally {
      await hub.stop();
    }

    // The fleet chart at 1,000 agents: the hour rows of 100 agents copied under new names until there
    // are 1,000 (hour rows only: generating 1,000 agents' raw week does not fit this machine).
    if (AGENTS < 1000) {
      const w = new Database(path);
      const cols = (w.pragma('table_info(agent_metrics_1h)') as { name: string }[]).map((c) => c.name);
      const copies = Math.ceil(1000 / AGENTS) - 1;
      const select = cols.map((c) => (c === 'agent_id' ? `agent_id || '-copy-' || k.n` : c)).join(', ');
      w.prepare(
        `WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < ${copies})
         INSERT OR IGNORE INTO agent_metrics_1h (${cols.join(', ')}) SELECT ${select} FROM agent_metrics_1h, k
         WHERE bucket >= ${week.since} AND agent_id NOT LIKE '%-copy-%'`,
      ).run();
      w.close();
      // The fleet's hours, as the rollup step writes them, now with every copy in them.
      const fdb = new SqliteDb(path, { synchronous: 'full' });
      await fdb.transaction((tx) => refreshFleetHours(tx, week.since, week.until));
      await fdb.close();
      const big = await openHub();
      try {
        const t = await time(RUNS, () => fleetGet(big.url));
        const agents = Math.max(...t.answer.points.map((p) => p.agents));
        const q = await time(20, () => fleetGet(big.url));
        out(
          `GET /api/v1/fleet/metrics, 7 days, CPU and memory, ${agents} agents (hour rows copied): ${t.answer.points.length} points, ` +
            `median ${median(t.ms).toFixed(1)} ms, p95 ${p95(q.ms).toFixed(1)} ms of 20 over HTTP`,
        );
      } finally {
        await big.stop();
      }
    }
  } finally {
    if (!KEEP && dir) rmSync(dir, { recursive: true, force: true });
    else log(`kept ${path}`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
