import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Agent and pool keys: `vgl_` and 256 random bits; only a SHA-256 of the whole key is stored. */
export function generateKey(): { key: string; prefix: string; hash: string; keyId: string } {
  const key = `vgl_${randomBytes(32).toString('base64url')}`;
  return { key, prefix: key.slice(0, 12), hash: hashKey(key), keyId: `key_${randomBytes(6).toString('hex')}` };
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Compares two `hashKey` digests in constant time, so the time taken reveals nothing of a guess. */
export function sameDigest(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}

export const ADMIN_TOKEN_FILE = 'admin-token';

/**
 * The admin token: the configured one, or the one generated at first start into the data dir
 * (mode 0600, readable by the hub's user only). Returns where it came from for the start banner.
 */
export function loadAdminToken(dataDir: string, configured: string | undefined): { token: string; source: string } {
  if (configured !== undefined) return { token: configured, source: 'VIGIL_ADMIN_TOKEN' };
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length >= 16) return { token, source: file };
  }
  mkdirSync(dataDir, { recursive: true });
  const token = `vgl_admin_${randomBytes(32).toString('base64url')}`;
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { token, source: file };
}
