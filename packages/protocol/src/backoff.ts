/**
 * How long to wait between failed attempts: exponential from `baseMs`, at most `capMs`, less a
 * random share of at most `jitter` (0 to 1) so that clients that failed together do not all retry
 * in the same instant. Shared by the agent SDK, the hub's webhooks and the dashboard's live feed,
 * each of which picks its own numbers (and says why beside them).
 */
export interface Backoff {
  /** Delay before the first retry, in ms. */
  baseMs: number;
  /** Longest delay, in ms, however many attempts have failed. */
  capMs: number;
  /** Largest share of a delay that jitter may take off (0: none; 0.5: down to half). */
  jitter: number;
}

/**
 * Delay before retry number `retry` (1 for the first): `baseMs · 2^(retry−1)`, capped at `capMs`,
 * less `jitter · random()` of it. `random` is injectable so tests can pin the delays.
 */
export function backoffDelay(retry: number, backoff: Backoff, random: () => number = Math.random): number {
  // Past 2^40 every delay is the cap anyway; the bound keeps a huge retry count from overflowing to Infinity.
  const exponential = Math.min(backoff.capMs, backoff.baseMs * 2 ** Math.min(Math.max(retry, 1) - 1, 40));
  return exponential * (1 - backoff.jitter * random());
}
