import { performance } from 'node:perf_hooks';
import type { SqlExecutor } from './db.js';
import { HEARTBEAT_EVENT_ID_WINDOW_MS } from './heartbeat-samples.js';

/** How long each kind of data is kept, in days of the hub's clock; 0 keeps it forever. */
export interface Retention {
  /** Raw `agent_metrics` and `system_metrics`. */
  metricsDays: number;
  /** Events; capacity claims once they have ended; resolved alerts, finished webhook deliveries and ended silences. */
  eventsDays: number;
  /** Resolved errors only: unresolved ones are never purged. */
  errorsDays: number;
  tracesDays: number;
  /** The hourly rollups (minutes are summed from raw samples when read, so they go with `metricsDays`). */
  rollup1hDays: number;
}

/** Every table retention purges: a closed union, so a new table must be given its rule below. */
export const PURGE_TARGETS = [
  'agent_metrics',
  'agent_metric_blocks',
  'heartbeat_event_ids',
  'system_metrics',
  'agent_events',
  'agent_event_ids',
  'error_logs',
  'error_event_ids',
  'llm_traces',
  'llm_trace_ids',
  'otlp_points',
  'agent_metrics_1h',
  'system_metrics_1h',
  'fleet_metrics_1h',
  'capacity_claims',
  // Deliveries before alerts: an alert goes once no delivery of it is left (they are written together).
  'webhook_deliveries',
  'alerts',
  'alert_silences',
] as const;
export type PurgeTarget = (typeof PURGE_TARGETS)[number];

/** Which retention setting governs each table; null: a fixed window, not a setting. */
export const RETENTION_OF: Record<PurgeTarget, keyof Retention | null> = {
  agent_metrics: 'metricsDays',
  // Sealed samples (sealing.ts): a block goes once its last sample is past retention.
  agent_metric_blocks: 'metricsDays',
  // Heartbeat event ids are remembered for retries only (heartbeat-samples.ts), not with the samples.
  heartbeat_event_ids: null,
  system_metrics: 'metricsDays',
  agent_events: 'eventsDays',
  // Idempotency records of events and LLM calls (event-ids.ts), kept as long as the rows they stand
  // for: a retry is recognised for as long as its original is stored.
  agent_event_ids: 'eventsDays',
  error_logs: 'errorsDays',
  // Idempotency records of grouped errors: a retry older than the error retention counts again.
  error_event_ids: 'errorsDays',
  llm_traces: 'tracesDays',
  llm_trace_ids: 'tracesDays',
  // OTLP metric points are raw samples like heartbeats (docs/otlp.md); their series stay (capped per agent).
  otlp_points: 'metricsDays',
  agent_metrics_1h: 'rollup1hDays',
  system_metrics_1h: 'rollup1hDays',
  fleet_metrics_1h: 'rollup1hDays',
  // Ended claims (released, or their lease run out) are a record of work routed, kept like events.
  capacity_claims: 'eventsDays',
  // Alert history is a record of what happened, kept like events. A delivery's id guards against
  // sending a transition twice only while that transition can still be written, which is in the
  // alert change's own transaction: a finished delivery past retention guards nothing any more.
  webhook_deliveries: 'eventsDays',
  alerts: 'eventsDays',
  alert_silences: 'eventsDays',
};

export const DAY_MS = 86_400_000;

/** Where `target` is cut at `now`: rows stamped before it are past retention; undefined keeps all. */
export function cutoffFor(target: PurgeTarget, retention: Retention, now: number): number | undefined {
  const days = retentionDays(target, retention);
  return days > 0 ? now - days * DAY_MS : undefined;
}

/** Days `target` keeps (a fraction for a window shorter than a day); 0 keeps it forever. */
export function retentionDays(target: PurgeTarget, retention: Retention): number {
  const setting = RETENTION_OF[target];
  return setting === null ? HEARTBEAT_EVENT_ID_WINDOW_MS / DAY_MS : retention[setting];
}

const byId = (table: string, where: string, order: string) =>
  `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE ${where} ORDER BY ${order} LIMIT ?)`;
const byBucket = (table: string, key: string) =>
  `DELETE FROM ${table} WHERE (${key}, bucket) IN (SELECT ${key}, bucket FROM ${table} WHERE bucket < ? ORDER BY bucket LIMIT ?)`;
// Raw metrics stay until the rollup job has rolled them, whatever their age.
const rolled = (series: string) => `received_at < COALESCE((SELECT minute_mark FROM rollup_state WHERE series = '${series}'), 0)`;

/**
 * How far `target`'s rows may go by time on top of retention: raw metrics only below what the rollup
 * job has rolled (`rollup_state.minute_mark`, 0 before its first pass); other tables have no such bound.
 */
