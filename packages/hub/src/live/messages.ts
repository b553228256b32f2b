import type { AgentEventType, AgentProcessMetrics, AgentStatus, Alert, AlertChange, Resources } from '@vigil/protocol';
import type { AlertWrite, EndedAlerts } from '../store/alerts.js';
import type { AppliedAlertAction } from '../alerts/commands.js';
import type { Committed } from '../ingest/commands.js';
import { exitReason, type ExitReason } from '../store/agents.js';
import type { StoredError } from '../store/errors.js';
import type { AgentBatch } from '../otlp/map.js';
import type { OtlpResult } from '../otlp/store.js';

/**
 * What the hub tells live listeners (the WebSocket, the alert engine) after a commit. The names are
 * the monitoring API's ones (docs/seed-requirements.md) (`metrics_update`, `alert`) plus `event`, `error`, `error_resolved`, `error_reopened`
 * `agent_status`, and `agent_updated` and `agent_removed` (an agent renamed, paused or resumed, or deleted).
 */
export type LiveMessage =
  | {
      type: 'metrics_update';
      agent_id: string;
      status: AgentStatus;
      /** The agent's resources after this heartbeat was merged in ({} when it carried none). */
      resources: Resources;
      /** When each of those fields was last reported; absent when the heartbeat carried no resources. */
      resource_updated_at?: Record<string, number>;
      metrics: AgentProcessMetrics & { message_count?: number };
      received_at: number;
    }
  | {
      type: 'event';
      id: number;
      agent_id: string;
      event_type: AgentEventType;
      message: string | null;
      metadata: Record<string, unknown>;
      received_at: number;
    }
  | { type: 'error'; id: number; agent_id: string; error_type: string; message: string; occurrences: number; received_at: number }
  | { type: 'error_resolved'; id: number; agent_id: string; resolved_at: number }
  /**
   * A resolved group was reopened. `error` is the open group that now holds it; when a repeat had
   * already opened one, the reopened row was merged into it and deleted, and `removed_id` names it.
   */
  | { type: 'error_reopened'; agent_id: string; error: StoredError; removed_id: number | null; reopened_at: number }
  | {
      type: 'agent_status';
      agent_id: string;
      status: AgentStatus;
      reason: 'registered' | 'heartbeat' | 'missed_heartbeats' | ExitReason;
      at: number;
      /** On registration only: where the agent belongs, for listeners that group by it (alert scopes). */
      pool_name?: string;
      agent_type?: string;
    }
  /** Renamed, or its monitoring paused or resumed (a paused agent fires no alert). */
  | { type: 'agent_updated'; agent_id: string; name: string; paused: boolean; at: number }
  /** Deleted: dashboards drop it; its open alerts end with it (announced as `alert` messages before this one). */
  | { type: 'agent_removed'; agent_id: string; at: number }
  /** LLM calls an agent's OpenTelemetry data added (docs/otlp.md): the agent is busy. */
  | {
      type: 'llm_activity';
      agent_id: string;
      calls: number;
      input_tokens: number;
      output_tokens: number;
      cost_usd: number;
      at: number;
    }
  /** An alert changed state (`pending`, `cancelled`, `firing`, `resolved`) or was acknowledged. */
  | { type: 'alert'; change: AlertChange; alert: Alert };

/**
 * The messages one committed command produces. Built from the command and its result only, so
 * nothing is announced that the transaction did not store, and duplicates announce nothing.
 */
