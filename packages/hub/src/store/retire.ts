import { performance } from 'node:perf_hooks';
import { AGENT_COLUMNS, toAgent, type Agent, type AgentRow } from './agents.js';
import { endAgentAlerts, type EndedAlerts } from './alerts.js';
import type { Dialect, SqlExecutor } from './db.js';

/**
 * Retiring agents: deleting one (a tombstone row, then its history in bounded batches), renaming it,
 * and pausing its monitoring. Each function runs inside one writer transaction.
 */

type NotFound = { ok: false; code: 'VIGIL_AGENT_NOT_FOUND' };

export type DeleteAgentResult =
  | {
      ok: true;
      /** False when the agent was already deleted (a repeat finishes a history purge cut short). */
      deleted: boolean;
      /** The hub time up to which the agent's history is being removed; null when it is kept. */
      purgeBefore: number | null;
      alerts: EndedAlerts;
    }
  | NotFound;

/**
 * Deletes an agent: it leaves every list at once, its open alerts end (`agent_deleted`), its open
 * errors are resolved, and its silences go. The row stays as a tombstone: its own key may not
 * register it again, and history kept on request (`keepHistory`) still has the row it refers to
 * until retention removes it. Otherwise `history_purge_before` marks the history that
 * {@link purgeAgentHistory} removes next, a bounded batch at a time.
 */
export async function deleteAgent(
  tx: SqlExecutor,
  dialect: Dialect,
  agentId: string,
  keepHistory: boolean,
  now: number,
): Promise<DeleteAgentResult> {
  const row = await tx.get<{ deleted_at: number | null; history_purge_before: number | null }>(
    `SELECT deleted_at, history_purge_before FROM agents WHERE agent_id = ?${dialect.forUpdate}`,
    [agentId],
  );
  if (!row) return { ok: false, code: 'VIGIL_AGENT_NOT_FOUND' };
  const none: EndedAlerts = { resolved: [], cancelled: [] };
  if (row.deleted_at !== null) {
    // Deleted already: asking again without keeping history removes whatever is left of it.
    const purgeBefore = keepHistory ? num(row.history_purge_before) : (num(row.history_purge_before) ?? Number(row.deleted_at));
    if (purgeBefore !== null) await tx.run('UPDATE agents SET history_purge_before = ? WHERE agent_id = ?', [purgeBefore, agentId]);
    return { ok: true, deleted: false, purgeBefore, alerts: none };
  }
  await tx.run(
    `UPDATE agents SET deleted_at = ?, history_purge_before = ?, status = 'offline', offline_reason = 'deleted', paused = FALSE,
       updated_at = ? WHERE agent_id = ?`,
    [now, keepHistory ? null : now, now, agentId],
  );
  const alerts = await endAgentAlerts(tx, agentId, 'agent_deleted', now);
  await tx.run('UPDATE error_logs SET resolved = TRUE, resolved_at = ? WHERE agent_id = ? AND resolved = FALSE', [now, agentId]);
  await tx.run('DELETE FROM alert_silences WHERE agent_id = ?', [agentId]);
  return { ok: true, deleted: true, purgeBefore: keepHistory ? null : now, alerts };
}

/**
 * Each table of an agent's history, with the time that says which incarnation a row belongs to: a
 * deleted agent that registered again keeps what it reported since. Raw metrics go before their
 * rollups, so no rollup step can roll a minute from rows about to go after its rollups went.
 */
const HISTORY: readonly { table: string; select: string; time: string; key: string; agent?: string }[] = [
  // Samples name their agent by its integer key; its event ids expire within the hour on their own.
  { table: 'agent_metrics', select: 'id', time: 'received_at', key: 'id', agent: 'agent_key' },
  { table: 'agent_metric_blocks', select: 'start_at', time: 'start_at', key: 'start_at', agent: 'agent_key' },
  { table: 'agent_events', select: 'id', time: 'received_at', key: 'id' },
  { table: 'agent_event_ids', select: 'event_id', time: 'received_at', key: 'event_id' },
  { table: 'error_event_ids', select: 'event_id', time: 'received_at', key: 'event_id' },
  { table: 'error_logs', select: 'id', time: 'first_seen_at', key: 'id' },
  { table: 'llm_traces', select: 'id', time: 'received_at', key: 'id' },
  { table: 'llm_trace_ids', select: 'event_id', time: 'received_at', key: 'event_id' },
  { table: 'alerts', select: 'id', time: 'pending_since', key: 'id' },
  { table: 'agent_metrics_1h', select: 'bucket', time: 'bucket', key: 'bucket' },
];

