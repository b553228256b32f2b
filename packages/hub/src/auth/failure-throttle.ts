import { clientKey } from '../ip-address.js';

/** Addresses tracked at most; beyond it the one that failed least recently is forgotten. */
const MAX_TRACKED = 10_000;

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Failed credentials per client address (an IPv4 address or an IPv6 /64), as token buckets: an
 * address may fail `perMinute` times at once, and earns one more try every 60/`perMinute`
 * seconds. While its bucket is empty it must wait (429 with Retry-After), so a weak admin token
 * cannot be guessed at line rate. Memory is bounded: at most MAX_TRACKED addresses are kept, the
 * least recently failing forgotten first. `perMinute` 0 turns the limit off.
 */
export class FailureThrottle {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number,
    private readonly maxTracked = MAX_TRACKED,
  ) {}

  /** Seconds until `address` may present a credential again; 0 when it may now. */
  retryAfterS(address: string): number {
    if (this.perMinute === 0 || this.buckets.size === 0) return 0;
    const bucket = this.buckets.get(clientKey(address));
    if (!bucket) return 0;
    const tokens = this.refilled(bucket, this.now());
    return tokens >= 1 ? 0 : Math.max(1, Math.ceil(((1 - tokens) * 60) / this.perMinute));
  }

  /** Counts one failed credential from `address`. */
  fail(address: string): void {
    if (this.perMinute === 0) return;
    const key = clientKey(address);
    const t = this.now();
    const bucket = this.buckets.get(key);
    const tokens = bucket ? this.refilled(bucket, t) : this.perMinute;
    // Re-inserted, so the map's order is least recently failing first.
    this.buckets.delete(key);
    if (this.buckets.size >= this.maxTracked) {
      const oldest = this.buckets.keys().next();
      if (!oldest.done) this.buckets.delete(oldest.value);
    }
    this.buckets.set(key, { tokens: Math.max(0, tokens - 1), at: t });
  }

  /** Gives back a failure counted up front for a credential that turned out genuine. */
  refund(address: string): void {
    if (this.perMinute === 0) return;
    const bucket = this.buckets.get(clientKey(address));
    if (!bucket) return;
    const t = this.now();
    bucket.tokens = Math.min(this.perMinute, this.refilled(bucket, t) + 1);
    bucket.at = t;
  }

  /** Addresses tracked now (bounded by the cap). */
  get tracked(): number {
    return this.buckets.size;
  }

  private refilled(bucket: Bucket, t: number): number {
    return Math.min(this.perMinute, bucket.tokens + ((t - bucket.at) * this.perMinute) / 60_000);
  }
}
