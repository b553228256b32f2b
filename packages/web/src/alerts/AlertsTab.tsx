import { useCallback, useEffect, useMemo, useState } from 'react';
import type { Alert, AlertSeverity, Silence } from '../api/types.js';
import { Link } from '../app/navigation.js';
import { useFleet, useLive, useNow, useReconnect, useServices } from '../app/services.js';
import { formatAgo, formatCount, formatDateTime, formatNumber } from '../ui/format.js';
import { Empty, ErrorState, Loading } from '../ui/states.js';
import { filterAlerts, mergeAlert, NO_FILTERS, since, sortAlerts, type AlertFilters } from './alert-list.js';
import { DURATIONS, problemText } from './duration.js';

const STATES: { key: AlertFilters['state']; label: string }[] = [
  { key: 'all', label: 'All' },
  { key: 'open', label: 'Open' },
  { key: 'firing', label: 'Firing' },
  { key: 'pending', label: 'Pending' },
  { key: 'resolved', label: 'Resolved' },
];
const SEVERITIES: (AlertSeverity | 'all')[] = ['all', 'critical', 'warning', 'info'];

const RECENT = 300;
type Page = { alerts: Alert[]; next_cursor: number | null };

/** Every open alert (they are few) and the latest alerts of any state, merged by id; the cursor continues the latter. */
async function fetchAlerts(get: <T>(path: string) => Promise<T>): Promise<{ alerts: Alert[]; next: number | null }> {
  const [firing, pending, recent] = await Promise.all(
    ['?state=firing&limit=500', '?state=pending&limit=500', `?limit=${RECENT}`].map((q) => get<Page>(`/api/v1/alerts${q}`)),
  );
  const byId = new Map<number, Alert>();
  for (const a of [...(recent?.alerts ?? []), ...(pending?.alerts ?? []), ...(firing?.alerts ?? [])]) byId.set(a.id, a);
  return { alerts: [...byId.values()], next: recent?.next_cursor ?? null };
}

/** The silence that mutes an alert now, if any (the hub's own matching: every field a silence names must match). */
function silencing(silences: readonly Silence[], a: Alert, now: number): Silence | undefined {
  return silences.find(
    (s) => s.until > now && (s.rule_id === null || s.rule_id === a.rule_id) && (s.agent_id === null || s.agent_id === a.agent_id),
  );
}

