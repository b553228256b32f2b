import { performance } from 'node:perf_hooks';
import type { Dialect, SqlExecutor } from './db.js';
import { anyStillRunning, runningWriters } from './id-horizon.js';
import { BLOCK_FIGURES, eachSealed, readSealed } from './sealing.js';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** The agent figures rolled up: the process's own and its host's resources (docs/seed-requirements.md). */
export const AGENT_FIGURES = [
  'cpu_percent',
  'memory_mb',
  'host_cpu_percent',
  'memory_percent',
  'memory_available_gb',
  'gpu_vram_available_gb',
  'io_read_bps',
  'io_write_bps',
] as const;
export type AgentFigure = (typeof AGENT_FIGURES)[number];

/** The hub host's figures rolled up (`system_metrics`, docs/seed-requirements.md). */
export const HOST_FIGURES = [
  'cpu_percent',
  'memory_percent',
  'memory_used_bytes',
  'disk_used_bytes',
  'cpu_load_1min',
  'io_read_bps',
  'io_write_bps',
] as const;
export type HostFigure = (typeof HOST_FIGURES)[number];

export type SeriesName = 'agent' | 'host';

/**
 * A raw table and its hourly rollup; the SQL below is generated from this, once for both databases.
 * There is no stored minute tier: a minute row costs more than the samples it sums (an agent's
 * sealed samples take about 21 bytes each; a minute row of eight figures about 97 per heartbeat,
 * bench/RESULTS.md), and raw samples are kept longer than minutes were, so minute charts are
 * aggregated from raw when read.
 */
export interface Series {
  name: SeriesName;
  raw: 'agent_metrics' | 'system_metrics';
  /** Whose samples: one rollup row per key and bucket. */
  key: 'agent_id' | 'host';
  figures: readonly string[];
  hour: 'agent_metrics_1h' | 'system_metrics_1h';
  /** The raw table's own key column (agent samples store an integer key, not the text id). */
  rawKey: 'agent_key' | 'host';
  /** The raw table as `r`, joined to whatever gives the rollups' text key as `keyText`. */
  rawFrom: string;
  keyText: string;
  /** Matches one key's raw rows, given the text key as the parameter. */
  rawKeyMatch: string;
}

export const SERIES: Record<SeriesName, Series> = {
  agent: {
    name: 'agent',
    raw: 'agent_metrics',
    key: 'agent_id',
    figures: AGENT_FIGURES,
    hour: 'agent_metrics_1h',
    rawKey: 'agent_key',
    rawFrom: 'agent_metrics r JOIN agent_keys k ON k.agent_key = r.agent_key',
    keyText: 'k.agent_id',
    rawKeyMatch: 'r.agent_key = (SELECT agent_key FROM agent_keys WHERE agent_id = ?)',
  },
  host: {
    name: 'host',
    raw: 'system_metrics',
    key: 'host',
    figures: HOST_FIGURES,
    hour: 'system_metrics_1h',
    rawKey: 'host',
    rawFrom: 'system_metrics r',
    keyText: 'r.host',
    rawKeyMatch: 'r.host = ?',
  },
};

export const floorTo = (t: number, size: number): number => Math.floor(t / size) * size;

const PARTS = ['n', 'sum', 'min', 'max', 'last'] as const;
const rollupColumns = (figures: readonly string[]): string[] => [
  'samples',
  'last_at',
  ...figures.flatMap((f) => PARTS.map((p) => `${f}_${p}`)),
];

/**
 * Aggregates raw rows into buckets of `size` ms. `from` names the raw table as `r` (possibly
 * joined); `where` filters it. `_last` is the value of the bucket's latest sample (by receive
 * time, then id), picked with a window function so one statement does every key and bucket.
 * Rows are grouped by the raw table's own key; the text key is joined to the groups afterwards,
 * once per bucket rather than once per sample.
 */
function rawAggregate(s: Series, size: number, from: string, where: string, only: readonly string[] = s.figures): string {
  const figures = only.map((f) => `r.${f} AS ${f}`).join(', ');
  const source =
    `SELECT r.${s.rawKey} AS rk, r.received_at AS received_at, (r.received_at / ${size}) * ${size} AS bucket, ${figures}, ` +
    `ROW_NUMBER() OVER (PARTITION BY r.${s.rawKey}, r.received_at / ${size} ORDER BY r.received_at DESC, r.id DESC) AS rn ` +
    `FROM ${from} WHERE ${where}`;
  const aggregates = only.flatMap((f) => [
    `COUNT(${f}) AS ${f}_n`,
    `COALESCE(SUM(${f}), 0) AS ${f}_sum`,
    `MIN(${f}) AS ${f}_min`,
    `MAX(${f}) AS ${f}_max`,
    `MAX(CASE WHEN rn = 1 THEN ${f} END) AS ${f}_last`,
  ]);
  const grouped = `SELECT rk, bucket, COUNT(*) AS samples, MAX(received_at) AS last_at, ${aggregates.join(', ')} FROM (${source}) src WHERE TRUE GROUP BY rk, bucket`;
  if (s.rawKey === s.key) return grouped.replace('SELECT rk, ', `SELECT rk AS ${s.key}, `);
  return (
    `SELECT k.agent_id AS ${s.key}, g.bucket, ${rollupColumns(only)
      .map((c) => `g.${c}`)
      .join(', ')} ` + `FROM (${grouped}) g JOIN agent_keys k ON k.agent_key = g.rk`
  );
}

/**
 * Aggregates one table's hour rows (`m`) into buckets of `size` ms (days). `_last` is the latest
 * hour's, joined by its key (one primary-key lookup a day) rather than picked by a window function,
 * which would sort every hour of the range first.
 */
