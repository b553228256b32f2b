import { RANGES, type RangeKey } from './series.js';

/** What a chart's y axis measures: a percentage (its floor is 0, its top at least 100) or another amount (floor 0). */
export type YKind = 'percent' | 'amount';

/**
 * The y range of a chart. Both kinds start at 0, so a line at 3 % does not fill the chart as if it
 * were busy; percentages show at least 0–100 (a process using several cores goes above 100).
 */
export function yRange(kind: YKind, dataMax: number | null | undefined): [number, number] {
  const max = typeof dataMax === 'number' && Number.isFinite(dataMax) && dataMax > 0 ? dataMax : 0;
  if (kind === 'percent') return [0, max <= 100 ? 100 : Math.ceil((max * 1.05) / 50) * 50];
  return [0, max === 0 ? 1 : max * 1.1];
}

/**
 * The x range, in seconds: the picked window up to now (or the latest sample, if the hub's clock is
 * ahead), but not before the agent existed (nor before its first sample in the window, which may be
 * older when samples were sent with earlier times), so a young agent's few minutes fill the chart.
 */
export function xRange(
  nowS: number,
  data: { min: number | null | undefined; max: number | null | undefined },
  windowS: number,
  startS?: number | null,
): [number, number] {
  const end = Math.max(nowS, data.max ?? 0);
  let begin = end - windowS;
  if (typeof startS === 'number' && startS > begin) {
    const first = typeof data.min === 'number' ? Math.min(startS, data.min) : startS;
    // At least a minute, so a just-registered agent's first samples are not drawn edge to edge.
    begin = Math.max(begin, Math.min(first, end - 60));
  }
  return [begin, end];
}

/**
 * The range the agent page opens on: the usual hour, or the shortest range that holds the agent's
 * whole life when it is younger than that (an agent registered 5 minutes ago opens on 15 minutes).
 */
export function defaultRange(registeredAt: number | null | undefined, now: number, usual: RangeKey = '1h'): RangeKey {
  const usualMs = (RANGES.find((r) => r.key === usual) ?? RANGES[1]).ms;
  if (typeof registeredAt !== 'number') return usual;
  const life = Math.max(0, now - registeredAt);
  const fit = RANGES.find((r) => r.ms >= life);
  return fit && fit.ms < usualMs ? fit.key : usual;
}
