import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { xRange, yRange, type YKind } from './axis.js';
import { hasValues, type Figure, type SeriesData } from './series.js';

export interface ChartLine {
  figure: Figure;
  label: string;
  /** A CSS custom property of the theme (`--chart-1` …), so lines follow light and dark. */
  colorVar: string;
}

const HEIGHT = 170;

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

/**
 * One uPlot time-series chart. uPlot draws on a canvas and is created once per theme; data changes
 * go through `setData`, which redraws without rebuilding. The box keeps a fixed height, with or
 * without data, so nothing below it moves when samples arrive.
 */
export function Chart({
  title,
  lines,
  data,
  format,
  windowMs,
  yKind,
  startMs,
}: {
  title: string;
  lines: ChartLine[];
  data: SeriesData;
  format: (v: number) => string;
  /** The range picked (15 min, 1 h …): the x axis always spans it up to now, however few samples there are. */
  windowMs: number;
  /** Percentages keep a 0–100 axis at least; every chart's axis starts at 0. */
  yKind: YKind;
  /** When the agent registered: the x axis does not reach back before it. */
  startMs?: number | null | undefined;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const windowS = useRef(windowMs / 1000);
  windowS.current = windowMs / 1000;
  const startS = useRef<number | null>(null);
  startS.current = typeof startMs === 'number' ? startMs / 1000 : null;
  const [theme, setTheme] = useState(0);
  const empty = !hasValues(
    data,
    lines.map((l) => l.figure),
  );

  useEffect(() => {
    const bump = () => setTheme((n) => n + 1);
    const media = matchMedia('(prefers-color-scheme: dark)');
    window.addEventListener('vigil:theme', bump);
    media.addEventListener('change', bump);
    return () => {
      window.removeEventListener('vigil:theme', bump);
      media.removeEventListener('change', bump);
    };
  }, []);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const axis = { stroke: cssVar('--muted'), grid: { stroke: cssVar('--grid'), width: 1 }, ticks: { stroke: cssVar('--grid'), width: 1 } };
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: HEIGHT,
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: {
          time: true,
          range: (_u, min, max) => xRange(Date.now() / 1000, { min, max }, windowS.current, startS.current),
        },
        y: { range: (_u, _min, max) => yRange(yKind, max) },
      },
      axes: [axis, { ...axis, size: 84, values: (_u, splits) => splits.map((v) => (v === null ? '' : format(v))) }],
      series: [
        {},
        ...lines.map((l) => ({
          label: l.label,
          stroke: cssVar(l.colorVar),
          width: 1.5,
          spanGaps: false,
          points: { show: false },
          value: (_u: uPlot, v: number | null) => (v === null ? '—' : format(v)),
        })),
      ],
    };
    const u = new uPlot(opts, toAligned(data, lines), el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height: HEIGHT }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // Built once per theme (colours are read at creation); data flows in through the effect below.
  }, [theme, lines, format, yKind]);

  useEffect(() => {
    plot.current?.setData(toAligned(data, lines));
  }, [data, lines, windowMs]);

  return (
    <figure className="chart" data-y={yKind} data-points={data.t.length} data-figures={lines.map((l) => l.figure).join(' ')}>
      <figcaption>{title}</figcaption>
      <div className="chart-box" ref={box} />
      {empty && <div className="chart-empty">No samples in this range</div>}
    </figure>
  );
}

function toAligned(data: SeriesData, lines: ChartLine[]): uPlot.AlignedData {
  return [data.t, ...lines.map((l) => data.values[l.figure])] as uPlot.AlignedData;
}
