import type {
  AgentProcessMetrics,
  Alert,
  AlertMetric,
  AlertOp,
  AlertResolveReason,
  AlertSeverity,
  AlertStateName,
  Resources,
} from '@vigil/protocol';
import { describeAlert } from './alert-message.js';
import { Where, type SqlExecutor } from './db.js';

type AlertRow = Omit<Alert, 'message'>;

const ALERT_COLUMNS =
  'id, rule_id, rule_name, agent_id, state, severity, metric, op, threshold, pending_since, started_at, resolved_at, ' +
  'resolve_reason, value, peak_value, last_value, acknowledged_at, notified_at';

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function toAlert(row: AlertRow): Alert {
  const alert: AlertRow = {
    ...row,
    id: Number(row.id),
    rule_id: Number(row.rule_id),
    threshold: Number(row.threshold),
    pending_since: Number(row.pending_since),
    started_at: num(row.started_at),
    resolved_at: num(row.resolved_at),
    value: num(row.value),
    peak_value: num(row.peak_value),
    last_value: num(row.last_value),
    acknowledged_at: num(row.acknowledged_at),
    notified_at: num(row.notified_at),
  };
  return { ...alert, message: describeAlert(alert) };
}

/** The rule as copied into an alert when it begins. */
export interface RuleSnapshot {
  ruleId: number;
  ruleName: string;
  severity: AlertSeverity;
  metric: AlertMetric;
  op: AlertOp;
  threshold: number;
}

/**
 * One change of one (rule, agent) alert, decided by the engine and written by the single writer.
 * Open alerts are addressed by (rule, agent): the unique index allows one, so no id is needed.
 */
export type AlertWrite =
  | { change: 'pending'; rule: RuleSnapshot; agentId: string; at: number; value: number }
  | { change: 'cancelled'; ruleId: number; agentId: string }
  | {
      change: 'firing';
      rule: RuleSnapshot;
      agentId: string;
      at: number;
      pendingSince: number;
      value: number;
      peak: number;
      /** False while a silence holds: the alert is recorded but nobody is told. */
      notify: boolean;
    }
  | { change: 'resolved'; ruleId: number; agentId: string; at: number; value: number | null; peak: number; reason: AlertResolveReason }
  /** The worst and latest values moved while firing (flushed on the engine's timer, not per sample). */
  | { change: 'values'; ruleId: number; agentId: string; at: number; value: number; peak: number }
  /** People were told now: a firing held back by a silence that ended, or a repeat. */
  | { change: 'notified'; ruleId: number; agentId: string; at: number; repeat: boolean };

const OPEN = `rule_id = ? AND agent_id = ? AND state <> 'resolved'`;

