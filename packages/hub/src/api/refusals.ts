import type { Principal } from '../auth/principal.js';
import { mayWriteDirectly } from '../auth/principal.js';
import { VigilError } from '../errors.js';
import type { Refusal } from '../ingest/commands.js';

/** Turns a command's refusal into the API error; passes a success through, narrowed. */
export function accepted<T extends { ok: true } | Refusal>(result: T): Exclude<T, Refusal> {
  if (!result.ok) throw new VigilError(result.code, result.message);
  return result as Exclude<T, Refusal>;
}

/**
 * Checks before enqueueing what can be checked without the database. An agent key writing another
 * agent gets the same 403 whether or not that agent exists. Pool keys are checked in the transaction.
 */
export function assertMayWrite(p: Principal, agentId: string): void {
  if (p.kind === 'pool') return;
  if (!mayWriteDirectly(p, agentId)) throw new VigilError('VIGIL_FORBIDDEN');
}

export function assertAdmin(p: Principal): void {
  if (p.kind !== 'admin') throw new VigilError('VIGIL_FORBIDDEN');
}

/** Agents may lag or lead the hub a little; more than five minutes ahead is a broken clock (docs/reliability.md F3). */
export const MAX_FUTURE_MS = 5 * 60_000;

export function assertNotFuture(timestamp: number | undefined, now: number): void {
  if (timestamp !== undefined && timestamp > now + MAX_FUTURE_MS) throw new VigilError('VIGIL_TIMESTAMP_IN_FUTURE');
}
