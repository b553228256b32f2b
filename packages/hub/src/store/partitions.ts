import { performance } from 'node:perf_hooks';
import type { Db, SqlExecutor } from './db.js';

/**
 * PostgreSQL only: the large append-only tables are partitioned by day of their time column
 * (migrations 13 and 15, docs/several-hubs.md "Time partitioning"). Each day is its own table, so retention
 * drops a whole day instead of deleting its rows one by one (no dead rows for vacuum, no bloat);
 * SQLite keeps its batched purges. `idIndex`: the table's queries look rows up by id (rollup cursor,
 * purge batches, sealing), and a partitioned parent cannot have a unique index without the partition
 * key, so each day's partition carries a unique index on id of its own; ids stay unique through the
 * parent's identity sequence.
 */
export const PARTITIONED = {
  agent_metrics: { column: 'received_at', idIndex: true },
  system_metrics: { column: 'received_at', idIndex: true },
  agent_metric_blocks: { column: 'start_at', idIndex: false },
  // Migration 15; their idempotency is in agent_event_ids and llm_trace_ids (store/event-ids.ts).
  agent_events: { column: 'received_at', idIndex: true },
  llm_traces: { column: 'received_at', idIndex: true },
} as const;
export type PartitionedTable = keyof typeof PARTITIONED;
export const PARTITIONED_TABLES = Object.keys(PARTITIONED) as PartitionedTable[];

const DAY = 86_400_000;
/** Days made ahead of the hub's clock (today and the next three), so a day's first row never waits for DDL. */
export const PARTITION_DAYS_AHEAD = 3;
/**
 * How long partition DDL waits for its lock before giving up (ATTACH and DETACH queue behind a long
 * reader and would hold every writer behind them meanwhile); a pass that gave up tries again next time.
 */
export const PARTITION_LOCK_TIMEOUT_MS = 2_000;

export interface Partition {
  name: string;
  /** Lower bound (epoch ms); null for MINVALUE (the legacy partition: the table as it was before it was partitioned). */
  from: number | null;
  /** Upper bound, exclusive. */
  to: number;
}

export interface UpkeepReport {
  /** Partitions made, by name. */
  created: string[];
  /** Partitions whose DDL gave up waiting for its lock (tried again next pass). */
  locked: string[];
}

export const dayStart = (at: number): number => Math.floor(at / DAY) * DAY;

/** `agent_metrics_p20261205`: the table and the partition's first day (UTC). */
export function partitionName(table: PartitionedTable, from: number): string {
  return `${table}_p${new Date(from).toISOString().slice(0, 10).replace(/-/g, '')}`;
}

const BOUND = /FROM \((?:MINVALUE|'?(-?\d+)'?)\) TO \('?(-?\d+)'?\)/;

/** The table's partitions and their bounds, oldest first; empty when the table is not partitioned. */
export async function partitionsOf(q: SqlExecutor, table: PartitionedTable): Promise<Partition[]> {
  const rows = await q.all<{ name: string; bound: string }>(
    // pg_get_expr given the partition's oid would lock it (to name columns); bounds are constants and need no relation.
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, 0) AS bound FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = to_regclass(CAST(? AS text))`,
    [table],
  );
  const parts: Partition[] = [];
  for (const r of rows) {
    const m = BOUND.exec(r.bound);
    if (!m) throw new Error(`cannot read the bounds of partition ${r.name}: ${r.bound}`);
    parts.push({ name: r.name, from: m[1] === undefined ? null : Number(m[1]), to: Number(m[2]) });
  }
  return parts.sort((a, b) => a.to - b.to);
}

async function isPartitioned(q: SqlExecutor, table: PartitionedTable): Promise<boolean> {
  const row = await q.get<{ kind: string }>('SELECT CAST(relkind AS text) AS kind FROM pg_class WHERE oid = to_regclass(CAST(? AS text))', [
    table,
  ]);
  return row?.kind === 'p';
}

const covers = (parts: readonly Partition[], at: number) => parts.some((p) => (p.from === null || p.from <= at) && at < p.to);

/** PostgreSQL's lock_not_available: `lock_timeout` ran out. */
export function isLockTimeout(err: unknown): boolean {
  return (err as { code?: unknown } | undefined)?.code === '55P03';
}

/**
 * Makes the partition holding the day of `at`, the way PostgreSQL recommends for a table in use: a
 * plain table shaped like the parent, a CHECK matching the bounds (so ATTACH need not scan it, and
 * takes only a SHARE UPDATE EXCLUSIVE lock on the parent where CREATE … PARTITION OF takes ACCESS
 * EXCLUSIVE), then ATTACH, then the now redundant CHECK dropped. All under `lock_timeout`, in one
 * transaction. 'exists' when a partition (perhaps another hub's, just made) already holds that day.
 */
export async function ensurePartition(
  db: Db,
  table: PartitionedTable,
  at: number,
  lockTimeoutMs = PARTITION_LOCK_TIMEOUT_MS,
): Promise<'created' | 'exists' | 'locked'> {
  const from = dayStart(at);
  const to = from + DAY;
  const name = partitionName(table, from);
  const { column, idIndex } = PARTITIONED[table];
  try {
    return await db.transaction(async (tx) => {
      await tx.run(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(lockTimeoutMs))}`);
      if (!(await isPartitioned(tx, table)) || covers(await partitionsOf(tx, table), from)) return 'exists';
      await tx.run(`CREATE TABLE ${name} (LIKE ${table} INCLUDING DEFAULTS)`);
      await tx.run(
        `ALTER TABLE ${name} ADD CONSTRAINT ${name}_bound CHECK (${column} IS NOT NULL AND ${column} >= ${from} AND ${column} < ${to})`,
      );
      if (idIndex) await tx.run(`CREATE UNIQUE INDEX ${name}_id ON ${name} (id)`);
      await tx.run(`ALTER TABLE ${table} ATTACH PARTITION ${name} FOR VALUES FROM (${from}) TO (${to})`);
      await tx.run(`ALTER TABLE ${name} DROP CONSTRAINT ${name}_bound`);
      return 'created';
    });
  } catch (err) {
    if (isLockTimeout(err)) return 'locked';
    // Another hub made it between our look and our CREATE (duplicate table, overlapping bounds).
    if (covers(await partitionsOf(db, table), from)) return 'exists';
    throw err;
  }
}

