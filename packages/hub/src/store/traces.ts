import type { LlmTrace } from '@vigil/protocol';
import { jsonColumn, Where, type Dialect, type SqlExecutor } from './db.js';
import { storeOnce } from './event-ids.js';
import { fromPreview, jsonPreview, textPreview, type ListReader, type PreviewColumns, type Truncatable } from './previews.js';

export interface StoredTrace extends Truncatable {
  id: number;
  agent_id: string;
  event_id: string | null;
  trace_id: string | null;
  span_id: string | null;
  model: string;
  provider: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  /** Prompt-cache reads and writes, kept apart from input (OTLP ingest; null when not reported). */
  cache_read_tokens: number | null;
  cache_creation_tokens: number | null;
  operation: string | null;
  /** Where the row came from when not the trace API: `otlp_span` or `claude_code_event`. */
  source: string | null;
  cost_usd: number | null;
  latency_ms: number | null;
  status: string | null;
  error: string | null;
  attributes: Record<string, unknown>;
  timestamp: number;
  received_at: number;
}

const COLUMNS =
  'id, agent_id, event_id, trace_id, span_id, model, provider, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, ' +
  'operation, source, cost_usd, latency_ms, status, error, attributes, timestamp, received_at';

const TRACE_PREVIEW: PreviewColumns = { text: ['error'], json: ['attributes'] };
const listColumns = (d: Dialect) =>
  'id, agent_id, event_id, trace_id, span_id, model, provider, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, ' +
  'operation, source, cost_usd, latency_ms, status, ' +
  `${textPreview('error')}, ${jsonPreview('attributes', d)}, timestamp, received_at`;

const toTrace = (row: StoredTrace): StoredTrace => ({ ...row, attributes: jsonColumn(row.attributes, {}) });

/** Stores an LLM call once per (agent, event_id) (store/event-ids.ts); returns its id and whether it was a retry. */
export async function insertTrace(tx: SqlExecutor, agentId: string, t: LlmTrace, now: number): Promise<{ id: number; duplicate: boolean }> {
  const eventId = t.event_id ?? null;
  const insert = async () => {
    const row = await tx.get<{ id: number }>(
      `INSERT INTO llm_traces (agent_id, event_id, trace_id, span_id, model, provider, input_tokens, output_tokens,
         cost_usd, latency_ms, status, error, attributes, timestamp, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      [
        agentId,
        eventId,
        t.trace_id,
        t.span_id,
        t.model,
        t.provider,
        t.input_tokens,
        t.output_tokens,
        t.cost_usd,
        t.latency_ms,
        t.status,
        t.error,
        JSON.stringify(t.attributes ?? {}),
        t.timestamp ?? now,
        now,
      ],
    );
    if (!row) throw new Error('trace row missing after insert');
    return Number(row.id);
  };
  return storeOnce(tx, 'llm_trace_ids', agentId, eventId, now, insert);
}

export interface TraceFilter {
  agent_id?: string | undefined;
  model?: string | undefined;
  /** Keyset cursor: only traces with a smaller id (older) than this. */
  before?: number | undefined;
  since?: number | undefined;
  limit: number;
}

/** One LLM call, whole. */
export async function getTrace(db: SqlExecutor, id: number): Promise<StoredTrace | undefined> {
  const row = await db.get<StoredTrace>(`SELECT ${COLUMNS} FROM llm_traces WHERE id = ?`, [id]);
  return row && toTrace(row);
}

/** Newest first, by commit order; long error texts and attributes cut to a preview. */
export async function listTraces(db: ListReader, f: TraceFilter): Promise<{ traces: StoredTrace[]; next: number | null }> {
  const w = new Where();
  if (f.agent_id) w.add('agent_id = ?', f.agent_id);
  if (f.model) w.add('model = ?', f.model);
  if (f.before !== undefined) w.add('id < ?', f.before);
  if (f.since !== undefined) w.add('received_at >= ?', f.since);
  const rows = await db.all<StoredTrace>(`SELECT ${listColumns(db.dialect)} FROM llm_traces ${w.sql()} ORDER BY id DESC LIMIT ?`, [
    ...w.params,
    f.limit + 1,
  ]);
  const page = rows.slice(0, f.limit).map((r) => toTrace(fromPreview(r, TRACE_PREVIEW)));
  return { traces: page, next: rows.length > f.limit ? (page.at(-1)?.id ?? null) : null };
}
