import {
  isWindowedMetric,
  type AgentProcessMetrics,
  type AlertMetric,
  type AlertScope,
  type Resources,
  type WindowedAlertMetric,
} from '@vigil/protocol';
import type { AgentSpend } from '../store/llm-spend.js';

/**
 * Where a metric's value comes from: each heartbeat (`sample`), the hub's own view of the agent,
 * which can change without a heartbeat (its error counts, its liveness), or the stored LLM calls of
 * a sliding window (`spend`).
 */
export type MetricSource = 'sample' | 'unresolved_errors' | 'error_rate' | 'offline' | 'crashed' | 'spend';

export function metricSource(metric: AlertMetric): MetricSource {
  if (isWindowedMetric(metric)) return 'spend';
  switch (metric) {
    case 'unresolved_errors':
    case 'error_rate':
    case 'offline':
    case 'crashed':
      return metric;
    default:
      return 'sample';
  }
}

/** The value a heartbeat gives a sample metric; undefined when the heartbeat did not carry it (not 0). */
export function sampleValue(metric: AlertMetric, resources: Resources, metrics: AgentProcessMetrics): number | undefined {
  switch (metric) {
    case 'cpu_percent':
      // As on the agent row (docs/seed-requirements.md): the process's own CPU when reported, else its host's.
      return metrics.cpu_percent ?? resources.cpu_percent;
    case 'memory_mb':
      return metrics.memory_mb;
    case 'memory_percent':
      return resources.memory_percent;
    case 'gpu_vram_available_gb':
      return resources.gpu_vram_available_gb;
    case 'unresolved_errors':
    case 'error_rate':
    case 'offline':
    case 'crashed':
      return undefined;
    default: {
      if (isWindowedMetric(metric)) return undefined;
      const [group, field] = metric.split('.') as ['resources' | 'metrics', string];
      const value = (group === 'resources' ? resources : metrics)[field as keyof (Resources | AgentProcessMetrics)];
      return typeof value === 'number' ? value : undefined;
    }
  }
}

/**
 * The liveness metrics of an agent with this status: `offline` while it is silent (missed heartbeats;
 * a planned stop is not a failure), `crashed` while its command crashed or could not start.
 */
export function offlineFlags(status: string, reason: string | null | undefined): { offline: 0 | 1; crashed: 0 | 1 } {
  const down = status === 'offline';
  return {
    offline: down && reason === 'missed_heartbeats' ? 1 : 0,
    crashed: down && (reason === 'crashed' || reason === 'failed_to_start') ? 1 : 0,
  };
}

export interface AgentPlacement {
  pool: string | undefined;
  type: string | undefined;
}

/** True when the rule watches this agent; every field of the scope must match. */
export function inScope(scope: AlertScope, agentId: string, placement: AgentPlacement | undefined): boolean {
  if (scope.agent_id !== undefined && scope.agent_id !== agentId) return false;
  if (scope.pool_name !== undefined && scope.pool_name !== placement?.pool) return false;
  if (scope.agent_type !== undefined && scope.agent_type !== placement?.type) return false;
  return true;
}

/** The window `error_rate` counts over. */
export const ERROR_RATE_WINDOW_MS = 60_000;

/**
 * Error reports per agent in the last minute, kept as at most 60 one-second buckets per agent so a
 * flood of errors costs no more memory than a trickle. The same counts are stored with each report
 * (`error_counts`); the engine reloads them at start with `add`, so a restart does not reset the rate.
 */
export class ErrorRate {
  private readonly buckets = new Map<string, [second: number, count: number][]>();

  record(agentId: string, at: number): void {
    this.add(agentId, Math.floor(at / 1000), 1, at);
  }

  /** Adds `count` reports in `second`; seconds come in ascending order per agent. */
  add(agentId: string, second: number, count: number, now: number): void {
    let list = this.buckets.get(agentId);
    if (!list) this.buckets.set(agentId, (list = []));
    const last = list.at(-1);
    if (last && last[0] === second) last[1] += count;
    else list.push([second, count]);
    this.prune(agentId, list, now);
  }

  /** Reports received in the window ending at `now`. */
  rate(agentId: string, now: number): number {
    const list = this.buckets.get(agentId);
    if (!list) return 0;
    this.prune(agentId, list, now);
    return list.reduce((sum, [, count]) => sum + count, 0);
  }

  /** True while any agent has reports in the window ending at `now`. */
  active(now: number): boolean {
    for (const [agentId, list] of this.buckets) this.prune(agentId, list, now);
    return this.buckets.size > 0;
  }

  private prune(agentId: string, list: [number, number][], now: number): void {
    const oldest = Math.floor((now - ERROR_RATE_WINDOW_MS) / 1000);
    let drop = 0;
    while (drop < list.length && (list[drop] as [number, number])[0] <= oldest) drop++;
    if (drop > 0) list.splice(0, drop);
    if (list.length === 0) this.buckets.delete(agentId);
  }
}

/** Sums to add spend into: a pool's total is its agents' sums added up. */
export const NO_SPEND: Omit<AgentSpend, 'agent_id'> = {
  cost_usd: 0,
  input_tokens: 0,
  output_tokens: 0,
  cache_read_tokens: 0,
  cache_creation_tokens: 0,
};

export function addSpend(a: Omit<AgentSpend, 'agent_id'>, b: Omit<AgentSpend, 'agent_id'>): Omit<AgentSpend, 'agent_id'> {
  return {
    cost_usd: a.cost_usd + b.cost_usd,
    input_tokens: a.input_tokens + b.input_tokens,
    output_tokens: a.output_tokens + b.output_tokens,
    cache_read_tokens: a.cache_read_tokens + b.cache_read_tokens,
    cache_creation_tokens: a.cache_creation_tokens + b.cache_creation_tokens,
  };
}

/** The figure a spend metric reads from a window's sums. */
export function spendValue(metric: WindowedAlertMetric, s: Omit<AgentSpend, 'agent_id'>): number {
  switch (metric) {
    case 'cost_usd':
      // Dollars added across agents: rounded again so $0.1 + $0.2 reads as 0.3.
      return Math.round(s.cost_usd * 1e6) / 1e6;
    case 'tokens.input':
      return s.input_tokens;
    case 'tokens.output':
      return s.output_tokens;
    case 'tokens.cache_read':
      return s.cache_read_tokens;
    case 'tokens.cache_creation':
      return s.cache_creation_tokens;
    case 'tokens.total':
      return s.input_tokens + s.output_tokens + s.cache_read_tokens + s.cache_creation_tokens;
  }
}
