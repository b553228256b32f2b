import { useCallback, useEffect, useState } from 'react';
import type { StoredEvent } from '../api/types.js';
import { useLive, useNow, useReconnect, useServices } from '../app/services.js';
import { EventList } from '../ui/EventList.js';
import { Empty, ErrorState, Loading } from '../ui/states.js';

const TYPES = ['started', 'stopped', 'crashed', 'error', 'warning', 'info', 'registered', 'online', 'offline'] as const;
const PAGE = 200;

/** Every agent's lifecycle events, newest first, live; filter by type and agent. */
export function EventsPage() {
  const { api } = useServices();
  const now = useNow(5000);
  const [type, setType] = useState('all');
  const [agent, setAgent] = useState('');
  const [applied, setApplied] = useState('');
  const [events, setEvents] = useState<StoredEvent[] | null>(null);
  const [next, setNext] = useState<number | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  const filters = `${type === 'all' ? '' : `&event_type=${encodeURIComponent(type)}`}${applied ? `&agent_id=${encodeURIComponent(applied)}` : ''}`;
  const load = useCallback(() => {
    setProblem(null);
    api.get<{ events: StoredEvent[]; next_cursor: number | null }>(`/api/v1/events?limit=${PAGE}${filters}`).then(
      (r) => {
        setEvents(r.events);
        setNext(r.next_cursor);
      },
      (err: unknown) => setProblem(err instanceof Error ? err.message : String(err)),
    );
  }, [api, filters]);

  useEffect(() => {
    setEvents(null);
    load();
  }, [load]);
  useReconnect(load);
  useLive((m) => {
    if (m.type !== 'event') return;
    if (type !== 'all' && m.event_type !== type) return;
    if (applied && m.agent_id !== applied) return;
    setEvents((list) => (list ? [{ ...m, event_id: null, timestamp: m.received_at }, ...list].slice(0, 2000) : list));
  });

  const more = async () => {
    if (next === null) return;
    const r = await api.get<{ events: StoredEvent[]; next_cursor: number | null }>(`/api/v1/events?limit=${PAGE}&before=${next}${filters}`);
    setEvents((list) => [...(list ?? []), ...r.events]);
    setNext(r.next_cursor);
  };

  return (
    <div className="page">
      <div className="page-head">
        <h1>Events</h1>
        <form
          className="filters"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            setApplied(agent.trim());
          }}
        >
          <select value={type} onChange={(e) => setType(e.target.value)} aria-label="Event type">
            <option value="all">All types</option>
            {TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
          <input type="search" placeholder="Agent id" aria-label="Agent id" value={agent} onChange={(e) => setAgent(e.target.value)} />
          <button type="submit" className="button">
            Filter
          </button>
        </form>
      </div>
      <section className="panel">
        {problem ? (
          <ErrorState title="The events could not be loaded" message={problem} onRetry={load} />
        ) : events === null ? (
          <Loading label="Loading events…" />
        ) : events.length === 0 ? (
          <Empty title="No events" />
        ) : (
          <EventList events={events} now={now} />
        )}
        {next !== null && (
          <button type="button" className="button" onClick={() => void more()}>
            Load older events
          </button>
        )}
      </section>
    </div>
  );
}
