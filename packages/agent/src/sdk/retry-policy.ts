import { backoffDelay as delayFor } from '@vigil/protocol/backoff';

/** How long to wait between failed attempts. */
export interface BackoffPolicy {
  /** Delay before the first retry, in ms. */
  baseMs: number;
  /** Longest delay, in ms, however many attempts have failed. */
  capMs: number;
}

/**
 * Share of a delay that jitter may take off. Full jitter (a delay anywhere in [0, d]) can make a
 * retry come sooner than the one before it; cutting at most a quarter keeps every delay at least
 * 1.5× the previous one (0.75 · 2d ≥ 1.5 · d) while still spreading a fleet that failed together
 * over a quarter of the delay.
 */
const JITTER = 0.25;

/**
 * Delay before retry number `retry` (1 for the first): `baseMs · 2^(retry−1)`, capped at
 * `capMs`, less up to a quarter at random.
 */
export function backoffDelay(retry: number, policy: BackoffPolicy, random: () => number): number {
  return delayFor(retry, { baseMs: policy.baseMs, capMs: policy.capMs, jitter: JITTER }, random);
}

/**
 * A broken or hostile `Retry-After` (a year, say) must not silence an agent for that long; five
 * minutes is beyond anything the hub sends (1–60 s) and short enough to recover on its own.
 */
export const MAX_RETRY_AFTER_MS = 5 * 60_000;

const DELAY_SECONDS = /^\s*(\d{1,10})\s*$/;
// IMF-fixdate, the obsolete RFC 850 form, and asctime (RFC 9110 §5.6.7 asks recipients to accept all three).
const HTTP_DATE =
  /^\s*(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? +(\d{1,2}[ -][A-Za-z]{3}[ -]\d{2,4} \d{2}:\d{2}:\d{2} GMT|[A-Za-z]{3} +\d{1,2} \d{2}:\d{2}:\d{2} \d{4})\s*$/;

/**
 * The wait a `Retry-After` header asks for, in ms: delay-seconds or an HTTP-date (RFC 9110
 * §10.2.3), at most {@link MAX_RETRY_AFTER_MS}. Undefined when the header is absent, unreadable,
 * zero or in the past; the caller then uses its own backoff, as Prometheus remote-write does, so a
 * `Retry-After: 0` cannot turn retries into a busy loop.
 */
export function parseRetryAfter(header: string | undefined, nowMs: number): number | undefined {
  if (header === undefined) return undefined;
  const seconds = DELAY_SECONDS.exec(header);
  let ms: number;
  if (seconds) {
    ms = Number(seconds[1]) * 1000;
  } else {
    const date = HTTP_DATE.exec(header);
    if (!date) return undefined;
    // asctime carries no zone; HTTP dates are always GMT.
    const at = Date.parse(header.includes('GMT') ? header : `${header.trim()} GMT`);
    if (!Number.isFinite(at)) return undefined;
    ms = at - nowMs;
  }
  return ms > 0 ? Math.min(ms, MAX_RETRY_AFTER_MS) : undefined;
}

/**
 * What a hub answer means for the items it was about:
 * - `ok`: stored (or, for a batch, see each item's fate);
 * - `retry`: the hub or the path to it is overloaded or failing; send the same items again later;
 * - `invalid`: the request itself is wrong; sending it again cannot help;
 * - `reregister`: the hub does not know this agent (its database was reset): register, then resend;
 * - `blocked`: the credentials or the URL are wrong; only an operator can fix that.
 */
export type Verdict = 'ok' | 'retry' | 'invalid' | 'reregister' | 'blocked';

/** Classifies an HTTP answer by status and the hub's error code (never by message text). */
export function classifyStatus(status: number, code: string | undefined): Verdict {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  if (status === 404 && code === 'VIGIL_AGENT_NOT_FOUND') return 'reregister';
  // 404 for a route means the URL points somewhere that is not a Vigil hub (or a proxy's path is
  // wrong), and 409 is an agent id bound to another key: configuration, like bad credentials.
  if (status === 401 || status === 403 || status === 404 || status === 409) return 'blocked';
  if (status >= 400) return 'invalid';
  // 1xx and 3xx: the hub never redirects, so this is a proxy in the way.
  return 'blocked';
}