/** Makes each partitioned table's partitions for the day of `now` and the next `PARTITION_DAYS_AHEAD` days. */
export async function ensurePartitionsAhead(db: Db, now: number, lockTimeoutMs = PARTITION_LOCK_TIMEOUT_MS): Promise<UpkeepReport> {
  const report: UpkeepReport = { created: [], locked: [] };
  if (db.dialect.name !== 'postgres') return report;
  for (const table of PARTITIONED_TABLES) {
    const parts = await partitionsOf(db, table);
    for (let d = 0; d <= PARTITION_DAYS_AHEAD; d++) {
      const at = dayStart(now) + d * DAY;
      if (covers(parts, at)) continue;
      const outcome = await ensurePartition(db, table, at, lockTimeoutMs);
      if (outcome === 'created') report.created.push(partitionName(table, at));
      if (outcome === 'locked') report.locked.push(partitionName(table, at));
    }
  }
  return report;
}

/**
 * PostgreSQL refuses a row for which no partition exists ("no partition of relation … found for
 * row"): a clock far from the days made ahead (a test's fake clock, a backfill, an agent's clock far
 * off). Which table and which value, read from the error, so the caller can make that day's
 * partition and try again; undefined for any other error.
 */
export function missingPartition(err: unknown): { table: PartitionedTable; at: number } | undefined {
  const e = err as { code?: unknown; message?: unknown; detail?: unknown } | undefined;
  if (e?.code !== '23514' || typeof e.message !== 'string') return undefined;
  const rel = /^no partition of relation "([a-z_]+)" found for row/.exec(e.message)?.[1];
  const value = typeof e.detail === 'string' ? /contains \(\w+\) = \((-?\d+)\)/.exec(e.detail)?.[1] : undefined;
  if (!rel || !(rel in PARTITIONED) || value === undefined) return undefined;
  return { table: rel as PartitionedTable, at: Number(value) };
}

/**
 * Drops `table`'s partitions whose every row is stamped before `before` (upper bound ≤ it): DETACH,
 * then DROP, under `lock_timeout`, one partition per transaction. Rows are counted first, so the
 * purge reports what it removed as a DELETE would. `slowestMs`: the longest of those transactions,
 * lock wait included; writers wait on one of them at most, and go on between them.
 */
export async function dropPartitionsBefore(
  db: Db,
  table: PartitionedTable,
  before: number,
  lockTimeoutMs = PARTITION_LOCK_TIMEOUT_MS,
): Promise<{ dropped: string[]; rows: number; locked: string[]; slowestMs: number }> {
  const out = { dropped: [] as string[], rows: 0, locked: [] as string[], slowestMs: 0 };
  if (db.dialect.name !== 'postgres' || !(await isPartitioned(db, table))) return out;
  for (const p of await partitionsOf(db, table)) {
    if (p.to > before) break;
    let rows = 0;
    const started = performance.now();
    try {
      await db.transaction(async (tx) => {
        await tx.run(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(lockTimeoutMs))}`);
        // Counted before DETACH takes its ACCESS EXCLUSIVE lock on the parent: reading the partition
        // holds back no writer (and nothing writes to a day past retention).
        rows = Number((await tx.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${p.name}`))?.n ?? 0);
        await tx.run(`ALTER TABLE ${table} DETACH PARTITION ${p.name}`);
        await tx.run(`DROP TABLE ${p.name}`);
      });
    } catch (err) {
      if (!isLockTimeout(err)) throw err;
      out.locked.push(p.name);
      continue;
    } finally {
      out.slowestMs = Math.max(out.slowestMs, performance.now() - started);
    }
    out.dropped.push(p.name);
    out.rows += rows;
  }
  return out;
}