export function AlertsTab() {
  const { api } = useServices();
  const fleet = useFleet();
  const now = useNow(5000);
  const [alerts, setAlerts] = useState<Alert[] | null>(null);
  const [silences, setSilences] = useState<Silence[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [filters, setFilters] = useState<AlertFilters>(NO_FILTERS);

  const load = useCallback(() => {
    setProblem(null);
    Promise.all([fetchAlerts((p) => api.get(p)), api.get<{ silences: Silence[] }>('/api/v1/silences?limit=500')]).then(
      ([list, s]) => {
        setAlerts(list.alerts);
        setNext(list.next);
        setSilences(s.silences);
      },
      (err: unknown) => setProblem(problemText(err)),
    );
  }, [api]);
  useEffect(load, [load]);
  useReconnect(load);
  useLive((m) => {
    if (m.type === 'alert') setAlerts((list) => list && mergeAlert(list, m.change, m.alert));
  });

  const poolOf = useCallback((id: string) => fleet.state.agents.get(id)?.pool_name, [fleet]);
  const pools = useMemo(() => [...new Set([...fleet.state.agents.values()].map((a) => a.pool_name))].sort(), [fleet, fleet.getVersion()]);
  const rows = useMemo(() => sortAlerts(filterAlerts(alerts ?? [], filters, poolOf)), [alerts, filters, poolOf]);
  const set = (patch: Partial<AlertFilters>) => setFilters((f) => ({ ...f, ...patch }));

  const older = async () => {
    if (next === null) return;
    try {
      const r = await api.get<Page>(`/api/v1/alerts?limit=${RECENT}&before=${next}`);
      setAlerts((list) => {
        const known = new Set((list ?? []).map((a) => a.id));
        return [...(list ?? []), ...r.alerts.filter((a) => !known.has(a.id))];
      });
      setNext(r.next_cursor);
    } catch (err) {
      setProblem(problemText(err));
    }
  };
  const ack = async (a: Alert) => {
    const r = await api.post<{ alert: Alert }>(`/api/v1/alerts/${a.id}/ack`);
    setAlerts((list) => list && mergeAlert(list, 'acknowledged', r.alert));
  };
  const silence = async (body: { rule_id?: number; agent_id?: string; duration_seconds: number; comment: string }) => {
    const r = await api.post<{ silence: Silence }>('/api/v1/silences', body);
    setSilences((list) => [r.silence, ...list]);
  };

  return (
    <section className="panel" aria-label="Alerts">
      <div className="filters alert-filters">
        <div className="segmented" role="group" aria-label="Which alerts">
          {STATES.map((s) => (
            <button key={s.key} type="button" aria-pressed={filters.state === s.key} onClick={() => set({ state: s.key })}>
              {s.label}
            </button>
          ))}
        </div>
        <select
          aria-label="Severity"
          value={filters.severity}
          onChange={(e) => set({ severity: e.target.value as AlertFilters['severity'] })}
        >
          {SEVERITIES.map((s) => (
            <option key={s} value={s}>
              {s === 'all' ? 'Any severity' : s}
            </option>
          ))}
        </select>
        <input type="search" aria-label="Rule" placeholder="Rule" value={filters.rule} onChange={(e) => set({ rule: e.target.value })} />
        <input
          type="search"
          aria-label="Agent"
          placeholder="Agent"
          value={filters.agent}
          onChange={(e) => set({ agent: e.target.value })}
        />
        <select aria-label="Pool" value={filters.pool} onChange={(e) => set({ pool: e.target.value })}>
          <option value="">Any pool</option>
          {pools.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
        {alerts && <span className="muted">{formatCount(rows.length)} shown</span>}
      </div>
      {problem ? (
        <ErrorState title="The alerts could not be loaded" message={problem} onRetry={load} />
      ) : alerts === null ? (
        <Loading label="Loading alerts…" />
      ) : rows.length === 0 ? (
        <Empty title={alerts.length === 0 ? 'No alerts yet' : 'No alerts match'} />
      ) : (
        <AlertTable alerts={rows} silences={silences} now={now} onAck={ack} onSilence={silence} />
      )}
      {next !== null && !problem && (
        <button type="button" className="button" onClick={() => void older()}>
          Load older alerts
        </button>
      )}
    </section>
  );
}

interface SilenceBody {
  rule_id?: number;
  agent_id?: string;
  duration_seconds: number;
  comment: string;
}

export function AlertTable({
  alerts,
  silences,
  now,
  onAck,
  onSilence,
  showAgent = true,
}: {
  alerts: readonly Alert[];
  silences: readonly Silence[];
  now: number;
  onAck: (a: Alert) => Promise<void>;
  onSilence: (body: SilenceBody) => Promise<void>;
  showAgent?: boolean;
}) {
  return (
    <table className="table alert-table">
      <thead>
        <tr>
          <th>Severity</th>
          <th>State</th>
          <th>Rule</th>
          {showAgent && <th>Agent</th>}
          <th className="numeric">Value</th>
          <th className="numeric">Peak</th>
          <th>Since</th>
          <th>Actions</th>
        </tr>
      </thead>
      <tbody>
        {alerts.map((a) => (
          <AlertRow
            key={a.id}
            a={a}
            muted={silencing(silences, a, now)}
            now={now}
            onAck={onAck}
            onSilence={onSilence}
            showAgent={showAgent}
          />
        ))}
      </tbody>
    </table>
  );
}

function AlertRow({
  a,
  muted,
  now,
  onAck,
  onSilence,
  showAgent,
}: {
  a: Alert;
  muted: Silence | undefined;
  now: number;
  onAck: (a: Alert) => Promise<void>;
  onSilence: (body: SilenceBody) => Promise<void>;
  showAgent: boolean;
}) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [silencing, setSilencing] = useState(false);
  const [target, setTarget] = useState<'rule' | 'agent' | 'both'>('both');
  const [seconds, setSeconds] = useState(3600);
  const run = async (fn: () => Promise<void>) => {
    setBusy(true);
    setProblem(null);
    try {
      await fn();
      setSilencing(false);
    } catch (err) {
      setProblem(problemText(err));
    } finally {
      setBusy(false);
    }
  };
  const open = a.state !== 'resolved';
  return (
    <tr data-alert-id={a.id} data-state={a.state} className={`alert-row state-${a.state}`}>
      <td>
        <span className={`severity severity-${a.severity}`}>{a.severity}</span>
      </td>
      <td>
        <span className="alert-state">{a.state}</span>
        {a.acknowledged_at !== null && (
          <span className="chip" data-testid="acked">
            acknowledged
          </span>
        )}
        {muted && (
          <span className="chip" data-testid="silenced" title={`until ${formatDateTime(muted.until)}`}>
            silenced
          </span>
        )}
        {a.state === 'resolved' && a.resolve_reason && <div className="muted small">{a.resolve_reason.replace('_', ' ')}</div>}
      </td>
      <td>
        <div>{a.rule_name}</div>
        <div className="muted small">
          {a.metric} {a.op} {formatNumber(a.threshold)}
        </div>
      </td>
      {showAgent && (
        <td>
          <Link to={{ page: 'agent', agentId: a.agent_id }} className="agent-link">
            {a.agent_id}
          </Link>
        </td>
      )}
      <td className="numeric">{formatNumber(a.value ?? a.last_value)}</td>
      <td className="numeric">{formatNumber(a.peak_value)}</td>
      <td title={formatDateTime(since(a))}>
        {formatAgo(since(a), now)}
        {a.state === 'resolved' && <div className="muted small">ended {formatAgo(a.resolved_at, now)}</div>}
      </td>
      <td>
        <div className="alert-actions">
          {open && a.acknowledged_at === null && (
            <button type="button" className="button small" disabled={busy} onClick={() => void run(() => onAck(a))}>
              Acknowledge
            </button>
          )}
          {!silencing ? (
            <button type="button" className="button small" disabled={busy} onClick={() => setSilencing(true)}>
              Silence…
            </button>
          ) : (
            <form
              className="silence-form"
              onSubmit={(e) => {
                e.preventDefault();
                const body: SilenceBody = { duration_seconds: seconds, comment: `from the dashboard, alert ${a.id}` };
                if (target !== 'agent') body.rule_id = a.rule_id;
                if (target !== 'rule') body.agent_id = a.agent_id;
                void run(() => onSilence(body));
              }}
            >
              <select aria-label="Silence what" value={target} onChange={(e) => setTarget(e.target.value as typeof target)}>
                <option value="both">this rule on this agent</option>
                <option value="rule">this rule, every agent</option>
                <option value="agent">this agent, every rule</option>
              </select>
              <select aria-label="For how long" value={seconds} onChange={(e) => setSeconds(Number(e.target.value))}>
                {DURATIONS.map((d) => (
                  <option key={d.seconds} value={d.seconds}>
                    for {d.label}
                  </option>
                ))}
              </select>
              <button type="submit" className="button small primary" disabled={busy}>
                Silence
              </button>
              <button type="button" className="button small ghost" onClick={() => setSilencing(false)}>
                Cancel
              </button>
            </form>
          )}
        </div>
        {problem && (
          <div className="form-error" role="alert">
            {problem}
          </div>
        )}
      </td>
    </tr>
  );
}