function hourAggregate(s: Series, size: number, where: string, only: readonly string[]): string {
  const sums = only.flatMap((f) => [
    `SUM(m.${f}_n) AS ${f}_n`,
    `SUM(m.${f}_sum) AS ${f}_sum`,
    `MIN(m.${f}_min) AS ${f}_min`,
    `MAX(m.${f}_max) AS ${f}_max`,
  ]);
  const grouped =
    `SELECT m.${s.key} AS ${s.key}, (m.bucket / ${size}) * ${size} AS bucket, MAX(m.bucket) AS lb, SUM(m.samples) AS samples, ` +
    `MAX(m.last_at) AS last_at, ${sums.join(', ')} FROM ${s.hour} m WHERE ${where} GROUP BY m.${s.key}, (m.bucket / ${size}) * ${size}`;
  const cols = only.flatMap((f) => [`g.${f}_n`, `g.${f}_sum`, `g.${f}_min`, `g.${f}_max`, `h.${f}_last`]);
  return (
    `SELECT g.${s.key} AS ${s.key}, g.bucket AS bucket, g.samples AS samples, g.last_at AS last_at, ${cols.join(', ')} ` +
    `FROM (${grouped}) g JOIN ${s.hour} h ON h.${s.key} = g.${s.key} AND h.bucket = g.lb`
  );
}

// A null-aware MIN/MAX of the stored and the incoming value, written once for both databases
// (SQLite's two-argument min() is NULL when either is; PostgreSQL spells it LEAST).
const pick = (cur: string, inc: string, op: '<=' | '>=') =>
  `CASE WHEN ${inc} IS NULL OR (${cur} IS NOT NULL AND ${cur} ${op} ${inc}) THEN ${cur} ELSE ${inc} END`;

/** INSERT … SELECT that replaces each bucket it computes (the bucket was recomputed from all its rows). */
function upsertReplace(s: Series, table: string, select: string): string {
  const cols = rollupColumns(s.figures);
  return (
    `INSERT INTO ${table} AS cur (${s.key}, bucket, ${cols.join(', ')}) ${select} ` +
    `ON CONFLICT (${s.key}, bucket) DO UPDATE SET ${cols.map((c) => `${c} = excluded.${c}`).join(', ')}`
  );
}

/** INSERT … SELECT that folds buckets computed from new rows only into what the bucket holds. */
function upsertMerge(s: Series, table: string, select: string): string {
  const sets = [
    'samples = cur.samples + excluded.samples',
    `last_at = ${pick('cur.last_at', 'excluded.last_at', '>=')}`,
    ...s.figures.flatMap((f) => [
      `${f}_n = cur.${f}_n + excluded.${f}_n`,
      `${f}_sum = cur.${f}_sum + excluded.${f}_sum`,
      `${f}_min = ${pick(`cur.${f}_min`, `excluded.${f}_min`, '<=')}`,
      `${f}_max = ${pick(`cur.${f}_max`, `excluded.${f}_max`, '>=')}`,
      // Merged rows are always newer than what the bucket held, so a tie goes to them.
      `${f}_last = CASE WHEN excluded.last_at >= cur.last_at THEN excluded.${f}_last ELSE cur.${f}_last END`,
    ]),
  ];
  return (
    `INSERT INTO ${table} AS cur (${s.key}, bucket, ${rollupColumns(s.figures).join(', ')}) ${select} ` +
    `ON CONFLICT (${s.key}, bucket) DO UPDATE SET ${sets.join(', ')}`
  );
}

const fleetColumns = (figures: readonly string[]) => [
  'agents',
  'samples',
  ...figures.flatMap((f) => [`${f}_n`, `${f}_sum`, `${f}_min`, `${f}_max`, `${f}_total`]),
];

/**
 * Recomputes the fleet's rows (`fleet_metrics_1h`: one per hour, whatever the fleet's size) of the
 * hours `where` picks from the agents' hour rows, which hold every agent's sums for the hour: a
 * step's hours are few, and an hour's agent rows sit together on the bucket index.
 */
function fleetUpsert(where: string): string {
  const figures = AGENT_FIGURES;
  const sums = figures.flatMap((f) => [
    `SUM(${f}_n)`,
    `SUM(${f}_sum)`,
    `MIN(${f}_min)`,
    `MAX(${f}_max)`,
    // Each agent's average over the hour, summed: the fleet's total.
    `SUM(CASE WHEN ${f}_n > 0 THEN ${f}_sum / ${f}_n END)`,
  ]);
  const cols = fleetColumns(figures);
  return (
    `INSERT INTO fleet_metrics_1h (bucket, ${cols.join(', ')}) SELECT bucket, COUNT(*), SUM(samples), ${sums.join(', ')} ` +
    `FROM agent_metrics_1h WHERE ${where} GROUP BY bucket ` +
    `ON CONFLICT (bucket) DO UPDATE SET ${cols.map((c) => `${c} = excluded.${c}`).join(', ')}`
  );
}

/** Recomputes the fleet's rows of the hours in [since, until) (the benchmark, after writing agent hours itself). */
export async function refreshFleetHours(tx: SqlExecutor, since: number, until: number): Promise<number> {
  return (await tx.run(fleetUpsert('bucket >= ? AND bucket < ?'), [since, until])).changes;
}

/** The statements of one series, built once. */
class SeriesSql {
  readonly state: string;
  readonly minRaw: string;
  readonly maxId: string;
  readonly chunkEnd: string;
  /** Ids are committed in order (one writer): late rows are merged, not their hours recomputed. */
  readonly ordered: boolean;
  readonly mergeHours: string;
  readonly lateHours: string;
  /** Agents only: the fleet's rows of the hours in [?, ?), and of the hours late rows touched. */
  readonly fleetHours: string | undefined;
  readonly lateFleetHours: string | undefined;
  readonly saveState: string;

