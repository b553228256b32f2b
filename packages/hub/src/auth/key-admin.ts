import type { Db } from '../store/db.js';
import { insertKey, revokeKey, type ApiKeyInfo, type KeyScope } from '../store/keys.js';
import { generateKey } from './secrets.js';

/**
 * Creates an agent or pool key. The secret is returned once, here, and stored only as a hash.
 * Used by both `POST /api/v1/keys` and `vigil keys create`.
 */
export async function createApiKey(
  db: Db,
  scope: KeyScope,
  scopeValue: string,
  name: string | null,
  now: number,
): Promise<{ key: string; info: ApiKeyInfo }> {
  const { key, prefix, hash, keyId } = generateKey();
  const info: ApiKeyInfo = { key_id: keyId, prefix, scope, scope_value: scopeValue, name, created_at: now, revoked_at: null };
  await db.transaction((tx) => insertKey(tx, { ...info, key_hash: hash }));
  return { key, info };
}

export function revokeApiKey(db: Db, idOrPrefix: string, now: number): Promise<ApiKeyInfo | undefined> {
  return db.transaction((tx) => revokeKey(tx, idOrPrefix, now));
}
