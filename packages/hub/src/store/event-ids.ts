import type { SqlExecutor } from './db.js';

/**
 * The tables that make stored events and LLM calls idempotent (migration 15): one row per (agent,
 * event id), with the id of the row it stands for. A unique index on the rows themselves cannot do
 * this once they are partitioned by day on PostgreSQL (a partitioned table's unique index must
 * include the partition key, and a retry arrives later than the original, perhaps on another day),
 * so the same table does it on both databases, one code path. Its rows are kept as long as the rows
 * they stand for (the events and traces retention, store/retention.ts): a sender's retries come
 * within minutes, but an agent that spooled its events through a long outage resends them hours
 * later, and the ids cost a small fraction of the rows they guard.
 */
export type EventIdTable = 'agent_event_ids' | 'llm_trace_ids';

/**
 * Claims (agent, event id) for a row about to be stored: undefined when it is new, or the stored
 * row's id when it was claimed already (a retry, which stores nothing). Two hubs claiming the same id
 * at once: the second waits for the first's commit on the primary key, then sees the claim. A new
 * claim holds 0 until `recordRowId` names its row, in the same transaction.
 */
export async function claimEventId(
  tx: SqlExecutor,
  table: EventIdTable,
  agentId: string,
  eventId: string,
  now: number,
): Promise<number | undefined> {
  const r = await tx.run(
    `INSERT INTO ${table} (agent_id, event_id, id, received_at) VALUES (?, ?, 0, ?) ON CONFLICT (agent_id, event_id) DO NOTHING`,
    [agentId, eventId, now],
  );
  if (r.changes > 0) return undefined;
  const prior = await tx.get<{ id: number }>(`SELECT id FROM ${table} WHERE agent_id = ? AND event_id = ?`, [agentId, eventId]);
  return Number(prior?.id);
}

/** Names the row a claim stands for, so that a retry answers with its id. */
export async function recordRowId(tx: SqlExecutor, table: EventIdTable, agentId: string, eventId: string, id: number): Promise<void> {
  await tx.run(`UPDATE ${table} SET id = ? WHERE agent_id = ? AND event_id = ?`, [id, agentId, eventId]);
}