  constructor(
    readonly s: Series,
    dialect: Dialect,
  ) {
    this.state = `SELECT minute_mark, seen_id, horizon_id, horizon_mark, horizon_xids FROM rollup_state WHERE series = ?${dialect.forUpdate}`;
    this.minRaw = `SELECT MIN(received_at) AS t FROM ${s.raw}`;
    this.maxId = `SELECT MAX(id) AS id FROM ${s.raw}`;
    this.chunkEnd = `SELECT received_at AS t FROM ${s.raw} WHERE received_at >= ? ORDER BY received_at LIMIT 1 OFFSET ?`;
    // The raw rows of [mark, to), a run of whole minutes, folded into the hours they fall in: an
    // hour is built over the minutes of several steps, each row counted once.
    // One writer (SQLite) commits ids in order, so each row is folded exactly once by one of two
    // statements, both bounded by the step's budget: `lateHours` merges the rows of the ids it checks
    // that were stamped before the mark, and `mergeHours` runs only once every id is checked.
    this.ordered = dialect.commitOrder === undefined;
    this.mergeHours = upsertMerge(s, s.hour, rawAggregate(s, HOUR_MS, `${s.raw} r`, 'r.received_at >= ? AND r.received_at < ?'));
    // Rows that arrived (by id) since the last pass but were stamped inside minutes already rolled.
    // Several hubs (store/id-horizon.ts) commit ids out of order: the hours such rows touch are
    // recomputed from all their rows rolled so far (before the mark: rows after it are the next
    // step's to fold in), for their keys only, and of the rows stamped in minutes rolled since the
    // horizon was read, only those written by a transaction then running missed their roll.
    // SQLite: the unary `+` keeps its planner on the id range (the budget's rows) rather than the
    // receive-time index, whose range from the late floor to the mark spans nearly every row.
    const lateRows = this.ordered
      ? 'r.id > ? AND r.id <= ? AND +r.received_at >= ? AND +r.received_at < ?'
      : 'r.id > ? AND r.id <= ? AND r.received_at >= ? AND r.received_at < ?';
    const missed = dialect.commitOrder ? ` AND (r.received_at < ? OR ${dialect.commitOrder.writtenBy('r')})` : '';
    this.lateHours = this.ordered
      ? upsertMerge(s, s.hour, rawAggregate(s, HOUR_MS, `${s.raw} r`, lateRows))
      : `WITH touched AS (SELECT DISTINCT r.${s.rawKey} AS tk, (r.received_at / ${HOUR_MS}) * ${HOUR_MS} AS bucket FROM ${s.raw} r ` +
        `WHERE ${lateRows}${missed}) ` +
        upsertReplace(
          s,
          s.hour,
          rawAggregate(
            s,
            HOUR_MS,
            `touched t JOIN ${s.raw} r ON r.${s.rawKey} = t.tk AND r.received_at >= t.bucket AND r.received_at < t.bucket + ${HOUR_MS} AND r.received_at < ?`,
            'TRUE',
          ),
        );
    if (s.name === 'agent') {
      this.fleetHours = fleetUpsert('bucket >= ? AND bucket < ?');
      this.lateFleetHours = fleetUpsert(
        `bucket IN (SELECT DISTINCT (r.received_at / ${HOUR_MS}) * ${HOUR_MS} FROM ${s.raw} r WHERE ${lateRows}${missed})`,
      );
    }
    this.saveState =
      'INSERT INTO rollup_state (series, minute_mark, seen_id, horizon_id, horizon_mark, horizon_xids, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ' +
      'ON CONFLICT (series) DO UPDATE SET minute_mark = excluded.minute_mark, seen_id = excluded.seen_id, horizon_id = excluded.horizon_id, ' +
      'horizon_mark = excluded.horizon_mark, horizon_xids = excluded.horizon_xids, updated_at = excluded.updated_at';
  }
}

const sqlCache = new Map<string, SeriesSql>();
function sqlFor(series: SeriesName, dialect: Dialect): SeriesSql {
  const k = `${dialect.name}:${series}`;
  let sql = sqlCache.get(k);
  if (!sql) sqlCache.set(k, (sql = new SeriesSql(SERIES[series], dialect)));
  return sql;
}

export interface RollupStep {
  series: SeriesName;
  /** Minutes that start before this are complete (the hub's clock less a settling delay). */
  until: number;
  /** Most raw rows one step reads, so a step never holds the writer for long. */
  budget: number;
  /** Late rows stamped before this are not recomputed: their hour may already be partly purged or sealed. */
  lateFloor: number;
  now: number;
}

export interface RollupResult {
  ok: true;
  /** Minutes before this are rolled. */
  minuteMark: number;
  /** Hour buckets recomputed because rows arrived late into them. */
  late: number;
  /** Hour buckets that raw rows were folded into. */
  rolled: number;
  /** False when another step is needed to catch up. */
  done: boolean;
  /** The step stopped at its budget (of ids to check or rows to fold): only then does a fast step say a larger one would pay. */
  full: boolean;
  /** How long the step's statements held the writer (ms), which the job uses to size the next one. */
  ms: number;
}

