import { memo, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { Link } from '../app/navigation.js';
import type { FleetAgent } from '../fleet/fleet-state.js';
import type { SortKey, ViewQuery } from '../fleet/view.js';
import { formatAgo, formatCount, formatDateTime, formatGb, formatMb, formatPercent } from '../ui/format.js';
import { StatusBadge } from '../ui/StatusBadge.js';
import { visibleWindow } from '../ui/virtual.js';

/** Every row is this tall, so which rows are on screen is arithmetic (ui/virtual.ts). */
export const ROW_HEIGHT = 40;

const COLUMNS: { key: SortKey; label: string; numeric?: boolean }[] = [
  { key: 'name', label: 'Agent' },
  { key: 'status', label: 'Status' },
  { key: 'cpu', label: 'CPU %', numeric: true },
  { key: 'memory', label: 'Memory', numeric: true },
  { key: 'messages', label: 'Messages', numeric: true },
  { key: 'errors', label: 'Errors', numeric: true },
  { key: 'pool', label: 'Pool' },
  { key: 'type', label: 'Type' },
  { key: 'vram', label: 'VRAM free', numeric: true },
  { key: 'heartbeat', label: 'Last heartbeat', numeric: true },
];

/**
 * The agent table with windowed rendering: whatever the fleet's size, only the rows in view (plus a
 * few) are in the DOM. The header and rows share one CSS grid template so columns line up.
 */
export function AgentTable({
  rows,
  total,
  query,
  onSort,
  now,
  llmBusyMs,
}: {
  rows: readonly FleetAgent[];
  total: number;
  query: ViewQuery;
  onSort: (key: SortKey) => void;
  now: number;
  /** The hub's --llm-busy-window in ms: an agent with LLM activity this recent shows as busy. */
  llmBusyMs: number;
}) {
  const viewport = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);

  useLayoutEffect(() => {
    const el = viewport.current;
    if (!el) return;
    setHeight(el.clientHeight);
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // A new sort or filter starts from the top, as a reader expects.
  useEffect(() => {
    viewport.current?.scrollTo({ top: 0 });
    setScrollTop(0);
  }, [query]);

  const w = visibleWindow({ scrollTop, viewportHeight: height, rowHeight: ROW_HEIGHT, count: rows.length, overscan: 8 });
  const visible = rows.slice(w.start, w.end);

  return (
    <div className="agent-table" role="table" aria-label="Agents" aria-rowcount={rows.length + 1} data-total={total}>
      <div className="agent-row header" role="row" aria-rowindex={1}>
        {COLUMNS.map((c) => {
          const active = query.sort === c.key;
          return (
            <div
              key={c.key}
              role="columnheader"
              className={c.numeric ? 'cell numeric' : 'cell'}
              aria-sort={active ? (query.desc ? 'descending' : 'ascending') : 'none'}
            >
              <button type="button" className="sort" onClick={() => onSort(c.key)}>
                {c.label}
                <span className="sort-mark" aria-hidden="true">
                  {active ? (query.desc ? '▼' : '▲') : ''}
                </span>
              </button>
            </div>
          );
        })}
      </div>
      <div
        className="agent-viewport"
        ref={viewport}
        tabIndex={0}
        aria-label="Agent rows (scroll)"
        onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
      >
        <div className="agent-spacer" style={{ height: w.height }}>
          <div className="agent-window" style={{ transform: `translateY(${w.offset}px)` }}>
            {visible.map((a, i) => (
              <AgentRow key={a.agent_id} agent={a} index={w.start + i} now={now} llmBusyMs={llmBusyMs} />
            ))}
          </div>
        </div>
      </div>
    </div>
  );
}

const AgentRow = memo(function AgentRow({
  agent: a,
  index,
  now,
  llmBusyMs,
}: {
  agent: FleetAgent;
  index: number;
  now: number;
  llmBusyMs: number;
}) {
  const vram = a.resources.gpu_vram_available_gb;
  const vramTotal = a.resources.gpu_vram_total_gb;
  // An offline agent's CPU and memory are what it last reported, not what it uses now.
  const stale = a.status === 'offline';
  const staleTitle = stale ? `last known, ${formatAgo(a.last_heartbeat_at, now)}` : undefined;
  return (
    <div className="agent-row" role="row" aria-rowindex={index + 2} data-agent-id={a.agent_id}>
      <div className="cell name" role="cell">
        <Link to={{ page: 'agent', agentId: a.agent_id }} className="agent-link">
          {a.name}
        </Link>
        {a.name !== a.agent_id && <span className="agent-id">{a.agent_id}</span>}
      </div>
      <div className="cell" role="cell">
        <StatusBadge status={a.status} reason={a.offline_reason} paused={a.paused} />
        {a.last_llm_activity_at !== null && now - a.last_llm_activity_at <= llmBusyMs && (
          <span className="llm-busy" title={`LLM busy: last activity ${formatAgo(a.last_llm_activity_at, now)}`}>
            LLM
          </span>
        )}
      </div>
      <div className={stale ? 'cell numeric stale' : 'cell numeric'} role="cell" data-col="cpu" title={staleTitle}>
        {formatPercent(a.cpu_percent)}
      </div>
      <div className={stale ? 'cell numeric stale' : 'cell numeric'} role="cell" data-col="memory" title={staleTitle}>
        {formatMb(a.memory_mb)}
      </div>
      <div className="cell numeric" role="cell" data-col="messages">
        {formatCount(a.message_count)}
      </div>
      <div className={a.error_count > 0 ? 'cell numeric bad' : 'cell numeric'} role="cell" data-col="errors">
        {formatCount(a.error_count)}
      </div>
      <div className="cell" role="cell">
        {a.pool_name}
      </div>
      <div className="cell" role="cell">
        {a.agent_type}
      </div>
      <div className="cell numeric" role="cell" data-col="vram" title={vramTotal !== undefined ? `of ${formatGb(vramTotal)}` : undefined}>
        {formatGb(vram)}
      </div>
      <div className="cell numeric" role="cell" data-col="heartbeat" title={formatDateTime(a.last_heartbeat_at)}>
        {formatAgo(a.last_heartbeat_at, now)}
      </div>
    </div>
  );
});
