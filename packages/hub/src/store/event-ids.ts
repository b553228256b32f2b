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

/** The table each id table guards. */
const GUARDED: Record<EventIdTable, 'agent_events' | 'llm_traces'> = { agent_event_ids: 'agent_events', llm_trace_ids: 'llm_traces' };

/**
 * Stores a row once per (agent, event id): `insertRow` writes it (stamped `received_at = now`) and
 * returns its id, then the claim names it, two statements for a new row. A retry, whose id was
 * claimed already, deletes the row it just wrote (never seen outside this transaction) and answers
 * with the stored row's id. Two hubs storing the same id at once: the second's claim waits for the
 * first's commit on the primary key, then finds it taken.
 */
export async function storeOnce(
  tx: SqlExecutor,
  table: EventIdTable,
  agentId: string,
  eventId: string | null,
  now: number,
  insertRow: () => Promise<number>,
): Promise<{ id: number; duplicate: boolean }> {
  const id = await insertRow();
  // Without an event id a row cannot be recognised again: it is simply stored.
  if (eventId === null) return { id, duplicate: false };
  const claimed = await tx.run(
    `INSERT INTO ${table} (agent_id, event_id, id, received_at) VALUES (?, ?, ?, ?) ON CONFLICT (agent_id, event_id) DO NOTHING`,
    [agentId, eventId, id, now],
  );
  if (claimed.changes > 0) return { id, duplicate: false };
  // `received_at` names the row's day: on PostgreSQL the delete looks in one partition only.
  await tx.run(`DELETE FROM ${GUARDED[table]} WHERE id = ? AND received_at = ?`, [id, now]);
  const prior = await tx.get<{ id: number }>(`SELECT id FROM ${table} WHERE agent_id = ? AND event_id = ?`, [agentId, eventId]);
  if (!prior) throw new Error(`${table}: claim missing after a conflict`);
  return { id: Number(prior.id), duplicate: true };
}
