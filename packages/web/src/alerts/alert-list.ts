import type { Alert, AlertChange, AlertSeverity, AlertStateName } from '../api/types.js';

/**
 * The Alerts page's list as pure functions: live `alert` messages merged into what was fetched,
 * the order people read it in (open first), and the filters.
 */

/** Puts one live change into the list: an alert already shown is replaced, a new one added; `cancelled` (pending that never fired) drops it. */
export function mergeAlert(list: readonly Alert[], change: AlertChange, alert: Alert): Alert[] {
  const rest = list.filter((a) => a.id !== alert.id);
  if (change === 'cancelled') return rest;
  const known = list.find((a) => a.id === alert.id);
  // Frames come in commit order, but a refetch can race one: never let an older copy undo a newer one.
  if (known && isNewer(known, alert)) return [...list];
  return [alert, ...rest];
}

/** Whether `a` has moved further along its life than `b` (resolved > firing > pending; acknowledged counts). */
function isNewer(a: Alert, b: Alert): boolean {
  const rank = (x: Alert) => STATE_RANK[x.state] * 2 + (x.acknowledged_at === null ? 0 : 1);
  return rank(a) > rank(b);
}

const STATE_RANK: Record<AlertStateName, number> = { pending: 0, firing: 1, resolved: 2 };
const SEVERITY_RANK: Record<AlertSeverity, number> = { critical: 0, warning: 1, info: 2 };

/** Firing first, then pending, each worst severity first and then longest-standing; then resolved, latest first. */
export function sortAlerts(list: readonly Alert[]): Alert[] {
  const open = (a: Alert) => (a.state === 'firing' ? 0 : a.state === 'pending' ? 1 : 2);
  return [...list].sort((a, b) => {
    const o = open(a) - open(b);
    if (o !== 0) return o;
    if (a.state === 'resolved') return (b.resolved_at ?? 0) - (a.resolved_at ?? 0) || b.id - a.id;
    return SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || since(a) - since(b) || a.id - b.id;
  });
}

/** When an open alert began, as shown: when it fired, or when its condition first held while pending. */
export function since(a: Alert): number {
  return a.started_at ?? a.pending_since;
}

export interface AlertFilters {
  state: 'open' | AlertStateName | 'all';
  severity: AlertSeverity | 'all';
  /** Substring of the rule's name, any case; '' for all. */
  rule: string;
  /** Substring of the agent id, any case; '' for all. */
  agent: string;
  /** Agents of this pool only (needs `poolOf`); '' for all. */
  pool: string;
}

export const NO_FILTERS: AlertFilters = { state: 'all', severity: 'all', rule: '', agent: '', pool: '' };

export function filterAlerts(
  list: readonly Alert[],
  f: AlertFilters,
  poolOf: (agentId: string) => string | undefined = () => undefined,
): Alert[] {
  const rule = f.rule.trim().toLowerCase();
  const agent = f.agent.trim().toLowerCase();
  return list.filter(
    (a) =>
      (f.state === 'all' || (f.state === 'open' ? a.state !== 'resolved' : a.state === f.state)) &&
      (f.severity === 'all' || a.severity === f.severity) &&
      (rule === '' || a.rule_name.toLowerCase().includes(rule)) &&
      (agent === '' || a.agent_id.toLowerCase().includes(agent)) &&
      (f.pool === '' || poolOf(a.agent_id) === f.pool),
  );
}

/** The firing alerts by id, kept up to date by live changes (the header badge and the overview card count them). */
export function applyToFiring(firing: ReadonlyMap<number, Alert>, alert: Alert): Map<number, Alert> {
  const next = new Map(firing);
  if (alert.state === 'firing') next.set(alert.id, alert);
  else next.delete(alert.id);
  return next;
}
