import type { SqlExecutor } from './db.js';

export type UsageGroup = 'agent' | 'model' | 'pool';

export interface UsageRow {
  key: string;
  calls: number;
  errors: number;
  error_rate: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_creation_tokens: number;
  cost_usd: number;
  p50_latency_ms: number | null;
  p95_latency_ms: number | null;
}

const GROUP_EXPR: Record<UsageGroup, string> = { agent: 't.agent_id', model: 't.model', pool: 'a.pool_name' };

/** The calls in [from, to) by their own time, with the group key; `pool` joins the agent. */
const scope = (group: UsageGroup): string =>
  `SELECT ${GROUP_EXPR[group]} AS g, t.status, t.input_tokens, t.output_tokens, t.cache_read_tokens, t.cache_creation_tokens,
     t.cost_usd, t.latency_ms
   FROM llm_traces t${group === 'pool' ? ' JOIN agents a ON a.agent_id = t.agent_id' : ''}
   WHERE t.timestamp >= ? AND t.timestamp < ?`;

/**
 * LLM usage per agent, model or pool over a time range: calls, error rate, the four token counts,
 * cost, and nearest-rank p50/p95 latency. Two set-based statements over the `timestamp` index,
 * whatever the number of groups; percentiles use window functions, which both databases have.
 */
export async function llmUsage(db: SqlExecutor, group: UsageGroup, from: number, to: number): Promise<UsageRow[]> {
  const totals = await db.all<Record<string, unknown>>(
    `SELECT g, COUNT(*) AS calls, SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END) AS errors,
       SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens, SUM(cache_read_tokens) AS cache_read_tokens,
       SUM(cache_creation_tokens) AS cache_creation_tokens, SUM(cost_usd) AS cost_usd
     FROM (${scope(group)}) x GROUP BY g ORDER BY g`,
    [from, to],
  );
  const ranks = await db.all<{ g: string; latency_ms: number; rn: number; n: number }>(
    `SELECT g, latency_ms, rn, n FROM (
       SELECT g, latency_ms, ROW_NUMBER() OVER (PARTITION BY g ORDER BY latency_ms) AS rn, COUNT(*) OVER (PARTITION BY g) AS n
       FROM (${scope(group)}) x WHERE latency_ms IS NOT NULL) y
     WHERE rn = (n * 50 + 99) / 100 OR rn = (n * 95 + 99) / 100`,
    [from, to],
  );
  const pct = new Map<string, { p50: number | null; p95: number | null }>();
  for (const r of ranks) {
    const n = Number(r.n);
    const rn = Number(r.rn);
    const entry = pct.get(String(r.g)) ?? { p50: null, p95: null };
    if (rn === Math.floor((n * 50 + 99) / 100)) entry.p50 = Number(r.latency_ms);
    if (rn === Math.floor((n * 95 + 99) / 100)) entry.p95 = Number(r.latency_ms);
    pct.set(String(r.g), entry);
  }
  const num = (v: unknown): number => Number(v ?? 0);
  return totals.map((t) => {
    const key = String(t['g']);
    const calls = num(t['calls']);
    const errors = num(t['errors']);
    return {
      key,
      calls,
      errors,
      error_rate: calls > 0 ? errors / calls : 0,
      input_tokens: num(t['input_tokens']),
      output_tokens: num(t['output_tokens']),
      cache_read_tokens: num(t['cache_read_tokens']),
      cache_creation_tokens: num(t['cache_creation_tokens']),
      // Summed as doubles; rounded to the micro-dollar, the precision costs are reported in.
      cost_usd: Math.round(num(t['cost_usd']) * 1e6) / 1e6,
      p50_latency_ms: pct.get(key)?.p50 ?? null,
      p95_latency_ms: pct.get(key)?.p95 ?? null,
    };
  });
}

export interface AgentLlmTotals {
  /** The window the totals cover, by the hub's receive time. */
  since: number;
  calls: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_creation_tokens: number;
  cost_usd: number;
}

/** One agent's LLM totals since `since`, read through the (agent_id, received_at) index. */
export async function agentLlmTotals(db: SqlExecutor, agentId: string, since: number): Promise<AgentLlmTotals> {
  const r = await db.get<Record<string, unknown>>(
    `SELECT COUNT(*) AS calls, SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END) AS errors, SUM(input_tokens) AS input_tokens,
       SUM(output_tokens) AS output_tokens, SUM(cache_read_tokens) AS cache_read_tokens,
       SUM(cache_creation_tokens) AS cache_creation_tokens, SUM(cost_usd) AS cost_usd
     FROM llm_traces WHERE agent_id = ? AND received_at >= ?`,
    [agentId, since],
  );
  const num = (v: unknown): number => Number(v ?? 0);
  return {
    since,
    calls: num(r?.['calls']),
    errors: num(r?.['errors']),
    input_tokens: num(r?.['input_tokens']),
    output_tokens: num(r?.['output_tokens']),
    cache_read_tokens: num(r?.['cache_read_tokens']),
    cache_creation_tokens: num(r?.['cache_creation_tokens']),
    cost_usd: Math.round(num(r?.['cost_usd']) * 1e6) / 1e6,
  };
}
