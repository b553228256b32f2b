import type { Dialect, SqlExecutor } from './db.js';

/** How long a reader waits for transactions that may hold lower ids to end before it settles for less. */
const WAIT_MS = 500;
const POLL_MS = 20;

/** The transactions (xids, as text) of this database running now, other than the caller's own. */
export async function runningWriters(db: SqlExecutor, dialect: Dialect): Promise<string[]> {
  const order = dialect.commitOrder;
  if (order === undefined) return [];
  return (await db.all<{ xid: string }>(order.running)).map((r) => String(r.xid));
}

/** Whether any of `xids` is still running. */
export async function anyStillRunning(db: SqlExecutor, dialect: Dialect, xids: readonly string[]): Promise<boolean> {
  const order = dialect.commitOrder;
  if (order === undefined || xids.length === 0) return false;
  return Number((await db.get<{ n: number }>(order.stillRunning, [xids]))?.n ?? 0) > 0;
}

/**
 * The highest id of `table` below which every row is committed, for readers that keep a "new since id"
 * cursor (`llmSumsAfter`). With one writer (SQLite) that is the largest id. With several hubs on
 * PostgreSQL a transaction on another hub may hold a lower id it has not committed yet: the reader
 * waits (briefly) for the transactions running when it read the largest id to end, and otherwise
 * answers `fallback` (its cursor), so it never steps past a row that commits later.
 */
export async function committedMaxId(
  db: SqlExecutor,
  dialect: Dialect,
  table: 'llm_traces',
  fallback: number,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<number> {
  const maxId = Number((await db.get<{ id: number | null }>(`SELECT MAX(id) AS id FROM ${table}`))?.id ?? 0);
  // Read after the largest id: a transaction holding a lower id still uncommitted then is running now.
  const running = await runningWriters(db, dialect);
  for (let waited = 0; await anyStillRunning(db, dialect, running); waited += POLL_MS) {
    if (waited >= WAIT_MS) return fallback;
    await sleep(POLL_MS);
  }
  return maxId;
}
