import { agentListColumns, NOT_DELETED, toListedAgent, type Agent, type AgentRow } from './agents.js';
import type { ListReader } from './previews.js';
import { Where, type SqlExecutor } from './db.js';
import { listEvents, type StoredEvent } from './events.js';
import { listErrors, type StoredError } from './errors.js';
import { statusText } from './heartbeat-samples.js';

export interface FleetSummary {
  agents_total: number;
  agents_online: number;
  agents_busy: number;
  agents_offline: number;
  errors_active: number;
}

export interface DashboardData {
  agents: Agent[];
  next: string | null;
  activeErrors: { agent_id: string; count: number }[];
  recentEvents: StoredEvent[];
  summary: FleetSummary;
}

/**
 * Everything the overview shows, in four set-based statements whatever the fleet's size:
 * a page of agents, status counts, unresolved error counts per agent, and the latest events.
 */
export async function loadDashboard(db: ListReader, page: { after?: string | undefined; limit: number }): Promise<DashboardData> {
  const w = new Where().add(NOT_DELETED);
  if (page.after) w.add('agent_id > ?', page.after);
  const rows = await db.all<AgentRow>(`SELECT ${agentListColumns(db.dialect)} FROM agents ${w.sql()} ORDER BY agent_id LIMIT ?`, [
    ...w.params,
    page.limit + 1,
  ]);
  const counts = await db.all<{ status: string; n: number }>(
    `SELECT status, COUNT(*) AS n FROM agents WHERE ${NOT_DELETED} GROUP BY status`,
  );
  const activeErrors = await db.all<{ agent_id: string; count: number }>(
    'SELECT agent_id, SUM(occurrences) AS count FROM error_logs WHERE resolved = FALSE GROUP BY agent_id',
  );
  const { events } = await listEvents(db, { limit: 20 });

  const byStatus = new Map(counts.map((c) => [c.status, Number(c.n)]));
  const agents = rows.slice(0, page.limit).map(toListedAgent);
  return {
    agents,
    next: rows.length > page.limit ? (agents.at(-1)?.agent_id ?? null) : null,
    activeErrors: activeErrors.map((e) => ({ agent_id: e.agent_id, count: Number(e.count) })),
    recentEvents: events,
    summary: {
      agents_total: [...byStatus.values()].reduce((a, b) => a + b, 0),
      agents_online: byStatus.get('online') ?? 0,
      agents_busy: byStatus.get('busy') ?? 0,
      agents_offline: byStatus.get('offline') ?? 0,
      errors_active: activeErrors.reduce((a, e) => a + Number(e.count), 0),
    },
  };
}

export interface MetricSample {
  id: number;
  agent_id: string;
  timestamp: number | null;
  received_at: number;
  status: string;
  cpu_percent: number | null;
  memory_mb: number | null;
  message_count: number | null;
  error_count: number | null;
  io_read_bps: number | null;
  io_write_bps: number | null;
  host_cpu_percent: number | null;
  cpu_cores_physical: number | null;
  cpu_cores_available: number | null;
  cpu_load_1min: number | null;
  cpu_load_5min: number | null;
  memory_percent: number | null;
  memory_available_gb: number | null;
  gpu_vram_total_gb: number | null;
  gpu_vram_available_gb: number | null;
  gpu_type: string | null;
}

/** Samples of one agent in [since, until), newest first, at most `limit`. */
export async function agentMetrics(db: SqlExecutor, agentId: string, since: number, until: number, limit: number): Promise<MetricSample[]> {
  // A sample stores numbers only: its status comes back from its code, `gpu_type` from the agent's
  // row (the GPU it reports now), and `error_count` was never reported per sample.
  return db.all<MetricSample>(
    `SELECT m.id, k.agent_id, m.timestamp, m.received_at, ${statusText('m.status')} AS status, m.cpu_percent, m.memory_mb,
       m.message_count, NULL AS error_count, m.io_read_bps, m.io_write_bps, m.host_cpu_percent, m.cpu_cores_physical,
       m.cpu_cores_available, m.cpu_load_1min, m.cpu_load_5min, m.memory_percent, m.memory_available_gb, m.gpu_vram_total_gb,
       m.gpu_vram_available_gb, a.gpu_type
     FROM agent_keys k JOIN agent_metrics m ON m.agent_key = k.agent_key JOIN agents a ON a.agent_id = k.agent_id
     WHERE k.agent_id = ? AND m.received_at >= ? AND m.received_at < ? ORDER BY m.received_at DESC LIMIT ?`,
    [agentId, since, until, limit],
  );
}

export interface AgentDashboard {
  agentId: string;
  metrics: MetricSample[];
  events: StoredEvent[];
  errors: StoredError[];
}

/** The monitoring API's agent view (docs/seed-requirements.md): the last hour of samples, 50 events and 20 errors. */
export async function loadAgentDashboard(db: ListReader, agentId: string, now: number): Promise<AgentDashboard> {
  const metrics = await agentMetrics(db, agentId, now - 3_600_000, now + 1, 1000);
  const { events } = await listEvents(db, { agent_id: agentId, limit: 50 });
  const { errors } = await listErrors(db, { agent_id: agentId, limit: 20 });
  return { agentId, metrics, events, errors };
}
