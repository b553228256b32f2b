import { useCallback, useEffect, useMemo, useState } from 'react';
import { AgentAlerts } from '../alerts/AgentAlerts.js';
import { ApiError } from '../api/client.js';
import type { Agent, StoredError, StoredEvent } from '../api/types.js';
import { Link, navigate } from '../app/navigation.js';
import { useFleet, useLive, useNow, useReconnect, useServices } from '../app/services.js';
import { ErrorGroupList } from '../errors/ErrorGroupList.js';
import { applyReopen, groupByFingerprint, resolvedIds, type FingerprintGroup, type Reopen } from '../errors/group.js';
import { EventList } from '../ui/EventList.js';
import {
  formatAgo,
  formatCount,
  formatDateTime,
  formatGb,
  formatMb,
  formatNumber,
  formatPercent,
  formatRate,
  formatValue,
} from '../ui/format.js';
import { Empty, ErrorState, Loading } from '../ui/states.js';
import { StatusBadge } from '../ui/StatusBadge.js';
import { extraResources, staleSince } from './ages.js';
import { AgentActions } from './AgentActions.js';
import { Chart, type ChartLine } from './Chart.js';
import { GpuTable } from './GpuTable.js';
import { gpuList, hasGpu } from './gpus.js';
import { loadSeries, type LoadedSeries } from './load.js';
import { defaultRange, type YKind } from './axis.js';
import { appendSample, emptySeries, liveFigures, RANGES, rangeMs, type RangeKey } from './series.js';

// Module-level so the charts are not rebuilt on every render.
// Two charts, not one: the process's CPU is a percent of one core (200 = two cores busy), the host's a
// percent of all its cores (or its cgroup's limit); on one axis they read as the same unit and are not.
const PROCESS_CPU: ChartLine[] = [{ figure: 'cpu_percent', label: 'Process (% of one core)', colorVar: '--chart-1' }];
const HOST_CPU: ChartLine[] = [{ figure: 'host_cpu_percent', label: 'Host (% of all cores)', colorVar: '--chart-2' }];
const MEMORY: ChartLine[] = [{ figure: 'memory_mb', label: 'Process memory', colorVar: '--chart-1' }];
const VRAM: ChartLine[] = [{ figure: 'gpu_vram_available_gb', label: 'VRAM free', colorVar: '--chart-3' }];
const IO: ChartLine[] = [
  { figure: 'io_read_bps', label: 'Read', colorVar: '--chart-1' },
  { figure: 'io_write_bps', label: 'Write', colorVar: '--chart-4' },
];
const pct = (v: number) => formatPercent(v);
const mb = (v: number) => formatMb(v);
const gb = (v: number) => formatGb(v);
const rate = (v: number) => formatRate(v);

type Loadable<T> = { kind: 'loading' } | { kind: 'ready'; value: T } | { kind: 'error'; message: string; missing?: boolean };

