import type { AgentEvent, EventType, HubEventType } from '@vigil/protocol';
import { jsonColumn, Where, type Dialect, type SqlExecutor } from './db.js';
import { storeOnce } from './event-ids.js';
import { fromPreview, jsonPreview, textPreview, type ListReader, type PreviewColumns, type Truncatable } from './previews.js';

export interface StoredEvent extends Truncatable {
  id: number;
  agent_id: string;
  event_id: string | null;
  event_type: EventType;
  message: string | null;
  metadata: Record<string, unknown>;
  /** The agent's own time for the event (or the hub's when it sent none). */
  timestamp: number;
  /** The hub's clock when the event arrived. */
  received_at: number;
}

const EVENT_COLUMNS = 'id, agent_id, event_id, event_type, message, metadata, timestamp, received_at';
const EVENT_PREVIEW: PreviewColumns = { text: ['message'], json: ['metadata'] };
const eventListColumns = (d: Dialect) =>
  `id, agent_id, event_id, event_type, ${textPreview('message')}, ${jsonPreview('metadata', d)}, timestamp, received_at`;

const toEvent = (row: StoredEvent): StoredEvent => ({ ...row, metadata: jsonColumn(row.metadata, {}) });

/** Records an event the hub itself decided (registered, online, offline). */
export async function insertHubEvent(
  tx: SqlExecutor,
  agentId: string,
  type: HubEventType,
  message: string,
  metadata: Record<string, unknown>,
  now: number,
): Promise<void> {
  await tx.run('INSERT INTO agent_events (agent_id, event_type, message, metadata, timestamp, received_at) VALUES (?, ?, ?, ?, ?, ?)', [
    agentId,
    type,
    message,
    JSON.stringify(metadata),
    now,
    now,
  ]);
}

/** Stores an agent's event once per (agent, event_id) (store/event-ids.ts); returns its id and whether it was a retry. */
export async function insertAgentEvent(
  tx: SqlExecutor,
  agentId: string,
  ev: AgentEvent,
  now: number,
): Promise<{ id: number; duplicate: boolean }> {
  const eventId = ev.event_id ?? null;
  const insert = async () => {
    const row = await tx.get<{ id: number }>(
      `INSERT INTO agent_events (agent_id, event_id, event_type, message, metadata, timestamp, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      [agentId, eventId, ev.event_type, ev.message, JSON.stringify(ev.metadata ?? {}), ev.timestamp ?? now, now],
    );
    if (!row) throw new Error('event row missing after insert');
    return Number(row.id);
  };
  return storeOnce(tx, 'agent_event_ids', agentId, eventId, now, insert);
}

export interface EventFilter {
  agent_id?: string | undefined;
  event_type?: string | undefined;
  /** Keyset cursor: only events with a smaller id (older) than this. */
  before?: number | undefined;
  since?: number | undefined;
  until?: number | undefined;
  limit: number;
}

/** One event, whole. */
export async function getEvent(db: SqlExecutor, id: number): Promise<StoredEvent | undefined> {
  const row = await db.get<StoredEvent>(`SELECT ${EVENT_COLUMNS} FROM agent_events WHERE id = ?`, [id]);
  return row && toEvent(row);
}

/** Newest first, by commit order; long messages and metadata cut to a preview. */
export async function listEvents(db: ListReader, f: EventFilter): Promise<{ events: StoredEvent[]; next: number | null }> {
  const w = new Where();
  const add = w.add.bind(w);
  if (f.agent_id) add('agent_id = ?', f.agent_id);
  if (f.event_type) add('event_type = ?', f.event_type);
  if (f.before !== undefined) add('id < ?', f.before);
  if (f.since !== undefined) add('received_at >= ?', f.since);
  if (f.until !== undefined) add('received_at < ?', f.until);
  const rows = await db.all<StoredEvent>(`SELECT ${eventListColumns(db.dialect)} FROM agent_events ${w.sql()} ORDER BY id DESC LIMIT ?`, [
    ...w.params,
    f.limit + 1,
  ]);
  const page = rows.slice(0, f.limit).map((r) => toEvent(fromPreview(r, EVENT_PREVIEW)));
  return { events: page, next: rows.length > f.limit ? (page.at(-1)?.id ?? null) : null };
}

/** The message of the agent's latest `crashed` event (it names the exception), if any. */
export async function lastCrashMessage(db: SqlExecutor, agentId: string): Promise<string | undefined> {
  const row = await db.get<{ message: string | null }>(
    `SELECT message FROM agent_events WHERE agent_id = ? AND event_type = 'crashed' ORDER BY id DESC LIMIT 1`,
    [agentId],
  );
  return row?.message ?? undefined;
}