const PURGE_HISTORY = HISTORY.map(({ table, select, time, key, agent }) => {
  const who = agent === 'agent_key' ? 'agent_key = (SELECT agent_key FROM agent_keys WHERE agent_id = ?)' : 'agent_id = ?';
  return `DELETE FROM ${table} WHERE ${who} AND ${key} IN (SELECT ${select} FROM ${table} WHERE ${who} AND ${time} <= ? LIMIT ?)`;
});

/**
 * Removes up to `limit` rows of a deleted agent's history, table by table; `done` once nothing is
 * left, when the mark is cleared. One call is one writer command, so ingest commits between them.
 */
export async function purgeAgentHistory(
  tx: SqlExecutor,
  agentId: string,
  limit: number,
): Promise<{ ok: true; deleted: number; done: boolean; ms: number }> {
  const started = performance.now();
  const row = await tx.get<{ history_purge_before: number | null }>('SELECT history_purge_before FROM agents WHERE agent_id = ?', [
    agentId,
  ]);
  const before = num(row?.history_purge_before);
  if (before === null) return { ok: true, deleted: 0, done: true, ms: performance.now() - started };
  let deleted = 0;
  for (const sql of PURGE_HISTORY) {
    if (deleted >= limit) break;
    deleted += (await tx.run(sql, [agentId, agentId, before, limit - deleted])).changes;
  }
  if (deleted < limit) {
    // Every table answered fewer rows than it was allowed: nothing is left.
    await tx.run('UPDATE agents SET history_purge_before = NULL WHERE agent_id = ?', [agentId]);
    return { ok: true, deleted, done: true, ms: performance.now() - started };
  }
  return { ok: true, deleted, done: false, ms: performance.now() - started };
}

/** Deleted agents whose history is still being removed (a hub stopped in the middle). */
export async function pendingHistoryPurges(db: SqlExecutor): Promise<string[]> {
  const rows = await db.all<{ agent_id: string }>('SELECT agent_id FROM agents WHERE history_purge_before IS NOT NULL');
  return rows.map((r) => r.agent_id);
}

export interface AgentPatch {
  name?: string | undefined;
  paused?: boolean | undefined;
}

export type UpdateAgentResult = { ok: true; agent: Agent; pausedChanged: boolean; alerts: EndedAlerts } | NotFound;

/** Renames an agent or pauses or resumes its monitoring; pausing ends its open alerts (`agent_paused`). */
export async function updateAgent(
  tx: SqlExecutor,
  dialect: Dialect,
  agentId: string,
  patch: AgentPatch,
  now: number,
): Promise<UpdateAgentResult> {
  const before = await tx.get<{ paused: unknown }>(
    `SELECT paused FROM agents WHERE agent_id = ? AND deleted_at IS NULL${dialect.forUpdate}`,
    [agentId],
  );
  if (!before) return { ok: false, code: 'VIGIL_AGENT_NOT_FOUND' };
  const row = await tx.get<AgentRow>(
    `UPDATE agents SET name = COALESCE(?, name), paused = COALESCE(?, paused), updated_at = ? WHERE agent_id = ? RETURNING ${AGENT_COLUMNS}`,
    [patch.name ?? null, patch.paused ?? null, now, agentId],
  );
  if (!row) throw new Error('agent row missing after update');
  const agent = toAgent(row);
  const pausedChanged = agent.paused !== Boolean(before.paused);
  const alerts = pausedChanged && agent.paused ? await endAgentAlerts(tx, agentId, 'agent_paused', now) : { resolved: [], cancelled: [] };
  return { ok: true, agent, pausedChanged, alerts };
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