/** One agent: charts over a chosen range, its error groups, events, metadata, capabilities and resources. */
export function AgentPage({ agentId }: { agentId: string }) {
  const { api } = useServices();
  const fleet = useFleet();
  const now = useNow(1000);
  const row = fleet.state.agents.get(agentId);
  const [agent, setAgent] = useState<Loadable<Agent>>({ kind: 'loading' });
  // Until the user picks one, the range fits the agent's life when it is younger than an hour.
  const [picked, setRange] = useState<RangeKey | null>(null);
  const registeredAt = agent.kind === 'ready' ? agent.value.registered_at : undefined;
  const range = picked ?? (agent.kind === 'loading' ? null : defaultRange(registeredAt, now));
  const [series, setSeries] = useState<Loadable<LoadedSeries>>({ kind: 'loading' });
  const [events, setEvents] = useState<StoredEvent[] | null>(null);
  const [errors, setErrors] = useState<StoredError[] | null>(null);
  const [deleted, setDeleted] = useState(false);
  const id = encodeURIComponent(agentId);

  const loadAgent = useCallback(() => {
    api.get<{ agent: Agent }>(`/api/v1/agents/${id}`).then(
      (r) => setAgent({ kind: 'ready', value: r.agent }),
      (err: unknown) =>
        setAgent({
          kind: 'error',
          message: err instanceof Error ? err.message : String(err),
          missing: err instanceof ApiError && err.status === 404,
        }),
    );
  }, [api, id]);

  const loadCharts = useCallback(() => {
    setSeries((s) => (s.kind === 'ready' ? s : { kind: 'loading' }));
    if (range === null) return;
    loadSeries(api, agentId, range, Date.now()).then(
      (value) => setSeries({ kind: 'ready', value }),
      (err: unknown) => setSeries({ kind: 'error', message: err instanceof Error ? err.message : String(err) }),
    );
  }, [api, agentId, range]);

  const loadEvents = useCallback(() => {
    api.get<{ events: StoredEvent[] }>(`/api/v1/events?agent_id=${id}&limit=100`).then(
      (r) => setEvents(r.events),
      () => setEvents((e) => e ?? []),
    );
  }, [api, id]);

  const loadErrors = useCallback(() => {
    api.get<{ errors: StoredError[] }>(`/api/v1/errors?agent_id=${id}&limit=200`).then(
      (r) => setErrors(r.errors),
      () => setErrors((e) => e ?? []),
    );
  }, [api, id]);

  useEffect(loadAgent, [loadAgent]);
  useEffect(loadCharts, [loadCharts]);
  useEffect(loadEvents, [loadEvents]);
  useEffect(loadErrors, [loadErrors]);
  useReconnect(() => {
    loadAgent();
    loadCharts();
    loadEvents();
    loadErrors();
  });

  useLive((m) => {
    if (m.type === 'alert' || m.agent_id !== agentId) return;
    switch (m.type) {
      case 'metrics_update':
        // Live samples join the chart only where it shows raw samples; a rollup bucket is not one sample.
        setSeries((s) =>
          s.kind === 'ready' && (s.value.source === 'raw' || s.value.resolution === 'raw')
            ? {
                ...s,
                value: {
                  ...s.value,
                  data: appendSample(s.value.data, m.received_at, liveFigures(m), m.received_at - rangeMs(range ?? '1h')),
                },
              }
            : s,
        );
        // The message carries the agent's whole resources after the merge, so it replaces them.
        setAgent((a) =>
          a.kind === 'ready' && Object.keys(m.resources).length > 0
            ? {
                kind: 'ready',
                value: {
                  ...a.value,
                  resource_metrics: m.resources,
                  resource_updated_at: m.resource_updated_at ?? a.value.resource_updated_at,
                },
              }
            : a,
        );
        break;
      case 'event':
        setEvents((list) => [{ ...m, event_id: null, timestamp: m.received_at }, ...(list ?? [])].slice(0, 200));
        break;
      case 'error':
        // The group's full row (stack trace, first seen) comes from the API.
        loadErrors();
        break;
      case 'error_resolved':
        setErrors((list) => list?.map((e) => (e.id === m.id ? { ...e, resolved: true, resolved_at: m.resolved_at } : e)) ?? list);
        break;
      case 'error_reopened':
        setErrors((list) => list && applyReopen(list, m));
        break;
      case 'agent_status':
        if (m.reason === 'registered') {
          setDeleted(false);
          loadAgent();
        }
        break;
      case 'agent_updated':
        setAgent((a) => (a.kind === 'ready' ? { kind: 'ready', value: { ...a.value, name: m.name, paused: m.paused } } : a));
        break;
      case 'agent_removed':
        setDeleted(true);
        break;
    }
  });

  const groups = useMemo(() => {
    const all = groupByFingerprint(errors ?? []);
    return [...all.filter((g) => g.unresolved.length > 0), ...all.filter((g) => g.unresolved.length === 0)];
  }, [errors]);

  const resolve = async (g: FingerprintGroup) => {
    for (const errorId of g.unresolved) await api.post(`/api/v1/errors/${errorId}/resolve`);
    setErrors((list) => list?.map((e) => (g.unresolved.includes(e.id) ? { ...e, resolved: true, resolved_at: Date.now() } : e)) ?? list);
  };
  const reopen = async (g: FingerprintGroup) => {
    for (const errorId of resolvedIds(g)) {
      const r = await api.post<Reopen>(`/api/v1/errors/${errorId}/unresolve`);
      setErrors((list) => list && applyReopen(list, r));
    }
  };

  if (deleted) {
    return (
      <div className="page">
        <Breadcrumb name={agentId} />
        <ErrorState title="This agent was deleted" message={`Agent ${JSON.stringify(agentId)} was deleted; it is no longer monitored.`} />
        <p>
          <Link to={{ page: 'overview' }}>Back to the overview</Link>
        </p>
      </div>
    );
  }

  if (agent.kind === 'error') {
    return (
      <div className="page">
        <Breadcrumb name={agentId} />
        <ErrorState
          title={agent.missing ? 'No such agent' : 'The agent could not be loaded'}
          message={agent.missing ? `The hub knows no agent ${JSON.stringify(agentId)}.` : agent.message}
          onRetry={agent.missing ? undefined : loadAgent}
        />
      </div>
    );
  }

  const a = agent.kind === 'ready' ? agent.value : null;
  const status = row?.status ?? a?.status ?? 'offline';
  const lastBeat = row?.last_heartbeat_at ?? a?.last_heartbeat_at ?? null;
  const res = a?.resource_metrics ?? {};
  const gpus = gpuList(res);
  // When the oldest of these figures was reported, if it lags the heartbeats (see ages.ts).
  const old = (...fields: string[]) => (a ? staleSince(a.resource_updated_at, fields, lastBeat, a.heartbeat_interval_s) : undefined);
  const data = series.kind === 'ready' ? series.value.data : emptySeries();
  const windowMs = rangeMs(range ?? '1h');
  const axes = (yKind: YKind, format: (v: number) => string) => ({ data, format, windowMs, yKind, startMs: registeredAt });

  return (
    <div className="page agent-page">
      <Breadcrumb name={a?.name ?? agentId} />
      <header className="agent-head">
        <h1>{a?.name ?? agentId}</h1>
        <StatusBadge status={status} reason={row?.offline_reason ?? a?.offline_reason ?? null} paused={a?.paused ?? row?.paused ?? false} />
        <span className="muted">
          <code>{agentId}</code> · {a?.agent_type ?? '…'} · pool {a?.pool_name ?? '…'} · last heartbeat{' '}
          <span title={formatDateTime(lastBeat)}>{formatAgo(lastBeat, now)}</span>
          {status === 'offline' && lastBeat !== null ? ' · figures below are the last known' : ''}
          {a?.paused ? ' · monitoring paused: no alert fires for it' : ''}
        </span>
        {a && (
          <AgentActions
            agent={a}
            onChanged={(next) => setAgent({ kind: 'ready', value: next })}
            onDeleted={() => navigate({ page: 'overview' })}
          />
        )}
      </header>

      <AgentAlerts agentId={agentId} />

      <section className="panel" aria-labelledby="charts-title">
        <div className="panel-head">
          <h2 id="charts-title">Resources over time</h2>
          <div className="segmented" role="group" aria-label="Time range">
            {RANGES.map((r) => (
              <button key={r.key} type="button" aria-pressed={range === r.key} onClick={() => setRange(r.key)}>
                {r.label}
              </button>
            ))}
          </div>
        </div>
        {series.kind === 'error' && <ErrorState title="The metrics could not be loaded" message={series.message} onRetry={loadCharts} />}
        {series.kind === 'ready' && series.value.truncated && (
          <p className="notice small">This hub keeps no rollups yet, so the charts show the last hour of raw samples.</p>
        )}
        <div className="charts" aria-busy={series.kind === 'loading'}>
          <Chart title="Process CPU (% of one core)" lines={PROCESS_CPU} {...axes('percent', pct)} />
          <Chart title="Host CPU (% of all cores)" lines={HOST_CPU} {...axes('percent', pct)} />
          <Chart title="Memory" lines={MEMORY} {...axes('amount', mb)} />
          {hasGpu(res) && <Chart title="GPU VRAM free" lines={VRAM} {...axes('amount', gb)} />}
          <Chart title="Disk I/O" lines={IO} {...axes('amount', rate)} />
        </div>
      </section>

      {gpus.length > 0 && (
        <section className="panel" aria-labelledby="gpus-title">
          <div className="panel-head">
            <h2 id="gpus-title">GPUs</h2>
            {res.gpu_process_vram_gb !== undefined && (
              <span className="muted">{formatGb(res.gpu_process_vram_gb)} VRAM held by this agent</span>
            )}
          </div>
          <GpuTable gpus={gpus} reportedAt={a?.resource_updated_at.gpus} now={now} />
        </section>
      )}

      <div className="agent-grid">
        <section className="panel" aria-labelledby="errors-title">
          <div className="panel-head">
            <h2 id="errors-title">Errors</h2>
            <span className="muted">{errors ? `${formatCount(groups.filter((g) => g.unresolved.length > 0).length)} open` : ''}</span>
          </div>
          {errors === null ? (
            <Loading label="Loading errors…" />
          ) : groups.length === 0 ? (
            <Empty title="No errors reported" />
          ) : (
            <ErrorGroupList groups={groups} now={now} onResolve={resolve} onReopen={reopen} showAgents={false} />
          )}
        </section>
        <section className="panel" aria-labelledby="timeline-title">
          <div className="panel-head">
            <h2 id="timeline-title">Events</h2>
          </div>
          {events === null ? (
            <Loading label="Loading events…" />
          ) : events.length === 0 ? (
            <Empty title="No events yet" />
          ) : (
            <EventList events={events} now={now} showAgent={false} />
          )}
        </section>
      </div>

      <div className="agent-grid">
        <section className="panel" aria-labelledby="resources-title">
          <h2 id="resources-title">Resources</h2>
          {a === null ? (
            <Loading label="Loading…" />
          ) : (
            <dl className="kv">
              <KV k="Host CPU" v={formatPercent(res.cpu_percent)} old={old('cpu_percent')} now={now} />
              <KV
                k="CPU cores"
                v={`${formatNumber(res.cpu_cores_available)} free of ${formatNumber(res.cpu_cores_physical)}`}
                old={old('cpu_cores_available', 'cpu_cores_physical')}
                now={now}
              />
              <KV
                k="Load (1 / 5 min)"
                v={`${formatNumber(res.cpu_load_1min)} / ${formatNumber(res.cpu_load_5min)}`}
                old={old('cpu_load_1min', 'cpu_load_5min')}
                now={now}
              />
              <KV
                k="Host memory"
                v={`${formatPercent(res.memory_percent)} used · ${formatGb(res.memory_available_gb)} free`}
                old={old('memory_percent', 'memory_available_gb')}
                now={now}
              />
              <KV k="GPU" v={res.gpu_type ?? '—'} old={old('gpu_type')} now={now} />
              <KV
                k="GPU VRAM"
                v={`${formatGb(res.gpu_vram_available_gb)} free of ${formatGb(res.gpu_vram_total_gb)}`}
                old={old('gpu_vram_available_gb', 'gpu_vram_total_gb')}
                now={now}
              />
              {(res.net_rx_bps !== undefined || res.net_tx_bps !== undefined) && (
                <KV
                  k="Host network"
                  v={`${formatRate(res.net_rx_bps)} in · ${formatRate(res.net_tx_bps)} out`}
                  old={old('net_rx_bps', 'net_tx_bps')}
                  now={now}
                />
              )}
              {extraResources(res).map(([k, v]) => (
                <KV key={k} k={k} v={formatValue(v, 200)} old={old(k)} now={now} />
              ))}
              <KV k="Process memory" v={formatMb(row?.memory_mb ?? a.memory_mb)} />
              <KV k="Messages" v={formatCount(row?.message_count ?? a.message_count)} />
              <KV k="Heartbeat every" v={`${a.heartbeat_interval_s} s`} />
              <KV k="Registered" v={formatDateTime(a.registered_at)} />
            </dl>
          )}
        </section>
        <section className="panel" aria-labelledby="meta-title">
          <h2 id="meta-title">Capabilities and metadata</h2>
          {a === null ? (
            <Loading label="Loading…" />
          ) : (
            <>
              {a.capabilities.length === 0 ? (
                <p className="muted">No capabilities declared.</p>
              ) : (
                <ul className="chips" aria-label="Capabilities">
                  {a.capabilities.map((c) => (
                    <li key={c} className="chip">
                      {c}
                    </li>
                  ))}
                </ul>
              )}
              {Object.keys(a.metadata).length === 0 ? (
                <p className="muted">No metadata.</p>
              ) : (
                <dl className="kv">
                  {Object.entries(a.metadata).map(([k, v]) => (
                    <KV key={k} k={k} v={formatValue(v, 500)} />
                  ))}
                </dl>
              )}
            </>
          )}
        </section>
      </div>
    </div>
  );
}

function Breadcrumb({ name }: { name: string }) {
  return (
    <nav aria-label="Breadcrumb" className="breadcrumb">
      <Link to={{ page: 'overview' }}>Overview</Link> <span aria-hidden="true">/</span> <span aria-current="page">{name}</span>
    </nav>
  );
}

/** A name and its value; `old` (with `now`) marks a last-known figure with the time it was reported. */
function KV({ k, v, old, now }: { k: string; v: string; old?: number | undefined; now?: number }) {
  return (
    <div>
      <dt>{k}</dt>
      <dd>
        {v}
        {old !== undefined && now !== undefined && (
          <span className="muted small stale-figure" title={formatDateTime(old)}>
            {' '}
            · reported {formatAgo(old, now)}
          </span>
        )}
      </dd>
    </div>
  );
}