/**
 * One bounded step of the rollup, inside the writer's transaction:
 *  1. late rows: raw rows with an id above `seen_id` (at most `budget` ids) that were stamped inside
 *     a minute already rolled are merged into their hours (one writer), or have their hours
 *     recomputed from all their rows before the mark (several hubs, whose ids commit out of order);
 *  2. the next complete minutes after `minute_mark` (about `budget` raw rows) are folded from raw
 *     into their hours, exactly once each.
 * Buckets key on `received_at`, the hub's clock (as retention and the agent view do), so rows only
 * arrive late by the writer's queue or another hub's commit. With one writer raw ids grow with commit
 * order; with several hubs on PostgreSQL they do not, which `trustedId` accounts for.
 */
export async function rollupStep(tx: SqlExecutor, dialect: Dialect, step: RollupStep): Promise<RollupResult> {
  const started = performance.now();
  const q = sqlFor(step.series, dialect);
  const state = await tx.get<{ minute_mark: number; seen_id: number } & StoredHorizon>(q.state, [step.series]);
  const maxId = Number((await tx.get<{ id: number | null }>(q.maxId))?.id ?? 0);
  let mark: number;
  let seen: number;
  if (state) {
    mark = Number(state.minute_mark);
    // SQLite reuses ids after the newest row is deleted; start over from what is there.
    seen = Math.min(Number(state.seen_id), maxId);
  } else {
    const first = (await tx.get<{ t: number | null }>(q.minRaw))?.t;
    mark = first === null || first === undefined ? floorTo(step.until, MINUTE_MS) : floorTo(Number(first), MINUTE_MS);
    seen = maxId;
  }

  const trust = await lateHorizon(tx, dialect, state, maxId, seen, mark);
  let late = 0;
  const seenTo = Math.min(trust.upTo, seen + step.budget);
  let full = seenTo < trust.upTo;
  // Cut short by the budget: the rest of the horizon's ids are checked against the same horizon next step.
  if (full && trust.checking) trust.next = trust.checking;
  if (seenTo > seen && mark > step.lateFloor) {
    const args: unknown[] = [seen, seenTo, step.lateFloor, mark];
    if (trust.checking) args.push(trust.checking.mark, trust.checking.xids);
    late = (await tx.run(q.lateHours, q.ordered ? args : [...args, mark])).changes;
    if (late > 0 && q.lateFleetHours) await tx.run(q.lateFleetHours, args);
  }
  seen = seenTo;

  const until = floorTo(step.until, MINUTE_MS);
  let to = until;
  let rolled = 0;
  // One writer: the minutes are folded only once every id is checked (the writer's transaction reads
  // `maxId`, so every row is then checked), so a row is never folded and then merged again as late.
  if (mark < until && (!q.ordered || seen >= maxId)) {
    const end = await tx.get<{ t: number }>(q.chunkEnd, [mark, step.budget]);
    if (end) to = Math.min(until, Math.max(floorTo(Number(end.t), MINUTE_MS), mark + MINUTE_MS));
    if (to < until) full = true;
    rolled = (await tx.run(q.mergeHours, [mark, to])).changes;
    if (q.fleetHours) await tx.run(q.fleetHours, [floorTo(mark, HOUR_MS), to]);
    mark = to;
  }
  const next = trust.next;
  await tx.run(q.saveState, [
    step.series,
    mark,
    seen,
    next?.id ?? null,
    next?.mark ?? null,
    next ? JSON.stringify(next.xids) : null,
    step.now,
  ]);
  // Rows not yet trusted wait for the next pass rather than spin this one while another hub's batch runs.
  const done = mark >= until && (seen >= maxId || trust.blocked);
  return { ok: true, minuteMark: mark, late, rolled, done, full, ms: performance.now() - started };
}

interface StoredHorizon {
  horizon_id: number | null;
  horizon_mark: number | null;
  horizon_xids: string | null;
}

/** The largest raw id a step read, its minute mark before it rolled, and the transactions then running. */
interface Horizon {
  id: number;
  mark: number;
  xids: string[];
}

/**
 * Which ids the late-row check may pass (several hubs, PostgreSQL). Ids are taken at INSERT and
 * committed in any order across hubs, so when a step reads `maxId`, a lower id may still be uncommitted
 * on another hub; passing it would miss that row for good (an undercount). So each step records a
 * horizon: the `maxId` it read, its mark before rolling, and the transactions running then. A later
 * step checks the ids up to that horizon only once all those transactions have ended, and among them
 * treats as late the rows stamped before that mark (as with one writer) plus the rows those running
 * transactions wrote (they missed the rolls made while they ran). The check thus runs a step (at most
 * a pass) behind. SQLite's one writer commits ids in order: the check passes `maxId` at once.
 */
async function lateHorizon(
  tx: SqlExecutor,
  dialect: Dialect,
  state: StoredHorizon | undefined,
  maxId: number,
  seen: number,
  mark: number,
): Promise<{ upTo: number; checking: Horizon | undefined; next: Horizon | undefined; blocked: boolean }> {
  if (dialect.commitOrder === undefined) return { upTo: maxId, checking: undefined, next: undefined, blocked: false };
  const fresh: Horizon = { id: maxId, mark, xids: await runningWriters(tx, dialect) };
  if (state?.horizon_id === null || state?.horizon_id === undefined || state.horizon_mark === null) {
    return { upTo: seen, checking: undefined, next: fresh, blocked: false };
  }
  const prev: Horizon = {
    id: Number(state.horizon_id),
    mark: Number(state.horizon_mark),
    xids: JSON.parse(state.horizon_xids ?? '[]') as string[],
  };
  if (await anyStillRunning(tx, dialect, prev.xids)) return { upTo: seen, checking: undefined, next: prev, blocked: true };
  return { upTo: Math.max(seen, Math.min(prev.id, maxId)), checking: prev, next: fresh, blocked: false };
}

