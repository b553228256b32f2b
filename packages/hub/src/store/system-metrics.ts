import type { SqlExecutor } from './db.js';

/** One sample of the hub's own host (docs/seed-requirements.md, host metrics), as stored in `system_metrics`. */
export interface SystemMetricsRow {
  host: string;
  received_at: number;
  cpu_percent: number | null;
  cpu_cores: number | null;
  cpu_load_1min: number | null;
  cpu_load_5min: number | null;
  cpu_load_15min: number | null;
  memory_used_bytes: number | null;
  memory_limit_bytes: number | null;
  memory_percent: number | null;
  disk_used_bytes: number | null;
  disk_total_bytes: number | null;
  io_read_bps: number | null;
  io_write_bps: number | null;
}

export const SYSTEM_METRICS_COLUMNS = [
  'host',
  'received_at',
  'cpu_percent',
  'cpu_cores',
  'cpu_load_1min',
  'cpu_load_5min',
  'cpu_load_15min',
  'memory_used_bytes',
  'memory_limit_bytes',
  'memory_percent',
  'disk_used_bytes',
  'disk_total_bytes',
  'io_read_bps',
  'io_write_bps',
] as const satisfies readonly (keyof SystemMetricsRow)[];

const INSERT = `INSERT INTO system_metrics (${SYSTEM_METRICS_COLUMNS.join(', ')}) VALUES (${SYSTEM_METRICS_COLUMNS.map(() => '?').join(', ')})`;

export async function insertSystemMetrics(tx: SqlExecutor, row: SystemMetricsRow): Promise<void> {
  await tx.run(
    INSERT,
    SYSTEM_METRICS_COLUMNS.map((c) => row[c]),
  );
}

/** The hub's host samples since a time, oldest first (for charts). */
export async function listSystemMetrics(db: SqlExecutor, since: number, limit: number): Promise<(SystemMetricsRow & { id: number })[]> {
  return db.all(
    `SELECT id, ${SYSTEM_METRICS_COLUMNS.join(', ')} FROM system_metrics WHERE received_at >= ? ORDER BY received_at, id LIMIT ?`,
    [since, limit],
  );
}
