import { Link } from '../app/navigation.js';
import type { StoredEvent } from '../api/types.js';
import { formatDateTime, formatTime, formatValue } from './format.js';

/** Events newest first: time, agent (optional), type and message, with metadata as plain text. */
export function EventList({ events, now, showAgent = true }: { events: readonly StoredEvent[]; now: number; showAgent?: boolean }) {
  return (
    <ol className="event-list">
      {events.map((e) => (
        <li key={e.id} className="event" data-event-id={e.id}>
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
          {Object.keys(e.metadata).length > 0 && (
            <span className="event-meta">
              {Object.entries(e.metadata)
                .slice(0, 6)
                .map(([k, v]) => `${k}=${formatValue(v, 60)}`)
                .join('  ')}
            </span>
          )}
        </li>
      ))}
    </ol>
  );
}

const EVENT_TONE: Record<string, string> = {
  error: 'bad',
  offline: 'bad',
  stopped: 'warn',
  warning: 'warn',
  started: 'ok',
  online: 'ok',
  registered: 'ok',
};
