import type { SqlExecutor } from './db.js';

/** One agent's LLM spend over a window: the sums the `cost_usd` and `tokens.*` alert metrics read. */
export interface AgentSpend {
  agent_id: string;
  cost_usd: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_creation_tokens: number;
}

/**
 * Every agent's LLM spend over the calls received after `after` (exclusive) and up to `until`
 * (inclusive): one set-based statement over the `received_at` index, whatever the size of the fleet.
 * The hub's receive time, not the call's own, so a late or back-dated report counts when it arrives
 * and the window slides with the hub's clock.
 */
export async function spendByAgent(db: SqlExecutor, after: number, until: number): Promise<AgentSpend[]> {
  const rows = await db.all<Record<string, unknown>>(
    `SELECT agent_id, SUM(cost_usd) AS cost_usd, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens,
       SUM(cache_read_tokens) AS cache_read_tokens, SUM(cache_creation_tokens) AS cache_creation_tokens
     FROM llm_traces WHERE received_at > ? AND received_at <= ? GROUP BY agent_id`,
    [after, until],
  );
  const num = (v: unknown): number => Number(v ?? 0);
  return rows.map((r) => ({
    agent_id: String(r['agent_id']),
    // Summed as doubles; rounded to the micro-dollar, the precision costs are reported in.
    cost_usd: Math.round(num(r['cost_usd']) * 1e6) / 1e6,
    input_tokens: num(r['input_tokens']),
    output_tokens: num(r['output_tokens']),
    cache_read_tokens: num(r['cache_read_tokens']),
    cache_creation_tokens: num(r['cache_creation_tokens']),
  }));
}
