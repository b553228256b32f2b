import type { GpuDevice, GpuType, Resources } from '@vigil/protocol';
import { agentListColumns, toListedAgent, type Agent, type AgentRow } from './agents.js';
import { jsonColumn, Where, type Dialect, type SqlExecutor } from './db.js';

export interface CapacityQuery {
  /** Free VRAM each of the job's GPUs needs: a job runs on a GPU, so one GPU must have it all. */
  min_gpu_vram_gb?: number | undefined;
  /** GPUs the job needs, each with `min_gpu_vram_gb` free (default 1 when a GPU condition is given). */
  gpu_count?: number | undefined;
  min_cpu_cores?: number | undefined;
  min_memory_gb?: number | undefined;
  pool?: string | undefined;
  capability?: string | undefined;
  gpu_type?: GpuType | undefined;
  limit: number;
}

/** A GPU that fits the job, as a capacity answer names it. */
export type FittingGpu = Pick<GpuDevice, 'index' | 'uuid' | 'bus_id' | 'name' | 'vram_free_gb'>;

/** What active claims hold of an agent (already subtracted from the free figures a capacity answer judges by). */
export interface Reserved {
  claims: number;
  cpu_cores: number;
  memory_gb: number;
  /** VRAM of all claimed GPUs together. */
  gpu_vram_gb: number;
}

export interface CapacityMatch extends Agent {
  /**
   * With a GPU condition: the agent's GPUs that have the VRAM free once claims are subtracted,
   * tightest fit first; null for an agent that reports no `gpus` array, which was judged by its
   * `gpu_vram_available_gb` as one GPU.
   */
  fitting_gpus?: FittingGpu[] | null;
  reserved: Reserved;
}

/** A claim's hold on one agent, as the capacity query subtracts it. */
export interface ActiveHold {
  cpu_cores: number;
  memory_gb: number;
  gpu_vram_gb: number;
  gpu_count: number;
  /** The claimed GPUs' indexes; null when the agent was judged as one GPU or no GPU was claimed. */
  gpus: number[] | null;
}

/** SQL that is true for a claim still holding capacity at the time bound to `?`. */
export const ACTIVE_CLAIM = 'released_at IS NULL AND expires_at > ?';

interface MatchRow extends AgentRow {
  reserved_claims: number | string | null;
  reserved_cpu: number | null;
  reserved_mem: number | null;
  reserved_vram: number | null;
}

/**
 * Online agents with room for the job once active claims are subtracted from what their latest
 * heartbeat measured (the capacity query of docs/seed-requirements.md), best fit first: the smallest sufficient free VRAM,
 * then cores, then memory, so big machines stay free for big jobs. Cores and memory are judged in SQL;
 * a GPU condition is judged in SQL on the measured figures (claims only lower them), then per GPU with
 * each GPU's claims subtracted, reading further pages until `limit` agents fit or none are left.
 *
 * The rule between measurement and reservation (docs/capacity.md): a claim reserves on top of what the
 * agent measured when it was asked, for as long as its lease runs, so two claims are never handed the
 * same free capacity; a job that runs under a claim it still holds shows in both, so orchestrators
 * release a claim once its job is running (or let a short lease lapse).
 */
export async function findCapacity(db: SqlExecutor, dialect: Dialect, q: CapacityQuery, now: number): Promise<CapacityMatch[]> {
  const w = new Where().add("status = 'online'").add('deleted_at IS NULL');
  const order: string[] = [];
  const gpu = gpuCondition(q);
  if (gpu) {
    // Agents without a `gpus` array (clients of the base resources dict) are judged by the scalar, as one GPU.
    w.add(
      `COALESCE(${dialect.jsonArrayCountAtLeast('resource_metrics', 'gpus', 'vram_free_gb')},
         CASE WHEN gpu_vram_available_gb >= ? THEN 1 ELSE 0 END) >= ?`,
      gpu.min,
      gpu.min,
      gpu.count,
    );
    order.push('gpu_vram_available_gb - COALESCE(reserved_vram, 0) ASC');
  }
  if (q.min_cpu_cores !== undefined) {
    w.add('cpu_cores_available - COALESCE(reserved_cpu, 0) >= ?', q.min_cpu_cores);
    order.push('cpu_cores_available - COALESCE(reserved_cpu, 0) ASC');
  }
  if (q.min_memory_gb !== undefined) {
    w.add('memory_available_gb - COALESCE(reserved_mem, 0) >= ?', q.min_memory_gb);
    order.push('memory_available_gb - COALESCE(reserved_mem, 0) ASC');
  }
  if (q.pool !== undefined) w.add('pool_name = ?', q.pool);
  if (q.gpu_type !== undefined) w.add('gpu_type = ?', q.gpu_type);
  if (q.capability !== undefined) w.add(dialect.jsonArrayContains('capabilities'), q.capability);
  order.push('performance_score DESC', 'agent_id ASC');
  const sql = `SELECT ${agentListColumns(dialect)}, reserved_claims, reserved_cpu, reserved_mem, reserved_vram
    FROM agents LEFT JOIN (
      SELECT agent_id AS reserved_agent, COUNT(*) AS reserved_claims, SUM(cpu_cores) AS reserved_cpu,
        SUM(memory_gb) AS reserved_mem, SUM(gpu_vram_gb * gpu_count) AS reserved_vram
      FROM capacity_claims WHERE ${ACTIVE_CLAIM} GROUP BY agent_id
    ) reserved ON reserved_agent = agent_id
    ${w.sql()} ORDER BY ${order.join(', ')} LIMIT ? OFFSET ?`;
  const found: CapacityMatch[] = [];
  // Without a GPU condition SQL judges everything: one page. With one, a page's agents may lose GPUs to
  // claims, so read on (in pages a little larger than what is still wanted) until enough fit.
  const pageSize = gpu ? q.limit + 50 : q.limit;
  for (let offset = 0; ; offset += pageSize) {
    const rows = await db.all<MatchRow>(sql, [now, ...w.params, pageSize, offset]);
    const holds = gpu
      ? await activeHolds(
          db,
          rows.filter((r) => Number(r.reserved_claims ?? 0) > 0).map((r) => r.agent_id),
          now,
        )
      : new Map();
    for (const row of rows) {
      const agent = toListedAgent(row) as CapacityMatch;
      // The join's own columns are not part of an agent's answer.
      for (const key of ['reserved_claims', 'reserved_cpu', 'reserved_mem', 'reserved_vram'] as const)
        delete (agent as unknown as Record<string, unknown>)[key];
      agent.reserved = {
        claims: Number(row.reserved_claims ?? 0),
        cpu_cores: Number(row.reserved_cpu ?? 0),
        memory_gb: Number(row.reserved_mem ?? 0),
        gpu_vram_gb: Number(row.reserved_vram ?? 0),
      };
      if (gpu) {
        const fitting = unreservedGpus(agent, holds.get(agent.agent_id) ?? [], gpu.min);
        if (fitting !== null && fitting.length < gpu.count) continue;
        if (fitting === null && (agent.resource_metrics.gpu_vram_available_gb ?? 0) - agent.reserved.gpu_vram_gb < gpu.min) continue;
        agent.fitting_gpus = fitting;
      }
      found.push(agent);
      if (found.length === q.limit) return found;
    }
    if (!gpu || rows.length < pageSize) return found;
  }
}

