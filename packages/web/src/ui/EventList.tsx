import { useState } from 'react';
import { Link } from '../app/navigation.js';
import type { StoredEvent } from '../api/types.js';
import { formatDateTime, formatTime, formatValue } from './format.js';
import { isCut, useWholeItem } from './whole.js';

/** Events newest first: time, agent (optional), type and message, with metadata as plain text. */
export function EventList({ events, now, showAgent = true }: { events: readonly StoredEvent[]; now: number; showAgent?: boolean }) {
  return (
    <ol className="event-list">
      {events.map((e) => (
        <EventRow key={e.id} e={e} now={now} showAgent={showAgent} />
      ))}
    </ol>
  );
}

function EventRow({ e, now, showAgent }: { e: StoredEvent; now: number; showAgent: boolean }) {
  const [expanded, setExpanded] = useState(false);
  const cut = isCut(e);
  // A long message or metadata comes cut in lists; "whole event" fetches it from the event's own route.
  const whole = useWholeItem(`/api/v1/events/${e.id}`, expanded && cut, (b: { event: StoredEvent }) => b.event);
  return (
    <li className="event" data-event-id={e.id}>
      <time dateTime={new Date(e.received_at).toISOString()} title={formatDateTime(e.received_at)}>
        {formatTime(e.received_at, now)}
      </time>
      <span className={`event-type type-${EVENT_TONE[e.event_type] ?? 'info'}`}>{e.event_type}</span>
      {showAgent && (
        <Link to={{ page: 'agent', agentId: e.agent_id }} className="event-agent">
          {e.agent_id}
        </Link>
      )}
      <span className="event-message">{e.message ?? ''}</span>
      {Object.keys(e.metadata).length > 0 && <span className="event-meta">{metaLine(e.metadata)}</span>}
      {cut && (
        <details className="event-whole" onToggle={(ev) => setExpanded(ev.currentTarget.open)}>
          <summary>whole event</summary>
          {whole.item ? (
            <>
              <p className="event-message">{whole.item.message ?? ''}</p>
              {Object.keys(whole.item.metadata).length > 0 && <p className="event-meta">{metaLine(whole.item.metadata, 500, 100)}</p>}
            </>
          ) : (
            <p className="muted small">{whole.problem ? `The whole event could not be loaded: ${whole.problem}` : 'Loading…'}</p>
          )}
        </details>
      )}
    </li>
  );
}

const metaLine = (metadata: Record<string, unknown>, max = 60, keys = 6) =>
  Object.entries(metadata)
    .slice(0, keys)
    .map(([k, v]) => `${k}=${formatValue(v, max)}`)
    .join('  ');

const EVENT_TONE: Record<string, string> = {
  error: 'bad',
  offline: 'bad',
  stopped: 'warn',
  warning: 'warn',
  started: 'ok',
  online: 'ok',
  registered: 'ok',
};
