import type { GpuType } from '@vigil/protocol';
import { agentListColumns, toListedAgent, type Agent, type AgentRow } from './agents.js';
import { Where, type Dialect, type SqlExecutor } from './db.js';

export interface CapacityQuery {
  min_gpu_vram_gb?: number | undefined;
  min_cpu_cores?: number | undefined;
  min_memory_gb?: number | undefined;
  pool?: string | undefined;
  capability?: string | undefined;
  gpu_type?: GpuType | undefined;
  limit: number;
}

/**
 * Online agents whose latest heartbeat leaves room for the job (seed 001's capacity query), best fit
 * first: the smallest sufficient free VRAM, then cores, then memory, so big machines stay free for
 * big jobs. Reads plain columns the heartbeat keeps current, so it is one indexed query on either database.
 */
export async function findCapacity(db: SqlExecutor, dialect: Dialect, q: CapacityQuery): Promise<Agent[]> {
  const w = new Where().add("status = 'online'");
  const order: string[] = [];
  if (q.min_gpu_vram_gb !== undefined) {
    w.add('gpu_vram_available_gb >= ?', q.min_gpu_vram_gb);
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
  return rows.map(toListedAgent);
}
