import {
  ruleWindowProblem,
  type AlertGroup,
  type AlertMetric,
  type AlertOp,
  type AlertRule,
  type AlertRuleInput,
  type AlertRulePatch,
  type AlertScope,
  type AlertSeverity,
} from '@vigil/protocol';
import type { SqlExecutor } from './db.js';

interface RuleRow {
  id: number;
  name: string;
  metric: AlertMetric;
  op: AlertOp;
  threshold: number;
  for_seconds: number;
  hysteresis: number | null;
  severity: AlertSeverity;
  scope_agent_id: string | null;
  scope_pool_name: string | null;
  scope_agent_type: string | null;
  enabled: unknown;
  window_seconds: number | null;
  group_by: AlertGroup | null;
  source: AlertRule['source'];
  created_at: number;
  updated_at: number;
}

const RULE_COLUMNS =
  'id, name, metric, op, threshold, for_seconds, hysteresis, severity, scope_agent_id, scope_pool_name, scope_agent_type, ' +
  'enabled, window_seconds, group_by, source, created_at, updated_at';

function toRule(row: RuleRow): AlertRule {
  const scope: AlertScope = {};
  if (row.scope_agent_id !== null) scope.agent_id = row.scope_agent_id;
  if (row.scope_pool_name !== null) scope.pool_name = row.scope_pool_name;
  if (row.scope_agent_type !== null) scope.agent_type = row.scope_agent_type;
  return {
    id: Number(row.id),
    name: row.name,
    metric: row.metric,
    op: row.op,
    threshold: Number(row.threshold),
    for_seconds: Number(row.for_seconds),
    hysteresis: row.hysteresis === null ? null : Number(row.hysteresis),
    severity: row.severity,
    scope,
    enabled: Boolean(row.enabled),
    window_seconds: row.window_seconds === null ? null : Number(row.window_seconds),
    group_by: row.group_by,
    source: row.source,
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
  };
}

export type RuleRefusal =
  | { ok: false; code: 'VIGIL_ALERT_RULE_NOT_FOUND' | 'VIGIL_ALERT_RULE_EXISTS' }
  /** A window that does not fit the metric (the schema checks fields one at a time). */
  | { ok: false; code: 'VIGIL_VALIDATION'; message: string };

/** A spend rule groups per agent unless told otherwise; other rules have no window and no grouping. */
const windowFields = (window: number | null | undefined, group: AlertGroup | null | undefined) =>
  window === undefined || window === null
    ? { window_seconds: null, group_by: null }
    : { window_seconds: window, group_by: group ?? 'agent' };

export async function listRules(db: SqlExecutor): Promise<AlertRule[]> {
  return (await db.all<RuleRow>(`SELECT ${RULE_COLUMNS} FROM alert_rules ORDER BY id`)).map(toRule);
}

export async function getRule(db: SqlExecutor, id: number): Promise<AlertRule | undefined> {
  const row = await db.get<RuleRow>(`SELECT ${RULE_COLUMNS} FROM alert_rules WHERE id = ?`, [id]);
  return row && toRule(row);
}

async function nameTaken(tx: SqlExecutor, name: string, exceptId: number): Promise<boolean> {
  return (await tx.get('SELECT id FROM alert_rules WHERE name = ? AND id <> ?', [name, exceptId])) !== undefined;
}

export async function insertRule(
  tx: SqlExecutor,
  r: AlertRuleInput,
  source: AlertRule['source'],
  now: number,
): Promise<{ ok: true; rule: AlertRule } | RuleRefusal> {
  const problem = ruleWindowProblem(r);
  if (problem !== undefined) return { ok: false, code: 'VIGIL_VALIDATION', message: problem };
  if (await nameTaken(tx, r.name, 0)) return { ok: false, code: 'VIGIL_ALERT_RULE_EXISTS' };
  const w = windowFields(r.window_seconds, r.group_by);
  const row = await tx.get<RuleRow>(
    `INSERT INTO alert_rules (name, metric, op, threshold, for_seconds, hysteresis, severity, scope_agent_id, scope_pool_name,
       scope_agent_type, enabled, window_seconds, group_by, source, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${RULE_COLUMNS}`,
    [
      r.name,
      r.metric,
      r.op,
      r.threshold,
      r.for_seconds ?? 0,
      r.hysteresis ?? null,
      r.severity ?? 'warning',
      r.scope?.agent_id ?? null,
      r.scope?.pool_name ?? null,
      r.scope?.agent_type ?? null,
      r.enabled ?? true,
      w.window_seconds,
      w.group_by,
      source,
      now,
      now,
    ],
  );
  if (!row) throw new Error('rule row missing after insert');
  return { ok: true, rule: toRule(row) };
}

