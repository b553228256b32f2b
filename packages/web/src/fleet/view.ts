import type { AgentStatus } from '../api/types.js';
import type { FleetAgent } from './fleet-state.js';

export const STATUSES = ['online', 'busy', 'offline'] as const satisfies readonly AgentStatus[];

export type SortKey = 'name' | 'status' | 'cpu' | 'memory' | 'messages' | 'errors' | 'pool' | 'type' | 'vram' | 'heartbeat';

export interface ViewQuery {
  search: string;
  status: AgentStatus | 'all';
  pool: string;
  type: string;
  sort: SortKey;
  desc: boolean;
}

export const DEFAULT_QUERY: ViewQuery = { search: '', status: 'all', pool: 'all', type: 'all', sort: 'name', desc: false };

/** What each sortable column sorts by; a missing figure (null) always sorts last, whichever the direction. */
const SORT_VALUE: Record<SortKey, (a: FleetAgent) => string | number | null> = {
  name: (a) => a.name.toLowerCase(),
  status: (a) => STATUSES.indexOf(a.status as (typeof STATUSES)[number]),
  cpu: (a) => a.cpu_percent,
  memory: (a) => a.memory_mb,
  messages: (a) => a.message_count,
  errors: (a) => a.error_count,
  pool: (a) => a.pool_name.toLowerCase(),
  type: (a) => a.agent_type.toLowerCase(),
  vram: (a) => a.resources.gpu_vram_available_gb ?? null,
  // Sorting by "last heartbeat" ascending puts the most recent first, like an age column.
  heartbeat: (a) => (a.last_heartbeat_at === null ? null : -a.last_heartbeat_at),
};

/** Columns whose natural first click is "biggest first". */
export const DESCENDING_FIRST: ReadonlySet<SortKey> = new Set(['cpu', 'memory', 'messages', 'errors', 'vram']);

/** The rows the table shows: filtered by status, pool and type, searched, then sorted (ties by id). */
export function selectAgents(agents: Iterable<FleetAgent>, q: ViewQuery): FleetAgent[] {
  const needle = q.search.trim().toLowerCase();
  const rows: FleetAgent[] = [];
  for (const a of agents) {
    if (q.status !== 'all' && a.status !== q.status) continue;
    if (q.pool !== 'all' && a.pool_name !== q.pool) continue;
    if (q.type !== 'all' && a.agent_type !== q.type) continue;
    if (needle && !matches(a, needle)) continue;
    rows.push(a);
  }
  const value = SORT_VALUE[q.sort];
  const dir = q.desc ? -1 : 1;
  const keyed = rows.map((a) => ({ a, v: value(a) }));
  keyed.sort((x, y) => {
    if (x.v === null || y.v === null) {
      if (x.v !== y.v) return x.v === null ? 1 : -1;
    } else if (x.v !== y.v) {
      return (x.v < y.v ? -1 : 1) * dir;
    }
    return x.a.agent_id < y.a.agent_id ? -1 : x.a.agent_id > y.a.agent_id ? 1 : 0;
  });
  return keyed.map((k) => k.a);
}

function matches(a: FleetAgent, needle: string): boolean {
  return (
    a.name.toLowerCase().includes(needle) ||
    a.agent_id.toLowerCase().includes(needle) ||
    a.pool_name.toLowerCase().includes(needle) ||
    a.agent_type.toLowerCase().includes(needle) ||
    a.capabilities.some((c) => c.toLowerCase().includes(needle))
  );
}

/** The next query after a click on a column header: same column flips, a new one starts in its natural order. */
export function toggleSort(q: ViewQuery, key: SortKey): ViewQuery {
  if (q.sort === key) return { ...q, desc: !q.desc };
  return { ...q, sort: key, desc: DESCENDING_FIRST.has(key) };
}

export interface FleetSummaryView {
  total: number;
  online: number;
  busy: number;
  offline: number;
  /** Mean CPU % over the agents that are up and reported one; null when none did. */
  avgCpu: number | null;
  /** Memory of the agents that are up, summed (MB); null when none reported any. */
  memoryMb: number | null;
  errors: number;
}

/** The overview cards, from the same rows as the table so both always agree. */
export function summarize(agents: Iterable<FleetAgent>): FleetSummaryView {
  const s: FleetSummaryView = { total: 0, online: 0, busy: 0, offline: 0, avgCpu: null, memoryMb: null, errors: 0 };
  let cpuSum = 0;
  let cpuN = 0;
  for (const a of agents) {
    s.total++;
    s.errors += a.error_count;
    if (a.status === 'offline') {
      s.offline++;
      continue;
    }
    if (a.status === 'busy') s.busy++;
    else s.online++;
    if (a.cpu_percent !== null) {
      cpuSum += a.cpu_percent;
      cpuN++;
    }
    if (a.memory_mb !== null) s.memoryMb = (s.memoryMb ?? 0) + a.memory_mb;
  }
  s.avgCpu = cpuN > 0 ? cpuSum / cpuN : null;
  return s;
}

/** The pools and types present, sorted, for the filter menus. */
export function facets(agents: Iterable<FleetAgent>): { pools: string[]; types: string[] } {
  const pools = new Set<string>();
  const types = new Set<string>();
  for (const a of agents) {
    if (a.pool_name) pools.add(a.pool_name);
    if (a.agent_type) types.add(a.agent_type);
  }
  const sorted = (s: Set<string>) => [...s].sort((x, y) => x.localeCompare(y));
  return { pools: sorted(pools), types: sorted(types) };
}
