import { useCallback, useEffect, useMemo, useState } from 'react';
import type { Alert, Silence } from '../api/types.js';
import { Link } from '../app/navigation.js';
import { useLive, useNow, useReconnect, useServices } from '../app/services.js';
import { formatCount } from '../ui/format.js';
import { Empty, ErrorState, Loading } from '../ui/states.js';
import { mergeAlert, sortAlerts } from './alert-list.js';
import { AlertTable } from './AlertsTab.js';
import { problemText } from './duration.js';

/** The agent page's panel of its open (pending and firing) alerts, live, with Acknowledge and Silence. */
export function AgentAlerts({ agentId }: { agentId: string }) {
  const { api } = useServices();
  const now = useNow(5000);
  const [alerts, setAlerts] = useState<Alert[] | null>(null);
  const [silences, setSilences] = useState<Silence[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const id = encodeURIComponent(agentId);

  const load = useCallback(() => {
    setProblem(null);
    Promise.all([
      api.get<{ alerts: Alert[] }>(`/api/v1/alerts?agent_id=${id}&state=firing&limit=500`),
      api.get<{ alerts: Alert[] }>(`/api/v1/alerts?agent_id=${id}&state=pending&limit=500`),
      api.get<{ silences: Silence[] }>('/api/v1/silences?limit=500'),
    ]).then(
      ([f, p, s]) => {
        setAlerts([...f.alerts, ...p.alerts]);
        setSilences(s.silences);
      },
      (err: unknown) => setProblem(problemText(err)),
    );
  }, [api, id]);
  useEffect(load, [load]);
  useReconnect(load);
  useLive((m) => {
    if (m.type === 'alert' && m.alert.agent_id === agentId) setAlerts((list) => list && mergeAlert(list, m.change, m.alert));
  });

  const open = useMemo(() => sortAlerts((alerts ?? []).filter((a) => a.state !== 'resolved')), [alerts]);
  const ack = async (a: Alert) => {
    const r = await api.post<{ alert: Alert }>(`/api/v1/alerts/${a.id}/ack`);
    setAlerts((list) => list && mergeAlert(list, 'acknowledged', r.alert));
  };
  const silence = async (body: object) => {
    const r = await api.post<{ silence: Silence }>('/api/v1/silences', body);
    setSilences((list) => [r.silence, ...list]);
  };

  return (
    <section className="panel" aria-labelledby="alerts-title" data-testid="agent-alerts">
      <div className="panel-head">
        <h2 id="alerts-title">Open alerts</h2>
        <span className="muted">{alerts ? `${formatCount(open.length)} open` : ''}</span>
        <Link to={{ page: 'alerts' }}>All alerts</Link>
      </div>
      {problem ? (
        <ErrorState title="The alerts could not be loaded" message={problem} onRetry={load} />
      ) : alerts === null ? (
        <Loading label="Loading alerts…" />
      ) : open.length === 0 ? (
        <Empty title="No open alerts" />
      ) : (
        <AlertTable alerts={open} silences={silences} now={now} onAck={ack} onSilence={silence} showAgent={false} />
      )}
    </section>
  );
}
