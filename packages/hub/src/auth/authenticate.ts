import { VigilError } from '../errors.js';
import type { SqlExecutor } from '../store/db.js';
import { findActiveKey } from '../store/keys.js';
import { FailureThrottle } from './failure-throttle.js';
import { KeyRateLimit } from './key-rate-limit.js';
import type { Principal } from './principal.js';
import { hashKey, sameDigest } from './secrets.js';

/** How long a key lookup is trusted; bounds how late a revocation takes effect. */
const KEY_CACHE_MS = 1000;
const KEY_CACHE_MAX = 10_000;
/** Credentials remembered as having worked (about 8 MB at most), so a locked-out address keeps its genuine keys. */
const TRUSTED_MAX = 100_000;

/**
 * Turns an `Authorization: Bearer …` header into a principal. Keys are looked up by their hash
 * (no early exit on a prefix), and remembered for a second so a busy agent costs no query per request.
 *
 * Failed credentials are counted per client address (`FailureThrottle`). While an address is
 * locked out, a credential is checked only if it has worked on this hub before (its digest is
 * remembered in `trusted`): the agents and the operator behind that address (one NAT, one proxy)
 * keep working, while new guesses are refused with 429 without being tried, so the lockout
 * really stops guessing. A genuine key used for the first time from a locked-out address waits
 * like a guess.
 */
export class Authenticator {
  private readonly cache = new Map<string, { principal: Principal | undefined; until: number }>();
  /** The first half of the digests of credentials that have authenticated on this hub, oldest first. */
  private readonly trusted = new Set<string>();
  /** The admin token's digest, decoded once. */
  private readonly adminHash: Buffer;

  constructor(
    adminToken: string,
    private readonly db: SqlExecutor,
    private readonly now: () => number = Date.now,
    private readonly failures: FailureThrottle = new FailureThrottle(0, now),
    private readonly rates: KeyRateLimit = new KeyRateLimit(0, 0, now),
  ) {
    this.adminHash = Buffer.from(hashKey(adminToken), 'hex');
  }

  /**
   * The principal of an `Authorization` header sent from `address`; undefined (and one failure
   * counted against the address) when it names none. Throws VIGIL_AUTH_THROTTLED while the
   * address is locked out, unless the credential has worked before.
   */
  async authenticate(header: string | undefined, address: string): Promise<Principal | undefined> {
    const token = bearer(header);
    const hash = token === undefined ? undefined : hashKey(token);
    // 128 bits of the digest are plenty to recognise a credential and halve what is kept.
    const mark = hash?.slice(0, 32);
    const trusted = mark !== undefined && this.trusted.has(mark);
    if (!trusted) {
      const waitS = this.failures.retryAfterS(address);
      if (waitS > 0) {
        throw new VigilError('VIGIL_AUTH_THROTTLED', `Too many failed credentials from this address; retry in ${waitS} s`, waitS);
      }
      // Counted before the lookup and given back on success, so a burst of concurrent guesses
      // cannot all pass the check before the first of them is counted.
      this.failures.fail(address);
    }
    const principal = hash === undefined ? undefined : await this.lookup(hash);
    if (principal && !trusted && mark !== undefined) {
      this.failures.refund(address);
      if (this.trusted.size >= TRUSTED_MAX) this.trusted.delete(this.trusted.values().next().value as string);
      this.trusted.add(mark);
    } else if (!principal && trusted) this.failures.fail(address);
    return principal;
  }

  /**
   * Admits one request of `principal` carrying `bytes` of body under its key's rate limits
   * (KeyRateLimit): resolves at once, or once the request's turn comes (at most `maxHoldMs`,
   * MAX_HOLD_MS by default), or rejects with VIGIL_RATE_LIMITED and the seconds to wait after
   * holding it that long. The admin token (the operator, the dashboard's sessions) is not limited.
   */
  async admit(principal: Principal, bytes: number, maxHoldMs?: number): Promise<void> {
    if (principal.kind === 'admin') return;
    const a = this.rates.admit(principal.keyId, bytes, maxHoldMs);
    if (a.holdMs > 0) await new Promise((resolve) => setTimeout(resolve, a.holdMs));
    if (!a.admitted) {
      throw new VigilError('VIGIL_RATE_LIMITED', `This key sent more than its rate limit; retry in ${a.retryAfterS} s`, a.retryAfterS);
    }
  }

  /** Charges body bytes that arrived after the request was admitted (a body sent without Content-Length). */
  charge(principal: Principal, bytes: number): void {
    if (principal.kind !== 'admin') this.rates.charge(principal.keyId, bytes);
  }

  /** Whether `principal`'s requests are rate limited at all: a key (not the admin) while a rate is set. */
  limits(principal: Principal): boolean {
    return principal.kind !== 'admin' && this.rates.enabled;
  }

  private async lookup(hash: string): Promise<Principal | undefined> {
    if (sameDigest(hash, this.adminHash)) return { kind: 'admin' };
    const t = this.now();
    const hit = this.cache.get(hash);
    if (hit && hit.until > t) return hit.principal;
    const key = await findActiveKey(this.db, hash);
    const principal: Principal | undefined = !key
      ? undefined
      : key.scope === 'agent'
        ? { kind: 'agent', keyId: key.key_id, agentId: key.scope_value }
        : { kind: 'pool', keyId: key.key_id, pool: key.scope_value };
    if (this.cache.size >= KEY_CACHE_MAX) this.cache.clear();
    this.cache.set(hash, { principal, until: t + KEY_CACHE_MS });
    return principal;
  }

  /** Told when a key is revoked on this hub: other hubs on the same database forget theirs too (cluster/link.ts). */
  onForget: (() => void) | undefined;

  /** Forgets cached lookups at once (after a revocation on this hub), here and on the other hubs. */
  forget(): void {
    this.forgetCached();
    this.onForget?.();
  }

  /** Forgets this hub's cached lookups (another hub revoked a key). */
  forgetCached(): void {
    this.cache.clear();
  }
}

// The scheme name is case-insensitive (RFC 7235 section 2.1).
function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer ([\x21-\x7e]{1,512})$/i.exec(header);
  return match?.[1];
}
