import type { GpuDevice, GpuType, Resources } from '@vigil/protocol';
import { agentListColumns, toListedAgent, type Agent, type AgentRow } from './agents.js';
import { Where, type Dialect, type SqlExecutor } from './db.js';

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

export interface CapacityMatch extends Agent {
  /**
   * With a GPU condition: the agent's GPUs that have the VRAM free, fullest-fitting first; null for an
   * agent that reports no `gpus` array, which was judged by its `gpu_vram_available_gb` as one GPU.
   */
  fitting_gpus?: FittingGpu[] | null;
}

/**
 * Online agents whose latest heartbeat leaves room for the job (the capacity query of docs/seed-requirements.md), best fit
 * first: the smallest sufficient free VRAM, then cores, then memory, so big machines stay free for
 * big jobs. Reads plain columns the heartbeat keeps current, so it is one indexed query on either database;
 * a GPU condition counts the fitting GPUs in the stored `gpus` array of the rows that pass the rest.
 */
export async function findCapacity(db: SqlExecutor, dialect: Dialect, q: CapacityQuery): Promise<CapacityMatch[]> {
  const w = new Where().add("status = 'online'");
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
    order.push('gpu_vram_available_gb ASC');
  }
  if (q.min_cpu_cores !== undefined) {
    w.add('cpu_cores_available >= ?', q.min_cpu_cores);
    order.push('cpu_cores_available ASC');
  }
  if (q.min_memory_gb !== undefined) {
    w.add('memory_available_gb >= ?', q.min_memory_gb);
    order.push('memory_available_gb ASC');
  }
  if (q.pool !== undefined) w.add('pool_name = ?', q.pool);
  if (q.gpu_type !== undefined) w.add('gpu_type = ?', q.gpu_type);
  if (q.capability !== undefined) w.add(dialect.jsonArrayContains('capabilities'), q.capability);
  order.push('performance_score DESC', 'agent_id ASC');
  const rows = await db.all<AgentRow>(`SELECT ${agentListColumns(dialect)} FROM agents ${w.sql()} ORDER BY ${order.join(', ')} LIMIT ?`, [
    ...w.params,
    q.limit,
  ]);
  return rows.map((row) => {
    const agent: CapacityMatch = toListedAgent(row);
    if (gpu) agent.fitting_gpus = fittingGpus(agent.resource_metrics, gpu.min);
    return agent;
  });
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
