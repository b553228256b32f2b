/** Keys tracked at most; beyond it the one used least recently is forgotten (its buckets start full again). */
const MAX_TRACKED = 100_000;

/** A key may spend this many seconds of its rates at once before it is held to them. */
export const BURST_S = 2;

/** The most seconds of byte rate a key may owe, so no single charge locks it out for long. */
const MAX_DEBT_S = 60;

interface Buckets {
  /** Requests it may still send now (at most rate × BURST_S). */
  requests: number;
  /** Bytes it may still send now; negative while it repays a body larger than what was left. */
  bytes: number;
  at: number;
}

/**
 * Longest a request over its key's rate is held before it goes on (or, when it would have to wait
 * longer, before it is refused). Holding rather than answering at once is what keeps a flood cheap:
 * a client that retries as soon as it hears 429 would otherwise keep the HTTP thread busy with
 * refusals (bench:fairness measured the other agents' p99 at 3.4× with instant refusals).
 */
export const MAX_HOLD_MS = 1000;

/** What to do with a request: go on after `holdMs` (0: at once), or be refused after `holdMs`. */
export type Admission = { admitted: true; holdMs: number } | { admitted: false; holdMs: number; retryAfterS: number };

const NOW: Admission = { admitted: true, holdMs: 0 };

/**
 * What each agent or pool key may send, as two token buckets per key: requests a second and body
 * bytes a second, each with a burst of BURST_S seconds of its rate. Per key, not global: one agent
 * sending far more than its share is slowed and then refused (429 with Retry-After) while every
 * other key goes on as before. A request that finds a bucket short waits for its turn, up to
 * MAX_HOLD_MS (its share is taken at once, so the requests behind it wait longer); one that would
 * wait longer is held MAX_HOLD_MS and refused, charged nothing. A body may take the byte bucket below
 * zero (a body larger than the burst still goes through), and the key then waits until the debt is
 * repaid. A rate of 0 turns that limit off. Each hub keeps its own buckets: behind a load balancer
 * over N hubs a key may send up to N times its rate.
 */
export class KeyRateLimit {
  private readonly keys = new Map<string, Buckets>();

  constructor(
    private readonly requestsPerS: number,
    private readonly bytesPerS: number,
    private readonly now: () => number,
    private readonly maxTracked = MAX_TRACKED,
  ) {}

  /** The most bytes a key may owe: a minute of its rate, however large the bodies it got through. */
  private get maxDebt(): number {
    return -this.bytesPerS * MAX_DEBT_S;
  }

  get enabled(): boolean {
    return this.requestsPerS > 0 || this.bytesPerS > 0;
  }

  /**
   * When `keyId`'s next request, declaring `bytes` of body, may go on (and it is then charged: one
   * request and its bytes; a body of unknown length is charged as it arrives, with `charge`), or
   * that it is refused, with the whole seconds to wait before trying again. `maxHoldMs` is the
   * longest it may be held (0: refused at once when its key is short).
   */
  admit(keyId: string, bytes: number, maxHoldMs = MAX_HOLD_MS): Admission {
    if (!this.enabled) return NOW;
    const b = this.refilled(keyId);
    const waitRequests = this.requestsPerS > 0 && b.requests < 1 ? (1 - b.requests) / this.requestsPerS : 0;
    const waitBytes = this.bytesPerS > 0 && b.bytes < 0 ? -b.bytes / this.bytesPerS : 0;
    const waitMs = Math.max(waitRequests, waitBytes) * 1000;
    if (waitMs > maxHoldMs) return { admitted: false, holdMs: maxHoldMs, retryAfterS: Math.max(1, Math.ceil((waitMs - maxHoldMs) / 1000)) };
    b.requests -= 1;
    b.bytes = Math.max(b.bytes - bytes, this.maxDebt);
    return waitMs > 0 ? { admitted: true, holdMs: Math.ceil(waitMs) } : NOW;
  }

  /** Charges bytes read after the request was admitted (a chunked body). */
  charge(keyId: string, bytes: number): void {
    const b = this.keys.get(keyId);
    if (b && this.bytesPerS > 0) b.bytes = Math.max(b.bytes - bytes, this.maxDebt);
  }

  /** Keys tracked now (bounded). */
  get tracked(): number {
    return this.keys.size;
  }

  /** The key's buckets brought up to now, and moved to the end of the map (most recently used). */
  private refilled(keyId: string): Buckets {
    const t = this.now();
    let b = this.keys.get(keyId);
    if (b) {
      this.keys.delete(keyId);
      // A clock that steps back refills nothing (and takes nothing away).
      const s = Math.max(0, t - b.at) / 1000;
      b.requests = Math.min(this.requestsPerS * BURST_S, b.requests + s * this.requestsPerS);
      b.bytes = Math.min(this.bytesPerS * BURST_S, b.bytes + s * this.bytesPerS);
      b.at = t;
    } else {
      if (this.keys.size >= this.maxTracked) this.keys.delete(this.keys.keys().next().value as string);
      b = { requests: this.requestsPerS * BURST_S, bytes: this.bytesPerS * BURST_S, at: t };
    }
    this.keys.set(keyId, b);
    return b;
  }
}