export function messagesFor(c: Committed): LiveMessage[] {
  switch (c.kind) {
    case 'register': {
      const { command: cmd, result: r } = c;
      if (!r.ok) return [];
      const { agent_id, status, pool_name, agent_type } = r.agent;
      return [{ type: 'agent_status', agent_id, status, reason: 'registered', at: cmd.now, pool_name, agent_type }];
    }
    case 'heartbeat': {
      const { command: cmd, result: r } = c;
      if (!r.ok || r.duplicate) return [];
      const out: LiveMessage[] = [];
      if (r.cameOnline) out.push({ type: 'agent_status', agent_id: cmd.agentId, status: r.status, reason: 'heartbeat', at: cmd.now });
      const update: LiveMessage = {
        type: 'metrics_update',
        agent_id: cmd.agentId,
        status: r.status,
        resources: r.resources ?? {},
        metrics: cmd.heartbeat.metrics ?? {},
        received_at: cmd.now,
      };
      if (r.resourceUpdatedAt) update.resource_updated_at = r.resourceUpdatedAt;
      out.push(update);
      return out;
    }
    case 'event': {
      const { command: cmd, result: r } = c;
      if (!r.ok || r.duplicate) return [];
      const e = cmd.event;
      const exit = exitReason(e);
      const out: LiveMessage[] = [
        {
          type: 'event',
          id: r.id,
          agent_id: cmd.agentId,
          event_type: e.event_type,
          message: e.message ?? null,
          metadata: e.metadata ?? {},
          received_at: cmd.now,
        },
      ];
      if (r.exited && exit) out.push({ type: 'agent_status', agent_id: cmd.agentId, status: 'offline', reason: exit, at: cmd.now });
      return out;
    }
    case 'error': {
      const { command: cmd, result: r } = c;
      if (!r.ok || r.duplicate) return [];
      const e = cmd.error;
      return [
        {
          type: 'error',
          id: r.id,
          agent_id: cmd.agentId,
          error_type: e.error_type,
          message: e.message,
          occurrences: r.occurrences,
          received_at: cmd.now,
        },
      ];
    }
    case 'resolve': {
      const { command: cmd, result: r } = c;
      if (!r.ok) return [];
      return [{ type: 'error_resolved', id: r.error.id, agent_id: r.error.agent_id, resolved_at: r.error.resolved_at ?? cmd.now }];
    }
    case 'unresolve': {
      const { command: cmd, result: r } = c;
      // Reopening an open group stores nothing, so it announces nothing.
      if (!r.ok || !r.changed) return [];
      return [{ type: 'error_reopened', agent_id: r.error.agent_id, error: r.error, removed_id: r.removedId, reopened_at: cmd.now }];
    }
    case 'mark_stale': {
      const { command: cmd, result: r } = c;
      return r.offline.map((agent_id) => ({ type: 'agent_status', agent_id, status: 'offline', reason: 'missed_heartbeats', at: cmd.now }));
    }
    case 'otlp':
      return c.result.ok ? otlpMessages(c.command.batch, c.result, c.command.now) : [];
    case 'alerts':
      return alertMessages(c);
    case 'delete_agent': {
      const { command: cmd, result: r } = c;
      if (!r.ok || !r.deleted) return [];
      return [...endedAlertMessages(r.alerts), { type: 'agent_removed', agent_id: cmd.agentId, at: cmd.now }];
    }
    case 'update_agent': {
      const { command: cmd, result: r } = c;
      if (!r.ok) return [];
      const { agent_id, name, paused } = r.agent;
      return [...endedAlertMessages(r.alerts), { type: 'agent_updated', agent_id, name, paused, at: cmd.now }];
    }
    case 'trace':
    case 'system_metrics':
    case 'rollup':
    case 'seal':
    case 'purge':
    case 'purge_agent_history':
    case 'claim':
    case 'release_claim':
    case 'renew_claim':
      // Claims change no agent's measured state: the capacity page reads them when it refreshes.
      return [];
  }
}

/** The changes of state the feed announces (`values` and `notified` are the engine's bookkeeping). */
function announced(change: AlertWrite['change']): change is AlertChange & AlertWrite['change'] {
  return change === 'pending' || change === 'cancelled' || change === 'firing' || change === 'resolved';
}

/** The live messages of a committed alerts action: every change of an alert's state, and acknowledgements. */
function alertMessages(a: AppliedAlertAction): LiveMessage[] {
  switch (a.type) {
    case 'write_alerts':
      return a.result.written.flatMap(({ write, alert }) =>
        alert && announced(write.change) ? [{ type: 'alert' as const, change: write.change, alert }] : [],
      );
    case 'ack':
      return a.result.ok ? [{ type: 'alert', change: 'acknowledged', alert: a.result.alert }] : [];
    default:
      return [];
  }
}

function endedAlertMessages(ended: EndedAlerts): LiveMessage[] {
  return [
    ...ended.cancelled.map((alert) => ({ type: 'alert' as const, change: 'cancelled' as const, alert })),
    ...ended.resolved.map((alert) => ({ type: 'alert' as const, change: 'resolved' as const, alert })),
  ];
}

/** What one agent's share of an OTLP export announces: registration, events, errors, LLM activity. */
function otlpMessages(batch: AgentBatch, r: OtlpResult, now: number): LiveMessage[] {
  const agent_id = batch.agentId;
  const out: LiveMessage[] = [];
  if (r.created) {
    const { pool_name = 'default', agent_type } = batch.register;
    out.push({ type: 'agent_status', agent_id, status: r.status, reason: 'registered', at: now, pool_name, agent_type });
  } else if (r.revived) out.push({ type: 'agent_status', agent_id, status: r.status, reason: 'heartbeat', at: now });
  for (const e of r.events) {
    out.push({ type: 'event', id: e.id, agent_id, event_type: e.type, message: e.message, metadata: e.metadata, received_at: now });
  }
  for (const e of r.errors) {
    out.push({ type: 'error', id: e.id, agent_id, error_type: e.type, message: e.message, occurrences: e.occurrences, received_at: now });
  }
  if (r.calls.stored > 0) {
    out.push({
      type: 'llm_activity',
      agent_id,
      calls: r.calls.stored,
      input_tokens: r.calls.input,
      output_tokens: r.calls.output,
      cost_usd: r.calls.costUsd,
      at: now,
    });
  }
  return out;
}
