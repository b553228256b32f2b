import type { LiveMessage, MetricSample } from '../api/types.js';

export const RANGES = [
  { key: '15m', label: '15 min', ms: 15 * 60_000 },
  { key: '1h', label: '1 h', ms: 3_600_000 },
  { key: '6h', label: '6 h', ms: 6 * 3_600_000 },
  { key: '24h', label: '24 h', ms: 24 * 3_600_000 },
  { key: '7d', label: '7 d', ms: 7 * 24 * 3_600_000 },
] as const;
export type RangeKey = (typeof RANGES)[number]['key'];

export function rangeMs(key: RangeKey): number {
  return (RANGES.find((r) => r.key === key) ?? RANGES[1]).ms;
}

/** The figures the agent page charts, named as the hub stores them. */
export const FIGURES = ['cpu_percent', 'host_cpu_percent', 'memory_mb', 'gpu_vram_available_gb', 'io_read_bps', 'io_write_bps'] as const;
export type Figure = (typeof FIGURES)[number];

/** Columns for uPlot: `t` in seconds (uPlot's unit), one array per figure, null where nothing was measured. */
export interface SeriesData {
  t: number[];
  values: Record<Figure, (number | null)[]>;
}

export function emptySeries(): SeriesData {
  return { t: [], values: Object.fromEntries(FIGURES.map((f) => [f, []])) as unknown as SeriesData['values'] };
}

/** Raw samples (as `GET /api/monitoring/agents/:id` gives them, newest first) from `since` on, oldest first. */
export function fromSamples(samples: readonly MetricSample[], since: number): SeriesData {
  const rows = samples.filter((s) => s.received_at >= since).sort((a, b) => a.received_at - b.received_at);
  const data = emptySeries();
  for (const s of rows) {
    data.t.push(s.received_at / 1000);
    for (const f of FIGURES) data.values[f].push(s[f] ?? null);
  }
  return data;
}

/** One bucket of the metrics range API: `{t, cpu_percent: {min, max, avg, last}, …}`. */
export interface RangePoint {
  t: number;
  [figure: string]: unknown;
}

/** Buckets of the range API, charted by their average (a bucket with no sample of a figure is a gap). */
export function fromPoints(points: readonly RangePoint[]): SeriesData {
  const data = emptySeries();
  for (const p of [...points].sort((a, b) => a.t - b.t)) {
    data.t.push(p.t / 1000);
    for (const f of FIGURES) data.values[f].push(average(p[f]));
  }
  return data;
}

function average(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (v !== null && typeof v === 'object' && 'avg' in v) {
    const avg = (v as { avg: unknown }).avg;
    return typeof avg === 'number' ? avg : null;
  }
  return null;
}

/** What a live heartbeat adds to the charts. */
export function liveFigures(m: Extract<LiveMessage, { type: 'metrics_update' }>): Record<Figure, number | null> {
  return {
    cpu_percent: m.metrics.cpu_percent ?? null,
    host_cpu_percent: m.resources.cpu_percent ?? null,
    memory_mb: m.metrics.memory_mb ?? null,
    gpu_vram_available_gb: m.resources.gpu_vram_available_gb ?? null,
    io_read_bps: m.metrics.io_read_bps ?? null,
    io_write_bps: m.metrics.io_write_bps ?? null,
  };
}

/**
 * Appends one live sample (hub time `at`, ms) and drops what slid out of the window. Returns a new
 * object so React sees the change; a sample older than the last one is ignored.
 */
export function appendSample(data: SeriesData, at: number, figures: Record<Figure, number | null>, since: number): SeriesData {
  const t = at / 1000;
  const last = data.t.at(-1);
  if (last !== undefined && t <= last) return data;
  let drop = 0;
  while (drop < data.t.length && (data.t[drop] as number) < since / 1000) drop++;
  const next = emptySeries();
  next.t = [...data.t.slice(drop), t];
  for (const f of FIGURES) next.values[f] = [...data.values[f].slice(drop), figures[f]];
  return next;
}

/** Whether a figure was ever measured in the window (a chart of nothing says so instead of drawing a flat line). */
export function hasValues(data: SeriesData, figures: readonly Figure[]): boolean {
  return figures.some((f) => data.values[f].some((v) => v !== null));
}
