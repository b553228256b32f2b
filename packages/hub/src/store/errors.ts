import type { AgentError } from '@vigil/protocol';
import { jsonColumn, Where, type SqlExecutor } from './db.js';

export interface StoredError {
  id: number;
  agent_id: string;
  error_type: string;
  message: string;
  stack_trace: string | null;
  metadata: Record<string, unknown>;
  fingerprint: string;
  /** How many times this failure was reported while unresolved. */
  occurrences: number;
  timestamp: number;
  first_seen_at: number;
  last_seen_at: number;
  resolved: boolean;
  resolved_at: number | null;
}

const ERROR_COLUMNS =
  'id, agent_id, error_type, message, stack_trace, metadata, fingerprint, occurrences, timestamp, first_seen_at, last_seen_at, resolved, resolved_at';

const toError = (row: StoredError): StoredError => ({
  ...row,
  metadata: jsonColumn(row.metadata, {}),
  resolved: Boolean(row.resolved),
});

/**
 * Stores one occurrence: a new group, or one more count on the agent's unresolved group with the
 * same fingerprint. A retried occurrence (same event_id) is counted once.
 */
export async function recordError(
  tx: SqlExecutor,
  agentId: string,
  err: AgentError,
  fingerprint: string,
  now: number,
): Promise<{ id: number; occurrences: number; duplicate: boolean }> {
  if (err.event_id !== undefined) {
    const seen = await tx.run(
      'INSERT INTO error_event_ids (agent_id, event_id, error_id, received_at) VALUES (?, ?, 0, ?) ON CONFLICT (agent_id, event_id) DO NOTHING',
      [agentId, err.event_id, now],
    );
    if (seen.changes === 0) {
      const prior = await tx.get<{ error_id: number }>('SELECT error_id FROM error_event_ids WHERE agent_id = ? AND event_id = ?', [
        agentId,
        err.event_id,
      ]);
      const group = await tx.get<{ occurrences: number }>('SELECT occurrences FROM error_logs WHERE id = ?', [prior?.error_id]);
      return { id: Number(prior?.error_id), occurrences: Number(group?.occurrences ?? 1), duplicate: true };
    }
  }
  const row = await tx.get<{ id: number; occurrences: number }>(
    `INSERT INTO error_logs (agent_id, error_type, message, stack_trace, metadata, fingerprint, timestamp, first_seen_at, last_seen_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (agent_id, fingerprint) WHERE resolved = FALSE DO UPDATE SET
       occurrences = error_logs.occurrences + 1, message = excluded.message, stack_trace = excluded.stack_trace,
       metadata = excluded.metadata, timestamp = excluded.timestamp, last_seen_at = excluded.last_seen_at
     RETURNING id, occurrences`,
    [
      agentId,
      err.error_type,
      err.message,
      err.stack_trace,
      JSON.stringify(err.metadata ?? {}),
      fingerprint,
      err.timestamp ?? now,
      now,
      now,
    ],
  );
  if (!row) throw new Error('error row missing after upsert');
  if (err.event_id !== undefined) {
    await tx.run('UPDATE error_event_ids SET error_id = ? WHERE agent_id = ? AND event_id = ?', [row.id, agentId, err.event_id]);
  }
  return { id: Number(row.id), occurrences: Number(row.occurrences), duplicate: false };
}

/** Marks an error group resolved; resolving twice keeps the first resolution time. */
export async function resolveError(tx: SqlExecutor, id: number, now: number): Promise<StoredError | undefined> {
  const row = await tx.get<StoredError>(
    `UPDATE error_logs SET resolved = TRUE, resolved_at = COALESCE(resolved_at, ?) WHERE id = ? RETURNING ${ERROR_COLUMNS}`,
    [now, id],
  );
  return row && toError(row);
}

export interface ErrorFilter {
  agent_id?: string | undefined;
  resolved?: boolean | undefined;
  before?: number | undefined;
  limit: number;
}

/** Newest groups first. */
export async function listErrors(db: SqlExecutor, f: ErrorFilter): Promise<{ errors: StoredError[]; next: number | null }> {
  const w = new Where();
  const add = w.add.bind(w);
  if (f.agent_id) add('agent_id = ?', f.agent_id);
  if (f.resolved !== undefined) add('resolved = ?', f.resolved);
  if (f.before !== undefined) add('id < ?', f.before);
  const rows = await db.all<StoredError>(`SELECT ${ERROR_COLUMNS} FROM error_logs ${w.sql()} ORDER BY id DESC LIMIT ?`, [
    ...w.params,
    f.limit + 1,
  ]);
  const page = rows.slice(0, f.limit).map(toError);
  return { errors: page, next: rows.length > f.limit ? (page.at(-1)?.id ?? null) : null };
}