export async function rolledUpTo(q: SqlExecutor, target: PurgeTarget): Promise<number> {
  const series = target === 'agent_metrics' ? 'agent' : target === 'system_metrics' ? 'host' : undefined;
  if (series === undefined) return Number.POSITIVE_INFINITY;
  const row = await q.get<{ mark: number | null }>('SELECT minute_mark AS mark FROM rollup_state WHERE series = ?', [series]);
  return Number(row?.mark ?? 0);
}

/**
 * One batch of at most `limit` rows, oldest first. Each DELETE names its rows through a bounded
 * subquery on an index that leads with the time column, so a batch costs the same on a table of
 * a thousand rows or a hundred million.
 */
function purgeStatement(target: PurgeTarget): { sql: string; cutoffs: number } {
  switch (target) {
    case 'agent_metrics':
      return { sql: byId(target, `received_at < ? AND ${rolled('agent')}`, 'received_at'), cutoffs: 1 };
    case 'system_metrics':
      return { sql: byId(target, `received_at < ? AND ${rolled('host')}`, 'received_at'), cutoffs: 1 };
    case 'agent_events':
    case 'llm_traces':
    case 'otlp_points':
      return { sql: byId(target, 'received_at < ?', 'received_at'), cutoffs: 1 };
    case 'error_logs':
      // Resolved and quiet since the cutoff: neither resolved nor seen again after it.
      return { sql: byId(target, 'resolved = TRUE AND last_seen_at < ? AND resolved_at < ?', 'last_seen_at'), cutoffs: 2 };
    case 'agent_metric_blocks':
      return {
        sql:
          'DELETE FROM agent_metric_blocks WHERE (agent_key, start_at) IN ' +
          '(SELECT agent_key, start_at FROM agent_metric_blocks WHERE end_at < ? ORDER BY end_at LIMIT ?)',
        cutoffs: 1,
      };
    case 'heartbeat_event_ids':
      return {
        sql:
          'DELETE FROM heartbeat_event_ids WHERE (event_id, agent_key) IN ' +
          '(SELECT event_id, agent_key FROM heartbeat_event_ids WHERE received_at < ? ORDER BY received_at LIMIT ?)',
        cutoffs: 1,
      };
    case 'error_event_ids':
    case 'agent_event_ids':
    case 'llm_trace_ids':
      return {
        sql:
          `DELETE FROM ${target} WHERE (agent_id, event_id) IN ` +
          `(SELECT agent_id, event_id FROM ${target} WHERE received_at < ? ORDER BY received_at LIMIT ?)`,
        cutoffs: 1,
      };
    case 'agent_metrics_1h':
      return { sql: byBucket(target, 'agent_id'), cutoffs: 1 };
    case 'system_metrics_1h':
      return { sql: byBucket(target, 'host'), cutoffs: 1 };
    case 'capacity_claims':
      // Ended before the cutoff (migration 16 indexes this expression); an active claim ends ahead of now.
      return {
        sql:
          'DELETE FROM capacity_claims WHERE claim_id IN (SELECT claim_id FROM capacity_claims ' +
          'WHERE COALESCE(released_at, expires_at) < ? ORDER BY COALESCE(released_at, expires_at) LIMIT ?)',
        cutoffs: 1,
      };
    case 'webhook_deliveries':
      // Finished (delivered, or failed for good) before the cutoff; a pending one is still to be sent.
      return { sql: byId(target, "status <> 'pending' AND updated_at < ?", 'updated_at'), cutoffs: 1 };
    case 'alerts':
      // Resolved before the cutoff and no delivery of it left (one still to be sent, or finished after
      // the cutoff, keeps it): SQLite reuses the largest id once it is deleted, and a delivery log
      // must never show under another alert. An open alert stays.
      return {
        sql: byId(
          target,
          "state = 'resolved' AND resolved_at < ? AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.alert_id = alerts.id)",
          'resolved_at',
        ),
        cutoffs: 1,
      };
    case 'alert_silences':
      return { sql: byId(target, 'until < ?', 'until'), cutoffs: 1 };
    case 'fleet_metrics_1h':
      return {
        sql: 'DELETE FROM fleet_metrics_1h WHERE bucket IN (SELECT bucket FROM fleet_metrics_1h WHERE bucket < ? ORDER BY bucket LIMIT ?)',
        cutoffs: 1,
      };
  }
}

export interface PurgeResult {
  ok: true;
  deleted: number;
  /** How long the DELETE held the writer (ms), which the job uses to size the next batch. */
  ms: number;
}

/** Deletes one batch of `target`'s rows stamped before `cutoff`, inside the writer's transaction. */
export async function purgeBatch(tx: SqlExecutor, target: PurgeTarget, cutoff: number, limit: number): Promise<PurgeResult> {
  const { sql, cutoffs } = purgeStatement(target);
  const started = performance.now();
  const { changes } = await tx.run(sql, [...Array<number>(cutoffs).fill(cutoff), limit]);
  return { ok: true, deleted: changes, ms: performance.now() - started };
}