// ---------------------------------------------------------------------------------------------
// Reading: ranges at one resolution. Minutes are aggregated from raw samples (rows, and for agents
// sealed blocks); hours and days from the hourly rollup plus the raw minutes not yet rolled.

export type Resolution = 'raw' | '1m' | '1h' | '1d';
export type Bucketed = Exclude<Resolution, 'raw'>;
export const BUCKET_MS: Record<Bucketed, number> = { '1m': MINUTE_MS, '1h': HOUR_MS, '1d': DAY_MS };

/** min, max, average and latest value of one figure over a bucket; null when no sample had it. */
export interface FigureStats {
  min: number;
  max: number;
  avg: number;
  last: number | null;
}

export interface Point {
  /** The bucket's start (a raw sample's receive time), epoch ms of the hub's clock. */
  t: number;
  /** Raw samples in the bucket. */
  samples: number;
  figures: Record<string, FigureStats | null>;
}

type BucketRow = Record<string, number | string | null>;

/** The hour rows of one key (or every key) in [since, until), or those rows folded into days. */
function storedQuery(s: Series, resolution: '1h' | '1d', oneKey: boolean, figures: readonly string[]): string {
  const where = `${oneKey ? `m.${s.key} = ? AND ` : ''}m.bucket >= ? AND m.bucket < ?`;
  // Only the figures asked for: a row of every figure's five parts costs far more to hand to
  // JavaScript than to read (bench/RESULTS.md).
  if (resolution === '1h')
    return `SELECT m.${s.key} AS ${s.key}, m.bucket AS bucket, ${rollupColumns(figures).join(', ')} FROM ${s.hour} m WHERE ${where}`;
  // A year is 8,760 hours but a chart is a few hundred pixels wide: days are summed in the database.
  return hourAggregate(s, DAY_MS, where, figures);
}

/**
 * The stored buckets UNION ALL the unrolled tail, per key and bucket (a bucket holding the mark is
 * in both halves). Parameters: [key], since, until, [key], since, since, since, until.
 */
function bucketUnion(s: Series, resolution: '1h' | '1d', oneKey: boolean, figures: readonly string[]): string {
  // Minutes at or after the mark are not rolled yet: aggregate them from raw in the same statement,
  // so both halves come from one snapshot and a step committing in between cannot count twice. The
  // later of `since` and the mark is one bound, so the index range starts there (two bounds would
  // scan from the earlier one). Rows after the mark are never sealed (sealing waits for the rollup).
  const tail = rawAggregate(
    s,
    BUCKET_MS[resolution],
    `${s.raw} r`,
    `${oneKey ? `${s.rawKeyMatch} AND ` : ''}r.received_at >= COALESCE((SELECT CASE WHEN minute_mark > ? THEN minute_mark ELSE ? END ` +
      `FROM rollup_state WHERE series = '${s.name}'), ?) AND r.received_at < ?`,
    figures,
  );
  return `${storedQuery(s, resolution, oneKey, figures)} UNION ALL ${tail}`;
}

/**
 * Buckets computed from raw rows alone, in SQL: what a store without rollups runs for a chart (the
 * benchmark compares like with like).
 */
export function rawBucketsSql(series: SeriesName, resolution: Bucketed, oneKey: boolean, figures?: readonly string[]): string {
  const s = SERIES[series];
  const where = `${oneKey ? `${s.rawKeyMatch} AND ` : ''}r.received_at >= ? AND r.received_at < ?`;
  return `${rawAggregate(s, BUCKET_MS[resolution], `${s.raw} r`, where, figures ?? s.figures)} ORDER BY 1, 2`;
}

const bucketSql = new Map<string, string>();
const rawSql = new Map<string, string>();
const cached = (cache: Map<string, string>, key: string, build: () => string): string => {
  let sql = cache.get(key);
  if (sql === undefined) cache.set(key, (sql = build()));
  return sql;
};

function statsOf(row: BucketRow, f: string): FigureStats | null {
  const n = Number(row[`${f}_n`] ?? 0);
  if (n === 0) return null;
  const last = row[`${f}_last`];
  return {
    min: Number(row[`${f}_min`]),
    max: Number(row[`${f}_max`]),
    avg: Number(row[`${f}_sum`]) / n,
    last: last === null || last === undefined ? null : Number(last),
  };
}

/** Folds two parts of one bucket (stored and unrolled, or sealed and rows); `last` from the newer. */
function mergeRows(figures: readonly string[], a: BucketRow, b: BucketRow): BucketRow {
  const out: BucketRow = { ...a, samples: Number(a.samples) + Number(b.samples) };
  const newer = Number(b.last_at) >= Number(a.last_at) ? b : a;
  out.last_at = newer.last_at ?? null;
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  for (const f of figures) {
    out[`${f}_n`] = Number(a[`${f}_n`]) + Number(b[`${f}_n`]);
    out[`${f}_sum`] = Number(a[`${f}_sum`]) + Number(b[`${f}_sum`]);
    const [amin, bmin, amax, bmax] = [num(a[`${f}_min`]), num(b[`${f}_min`]), num(a[`${f}_max`]), num(b[`${f}_max`])];
    out[`${f}_min`] = amin === null ? bmin : bmin === null ? amin : Math.min(amin, bmin);
    out[`${f}_max`] = amax === null ? bmax : bmax === null ? amax : Math.max(amax, bmax);
    out[`${f}_last`] = newer[`${f}_last`] ?? null;
  }
  return out;
}

/** One bucket being summed from raw samples: per figure (in the asked order) count, sum, min, max, latest. */
interface Fold {
  t: number;
  samples: number;
  lastAt: number;
  n: number[];
  sum: number[];
  min: (number | null)[];
  max: (number | null)[];
  last: (number | null)[];
}

