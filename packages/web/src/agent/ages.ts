/**
 * How old the agent's resource figures are. A heartbeat that leaves a figure out keeps its last
 * value on the hub, with the time it was reported; the page says so when that is well behind the
 * heartbeats, instead of showing an old figure as current.
 */

/** Heartbeat intervals a figure may lag the latest heartbeat before it is marked as old. */
const STALE_INTERVALS = 2;

/**
 * When the oldest of `fields` was reported, if that is more than two intervals before the last
 * heartbeat; undefined when they are current or were never reported.
 */
export function staleSince(
  updatedAt: Readonly<Record<string, number>>,
  fields: readonly string[],
  lastHeartbeatAt: number | null,
  intervalS: number,
): number | undefined {
  if (lastHeartbeatAt === null) return undefined;
  let oldest: number | undefined;
  for (const f of fields) {
    const at = Object.hasOwn(updatedAt, f) ? updatedAt[f] : undefined;
    if (typeof at === 'number' && (oldest === undefined || at < oldest)) oldest = at;
  }
  return oldest !== undefined && oldest < lastHeartbeatAt - STALE_INTERVALS * intervalS * 1000 ? oldest : undefined;
}

/** The resource fields the dashboard shows by name; the rest are listed as they came. */
const SHOWN = new Set([
  'cpu_percent', 'cpu_cores_physical', 'cpu_cores_available', 'cpu_load_1min', 'cpu_load_5min', 'memory_percent',
  'memory_available_gb', 'gpu_vram_total_gb', 'gpu_vram_available_gb', 'gpu_type', 'gpus', 'gpu_process_vram_gb',
  'net_rx_bps', 'net_tx_bps',
]); // prettier-ignore

/** Fields the agent sent that the hub has no name for (the resources dict is open-ended, docs/seed-requirements.md), sorted by name. */
export function extraResources(res: Readonly<Record<string, unknown>>): [string, unknown][] {
  return Object.entries(res)
    .filter(([k]) => !SHOWN.has(k))
    .sort(([a], [b]) => (a < b ? -1 : 1));
}
