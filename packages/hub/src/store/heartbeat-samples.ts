import type { SqlExecutor } from './db.js';

/**
 * How long a heartbeat's `event_id` is remembered after it was stored. A sender whose
 * acknowledgement was lost retries within seconds to minutes (the SDK backs off and resends the same
 * id); a copy arriving within this window is recognised and not stored again (docs/reliability.md D4). A
 * copy arriving later than this is stored as a second sample: the cost of not keeping a unique
 * index over every sample for the whole raw retention (bench/RESULTS.md, "Compact metrics").
 */
export const HEARTBEAT_EVENT_ID_WINDOW_MS = 3_600_000;

/** A sample's status, stored as a small code rather than text repeated on every row. */
export const STATUS_CODE = { offline: 0, online: 1, busy: 2 } as const;
/** SQL that turns the stored code back into the status text, for a column expression `col`. */
export const statusText = (col: string): string => `CASE ${col} WHEN 2 THEN 'busy' WHEN 0 THEN 'offline' ELSE 'online' END`;

/** An agent's integer key for its samples: made on its first heartbeat, kept for good (ids are never reused). */
export async function newAgentKey(tx: SqlExecutor, agentId: string): Promise<number> {
  await tx.run('INSERT INTO agent_keys (agent_id) VALUES (?) ON CONFLICT (agent_id) DO NOTHING', [agentId]);
  const row = await tx.get<{ agent_key: number }>('SELECT agent_key FROM agent_keys WHERE agent_id = ?', [agentId]);
  if (!row) throw new Error('agent key missing after insert');
  return Number(row.agent_key);
}

/** The key's subquery, for statements that name an agent by its text id. */
export const KEY_OF = '(SELECT agent_key FROM agent_keys WHERE agent_id = ?)';

/** Remembers a heartbeat's event id; `false` when it was already remembered (a retry). */
export async function rememberEventId(tx: SqlExecutor, agentKey: number, eventId: string, now: number): Promise<boolean> {
  const r = await tx.run(
    'INSERT INTO heartbeat_event_ids (event_id, agent_key, received_at) VALUES (?, ?, ?) ON CONFLICT (event_id, agent_key) DO NOTHING',
    [eventId, agentKey, now],
  );
  return r.changes > 0;
}
