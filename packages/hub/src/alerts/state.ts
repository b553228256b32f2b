import type { AlertOp } from '@vigil/protocol';

/**
 * The state machine of one (rule, agent) pair, pure: no clock, no store. Time comes in with each
 * sample, so the same function serves heartbeats, error reports and the engine's timer.
 *
 *   ok ──breach──► pending ──breach held for_seconds──► firing ──back past the margin──► (resolved) ok
 *         │           └──no breach / no data──► (cancelled) ok          │
 *         └──breach, for_seconds = 0──────────────────────────────────────┘
 */

export interface Condition {
  op: AlertOp;
  threshold: number;
  /** How long the breach must last before the alert fires. */
  forMs: number;
  /**
   * Hysteresis: a firing alert resolves only once the value is back past the threshold by this much
   * (below 80 − 4 for `> 80` with a margin of 4), so a value hovering at the threshold cannot flap.
   */
  margin: number;
}

export type AlertState =
  | { phase: 'ok' }
  /** `since`: when the breach began; `value`: the latest value; `peak`: the worst value so far. */
  | { phase: 'pending'; since: number; value: number; peak: number }
  | { phase: 'firing'; since: number; startedAt: number; valueAtFire: number; value: number; peak: number };

export type Change = 'pending' | 'cancelled' | 'firing' | 'resolved';

export interface Step {
  state: AlertState;
  /** Null when the phase did not change (the value and peak may still have moved). */
  change: Change | null;
}

export const OK: AlertState = Object.freeze({ phase: 'ok' });

/** The margin a rule gets when it sets none: 5 % of the threshold's size. */
export function defaultMargin(threshold: number): number {
  return Math.abs(threshold) * 0.05;
}

/** True when `value` breaches the threshold: the condition that starts an alert. */
export function breaches(op: AlertOp, value: number, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
  }
}

/** True while a firing alert should stay firing: the same condition with the threshold moved back by the margin. */
export function stillFiring(c: Condition, value: number): boolean {
  const upward = c.op === '>' || c.op === '>=';
  return breaches(c.op, value, upward ? c.threshold - c.margin : c.threshold + c.margin);
}

/** The worse of two values for this comparator: the higher for `>`/`>=`, the lower for `<`/`<=`. */
export function worse(op: AlertOp, a: number, b: number): number {
  return op === '>' || op === '>=' ? Math.max(a, b) : Math.min(a, b);
}

/**
 * Feeds one observation at time `at`. `value` null means no data (the agent went offline or stopped
 * reporting the figure): a pending alert is cancelled and a firing one resolves, since nothing
 * supports it any more.
 */
export function step(c: Condition, state: AlertState, value: number | null, at: number): Step {
  switch (state.phase) {
    case 'ok': {
      if (value === null || !breaches(c.op, value, c.threshold)) return { state, change: null };
      if (c.forMs <= 0)
        return { state: { phase: 'firing', since: at, startedAt: at, valueAtFire: value, value, peak: value }, change: 'firing' };
      return { state: { phase: 'pending', since: at, value, peak: value }, change: 'pending' };
    }
    case 'pending': {
      if (value === null || !breaches(c.op, value, c.threshold)) return { state: OK, change: 'cancelled' };
      const peak = worse(c.op, state.peak, value);
      if (at - state.since >= c.forMs) {
        return { state: { phase: 'firing', since: state.since, startedAt: at, valueAtFire: value, value, peak }, change: 'firing' };
      }
      return { state: { ...state, value, peak }, change: null };
    }
    case 'firing': {
      if (value === null || !stillFiring(c, value)) return { state: OK, change: 'resolved' };
      return { state: { ...state, value, peak: worse(c.op, state.peak, value) }, change: null };
    }
  }
}
