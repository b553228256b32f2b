import type { SqlExecutor } from '../store/db.js';
import { findActiveKey } from '../store/keys.js';
import type { Principal } from './principal.js';
import { hashKey, sameDigest } from './secrets.js';

/** How long a key lookup is trusted; bounds how late a revocation takes effect. */
const KEY_CACHE_MS = 1000;
const KEY_CACHE_MAX = 10_000;

/**
 * Turns an `Authorization: Bearer …` header into a principal. Keys are looked up by their hash
 * (no early exit on a prefix), and remembered for a second so a busy agent costs no query per request.
 */
export class Authenticator {
  private readonly cache = new Map<string, { principal: Principal | undefined; until: number }>();
  /** The admin token's digest, decoded once. */
  private readonly adminHash: Buffer;

  constructor(
    adminToken: string,
    private readonly db: SqlExecutor,
    private readonly now: () => number = Date.now,
  ) {
    this.adminHash = Buffer.from(hashKey(adminToken), 'hex');
  }

  async authenticate(header: string | undefined): Promise<Principal | undefined> {
    const token = bearer(header);
    if (token === undefined) return undefined;
    const hash = hashKey(token);
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

  /** Forgets cached lookups at once (after a revocation on this hub). */
  forget(): void {
    this.cache.clear();
  }
}

// The scheme name is case-insensitive (RFC 7235 section 2.1).
function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer ([\x21-\x7e]{1,512})$/i.exec(header);
  return match?.[1];
}
