import type { AgentError, AgentEvent, Heartbeat, LlmTrace, RegisterAgent } from '@vigil/protocol';
import { applyAlertAction, type AlertAction, type AlertResult, type AppliedAlertAction } from '../alerts/commands.js';
import { queueResolutions } from '../alerts/outbox.js';
import {
  guardAgent,
  markStaleAgents,
  exitReason,
  markExited,
  recordHeartbeat,
  registerAgent,
  type HeartbeatResult,
  type HeartbeatRuns,
  type RegisterResult,
} from '../store/agents.js';
import { claimCapacity, releaseClaim, renewClaim, type Claim, type ClaimChange, type ClaimRequest } from '../store/claims.js';
import type { Dialect, SqlExecutor } from '../store/db.js';
import { insertAgentEvent } from '../store/events.js';
import { countErrorReport } from '../store/error-counts.js';
import { recordError, reopenError, resolveError, type Reopened, type StoredError } from '../store/errors.js';
import { purgeBatch, type PurgeResult, type PurgeTarget } from '../store/retention.js';
import {
  deleteAgent,
  purgeAgentHistory,
  updateAgent,
  type AgentPatch,
  type DeleteAgentResult,
  type UpdateAgentResult,
} from '../store/retire.js';
import { rollupStep, type RollupResult, type RollupStep } from '../store/rollups.js';
import { sealStep, type SealResult, type SealStep } from '../store/sealing.js';
import { insertSystemMetrics, type SystemMetricsRow } from '../store/system-metrics.js';
import { insertTrace } from '../store/traces.js';
import type { AgentBatch } from '../otlp/map.js';
import { applyOtlpBatch, type OtlpRefusal, type OtlpResult } from '../otlp/store.js';

/**
 * Everything that writes goes through the single writer as one of these commands. `now` is the
 * hub's clock when the request arrived; `allowedPool` is set when a pool key sent it, and is
 * checked inside the transaction so authorization and the write cannot race.
 */
export type Command =
  | {
      kind: 'register';
      agent: RegisterAgent & { agent_id: string };
      now: number;
      allowedPool?: string | undefined;
      /** Whether the caller may move an existing agent to another pool (the admin token only). */
      mayMovePool: boolean;
      /** Whether the caller may bring back a deleted agent (the admin and pool keys; never the agent's own key). */
      mayRevive?: boolean;
    }
  | { kind: 'heartbeat'; agentId: string; heartbeat: Heartbeat; now: number; allowedPool?: string | undefined }
  | { kind: 'event'; agentId: string; event: AgentEvent; now: number; allowedPool?: string | undefined }
  | { kind: 'error'; agentId: string; error: AgentError; fingerprint: string; now: number; allowedPool?: string | undefined }
  | { kind: 'trace'; agentId: string; trace: LlmTrace; now: number; allowedPool?: string | undefined }
  | { kind: 'otlp'; batch: AgentBatch; now: number; allowedPool?: string | undefined; maxSeries: number; mayRevive: boolean }
  | { kind: 'system_metrics'; row: SystemMetricsRow }
  | { kind: 'resolve'; errorId: number; now: number }
  | { kind: 'unresolve'; errorId: number; now: number }
  | { kind: 'mark_stale'; now: number; bootedAt: number; missed: number }
  | { kind: 'alerts'; action: AlertAction }
  | { kind: 'rollup'; step: RollupStep }
  | { kind: 'seal'; step: SealStep }
  | { kind: 'purge'; target: PurgeTarget; cutoff: number; limit: number }
  | { kind: 'delete_agent'; agentId: string; keepHistory: boolean; now: number }
  | { kind: 'purge_agent_history'; agentId: string; limit: number }
  | { kind: 'update_agent'; agentId: string; patch: AgentPatch; now: number }
  /** SQLite only: there the single writer makes a claim atomic; PostgreSQL claims in transactions of their own (store/claims.ts). */
  | { kind: 'claim'; request: ClaimRequest }
  | { kind: 'release_claim'; claimId: string; now: number; allowedPool?: string | undefined }
  | { kind: 'renew_claim'; claimId: string; leaseMs: number; now: number; allowedPool?: string | undefined };

export type Refusal = {
  ok: false;
  code: 'VIGIL_AGENT_NOT_FOUND' | 'VIGIL_FORBIDDEN' | 'VIGIL_ERROR_NOT_FOUND' | 'VIGIL_POOL_CHANGE_FORBIDDEN' | 'VIGIL_AGENT_DELETED';
  /** A sentence more specific than the code's own, when the refusal has one. */
  message?: string;
};

export type CommandResult = ResultMap[keyof ResultMap];

type Kind = Command['kind'];

/**
 * One committed command with the result it answered, as the writer tells its listeners: `kind`
 * (and `type` for an alerts action) narrows both, so the live messages read them without casts.
 */
export type Committed =
  | { [K in Exclude<Kind, 'alerts'>]: { kind: K; command: Extract<Command, { kind: K }>; result: ResultMap[K] } }[Exclude<Kind, 'alerts'>]
  | ({ kind: 'alerts' } & AppliedAlertAction);

/** Pairs a command with its result. */
export function committed(command: Command, result: CommandResult): Committed {
  // applyCommand answers ResultMap[command.kind] (AlertResults[action.type] for an alerts action);
  // TypeScript cannot follow that correlation through the switch, so it is asserted here, once.
  if (command.kind === 'alerts') return { kind: 'alerts', type: command.action.type, action: command.action, result } as Committed;
  return { kind: command.kind, command, result } as Committed;
}

