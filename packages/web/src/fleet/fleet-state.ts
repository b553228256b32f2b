import type { Agent, AgentStatus, LiveMessage, Resources } from '../api/types.js';

/** One row of the overview: the agent's latest state as the table shows it. */
export interface FleetAgent {
  agent_id: string;
  name: string;
  agent_type: string;
  pool_name: string;
  status: AgentStatus;
  offline_reason: string | null;
  last_heartbeat_at: number | null;
  cpu_percent: number | null;
  memory_mb: number | null;
  message_count: number | null;
  /** Unresolved error occurrences (the "errors" column of the monitoring dashboard, docs/seed-requirements.md). */
  error_count: number;
  resources: Resources;
  capabilities: string[];
  /** Monitoring paused: no alert fires for it; shown as paused. */
  paused: boolean;
  /** The hub's time of its last LLM activity over OpenTelemetry (busy while recent); null if none. */
  last_llm_activity_at: number | null;
  /** Known only by id so far (a registration announced live); its details are being fetched. */
  partial: boolean;
}

/** What applying a live message found out, so the store knows what to fetch. */
export type LiveEffect =
  | { kind: 'changed' }
  | { kind: 'ignored' }
  /** A message about an agent not loaded yet: fetch it. */
  | { kind: 'unknown-agent'; agentId: string }
  /** An error group was resolved whose size is unknown here, or one was reopened: recount the errors. */
  | { kind: 'recount-errors' };

export function toFleetAgent(a: Agent, errorCount: number): FleetAgent {
  return {
    agent_id: a.agent_id,
    name: a.name,
    agent_type: a.agent_type,
    pool_name: a.pool_name,
    status: a.status,
    offline_reason: a.offline_reason,
    last_heartbeat_at: a.last_heartbeat_at,
    cpu_percent: a.cpu_percent ?? a.resource_metrics.cpu_percent ?? null,
    memory_mb: a.memory_mb,
    message_count: a.message_count,
    error_count: errorCount,
    resources: a.resource_metrics,
    capabilities: a.capabilities,
    paused: a.paused,
    last_llm_activity_at: a.last_llm_activity_at ?? null,
    partial: false,
  };
}

const hasKeys = (o: object): boolean => Object.keys(o).length > 0;

/**
 * The fleet as the browser knows it: a snapshot from the API, kept current by live messages.
 * Pure (no DOM, no network) so every rule is tested in Node; the store around it fetches and renders.
 *
 * Ordering: a snapshot and the live feed race, so each row remembers the hub time of its latest
 * heartbeat and an older report (from either side) never overwrites a newer one.
 */
export class FleetState {
  readonly agents = new Map<string, FleetAgent>();
  /** Occurrences of unresolved error groups seen live, so resolving one can subtract it. */
  private readonly errorGroups = new Map<number, { agentId: string; occurrences: number }>();
  /** Agents deleted since this page loaded: a snapshot fetched before the deletion must not bring them back. */
  private readonly removed = new Set<string>();

  /** Merges one page of a snapshot; rows the live feed made newer keep their live figures. */
  mergeSnapshot(agents: readonly Agent[], errorCounts: ReadonlyMap<string, number>): void {
    for (const a of agents) {
      if (this.removed.has(a.agent_id)) continue;
      const fresh = toFleetAgent(a, errorCounts.get(a.agent_id) ?? 0);
      const known = this.agents.get(a.agent_id);
      if (known && !known.partial && (known.last_heartbeat_at ?? 0) > (fresh.last_heartbeat_at ?? 0)) {
        this.agents.set(a.agent_id, { ...fresh, ...pickLive(known), error_count: fresh.error_count });
      } else {
        this.agents.set(a.agent_id, fresh);
      }
    }
  }

  /** Replaces every row's error count with a fresh count from the API. */
  setErrorCounts(counts: ReadonlyMap<string, number>): void {
    for (const [id, a] of this.agents) {
      const n = counts.get(id) ?? 0;
      if (a.error_count !== n) this.agents.set(id, { ...a, error_count: n });
    }
    this.errorGroups.clear();
  }