/** The active claims on each of `agentIds`. */
export async function activeHolds(db: SqlExecutor, agentIds: readonly string[], now: number): Promise<Map<string, ActiveHold[]>> {
  const holds = new Map<string, ActiveHold[]>();
  if (agentIds.length === 0) return holds;
  const rows = await db.all<{
    agent_id: string;
    cpu_cores: number;
    memory_gb: number;
    gpu_vram_gb: number;
    gpu_count: number;
    gpus: unknown;
  }>(
    `SELECT agent_id, cpu_cores, memory_gb, gpu_vram_gb, gpu_count, gpus FROM capacity_claims
     WHERE agent_id IN (${agentIds.map(() => '?').join(', ')}) AND ${ACTIVE_CLAIM}`,
    [...agentIds, now],
  );
  for (const r of rows) {
    const list = holds.get(r.agent_id) ?? [];
    list.push({
      cpu_cores: Number(r.cpu_cores),
      memory_gb: Number(r.memory_gb),
      gpu_vram_gb: Number(r.gpu_vram_gb),
      gpu_count: Number(r.gpu_count),
      gpus: jsonColumn<{ index: number }[] | null>(r.gpus, null)?.map((g) => g.index) ?? null,
    });
    holds.set(r.agent_id, list);
  }
  return holds;
}

/**
 * The agent's GPUs with `min` GB free once the claims on each are subtracted, tightest fit first
 * (`vram_free_gb` is what is left unclaimed); null when the agent reports no `gpus` array.
 */
export function unreservedGpus(agent: Pick<Agent, 'resource_metrics'>, holds: readonly ActiveHold[], min: number): FittingGpu[] | null {
  const gpus = agent.resource_metrics.gpus;
  if (!Array.isArray(gpus)) return null;
  const claimed = new Map<number, number>();
  for (const h of holds) for (const index of h.gpus ?? []) claimed.set(index, (claimed.get(index) ?? 0) + h.gpu_vram_gb);
  return fittingGpus({ gpus: gpus.map((g) => ({ ...g, vram_free_gb: g.vram_free_gb - (claimed.get(g.index) ?? 0) })) } as Resources, min);
}

function gpuCondition(q: CapacityQuery): { min: number; count: number } | undefined {
  if (q.min_gpu_vram_gb === undefined && q.gpu_count === undefined) return undefined;
  return { min: q.min_gpu_vram_gb ?? 0, count: q.gpu_count ?? 1 };
}

/** The GPUs with `min` GB free, the tightest fit first; null when the agent reports no `gpus`. */
export function fittingGpus(resources: Resources, min: number): FittingGpu[] | null {
  if (!Array.isArray(resources.gpus)) return null;
  return resources.gpus
    .filter((g) => g.vram_free_gb >= min)
    .sort((a, b) => a.vram_free_gb - b.vram_free_gb || a.index - b.index)
    .map(({ index, uuid, bus_id, name, vram_free_gb }) => {
      const fit: FittingGpu = { index, vram_free_gb };
      if (uuid !== undefined) fit.uuid = uuid;
      if (bus_id !== undefined) fit.bus_id = bus_id;
      if (name !== undefined) fit.name = name;
      return fit;
    });
}