/** Applies one command inside the writer's transaction; `runs` is the batch's (see HeartbeatRuns). */
export async function applyCommand(tx: SqlExecutor, dialect: Dialect, cmd: Command, runs?: HeartbeatRuns): Promise<CommandResult> {
  switch (cmd.kind) {
    case 'register':
      return registerAgent(tx, dialect, cmd.agent, cmd.now, cmd.allowedPool, cmd.mayMovePool, cmd.mayRevive ?? true);
    case 'heartbeat':
      return recordHeartbeat(tx, dialect, cmd.agentId, cmd.heartbeat, cmd.now, cmd.allowedPool, runs);
    case 'event': {
      const guard = await guardAgent(tx, dialect, cmd.agentId, cmd.allowedPool);
      if (!guard.ok) return guard;
      const stored = await insertAgentEvent(tx, cmd.agentId, cmd.event, cmd.now);
      // A stop or a crash takes the agent offline now, with the reason the agent reported.
      const exit = exitReason(cmd.event);
      const exited = !stored.duplicate && exit !== undefined && (await markExited(tx, cmd.agentId, exit, cmd.now));
      return { ok: true as const, ...stored, exited };
    }
    case 'error': {
      const guard = await guardAgent(tx, dialect, cmd.agentId, cmd.allowedPool);
      if (!guard.ok) return guard;
      const recorded = await recordError(tx, cmd.agentId, cmd.error, cmd.fingerprint, cmd.now);
      // The `error_rate` alert metric reads these back after a restart; a retried report counts once.
      if (!recorded.duplicate) await countErrorReport(tx, cmd.agentId, cmd.now);
      return { ok: true as const, ...recorded };
    }
    case 'trace': {
      const guard = await guardAgent(tx, dialect, cmd.agentId, cmd.allowedPool);
      if (!guard.ok) return guard;
      return { ok: true as const, ...(await insertTrace(tx, cmd.agentId, cmd.trace, cmd.now)) };
    }
    case 'otlp':
      return applyOtlpBatch(tx, dialect, cmd.batch, cmd.now, cmd.allowedPool, cmd.maxSeries, cmd.mayRevive);
    case 'system_metrics':
      await insertSystemMetrics(tx, cmd.row);
      return { ok: true as const };
    case 'resolve': {
      const error = await resolveError(tx, cmd.errorId, cmd.now);
      return error ? { ok: true as const, error } : ({ ok: false, code: 'VIGIL_ERROR_NOT_FOUND' } as const);
    }
    case 'unresolve': {
      const reopened = await reopenError(tx, dialect, cmd.errorId);
      return reopened ? { ok: true as const, ...reopened } : ({ ok: false, code: 'VIGIL_ERROR_NOT_FOUND' } as const);
    }
    case 'mark_stale':
      return { ok: true as const, offline: await markStaleAgents(tx, cmd.now, cmd.bootedAt, cmd.missed) };
    case 'alerts':
      return applyAlertAction(tx, cmd.action);
    case 'rollup':
      return rollupStep(tx, dialect, cmd.step);
    case 'seal':
      return sealStep(tx, dialect, cmd.step);
    case 'purge':
      return purgeBatch(tx, cmd.target, cmd.cutoff, cmd.limit);
    case 'delete_agent': {
      const r = await deleteAgent(tx, dialect, cmd.agentId, cmd.keepHistory, cmd.now);
      if (r.ok && r.deleted) await queueResolutions(tx, r.alerts.resolved, cmd.now);
      return r;
    }
    case 'purge_agent_history':
      return purgeAgentHistory(tx, cmd.agentId, cmd.limit);
    case 'update_agent': {
      const r = await updateAgent(tx, dialect, cmd.agentId, cmd.patch, cmd.now);
      if (r.ok) await queueResolutions(tx, r.alerts.resolved, cmd.now);
      return r;
    }
    case 'claim':
      return { ok: true, claim: await claimCapacity(tx, dialect, (fn) => fn(tx), cmd.request) };
    case 'release_claim':
      return releaseClaim(tx, cmd.claimId, cmd.now, cmd.allowedPool);
    case 'renew_claim':
      return renewClaim(tx, cmd.claimId, cmd.leaseMs, cmd.now, cmd.allowedPool);
  }
}

/** What each kind of command answers; a refusal is a result, not an exception. */
export interface ResultMap {
  register: RegisterResult | Refusal;
  heartbeat: HeartbeatResult;
  /** `exited`: the event took the agent offline (a stop or a crash). */
  event: { ok: true; id: number; duplicate: boolean; exited: boolean } | Refusal;
  error: { ok: true; id: number; occurrences: number; duplicate: boolean } | Refusal;
  trace: { ok: true; id: number; duplicate: boolean } | Refusal;
  otlp: OtlpResult | OtlpRefusal;
  system_metrics: { ok: true };
  resolve: { ok: true; error: StoredError } | Refusal;
  unresolve: ({ ok: true } & Reopened) | Refusal;
  mark_stale: { ok: true; offline: string[] };
  alerts: AlertResult;
  rollup: RollupResult;
  seal: SealResult;
  purge: PurgeResult;
  delete_agent: DeleteAgentResult;
  purge_agent_history: { ok: true; deleted: number; done: boolean; ms: number };
  update_agent: UpdateAgentResult;
  /** `claim` undefined: nothing fits. */
  claim: { ok: true; claim: Claim | undefined };
  release_claim: ClaimChange;
  renew_claim: ClaimChange;
}