/** Applies one write; answers the alert as it now is, or undefined when there was nothing to change. */
export async function writeAlert(tx: SqlExecutor, w: AlertWrite): Promise<Alert | undefined> {
  // An engine that has not yet heard of a pause or a deletion (another hub's, or the CLI's) opens nothing for it.
  if ((w.change === 'pending' || w.change === 'firing') && (await agentMuted(tx, w.agentId))) return undefined;
  let row: AlertRow | undefined;
  switch (w.change) {
    case 'pending': {
      const r = w.rule;
      row = await tx.get<AlertRow>(
        `INSERT INTO alerts (rule_id, rule_name, agent_id, state, severity, metric, op, threshold, pending_since, peak_value,
           last_value, updated_at)
         VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (rule_id, agent_id) WHERE state <> 'resolved' DO NOTHING RETURNING ${ALERT_COLUMNS}`,
        [r.ruleId, r.ruleName, w.agentId, r.severity, r.metric, r.op, r.threshold, w.at, w.value, w.value, w.at],
      );
      break;
    }
    case 'cancelled':
      // A pending alert that never fired is not history: it goes away.
      row = await tx.get<AlertRow>(`DELETE FROM alerts WHERE ${OPEN} AND state = 'pending' RETURNING ${ALERT_COLUMNS}`, [
        w.ruleId,
        w.agentId,
      ]);
      break;
    case 'firing': {
      const notifiedAt = w.notify ? w.at : null;
      row = await tx.get<AlertRow>(
        `UPDATE alerts SET state = 'firing', started_at = ?, value = ?, peak_value = ?, last_value = ?, notified_at = ?, updated_at = ?
         WHERE ${OPEN} AND state = 'pending' RETURNING ${ALERT_COLUMNS}`,
        [w.at, w.value, w.peak, w.value, notifiedAt, w.at, w.rule.ruleId, w.agentId],
      );
      if (!row) {
        const r = w.rule;
        row = await tx.get<AlertRow>(
          `INSERT INTO alerts (rule_id, rule_name, agent_id, state, severity, metric, op, threshold, pending_since, started_at, value,
             peak_value, last_value, notified_at, updated_at)
           VALUES (?, ?, ?, 'firing', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (rule_id, agent_id) WHERE state <> 'resolved' DO NOTHING RETURNING ${ALERT_COLUMNS}`,
          [
            r.ruleId,
            r.ruleName,
            w.agentId,
            r.severity,
            r.metric,
            r.op,
            r.threshold,
            w.pendingSince,
            w.at,
            w.value,
            w.peak,
            w.value,
            notifiedAt,
            w.at,
          ],
        );
      }
      break;
    }
    case 'resolved':
      row = await tx.get<AlertRow>(
        `UPDATE alerts SET state = 'resolved', resolved_at = ?, resolve_reason = ?, peak_value = ?, last_value = COALESCE(?, last_value),
           updated_at = ?
         WHERE ${OPEN} AND state = 'firing' RETURNING ${ALERT_COLUMNS}`,
        [w.at, w.reason, w.peak, w.value, w.at, w.ruleId, w.agentId],
      );
      break;
    case 'values':
      await tx.run(`UPDATE alerts SET peak_value = ?, last_value = ?, updated_at = ? WHERE ${OPEN}`, [
        w.peak,
        w.value,
        w.at,
        w.ruleId,
        w.agentId,
      ]);
      return undefined;
    case 'notified':
      row = await tx.get<AlertRow>(`UPDATE alerts SET notified_at = ? WHERE ${OPEN} AND state = 'firing' RETURNING ${ALERT_COLUMNS}`, [
        w.at,
        w.ruleId,
        w.agentId,
      ]);
      break;
  }
  return row && toAlert(row);
}

/** Acknowledges an alert (idempotent: the first acknowledgement's time is kept). */
export async function acknowledgeAlert(tx: SqlExecutor, id: number, now: number): Promise<Alert | undefined> {
  const row = await tx.get<AlertRow>(
    `UPDATE alerts SET acknowledged_at = COALESCE(acknowledged_at, ?), updated_at = ? WHERE id = ? RETURNING ${ALERT_COLUMNS}`,
    [now, now, id],
  );
  return row && toAlert(row);
}

/** Pending and firing alerts: the engine's state after a restart. */
export async function listOpenAlerts(db: SqlExecutor): Promise<Alert[]> {
  return (await db.all<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE state <> 'resolved' ORDER BY id`)).map(toAlert);
}

export async function getAlert(db: SqlExecutor, id: number): Promise<Alert | undefined> {
  const row = await db.get<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE id = ?`, [id]);
  return row && toAlert(row);
}

export interface AlertFilter {
  state?: AlertStateName | undefined;
  agent_id?: string | undefined;
  rule_id?: number | undefined;
  before?: number | undefined;
  limit: number;
}