  apply(m: LiveMessage): LiveEffect {
    switch (m.type) {
      case 'metrics_update': {
        const a = this.agents.get(m.agent_id);
        if (!a) return { kind: 'unknown-agent', agentId: m.agent_id };
        if (a.last_heartbeat_at !== null && m.received_at < a.last_heartbeat_at) return { kind: 'ignored' };
        // The hub keeps the previous figure when a heartbeat leaves one out; so does the table.
        const resources = hasKeys(m.resources) ? m.resources : a.resources;
        this.agents.set(m.agent_id, {
          ...a,
          status: m.status,
          offline_reason: null,
          last_heartbeat_at: m.received_at,
          cpu_percent: m.metrics.cpu_percent ?? m.resources.cpu_percent ?? a.cpu_percent,
          memory_mb: m.metrics.memory_mb ?? a.memory_mb,
          message_count: m.metrics.message_count ?? a.message_count,
          resources,
        });
        return { kind: 'changed' };
      }
      case 'agent_status': {
        // Registered again after a deletion: it is a new agent.
        if (m.reason === 'registered') this.removed.delete(m.agent_id);
        const a = this.agents.get(m.agent_id);
        if (!a) {
          // Shown at once by id; the details follow from the API.
          this.agents.set(m.agent_id, placeholder(m.agent_id, m.status, m.at, m.pool_name, m.agent_type));
          return { kind: 'unknown-agent', agentId: m.agent_id };
        }
        const alive = m.reason === 'registered' || m.reason === 'heartbeat';
        this.agents.set(m.agent_id, {
          ...a,
          status: m.status,
          offline_reason: alive ? null : m.reason,
          last_heartbeat_at: alive ? Math.max(m.at, a.last_heartbeat_at ?? 0) : a.last_heartbeat_at,
        });
        // A re-registration may have renamed the agent or moved its pool: refetch it.
        return m.reason === 'registered' ? { kind: 'unknown-agent', agentId: m.agent_id } : { kind: 'changed' };
      }
      case 'error': {
        this.errorGroups.set(m.id, { agentId: m.agent_id, occurrences: m.occurrences });
        const a = this.agents.get(m.agent_id);
        if (!a) return { kind: 'unknown-agent', agentId: m.agent_id };
        this.agents.set(m.agent_id, { ...a, error_count: a.error_count + 1 });
        return { kind: 'changed' };
      }
      case 'error_resolved': {
        const group = this.errorGroups.get(m.id);
        if (!group) return { kind: 'recount-errors' };
        this.errorGroups.delete(m.id);
        const a = this.agents.get(group.agentId);
        if (!a) return { kind: 'ignored' };
        this.agents.set(group.agentId, { ...a, error_count: Math.max(0, a.error_count - group.occurrences) });
        return { kind: 'changed' };
      }
      case 'error_reopened':
        // A reopen may merge into a group seen here or not, so the sizes kept for these ids no longer
        // hold; a recount is exact, and reopens are rare.
        if (m.removed_id !== null) this.errorGroups.delete(m.removed_id);
        this.errorGroups.delete(m.error.id);
        return { kind: 'recount-errors' };
      case 'agent_updated': {
        const a = this.agents.get(m.agent_id);
        if (!a) return { kind: 'unknown-agent', agentId: m.agent_id };
        this.agents.set(m.agent_id, { ...a, name: m.name, paused: m.paused });
        return { kind: 'changed' };
      }
      case 'agent_removed':
        this.removed.add(m.agent_id);
        for (const [id, g] of this.errorGroups) if (g.agentId === m.agent_id) this.errorGroups.delete(id);
        return this.agents.delete(m.agent_id) ? { kind: 'changed' } : { kind: 'ignored' };
      case 'llm_activity': {
        const a = this.agents.get(m.agent_id);
        if (!a) return { kind: 'unknown-agent', agentId: m.agent_id };
        this.agents.set(m.agent_id, { ...a, last_llm_activity_at: Math.max(m.at, a.last_llm_activity_at ?? 0) });
        return { kind: 'changed' };
      }
      case 'event':
      case 'alert':
        return { kind: 'ignored' };
    }
  }
}

function pickLive(a: FleetAgent): Partial<FleetAgent> {
  return {
    status: a.status,
    offline_reason: a.offline_reason,
    last_heartbeat_at: a.last_heartbeat_at,
    cpu_percent: a.cpu_percent,
    memory_mb: a.memory_mb,
    message_count: a.message_count,
    resources: a.resources,
  };
}

function placeholder(id: string, status: AgentStatus, at: number, pool: string | undefined, type: string | undefined): FleetAgent {
  return {
    agent_id: id,
    name: id,
    agent_type: type ?? '',
    pool_name: pool ?? '',
    status,
    offline_reason: null,
    last_heartbeat_at: at,
    cpu_percent: null,
    memory_mb: null,
    message_count: null,
    error_count: 0,
    resources: {},
    capabilities: [],
    paused: false,
    last_llm_activity_at: null,
    partial: true,
  };
}
