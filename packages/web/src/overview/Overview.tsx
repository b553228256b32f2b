import { useEffect, useMemo, useState } from 'react';
import { useFleet, useNow } from '../app/services.js';
import { DEFAULT_QUERY, facets, selectAgents, STATUSES, summarize, toggleSort, type ViewQuery } from '../fleet/view.js';
import { EventList } from '../ui/EventList.js';
import { formatCount } from '../ui/format.js';
import { Empty, ErrorState } from '../ui/states.js';
import { AgentTable } from './AgentTable.js';
import { SummaryCards } from './SummaryCards.js';

/** The fleet at a glance (the monitoring dashboard, docs/seed-requirements.md): summary cards, the agent table and the latest events, all live. */
export function Overview() {
  const fleet = useFleet();
  const version = fleet.getVersion();
  const now = useNow(1000);
  const [query, setQuery] = useState<ViewQuery>(DEFAULT_QUERY);

  const all = fleet.state.agents;
  // The map is mutated in place; `version` is what says it changed. Recomputed when the fleet or the
  // query changes, not on every clock tick.
  const rows = useMemo(() => selectAgents(all.values(), query), [all, version, query]);
  const summary = useMemo(() => summarize(all.values()), [all, version]);
  const menus = useMemo(() => facets(all.values()), [all, version]);
  const ready = fleet.load.kind === 'ready';

  useEffect(() => {
    // The mark the web bench reads (bench/RESULTS.md: overview ready time).
    if (ready && performance.getEntriesByName('vigil:overview-ready').length === 0) performance.mark('vigil:overview-ready');
  }, [ready]);

  const filtered = query.search !== '' || query.status !== 'all' || query.pool !== 'all' || query.type !== 'all';
  const set = (patch: Partial<ViewQuery>) => setQuery((q) => ({ ...q, ...patch }));

  return (
    <div className="page overview" data-ready={ready}>
      <SummaryCards s={summary} loading={!ready} />
      <div className="overview-grid">
        <section className="panel agents-panel" aria-labelledby="agents-title">
          <div className="panel-head">
            <h2 id="agents-title">Agents</h2>
            <span className="muted" aria-live="polite" data-testid="agent-count">
              {filtered ? `${formatCount(rows.length)} of ${formatCount(all.size)}` : formatCount(all.size)} agents
              {fleet.load.kind === 'loading' && all.size > 0 ? ' · loading…' : ''}
            </span>
          </div>
          <div className="filters" role="search">
            <input
              type="search"
              placeholder="Search name, id, pool, type, capability"
              aria-label="Search agents"
              value={query.search}
              onChange={(e) => set({ search: e.target.value })}
            />
            <label>
              <span className="visually-hidden">Status</span>
              <select value={query.status} onChange={(e) => set({ status: e.target.value as ViewQuery['status'] })} aria-label="Status">
                <option value="all">All statuses</option>
                {STATUSES.map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </select>
            </label>
            <select value={query.pool} onChange={(e) => set({ pool: e.target.value })} aria-label="Pool">
              <option value="all">All pools</option>
              {menus.pools.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
            <select value={query.type} onChange={(e) => set({ type: e.target.value })} aria-label="Type">
              <option value="all">All types</option>
              {menus.types.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
            {filtered && (
              <button
                type="button"
                className="button ghost"
                onClick={() => setQuery({ ...DEFAULT_QUERY, sort: query.sort, desc: query.desc })}
              >
                Clear
              </button>
            )}
          </div>
          {fleet.load.kind === 'error' && all.size === 0 ? (
            <ErrorState title="The fleet could not be loaded" message={fleet.load.message} onRetry={() => void fleet.reload()} />
          ) : (
            <>
              <AgentTable
                rows={rows}
                total={all.size}
                query={query}
                onSort={(k) => setQuery((q) => toggleSort(q, k))}
                now={now}
                llmBusyMs={fleet.llmBusyMs}
              />
              {rows.length === 0 && ready && (
                <div className="table-overlay">
                  {all.size === 0 ? (
                    <Empty title="No agents yet">
                      Agents appear here as soon as they register: <code>npx vigil run -- your-agent</code>, the SDK, or{' '}
                      <code>vigil demo</code>.
                    </Empty>
                  ) : (
                    <Empty title="No agent matches these filters" />
                  )}
                </div>
              )}
              {!ready && all.size === 0 && <div className="table-overlay">Loading agents…</div>}
            </>
          )}
        </section>
        <section className="panel events-panel" aria-labelledby="events-title">
          <div className="panel-head">
            <h2 id="events-title">Recent events</h2>
          </div>
          {fleet.recentEvents.length === 0 ? (
            <Empty title={ready ? 'No events yet' : 'Loading…'} />
          ) : (
            <EventList events={fleet.recentEvents} now={now} />
          )}
        </section>
      </div>
    </div>
  );
}