/** Newest first, keyset-paged by id. */
export async function listAlerts(db: SqlExecutor, f: AlertFilter): Promise<{ alerts: Alert[]; next: number | null }> {
  const w = new Where();
  if (f.state) w.add('state = ?', f.state);
  if (f.agent_id) w.add('agent_id = ?', f.agent_id);
  if (f.rule_id !== undefined) w.add('rule_id = ?', f.rule_id);
  if (f.before !== undefined) w.add('id < ?', f.before);
  const rows = await db.all<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts ${w.sql()} ORDER BY id DESC LIMIT ?`, [
    ...w.params,
    f.limit + 1,
  ]);
  const page = rows.slice(0, f.limit).map(toAlert);
  return { alerts: page, next: rows.length > f.limit ? (page.at(-1)?.id ?? null) : null };
}

export interface Silence {
  id: number;
  rule_id: number | null;
  agent_id: string | null;
  until: number;
  comment: string | null;
  created_at: number;
}

const SILENCE_COLUMNS = 'id, rule_id, agent_id, until, comment, created_at';

const toSilence = (r: Silence): Silence => ({
  ...r,
  id: Number(r.id),
  rule_id: num(r.rule_id),
  until: Number(r.until),
  created_at: Number(r.created_at),
});

export async function insertSilence(
  tx: SqlExecutor,
  s: { rule_id?: number | undefined; agent_id?: string | undefined; until: number; comment?: string | undefined },
  now: number,
): Promise<{ ok: true; silence: Silence } | { ok: false; code: 'VIGIL_ALERT_RULE_NOT_FOUND' }> {
  if (s.rule_id !== undefined && !(await tx.get('SELECT id FROM alert_rules WHERE id = ?', [s.rule_id]))) {
    return { ok: false, code: 'VIGIL_ALERT_RULE_NOT_FOUND' };
  }
  const row = await tx.get<Silence>(
    `INSERT INTO alert_silences (rule_id, agent_id, until, comment, created_at) VALUES (?, ?, ?, ?, ?) RETURNING ${SILENCE_COLUMNS}`,
    [s.rule_id ?? null, s.agent_id ?? null, s.until, s.comment ?? null, now],
  );
  if (!row) throw new Error('silence row missing after insert');
  return { ok: true, silence: toSilence(row) };
}

export async function deleteSilence(tx: SqlExecutor, id: number): Promise<Silence | undefined> {
  const row = await tx.get<Silence>(`DELETE FROM alert_silences WHERE id = ? RETURNING ${SILENCE_COLUMNS}`, [id]);
  return row && toSilence(row);
}

/** Silences, newest first; `activeAt` keeps only those still in force then. */
export async function listSilences(db: SqlExecutor, opts: { activeAt?: number | undefined; limit: number }): Promise<Silence[]> {
  const w = new Where();
  if (opts.activeAt !== undefined) w.add('until > ?', opts.activeAt);
  return (
    await db.all<Silence>(`SELECT ${SILENCE_COLUMNS} FROM alert_silences ${w.sql()} ORDER BY id DESC LIMIT ?`, [...w.params, opts.limit])
  ).map(toSilence);
}

/** Every agent's pool, type and liveness, for the alert engine's start: one statement for the fleet. */
export async function agentPlacements(
  db: SqlExecutor,
): Promise<{ agent_id: string; pool_name: string; agent_type: string; status: string; offline_reason: string | null }[]> {
  return db.all('SELECT agent_id, pool_name, agent_type, status, offline_reason FROM agents WHERE deleted_at IS NULL');
}

/** The ids of unresolved error groups by agent, for the engine's `unresolved_errors` counts. */
export async function unresolvedErrorIds(db: SqlExecutor): Promise<{ id: number; agent_id: string }[]> {
  return (await db.all<{ id: number; agent_id: string }>('SELECT id, agent_id FROM error_logs WHERE resolved = FALSE')).map((r) => ({
    id: Number(r.id),
    agent_id: r.agent_id,
  }));
}

export interface LatestSample {
  agent_id: string;
  received_at: number;
  resources: Resources;
  metrics: AgentProcessMetrics;
}

const RESOURCE_FIELDS = [
  ['host_cpu_percent', 'cpu_percent'],
  ['cpu_cores_physical', 'cpu_cores_physical'],
  ['cpu_cores_available', 'cpu_cores_available'],
  ['cpu_load_1min', 'cpu_load_1min'],
  ['cpu_load_5min', 'cpu_load_5min'],
  ['memory_percent', 'memory_percent'],
  ['memory_available_gb', 'memory_available_gb'],
  ['gpu_vram_total_gb', 'gpu_vram_total_gb'],
  ['gpu_vram_available_gb', 'gpu_vram_available_gb'],
] as const;
const METRIC_FIELDS = ['cpu_percent', 'memory_mb', 'message_count', 'io_read_bps', 'io_write_bps'] as const;

/**
 * Each agent's last stored heartbeat, for agents not offline whose last one is at most `missed`
 * heartbeat intervals old at `now`: what the alert engine may not have evaluated when the hub died.
 * One statement for the fleet, one backward probe of `(agent_id, received_at)` per agent (ordering by
 * id as well would make PostgreSQL read all of an agent's rows; two heartbeats of one agent stored
 * in the same millisecond are then taken in either order).
 */
export async function latestSamples(db: SqlExecutor, now: number, missed: number): Promise<LatestSample[]> {
  const rows = await db.all<Record<string, unknown>>(
    `SELECT a.agent_id, m.received_at, m.host_cpu_percent, m.cpu_cores_physical, m.cpu_cores_available, m.cpu_load_1min,
       m.cpu_load_5min, m.memory_percent, m.memory_available_gb, m.gpu_vram_total_gb, m.gpu_vram_available_gb,
       m.cpu_percent, m.memory_mb, m.message_count, m.io_read_bps, m.io_write_bps
     FROM agents a JOIN agent_keys k ON k.agent_id = a.agent_id JOIN agent_metrics m ON m.id = (
       SELECT id FROM agent_metrics WHERE agent_key = k.agent_key ORDER BY received_at DESC LIMIT 1)
     WHERE a.status <> 'offline' AND a.last_heartbeat_at + CAST(a.heartbeat_interval_s AS BIGINT) * 1000 * ? >= ?`,
    [missed, now],
  );
  return rows.map((r) => {
    const resources: Record<string, number> = {};
    for (const [column, field] of RESOURCE_FIELDS) if (r[column] !== null && r[column] !== undefined) resources[field] = Number(r[column]);
    const metrics: Record<string, number> = {};
    for (const field of METRIC_FIELDS) if (r[field] !== null && r[field] !== undefined) metrics[field] = Number(r[field]);
    return { agent_id: String(r.agent_id), received_at: Number(r.received_at), resources, metrics };
  });
}

/** Whether an agent's alerts are off: its monitoring is paused, or it was deleted. */
async function agentMuted(tx: SqlExecutor, agentId: string): Promise<boolean> {
  const row = await tx.get('SELECT 1 AS muted FROM agents WHERE agent_id = ? AND (paused = TRUE OR deleted_at IS NOT NULL)', [agentId]);
  return row !== undefined;
}

/** Agents whose alerts are off (paused or deleted), for the engine's tick: a partial index keeps it small. */
export async function mutedAgents(db: SqlExecutor): Promise<Set<string>> {
  const rows = await db.all<{ agent_id: string }>('SELECT agent_id FROM agents WHERE paused = TRUE OR deleted_at IS NOT NULL');
  return new Set(rows.map((r) => r.agent_id));
}

/** Alerts a retirement ended, as they now are (resolved) or as they were (a pending one, deleted). */
export interface EndedAlerts {
  resolved: Alert[];
  cancelled: Alert[];
}

/**
 * Ends every open alert of one agent at once, when it is deleted or its monitoring paused: a firing
 * alert is resolved with that reason (so whoever heard it firing hears it end), a pending one goes.
 */
export async function endAgentAlerts(
  tx: SqlExecutor,
  agentId: string,
  reason: Extract<AlertResolveReason, 'agent_deleted' | 'agent_paused'>,
  now: number,
): Promise<EndedAlerts> {
  const cancelled = await tx.all<AlertRow>(`DELETE FROM alerts WHERE agent_id = ? AND state = 'pending' RETURNING ${ALERT_COLUMNS}`, [
    agentId,
  ]);
  const resolved = await tx.all<AlertRow>(
    `UPDATE alerts SET state = 'resolved', resolved_at = ?, resolve_reason = ?, updated_at = ?
     WHERE agent_id = ? AND state = 'firing' RETURNING ${ALERT_COLUMNS}`,
    [now, reason, now, agentId],
  );
  return { resolved: resolved.map(toAlert), cancelled: cancelled.map(toAlert) };
}
