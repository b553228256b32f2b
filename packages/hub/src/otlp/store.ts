import { createHash } from 'node:crypto';
import type { AgentEventType, AgentStatus } from '@vigil/protocol';
import { registerAgent } from '../store/agents.js';
import type { Dialect, SqlExecutor } from '../store/db.js';
import { storeOnce } from '../store/event-ids.js';
import { insertAgentEvent, insertHubEvent } from '../store/events.js';
import { recordError } from '../store/errors.js';
import type { AgentBatch, LlmCall, MetricPoint } from './map.js';

export interface OtlpResult {
  ok: true;
  /** The agent was registered by this batch (first sight). */
  created: boolean;
  /** It was offline after missed heartbeats and this data brought it back. */
  revived: boolean;
  status: AgentStatus;
  calls: { stored: number; duplicates: number; input: number; output: number; costUsd: number };
  errors: { id: number; type: string; message: string; occurrences: number }[];
  events: { id: number; type: AgentEventType; message: string | null; metadata: Record<string, unknown> }[];
  points: { stored: number; duplicates: number; dropped: number };
}

export type OtlpRefusal = { ok: false; code: 'VIGIL_FORBIDDEN' | 'VIGIL_AGENT_DELETED' | 'VIGIL_POOL_CHANGE_FORBIDDEN'; message?: string };

/**
 * Applies one agent's share of an OTLP export inside the writer's transaction: registers the agent
 * on first sight, then stores each row once by its derived idempotency key. `allowedPool` (a pool
 * key) confines both the registration and the writes to that pool, checked under the row lock.
 */
export async function applyOtlpBatch(
  tx: SqlExecutor,
  dialect: Dialect,
  b: AgentBatch,
  now: number,
  allowedPool: string | undefined,
  maxSeries: number,
  mayRevive: boolean,
): Promise<OtlpResult | OtlpRefusal> {
  const row = await tx.get<{ status: AgentStatus; pool_name: string; offline_reason: string | null; deleted_at: number | null }>(
    `SELECT status, pool_name, offline_reason, deleted_at FROM agents WHERE agent_id = ?${dialect.forUpdate}`,
    [b.agentId],
  );
  let created = false;
  let status: AgentStatus;
  let revived = false;
  // A deleted agent comes back as new only for a key that may register it (never its own agent key).
  if (!row || row.deleted_at !== null) {
    const reg = await registerAgent(tx, dialect, b.register, now, allowedPool, false, mayRevive);
    if (!reg.ok) return reg;
    created = true;
    status = reg.agent.status;
  } else {
    if (allowedPool !== undefined && row.pool_name !== allowedPool) return { ok: false, code: 'VIGIL_FORBIDDEN' };
    status = row.status;
    // Telemetry is a sign of life, except after the agent reported its own end (a planned stop, a
    // crash, a failed start): late exports of a process that is gone must not revive it.
    if (row.offline_reason !== 'stopped' && row.offline_reason !== 'crashed' && row.offline_reason !== 'failed_to_start') {
      revived = row.status === 'offline';
      if (revived) status = 'online';
      await tx.run(
        `UPDATE agents SET last_heartbeat_at = ?, updated_at = ?, offline_reason = NULL,
           status = CASE WHEN status = 'offline' THEN 'online' ELSE status END WHERE agent_id = ?`,
        [now, now, b.agentId],
      );
      if (revived) await insertHubEvent(tx, b.agentId, 'online', 'Telemetry received; agent is back online', {}, now);
    }
  }

  await tx.run('UPDATE agents SET last_telemetry_at = ? WHERE agent_id = ?', [now, b.agentId]);
  const result: OtlpResult = {
    ok: true,
    created,
    revived,
    status,
    calls: { stored: 0, duplicates: 0, input: 0, output: 0, costUsd: 0 },
    errors: [],
    events: [],
    points: { stored: 0, duplicates: 0, dropped: 0 },
  };
  for (const call of b.calls) {
    if (await insertCall(tx, b.agentId, call, now)) {
      result.calls.stored++;
      result.calls.input += call.input_tokens ?? 0;
      result.calls.output += call.output_tokens ?? 0;
      result.calls.costUsd += call.cost_usd ?? 0;
    } else {
      result.calls.duplicates++;
    }
  }
  for (const { error, fingerprint } of b.errors) {
    const r = await recordError(tx, b.agentId, error, fingerprint, now);
    if (!r.duplicate) result.errors.push({ id: r.id, type: error.error_type, message: error.message, occurrences: r.occurrences });
  }
  for (const event of b.events) {
    const r = await insertAgentEvent(tx, b.agentId, event, now);
    if (!r.duplicate)
      result.events.push({ id: r.id, type: event.event_type, message: event.message ?? null, metadata: event.metadata ?? {} });
  }
  if (b.points.length > 0) {
    await insertPoints(tx, b.agentId, b.points, now, maxSeries, result.points);
    await fillProcessColumns(tx, b.agentId, b.points);
  }
  if (b.activityAt !== null && (result.calls.stored > 0 || result.events.length > 0 || result.errors.length > 0)) {
    // The hub's clock, like liveness: an agent's own clock never decides whether it is busy.
    await tx.run(
      `UPDATE agents SET last_llm_activity_at = ? WHERE agent_id = ? AND (last_llm_activity_at IS NULL OR last_llm_activity_at < ?)`,
      [now, b.agentId, now],
    );
  }
  return result;
}