/**
 * Sums raw samples, each key's oldest first (ties in stored order), into buckets of `size` per key:
 * `last` is the value of the bucket's latest sample. Summing in JavaScript as the samples stream by
 * costs a fraction of SQL's window function, which sorts them all first.
 */
class MinuteFolder {
  private readonly keys = new Map<string, Map<number, Fold>>();
  /** Each asked figure's index in a sealed block. */
  readonly blockIndex: number[];

  constructor(
    private readonly size: number,
    private readonly figures: readonly string[],
  ) {
    this.blockIndex = figures.map((f) => (BLOCK_FIGURES as readonly string[]).indexOf(f));
  }

  /** A sealed sample: its figures by their index in the block (BLOCK_FIGURES). */
  addSealed(key: string, at: number, values: readonly (number | null)[]): void {
    const b = this.bucket(key, at);
    for (let i = 0; i < this.blockIndex.length; i++) this.fold(b, i, values[this.blockIndex[i] as number] ?? null, at);
    this.close(b, at);
  }

  /** A row: its figures by name. */
  add(key: string, at: number, values: Record<string, unknown>): void {
    const b = this.bucket(key, at);
    for (let i = 0; i < this.figures.length; i++) {
      const raw = values[this.figures[i] as string];
      this.fold(b, i, raw === null || raw === undefined ? null : Number(raw), at);
    }
    this.close(b, at);
  }

  private fold(b: Fold, i: number, v: number | null, at: number): void {
    if (at >= b.lastAt) b.last[i] = v;
    if (v === null) return;
    b.n[i] = (b.n[i] as number) + 1;
    b.sum[i] = (b.sum[i] as number) + v;
    const min = b.min[i] as number | null;
    const max = b.max[i] as number | null;
    if (min === null || v < min) b.min[i] = v;
    if (max === null || v > max) b.max[i] = v;
  }

  /** After its figures: the sample is counted, and is the bucket's latest if no later one was. */
  private close(b: Fold, at: number): void {
    b.samples++;
    if (at >= b.lastAt) b.lastAt = at;
  }

  private bucket(key: string, at: number): Fold {
    const t = floorTo(at, this.size);
    let buckets = this.keys.get(key);
    if (buckets === undefined) this.keys.set(key, (buckets = new Map()));
    let b = buckets.get(t);
    if (b === undefined) {
      const k = this.figures.length;
      b = {
        t,
        samples: 0,
        lastAt: at,
        n: new Array<number>(k).fill(0),
        sum: new Array<number>(k).fill(0),
        min: new Array<number | null>(k).fill(null),
        max: new Array<number | null>(k).fill(null),
        last: new Array<number | null>(k).fill(null),
      };
      buckets.set(t, b);
    }
    return b;
  }

  /** Points per key (keys in text order), oldest first. */
  points(): Map<string, Point[]> {
    const out = new Map<string, Point[]>();
    for (const key of [...this.keys.keys()].sort()) {
      const folds = [...(this.keys.get(key) as Map<number, Fold>).values()].sort((a, b) => a.t - b.t);
      out.set(
        key,
        folds.map((b) => {
          const figures: Record<string, FigureStats | null> = {};
          this.figures.forEach((f, i) => {
            const n = b.n[i] as number;
            figures[f] =
              n === 0 ? null : { min: b.min[i] as number, max: b.max[i] as number, avg: (b.sum[i] as number) / n, last: b.last[i] ?? null };
          });
          return { t: b.t, samples: b.samples, figures };
        }),
      );
    }
    return out;
  }
}

export interface RangeQuery {
  series: SeriesName;
  /** One agent or host; undefined reads every key (the fleet-wide host view). */
  key?: string | undefined;
  since: number;
  until: number;
  figures: readonly string[];
}

/** Groups rows ordered by (key, bucket) into points per key, merging the parts of one bucket. */
function toPoints(s: Series, figures: readonly string[], rows: BucketRow[]): Map<string, Point[]> {
  const byKey = new Map<string, Point[]>();
  let prev: { key: string; t: number; row: BucketRow } | undefined;
  const flush = () => {
    if (!prev) return;
    const list = byKey.get(prev.key) ?? [];
    list.push(toPoint(figures, prev.row));
    byKey.set(prev.key, list);
  };
  for (const row of rows) {
    const key = String(row[s.key]);
    const t = Number(row.bucket);
    if (prev && prev.key === key && prev.t === t) {
      prev.row = mergeRows(figures, prev.row, row);
      continue;
    }
    flush();
    prev = { key, t, row };
  }
  flush();
  return byKey;
}

/** Buckets per key, oldest first. Bucketed resolutions start at the bucket holding `since`. */
export async function readBuckets(db: SqlExecutor, q: RangeQuery, resolution: Bucketed): Promise<Map<string, Point[]>> {
  const s = SERIES[q.series];
  const size = BUCKET_MS[resolution];
  const oneKey = q.key !== undefined;
  const since = floorTo(q.since, size);
  const k = oneKey ? [q.key] : [];
  if (resolution === '1m') {
    // Minutes from raw: for agents the sealed hours (older) first, then the rows, summed in one pass.
    const folder = new MinuteFolder(size, q.figures);
    if (q.series === 'agent') {
      await eachSealed(
        db,
        q.key,
        since,
        q.until,
        (agentId, sample) => folder.addSealed(agentId, sample.received_at, sample.values),
        folder.blockIndex,
      );
    }
    const rows = await db.all<BucketRow>(rawRowsSql(s, oneKey, q.figures), [...k, since, q.until, Number.MAX_SAFE_INTEGER]);
    for (const r of rows) folder.add(String(r[s.key]), Number(r.received_at), r);
    return folder.points();
  }
  const sql = cached(
    bucketSql,
    `${q.series}:${resolution}:${oneKey}:${q.figures.join(',')}`,
    () => `${bucketUnion(s, resolution, oneKey, q.figures)} ORDER BY 1, 2`,
  );
  const rows = await db.all<BucketRow>(sql, [...k, since, q.until, ...k, since, since, since, q.until]);
  return toPoints(s, q.figures, rows);
}

