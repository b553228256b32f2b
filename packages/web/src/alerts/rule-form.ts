import type { WindowedAlertMetric } from '@vigil/protocol';
import type { Agent, AlertMetric, AlertOp, AlertRule, AlertScope, AlertSeverity } from '../api/types.js';

/**
 * The rule form's values and its checks, the same bounds the API's schema sets
 * (packages/protocol/src/alert.ts), so most mistakes are named before the request; the API's own
 * answer is still shown for anything else (a name that exists, say).
 */

// Records over the protocol's unions: a metric added there and not here fails to compile.
const METRICS: Record<AlertMetric, true> = {
  cpu_percent: true,
  memory_mb: true,
  memory_percent: true,
  gpu_vram_available_gb: true,
  unresolved_errors: true,
  error_rate: true,
  offline: true,
  crashed: true,
  'resources.cpu_percent': true,
  'resources.cpu_cores_physical': true,
  'resources.cpu_cores_available': true,
  'resources.cpu_load_1min': true,
  'resources.cpu_load_5min': true,
  'resources.memory_percent': true,
  'resources.memory_available_gb': true,
  'resources.gpu_vram_total_gb': true,
  'resources.gpu_vram_available_gb': true,
  'resources.gpu_process_vram_gb': true,
  'resources.net_rx_bps': true,
  'resources.net_tx_bps': true,
  'metrics.memory_mb': true,
  'metrics.message_count': true,
  'metrics.cpu_percent': true,
  'metrics.io_read_bps': true,
  'metrics.io_write_bps': true,
  cost_usd: true,
  'tokens.input': true,
  'tokens.output': true,
  'tokens.cache_read': true,
  'tokens.cache_creation': true,
  'tokens.total': true,
};
// Spend and token metrics are sums over a window of stored LLM calls; only they take a window and a grouping.
// A record over the protocol's union (a type import: the page bundles none of the protocol's code).
const WINDOWED: Record<WindowedAlertMetric, true> = {
  cost_usd: true,
  'tokens.input': true,
  'tokens.output': true,
  'tokens.cache_read': true,
  'tokens.cache_creation': true,
  'tokens.total': true,
};
export const isWindowed = (m: AlertMetric): boolean => m in WINDOWED;
const MAX_WINDOW_SECONDS = 7 * 86_400;
export const METRIC_NAMES = Object.keys(METRICS) as AlertMetric[];
export const OPS: readonly AlertOp[] = ['>', '>=', '<', '<='];
export const SEVERITY_NAMES: readonly AlertSeverity[] = ['info', 'warning', 'critical'];

const MAX_FOR_SECONDS = 7 * 86_400;
const MAX_ABS = 1e15;
const LABEL = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;

/** The form as typed: strings, as inputs hold them. */
export interface RuleDraft {
  name: string;
  metric: AlertMetric;
  op: AlertOp;
  threshold: string;
  for_seconds: string;
  severity: AlertSeverity;
  hysteresis: string;
  agent_id: string;
  pool_name: string;
  agent_type: string;
  enabled: boolean;
  /** Spend and token metrics only: the sliding window, and whether each agent or each pool is summed. */
  window_seconds: string;
  group_by: 'agent' | 'pool';
}

export const EMPTY_DRAFT: RuleDraft = {
  name: '',
  metric: 'cpu_percent',
  op: '>',
  threshold: '',
  for_seconds: '0',
  severity: 'warning',
  hysteresis: '',
  agent_id: '',
  pool_name: '',
  agent_type: '',
  enabled: true,
  window_seconds: '3600',
  group_by: 'agent',
};

export function draftOf(r: AlertRule): RuleDraft {
  return {
    name: r.name,
    metric: r.metric,
    op: r.op,
    threshold: String(r.threshold),
    for_seconds: String(r.for_seconds),
    severity: r.severity,
    hysteresis: r.hysteresis === null ? '' : String(r.hysteresis),
    agent_id: r.scope.agent_id ?? '',
    pool_name: r.scope.pool_name ?? '',
    agent_type: r.scope.agent_type ?? '',
    enabled: r.enabled,
    window_seconds: r.window_seconds === null || r.window_seconds === undefined ? '3600' : String(r.window_seconds),
    group_by: r.group_by === 'pool' ? 'pool' : 'agent',
  };
}