export async function updateRule(
  tx: SqlExecutor,
  id: number,
  patch: AlertRulePatch,
  now: number,
): Promise<{ ok: true; rule: AlertRule } | RuleRefusal> {
  const current = await getRule(tx, id);
  if (!current) return { ok: false, code: 'VIGIL_ALERT_RULE_NOT_FOUND' };
  if (patch.name !== undefined && (await nameTaken(tx, patch.name, id))) return { ok: false, code: 'VIGIL_ALERT_RULE_EXISTS' };
  const next = { ...current, ...patch, scope: patch.scope ?? current.scope };
  const problem = ruleWindowProblem(next);
  if (problem !== undefined) return { ok: false, code: 'VIGIL_VALIDATION', message: problem };
  const w = windowFields(next.window_seconds, next.group_by);
  const row = await tx.get<RuleRow>(
    `UPDATE alert_rules SET name = ?, metric = ?, op = ?, threshold = ?, for_seconds = ?, hysteresis = ?, severity = ?,
       scope_agent_id = ?, scope_pool_name = ?, scope_agent_type = ?, enabled = ?, window_seconds = ?, group_by = ?, updated_at = ?
     WHERE id = ? RETURNING ${RULE_COLUMNS}`,
    [
      next.name,
      next.metric,
      next.op,
      next.threshold,
      next.for_seconds,
      next.hysteresis,
      next.severity,
      next.scope.agent_id ?? null,
      next.scope.pool_name ?? null,
      next.scope.agent_type ?? null,
      next.enabled,
      w.window_seconds,
      w.group_by,
      now,
      id,
    ],
  );
  if (!row) throw new Error('rule row missing after update');
  return { ok: true, rule: toRule(row) };
}

export async function deleteRule(tx: SqlExecutor, id: number): Promise<{ ok: true; rule: AlertRule } | RuleRefusal> {
  const row = await tx.get<RuleRow>(`DELETE FROM alert_rules WHERE id = ? RETURNING ${RULE_COLUMNS}`, [id]);
  return row ? { ok: true, rule: toRule(row) } : { ok: false, code: 'VIGIL_ALERT_RULE_NOT_FOUND' };
}

/** What a rule in the file means by leaving a field out. */
const fileDefaults = {
  for_seconds: 0,
  hysteresis: null as number | null,
  severity: 'warning' as AlertSeverity,
  enabled: true,
  window_seconds: null as number | null,
  group_by: null as AlertGroup | null,
};

/**
 * Makes the rules of the `--alert-rules` file the stored ones: each replaces the rule of the same
 * name (a file may redefine a default), and rules that came from an earlier file but are no longer
 * in it are deleted. Rules made through the API or the CLI are left alone.
 */
export async function syncFileRules(
  tx: SqlExecutor,
  rules: readonly AlertRuleInput[],
  now: number,
): Promise<{ ok: true; changed: number }> {
  const names = new Set(rules.map((r) => r.name));
  for (const stale of await tx.all<{ id: number; name: string }>(`SELECT id, name FROM alert_rules WHERE source = 'file'`)) {
    if (!names.has(stale.name)) await tx.run('DELETE FROM alert_rules WHERE id = ?', [stale.id]);
  }
  let changed = 0;
  for (const r of rules) {
    const row = await tx.get<RuleRow>(`SELECT ${RULE_COLUMNS} FROM alert_rules WHERE name = ?`, [r.name]);
    if (!row) {
      await insertRule(tx, r, 'file', now);
      changed++;
      continue;
    }
    // Unchanged rules keep their id and their open alerts across restarts.
    const current = toRule(row);
    const wanted = { ...fileDefaults, ...r, ...windowFields(r.window_seconds, r.group_by), scope: r.scope ?? {} };
    const same =
      current.source === 'file' &&
      (Object.keys(fileDefaults) as (keyof typeof fileDefaults)[]).every((k) => current[k] === wanted[k]) &&
      current.metric === wanted.metric &&
      current.op === wanted.op &&
      current.threshold === wanted.threshold &&
      JSON.stringify(current.scope) === JSON.stringify(wanted.scope);
    if (same) continue;
    await updateRule(tx, current.id, wanted, now);
    await tx.run(`UPDATE alert_rules SET source = 'file' WHERE id = ?`, [current.id]);
    changed++;
  }
  return { ok: true, changed };
}