function toPoint(figures: readonly string[], row: BucketRow): Point {
  const out: Record<string, FigureStats | null> = {};
  for (const f of figures) out[f] = statsOf(row, f);
  return { t: Number(row.bucket), samples: Number(row.samples), figures: out };
}

/** A figure over every agent in a bucket: the spread of their samples, and the fleet's total. */
export interface FleetFigureStats {
  min: number;
  max: number;
  /** Every sample of every agent in the bucket, averaged. */
  avg: number;
  /**
   * Each agent's average over an hour, summed (the fleet's memory in use, its busy CPU percent);
   * for a day, that hourly total averaged over the day's hours.
   */
  total: number;
}

export interface FleetPoint {
  t: number;
  /** Agents with a sample in the bucket's busiest hour. */
  agents: number;
  samples: number;
  figures: Record<string, FleetFigureStats | null>;
}

const fleetSql = new Map<string, string>();

/**
 * The fleet's chart: hours that are rolled come from `fleet_metrics_1h` (one row an hour, whatever
 * the fleet's size), summed into days in the database for long ranges; the hour holding the rollup
 * mark and any after it from the agents' hour rows and the raw minutes not rolled yet, per agent, as
 * a one-agent chart reads them. One statement, so both parts come from one snapshot.
 */
function fleetQuery(resolution: '1h' | '1d', figures: readonly string[]): string {
  const s = SERIES.agent;
  const live = `COALESCE((SELECT (minute_mark / ${HOUR_MS}) * ${HOUR_MS} FROM rollup_state WHERE series = 'agent'), 0)`;
  const size = BUCKET_MS[resolution];
  const stored =
    resolution === '1h'
      ? `SELECT bucket, agents, samples, ${figures
          .map(
            (f) =>
              `${f}_n, ${f}_sum, ${f}_min, ${f}_max, ${f}_total AS ${f}_tsum, CASE WHEN ${f}_total IS NULL THEN 0 ELSE 1 END AS ${f}_th`,
          )
          .join(', ')} FROM fleet_metrics_1h WHERE bucket >= ? AND bucket < ? AND bucket < ${live}`
      : `SELECT (bucket / ${size}) * ${size} AS bucket, MAX(agents) AS agents, SUM(samples) AS samples, ${figures
          .map(
            (f) =>
              `SUM(${f}_n) AS ${f}_n, SUM(${f}_sum) AS ${f}_sum, MIN(${f}_min) AS ${f}_min, MAX(${f}_max) AS ${f}_max, ` +
              `SUM(${f}_total) AS ${f}_tsum, COUNT(${f}_total) AS ${f}_th`,
          )
          .join(', ')} FROM fleet_metrics_1h WHERE bucket >= ? AND bucket < ? AND bucket < ${live} GROUP BY 1`;
  // The later of `since` and the live hour as one bound, so the index range starts there (two bounds
  // would scan the whole range's agent hours from the earlier one, at a thousand agents 200 ms).
  const liveHour = `(minute_mark / ${HOUR_MS}) * ${HOUR_MS}`;
  const agentHours =
    `SELECT ${s.key}, bucket, ${rollupColumns(figures).join(', ')} FROM ${s.hour} WHERE bucket >= ` +
    `COALESCE((SELECT CASE WHEN ${liveHour} > ? THEN ${liveHour} ELSE ? END FROM rollup_state WHERE series = 'agent'), ?) AND bucket < ?`;
  const tail = rawAggregate(
    s,
    HOUR_MS,
    `${s.raw} r`,
    `r.received_at >= COALESCE((SELECT CASE WHEN minute_mark > ? THEN minute_mark ELSE ? END FROM rollup_state WHERE series = 'agent'), ?) AND r.received_at < ?`,
    figures,
  );
  // An agent's live hour may come in two parts (stored and unrolled): joined first, so it counts once.
  const perAgent =
    `SELECT ${s.key}, bucket, SUM(samples) AS samples, ` +
    figures
      .map((f) => `SUM(${f}_n) AS ${f}_n, SUM(${f}_sum) AS ${f}_sum, MIN(${f}_min) AS ${f}_min, MAX(${f}_max) AS ${f}_max`)
      .join(', ') +
    ` FROM (${agentHours} UNION ALL ${tail}) u GROUP BY ${s.key}, bucket`;
  const liveHours =
    'SELECT bucket, COUNT(*) AS agents, SUM(samples) AS samples, ' +
    figures
      .map(
        (f) =>
          `SUM(${f}_n) AS ${f}_n, SUM(${f}_sum) AS ${f}_sum, MIN(${f}_min) AS ${f}_min, MAX(${f}_max) AS ${f}_max, ` +
          `SUM(CASE WHEN ${f}_n > 0 THEN ${f}_sum / ${f}_n END) AS ${f}_tsum, MAX(CASE WHEN ${f}_n > 0 THEN 1 ELSE 0 END) AS ${f}_th`,
      )
      .join(', ') +
    ` FROM (${perAgent}) a GROUP BY bucket`;
  return `${stored} UNION ALL ${liveHours} ORDER BY 1`;
}

