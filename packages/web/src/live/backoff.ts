import { backoffDelay } from '@vigil/protocol/backoff';

/** First retry after about half a second; never wait more than 30 s, so a returning hub is noticed soon. */
export const BACKOFF_BASE_MS = 500;
export const BACKOFF_MAX_MS = 30_000;

/**
 * Delay before reconnect attempt `attempt` (0 for the first): exponential, capped, and shortened by up
 * to half at random so that every open dashboard does not reconnect in the same instant after a hub
 * restart. Here `random() = 1` keeps the whole delay and 0 halves it (what the feed's tests pin).
 */
export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
  return Math.round(backoffDelay(attempt + 1, { baseMs: BACKOFF_BASE_MS, capMs: BACKOFF_MAX_MS, jitter: 0.5 }, () => 1 - random()));
}
