import type { SqlExecutor } from './db.js';

/**
 * Error reports per agent per second, the stored source of the `error_rate` alert metric: written in
 * the report's own transaction, so what the engine reloads at start is exactly what was acknowledged.
 */

export const secondOf = (ms: number): number => Math.floor(ms / 1000);

/** Counts one (not duplicate) error report received at `now`. */
export async function countErrorReport(tx: SqlExecutor, agentId: string, now: number): Promise<void> {
  await tx.run(
    `INSERT INTO error_counts (agent_id, at_second, reports) VALUES (?, ?, 1)
     ON CONFLICT (agent_id, at_second) DO UPDATE SET reports = error_counts.reports + 1`,
    [agentId, secondOf(now)],
  );
}

/** Every count from `fromSecond` on (inclusive), for the engine's start. */
export async function errorCountsSince(
  db: SqlExecutor,
  fromSecond: number,
): Promise<{ agent_id: string; at_second: number; reports: number }[]> {
  const rows = await db.all<{ agent_id: string; at_second: number; reports: number }>(
    'SELECT agent_id, at_second, reports FROM error_counts WHERE at_second >= ? ORDER BY agent_id, at_second',
    [fromSecond],
  );
  return rows.map((r) => ({ agent_id: r.agent_id, at_second: Number(r.at_second), reports: Number(r.reports) }));
}

/** Deletes counts older than `beforeSecond`: past the window, nothing reads them. */
export async function forgetErrorCounts(tx: SqlExecutor, beforeSecond: number): Promise<number> {
  return (await tx.run('DELETE FROM error_counts WHERE at_second < ?', [beforeSecond])).changes;
}