/** The fleet's figures per hour or day; one row per bucket (and per live hour) reaches JavaScript. */
export async function readFleet(
  db: SqlExecutor,
  q: { since: number; until: number; figures: readonly string[] },
  resolution: '1h' | '1d',
): Promise<FleetPoint[]> {
  const sql = cached(fleetSql, `${resolution}:${q.figures.join(',')}`, () => fleetQuery(resolution, q.figures));
  const size = BUCKET_MS[resolution];
  const since = floorTo(q.since, size);
  const rows = await db.all<BucketRow>(sql, [since, q.until, since, since, since, q.until, since, since, since, q.until]);
  const k = q.figures.length;
  type Acc = {
    t: number;
    agents: number;
    samples: number;
    n: number[];
    sum: number[];
    min: (number | null)[];
    max: (number | null)[];
    tsum: number[];
    th: number[];
  };
  const buckets: Acc[] = [];
  for (const row of rows) {
    const t = floorTo(Number(row.bucket), size);
    let b = buckets.at(-1);
    if (b?.t !== t) {
      b = {
        t,
        agents: 0,
        samples: 0,
        n: new Array<number>(k).fill(0),
        sum: new Array<number>(k).fill(0),
        min: new Array<number | null>(k).fill(null),
        max: new Array<number | null>(k).fill(null),
        tsum: new Array<number>(k).fill(0),
        th: new Array<number>(k).fill(0),
      };
      buckets.push(b);
    }
    // A day holding the live hour comes in two rows: the busiest hour's agents, the rest summed.
    b.agents = Math.max(b.agents, Number(row.agents));
    b.samples += Number(row.samples);
    q.figures.forEach((f, i) => {
      const n = Number(row[`${f}_n`] ?? 0);
      if (n === 0) return;
      b.n[i] = (b.n[i] as number) + n;
      b.sum[i] = (b.sum[i] as number) + Number(row[`${f}_sum`]);
      const [min, max] = [Number(row[`${f}_min`]), Number(row[`${f}_max`])];
      const [curMin, curMax] = [b.min[i] ?? null, b.max[i] ?? null];
      b.min[i] = curMin === null ? min : Math.min(curMin, min);
      b.max[i] = curMax === null ? max : Math.max(curMax, max);
      b.tsum[i] = (b.tsum[i] as number) + Number(row[`${f}_tsum`] ?? 0);
      b.th[i] = (b.th[i] as number) + Number(row[`${f}_th`] ?? 0);
    });
  }
  return buckets.map((b) => {
    const figures: Record<string, FleetFigureStats | null> = {};
    q.figures.forEach((f, i) => {
      const n = b.n[i] as number;
      figures[f] =
        n === 0
          ? null
          : {
              min: b.min[i] as number,
              max: b.max[i] as number,
              avg: (b.sum[i] as number) / n,
              total: (b.tsum[i] as number) / Math.max(1, b.th[i] as number),
            };
    });
    return { t: b.t, agents: b.agents, samples: b.samples, figures };
  });
}

/** One key's (or every key's) raw rows in [since, until), by key then receive time then id, at most `?`. */
function rawRowsSql(s: Series, oneKey: boolean, figures: readonly string[]): string {
  return cached(
    rawSql,
    `${s.name}:${oneKey}:${figures.join(',')}`,
    () =>
      `SELECT r.${s.rawKey} AS rk, ${s.keyText} AS ${s.key}, r.received_at AS received_at, ${figures.map((f) => `r.${f} AS ${f}`).join(', ')} ` +
      `FROM ${s.rawFrom} WHERE ${oneKey ? `${s.rawKeyMatch} AND ` : ''}r.received_at >= ? AND r.received_at < ? ` +
      `ORDER BY r.${s.rawKey}, r.received_at, r.id LIMIT ?`,
  );
}

/** Raw samples per key in [since, until), oldest first, at most `limit` in all: rows, and for agents the sealed blocks. */
export async function readRaw(
  db: SqlExecutor,
  q: RangeQuery,
  limit: number,
): Promise<{ points: Map<string, Point[]>; truncated: boolean }> {
  const s = SERIES[q.series];
  const oneKey = q.key !== undefined;
  const rows = await db.all<BucketRow>(rawRowsSql(s, oneKey, q.figures), [...(oneKey ? [q.key] : []), q.since, q.until, limit + 1]);
  type Sample = { rk: string | number; key: string; t: number; values: Record<string, unknown> };
  let samples: Sample[] = rows.map((r) => ({ rk: r.rk ?? '', key: String(r[s.key]), t: Number(r.received_at), values: r }));
  if (q.series === 'agent') {
    // Past the recent window an agent's samples are sealed into hourly blocks (sealing.ts); they
    // are older than its rows, so they go first, ties kept in stored order by the stable sort.
    const sealed = await readSealed(db, q.key, q.since, q.until, limit);
    if (sealed.length > 0) {
      const older: Sample[] = sealed.map(({ agentId, sample }) => ({
        rk: sample.agentKey,
        key: agentId,
        t: sample.received_at,
        values: sample.figures,
      }));
      samples = [...older, ...samples].sort((a, b) => Number(a.rk) - Number(b.rk) || a.t - b.t);
    }
  }
  const points = new Map<string, Point[]>();
  for (const sample of samples.slice(0, limit)) {
    const figures: Record<string, FigureStats | null> = {};
    for (const f of q.figures) {
      const v = sample.values[f];
      figures[f] = v === null || v === undefined ? null : { min: Number(v), max: Number(v), avg: Number(v), last: Number(v) };
    }
    const list = points.get(sample.key) ?? [];
    list.push({ t: sample.t, samples: 1, figures });
    points.set(sample.key, list);
  }
  return { points, truncated: samples.length > limit };
}
