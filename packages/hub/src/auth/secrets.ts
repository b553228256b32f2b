// A namespace import: `hash` is missing before Node 20.12, and a named import of it would fail to link there.
import * as nodeCrypto from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tightenFile, type Warn } from '../private-files.js';

const { createHash, randomBytes, timingSafeEqual } = nodeCrypto;
// One-shot `crypto.hash` (Node 20.12+) costs a third of a `createHash` object; every authenticated request hashes once.
const oneShotHash = (nodeCrypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

/** Agent and pool keys: `vgl_` and 256 random bits; only a SHA-256 of the whole key is stored. */
export function generateKey(): { key: string; prefix: string; hash: string; keyId: string } {
  const key = `vgl_${randomBytes(32).toString('base64url')}`;
  return { key, prefix: key.slice(0, 12), hash: hashKey(key), keyId: `key_${randomBytes(6).toString('hex')}` };
}

export function hashKey(key: string): string {
  return oneShotHash ? oneShotHash('sha256', key, 'hex') : createHash('sha256').update(key).digest('hex');
}

/**
 * Compares a `hashKey` digest with one decoded once (the admin token's, checked on every request)
 * in constant time, so the time taken reveals nothing of a guess.
 */
export function sameDigest(a: string, expected: Buffer): boolean {
  return a.length === expected.length * 2 && timingSafeEqual(Buffer.from(a, 'hex'), expected);
}

export const ADMIN_TOKEN_FILE = 'admin-token';

/**
 * The admin token: the configured one, or the one generated at first start into the data dir
 * (mode 0600, readable by the hub's user only; a looser existing file is set back to 0600 with a
 * warning, since the start banner promises 0600). Returns where it came from for the banner.
 */
export function loadAdminToken(dataDir: string, configured: string | undefined, warn: Warn): { token: string; source: string } {
  if (configured !== undefined) return { token: configured, source: 'VIGIL_ADMIN_TOKEN' };
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  if (existsSync(file)) {
    const was = tightenFile(file);
    if (was !== undefined) warn({ file, mode: was }, `the admin token file was readable by other users (mode ${was}); set it to 0600`);
    const token = readFileSync(file, 'utf8').trim();
    if (token.length >= 16) return { token, source: file };
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const token = `vgl_admin_${randomBytes(32).toString('base64url')}`;
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { token, source: file };
}