export interface RuleBody {
  name: string;
  metric: AlertMetric;
  op: AlertOp;
  threshold: number;
  for_seconds: number;
  severity: AlertSeverity;
  scope: AlertScope;
  enabled: boolean;
  /** Null on an edit: back to the default margin. Left out on a create. */
  hysteresis?: number | null;
  /** Windowed metrics only; null on an edit that moves a rule off one. */
  window_seconds?: number | null;
  group_by?: 'agent' | 'pool';
}

/** The request body, or the first problem, worded as the API words it (`body.<field> …`). */
export function ruleBody(d: RuleDraft, editing: boolean): { ok: true; body: RuleBody } | { ok: false; message: string } {
  const name = d.name.trim();
  if (name.length < 1 || name.length > 100) return { ok: false, message: 'body.name must be 1 to 100 characters' };
  if (!(d.metric in METRICS)) return { ok: false, message: 'body.metric is not a metric a rule can watch' };
  if (!OPS.includes(d.op)) return { ok: false, message: 'body.op must be one of ">", ">=", "<", "<="' };
  const threshold = number(d.threshold);
  if (threshold === null) return { ok: false, message: 'body.threshold must be a number' };
  if (Math.abs(threshold) > MAX_ABS) return { ok: false, message: 'body.threshold must be between -1e15 and 1e15' };
  const forSeconds = number(d.for_seconds === '' ? '0' : d.for_seconds);
  if (forSeconds === null || !Number.isInteger(forSeconds))
    return { ok: false, message: 'body.for_seconds must be a whole number of seconds' };
  if (forSeconds < 0) return { ok: false, message: 'body.for_seconds must be >= 0' };
  if (forSeconds > MAX_FOR_SECONDS) return { ok: false, message: `body.for_seconds must be <= ${MAX_FOR_SECONDS}` };
  let hysteresis: number | null | undefined = editing ? null : undefined;
  if (d.hysteresis.trim() !== '') {
    const h = number(d.hysteresis);
    if (h === null || h < 0 || h > MAX_ABS) return { ok: false, message: 'body.hysteresis must be a number >= 0' };
    hysteresis = h;
  }
  const scope: AlertScope = {};
  for (const key of ['agent_id', 'pool_name', 'agent_type'] as const) {
    const v = d[key].trim();
    if (v === '') continue;
    if (key !== 'agent_id' && (v.length > 100 || !LABEL.test(v))) {
      return { ok: false, message: `body.scope.${key} must start with a letter or digit and hold only letters, digits, _ . : -` };
    }
    scope[key] = v;
  }
  const body: RuleBody = {
    name,
    metric: d.metric,
    op: d.op,
    threshold,
    for_seconds: forSeconds,
    severity: d.severity,
    scope,
    enabled: d.enabled,
  };
  if (hysteresis !== undefined) body.hysteresis = hysteresis;
  if (isWindowed(d.metric)) {
    const w = number(d.window_seconds);
    if (w === null || !Number.isInteger(w)) return { ok: false, message: 'body.window_seconds must be a whole number of seconds' };
    if (w < 1 || w > MAX_WINDOW_SECONDS) return { ok: false, message: `body.window_seconds must be 1 to ${MAX_WINDOW_SECONDS}` };
    body.window_seconds = w;
    body.group_by = d.group_by;
  } else if (editing) body.window_seconds = null;
  return { ok: true, body };
}

function number(s: string): number | null {
  if (s.trim() === '') return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

/** The agents a scope watches now: every field given must match, as the engine matches them. */
export function scopeMatches<A extends Pick<Agent, 'agent_id' | 'pool_name' | 'agent_type'>>(agents: Iterable<A>, scope: AlertScope): A[] {
  const out: A[] = [];
  for (const a of agents) {
    if (scope.agent_id !== undefined && a.agent_id !== scope.agent_id) continue;
    if (scope.pool_name !== undefined && a.pool_name !== scope.pool_name) continue;
    if (scope.agent_type !== undefined && a.agent_type !== scope.agent_type) continue;
    out.push(a);
  }
  return out;
}

/** A rule's condition in one line: `cpu_percent > 80 for 120 s`. */
export function conditionText(r: Pick<AlertRule, 'metric' | 'op' | 'threshold' | 'for_seconds'>): string {
  return `${r.metric} ${r.op} ${r.threshold}${r.for_seconds > 0 ? ` for ${r.for_seconds} s` : ''}`;
}

export function scopeText(s: AlertScope): string {
  const parts = [s.agent_id && `agent ${s.agent_id}`, s.pool_name && `pool ${s.pool_name}`, s.agent_type && `type ${s.agent_type}`].filter(
    Boolean,
  );
  return parts.length === 0 ? 'every agent' : parts.join(', ');
}