/** Stores a call once per (agent, derived event id) (store/event-ids.ts); false for a retry. */
async function insertCall(tx: SqlExecutor, agentId: string, c: LlmCall, now: number): Promise<boolean> {
  const insert = async () => {
    const row = await tx.get<{ id: number }>(
      `INSERT INTO llm_traces (agent_id, event_id, trace_id, span_id, model, provider, operation, input_tokens, output_tokens,
       cache_read_tokens, cache_creation_tokens, cost_usd, latency_ms, status, error, source, attributes, timestamp, received_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      [
        agentId,
        c.event_id,
        c.trace_id,
        c.span_id,
        c.model,
        c.provider,
        c.operation,
        c.input_tokens,
        c.output_tokens,
        c.cache_read_tokens,
        c.cache_creation_tokens,
        c.cost_usd,
        c.latency_ms,
        c.status,
        c.error,
        c.source,
        JSON.stringify(c.attributes),
        c.timestamp,
        now,
      ],
    );
    if (!row) throw new Error('call row missing after insert');
    return Number(row.id);
  };
  return !(await storeOnce(tx, 'llm_trace_ids', agentId, c.event_id, now, insert)).duplicate;
}

interface SeriesRow {
  id: number;
  /** Nanoseconds as text: SQLite hands BIGINTs to JavaScript as doubles, which would round them. */
  start_ns: string | null;
  last_time_ns: string | null;
  last_value: number | null;
}

const SERIES_COLUMNS = 'id, CAST(start_ns AS TEXT) AS start_ns, CAST(last_time_ns AS TEXT) AS last_time_ns, last_value';

/**
 * Stores points of per-agent series. A cumulative point's increase is its value less the series'
 * last value under the same start time; a new start time (or a smaller value) is a reset, whose
 * increase is the value itself. Delta points are increases already. New series past `maxSeries`
 * per agent are dropped and counted.
 */
async function insertPoints(
  tx: SqlExecutor,
  agentId: string,
  points: MetricPoint[],
  now: number,
  maxSeries: number,
  out: OtlpResult['points'],
): Promise<void> {
  const countRow = await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM otlp_series WHERE agent_id = ?', [agentId]);
  let seriesCount = Number(countRow?.n ?? 0);
  // Oldest first, so a batch holding several points of one series applies them in order.
  const ordered = [...points].sort((x, y) => (BigInt(x.timeNs) < BigInt(y.timeNs) ? -1 : BigInt(x.timeNs) > BigInt(y.timeNs) ? 1 : 0));
  for (const p of ordered) {
    const attributes = JSON.stringify(sortKeys(p.attributes));
    const hash = createHash('sha256').update(`${p.kind}\u0001${p.unit}\u0001${attributes}`).digest('hex').slice(0, 32);
    let series = await tx.get<SeriesRow>(
      `SELECT ${SERIES_COLUMNS} FROM otlp_series WHERE agent_id = ? AND name = ? AND attributes_hash = ?`,
      [agentId, p.name, hash],
    );
    if (!series) {
      if (seriesCount >= maxSeries) {
        out.dropped++;
        continue;
      }
      series = await tx.get<SeriesRow>(
        `INSERT INTO otlp_series (agent_id, name, unit, kind, temporality, attributes, attributes_hash, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${SERIES_COLUMNS}`,
        [agentId, p.name, p.unit, p.kind, p.temporality, attributes, hash, now],
      );
      seriesCount++;
    }
    if (!series) continue;
    const cumulative = p.kind !== 'gauge' && p.temporality === 2;
    const sameRun = series.start_ns === p.startNs;
    let increase: number | null = null;
    if (p.kind !== 'gauge') {
      increase =
        cumulative && sameRun && series.last_value !== null && p.value >= series.last_value ? p.value - series.last_value : p.value;
    }
    const inserted = await tx.run(
      `INSERT INTO otlp_points (series_id, time_ns, timestamp, value, increase, received_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (series_id, time_ns) DO NOTHING`,
      [series.id, p.timeNs, p.timestamp, p.value, increase, now],
    );
    if (inserted.changes === 0) {
      out.duplicates++;
      continue;
    }
    out.stored++;
    const newer = series.last_time_ns === null || BigInt(series.last_time_ns) < BigInt(p.timeNs);
    if (newer) {
      await tx.run('UPDATE otlp_series SET start_ns = ?, last_time_ns = ?, last_value = ? WHERE id = ?', [
        p.startNs,
        p.timeNs,
        p.value,
        series.id,
      ]);
    }
  }
}

function sortKeys(attrs: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(attrs)
      .sort()
      .map((k) => [k, attrs[k]]),
  );
}

/** Well-known OpenTelemetry process metrics and the agent column each fills (latest value wins). */
const PROCESS_COLUMNS: Record<string, { column: 'cpu_percent' | 'memory_mb'; scale: number }> = {
  // A fraction of one CPU per `cpu.mode`; the modes of one time add up to the process's share.
  'process.cpu.utilization': { column: 'cpu_percent', scale: 100 },
  'process.memory.usage': { column: 'memory_mb', scale: 1 / (1024 * 1024) },
};

/**
 * Fills the agent's usual `cpu_percent` and `memory_mb` from OTLP process metrics, as a heartbeat
 * does, so an agent that only speaks OpenTelemetry still shows them in lists and the dashboard.
 */
async function fillProcessColumns(tx: SqlExecutor, agentId: string, points: MetricPoint[]): Promise<void> {
  const latest = new Map<string, { time: bigint; value: number }>();
  for (const p of points) {
    const target = PROCESS_COLUMNS[p.name];
    if (!target || p.kind !== 'gauge') continue;
    const time = BigInt(p.timeNs);
    const seen = latest.get(target.column);
    if (!seen || time > seen.time) latest.set(target.column, { time, value: p.value * target.scale });
    else if (time === seen.time) seen.value += p.value * target.scale;
  }
  for (const [column, { value }] of latest) {
    if (Number.isFinite(value) && value >= 0) await tx.run(`UPDATE agents SET ${column} = ? WHERE agent_id = ?`, [value, agentId]);
  }
}
