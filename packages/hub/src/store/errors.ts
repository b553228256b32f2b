import type { AgentError } from '@vigil/protocol';
import { jsonColumn, Where, type Dialect, type SqlExecutor } from './db.js';
import { fromPreview, jsonPreview, textPreview, type ListReader, type PreviewColumns, type Truncatable } from './previews.js';

export interface StoredError extends Truncatable {
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

const ERROR_PREVIEW: PreviewColumns = { text: ['message', 'stack_trace'], json: ['metadata'] };
const errorListColumns = (d: Dialect) =>
  `id, agent_id, error_type, ${textPreview('message')}, ${textPreview('stack_trace')}, ${jsonPreview('metadata', d)}, fingerprint, ` +
  'occurrences, timestamp, first_seen_at, last_seen_at, resolved, resolved_at';

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

export interface Reopened {
  /** The open group that now holds the failure: the reopened row, or the open group it merged into. */
  error: StoredError;
  /** The reopened row's id when it was merged into an open group and deleted; null otherwise. */
  removedId: number | null;
  /** False when the row was already unresolved, so nothing was written. */
  changed: boolean;
}

/**
 * Reopens a resolved error group. A repeat after the resolve may already have opened a new group
 * for the same (agent, fingerprint); the partial unique index allows only one open, so the reopened
 * row is folded into that group (occurrences summed, the widest first/last seen) and deleted.
 */
export async function reopenError(tx: SqlExecutor, dialect: Dialect, id: number): Promise<Reopened | undefined> {
  const owner = await tx.get<{ agent_id: string }>('SELECT agent_id FROM error_logs WHERE id = ?', [id]);
  if (!owner) return undefined;
  // recordError runs under this same agent row lock (guardAgent), so no other hub sharing the
  // database can open a group between the check for an open one and the write below.
  await tx.get(`SELECT agent_id FROM agents WHERE agent_id = ?${dialect.forUpdate}`, [owner.agent_id]);
  const found = await tx.get<StoredError>(`SELECT ${ERROR_COLUMNS} FROM error_logs WHERE id = ?${dialect.forUpdate}`, [id]);
  if (!found) return undefined;
  const row = toError(found);
  if (!row.resolved) return { error: row, removedId: null, changed: false };

  const open = await tx.get<StoredError>(
    `SELECT ${ERROR_COLUMNS} FROM error_logs WHERE agent_id = ? AND fingerprint = ? AND resolved = FALSE${dialect.forUpdate}`,
    [row.agent_id, row.fingerprint],
  );
  if (!open) {
    const reopened = await tx.get<StoredError>(
      `UPDATE error_logs SET resolved = FALSE, resolved_at = NULL WHERE id = ? RETURNING ${ERROR_COLUMNS}`,
      [id],
    );
    if (!reopened) throw new Error('error row missing after reopen');
    return { error: toError(reopened), removedId: null, changed: true };
  }

  const merged = await tx.get<StoredError>(
    `UPDATE error_logs SET occurrences = occurrences + ?, first_seen_at = ?, last_seen_at = ? WHERE id = ? RETURNING ${ERROR_COLUMNS}`,
    [
      Number(row.occurrences),
      Math.min(Number(row.first_seen_at), Number(open.first_seen_at)),
      Math.max(Number(row.last_seen_at), Number(open.last_seen_at)),
      open.id,
    ],
  );
  if (!merged) throw new Error('open error row missing after merge');
  // A retried report of an occurrence counted in the reopened row must answer with the group that now counts it.
  await tx.run('UPDATE error_event_ids SET error_id = ? WHERE agent_id = ? AND error_id = ?', [open.id, row.agent_id, id]);
  await tx.run('DELETE FROM error_logs WHERE id = ?', [id]);
  return { error: toError(merged), removedId: id, changed: true };
}

export interface ErrorFilter {
  agent_id?: string | undefined;
  resolved?: boolean | undefined;
  before?: number | undefined;
  limit: number;
}

/** One error group, whole. */
export async function getError(db: SqlExecutor, id: number): Promise<StoredError | undefined> {
  const row = await db.get<StoredError>(`SELECT ${ERROR_COLUMNS} FROM error_logs WHERE id = ?`, [id]);
  return row && toError(row);
}

/** Newest groups first; long messages, stack traces and metadata cut to a preview. */
export async function listErrors(db: ListReader, f: ErrorFilter): Promise<{ errors: StoredError[]; next: number | null }> {
  const w = new Where();
  const add = w.add.bind(w);
  if (f.agent_id) add('agent_id = ?', f.agent_id);
  if (f.resolved !== undefined) add('resolved = ?', f.resolved);
  if (f.before !== undefined) add('id < ?', f.before);
  const rows = await db.all<StoredError>(`SELECT ${errorListColumns(db.dialect)} FROM error_logs ${w.sql()} ORDER BY id DESC LIMIT ?`, [
    ...w.params,
    f.limit + 1,
  ]);
  const page = rows.slice(0, f.limit).map((r) => toError(fromPreview(r, ERROR_PREVIEW)));
  return { errors: page, next: rows.length > f.limit ? (page.at(-1)?.id ?? null) : null };
}
