import { ApiError, type Api } from '../api/client.js';
import type { AgentDashboard } from '../api/types.js';
import { FIGURES, fromPoints, fromSamples, rangeMs, type RangeKey, type RangePoint, type SeriesData } from './series.js';

export interface LoadedSeries {
  data: SeriesData;
  /** `rollups`: the metrics range API (any range); `raw`: the monitoring API's agent view (docs/seed-requirements.md) (its last hour only). */
  source: 'rollups' | 'raw';
  resolution: string | null;
  /** The range asked for is longer than what this hub can give. */
  truncated: boolean;
}

/**
 * The chart data for a range: from the hub's metrics range API, or, on a hub without it, from the
 * last hour of raw samples that `GET /api/monitoring/agents/:id` returns.
 */
export async function loadSeries(api: Api, agentId: string, range: RangeKey, now: number): Promise<LoadedSeries> {
  const since = now - rangeMs(range);
  const id = encodeURIComponent(agentId);
  try {
    // Only the figures it draws: a day's minutes are summed from raw samples for each figure asked.
    const r = await api.get<{ resolution?: string; points: RangePoint[] }>(
      `/api/v1/agents/${id}/metrics?since=${since}&until=${now}&fields=${FIGURES.join(',')}`,
    );
    return { data: fromPoints(r.points), source: 'rollups', resolution: r.resolution ?? null, truncated: false };
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 'VIGIL_ROUTE_NOT_FOUND')) throw err;
  }
  const d = await api.get<AgentDashboard>(`/api/monitoring/agents/${id}`);
  return { data: fromSamples(d.metrics, since), source: 'raw', resolution: null, truncated: rangeMs(range) > 3_600_000 };
}
