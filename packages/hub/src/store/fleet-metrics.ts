import type { SqlExecutor } from './db.js';
import { NOT_DELETED } from './agents.js';

/** Agents of one status, pool and type, with their unresolved error groups and firing alerts. */
export interface FleetGroup {
  status: string;
  pool: string;
  type: string;
  agents: number;
  unresolvedErrors: number;
  firingAlerts: number;
}

/** One agent's current figures; null where it never reported one. */
export interface AgentFigures {
  agentId: string;
  pool: string;
  cpuPercent: number | null;
  memoryMb: number | null;
  gpuVramAvailableGb: number | null;
  unresolvedErrors: number;
  firingAlerts: number;
}

/** LLM calls stored after `afterId`, summed per pool, model and (when asked) agent. */
export interface LlmSums {
  pool: string;
  agentId: string | null;
  model: string;
  calls: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  costUsd: number;
  maxId: number;
}

const num = (v: unknown): number => Number(v ?? 0);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** Each live agent with its open error groups and firing alerts: two grouped subqueries, joined once. */
const AGENTS_WITH_COUNTS = `
  SELECT a.agent_id, a.pool_name, a.agent_type, a.status, a.cpu_percent, a.memory_mb, a.gpu_vram_available_gb,
    COALESCE(e.n, 0) AS errors, COALESCE(f.n, 0) AS firing
  FROM agents a
  LEFT JOIN (SELECT agent_id, COUNT(*) AS n FROM error_logs WHERE resolved = FALSE GROUP BY agent_id) e ON e.agent_id = a.agent_id
  LEFT JOIN (SELECT agent_id, COUNT(*) AS n FROM alerts WHERE state = 'firing' GROUP BY agent_id) f ON f.agent_id = a.agent_id
  WHERE a.${NOT_DELETED}`;

/** The fleet by status, pool and type: one statement, however many agents there are. */
export async function fleetGroups(db: SqlExecutor): Promise<FleetGroup[]> {
  const rows = await db.all<Record<string, unknown>>(
    `SELECT status, pool_name, agent_type, COUNT(*) AS agents, SUM(errors) AS errors, SUM(firing) AS firing
     FROM (${AGENTS_WITH_COUNTS}) x GROUP BY status, pool_name, agent_type`,
  );
  return rows.map((r) => ({
    status: String(r['status']),
    pool: String(r['pool_name']),
    type: String(r['agent_type']),
    agents: num(r['agents']),
    unresolvedErrors: num(r['errors']),
    firingAlerts: num(r['firing']),
  }));
}

/** Every live agent's current figures: one statement. */
export async function agentFigures(db: SqlExecutor): Promise<AgentFigures[]> {
  const rows = await db.all<Record<string, unknown>>(AGENTS_WITH_COUNTS);
  return rows.map((r) => ({
    agentId: String(r['agent_id']),
    pool: String(r['pool_name']),
    cpuPercent: numOrNull(r['cpu_percent']),
    memoryMb: numOrNull(r['memory_mb']),
    gpuVramAvailableGb: numOrNull(r['gpu_vram_available_gb']),
    unresolvedErrors: num(r['errors']),
    firingAlerts: num(r['firing']),
  }));
}

/**
 * LLM calls with an id above `afterId` and at most `upTo`, summed per pool and model, and per agent
 * when `perAgent`. Reading by id lets the caller keep running totals that retention purges cannot make
 * go down; `upTo` (store/id-horizon.ts) keeps it from passing a lower id another hub has yet to commit.
 */
export async function llmSumsAfter(db: SqlExecutor, afterId: number, upTo: number, perAgent: boolean): Promise<LlmSums[]> {
  const agentCol = perAgent ? 't.agent_id' : 'NULL';
  const rows = await db.all<Record<string, unknown>>(
    `SELECT a.pool_name, ${agentCol} AS agent_id, COALESCE(t.model, 'unknown') AS model, COUNT(*) AS calls,
       SUM(CASE WHEN t.status = 'error' THEN 1 ELSE 0 END) AS errors,
       SUM(t.input_tokens) AS input_tokens, SUM(t.output_tokens) AS output_tokens,
       SUM(t.cache_read_tokens) AS cache_read_tokens, SUM(t.cache_creation_tokens) AS cache_creation_tokens,
       SUM(t.cost_usd) AS cost_usd, MAX(t.id) AS max_id
     FROM llm_traces t JOIN agents a ON a.agent_id = t.agent_id
     WHERE t.id > ? AND t.id <= ?
     GROUP BY a.pool_name, ${perAgent ? 't.agent_id, ' : ''}COALESCE(t.model, 'unknown')`,
    [afterId, upTo],
  );
  return rows.map((r) => ({
    pool: String(r['pool_name']),
    agentId: r['agent_id'] === null || r['agent_id'] === undefined ? null : String(r['agent_id']),
    model: String(r['model']),
    calls: num(r['calls']),
    errors: num(r['errors']),
    inputTokens: num(r['input_tokens']),
    outputTokens: num(r['output_tokens']),
    cacheReadTokens: num(r['cache_read_tokens']),
    cacheCreationTokens: num(r['cache_creation_tokens']),
    costUsd: num(r['cost_usd']),
    maxId: num(r['max_id']),
  }));
}
