import type { SqlExecutor } from './db.js';

export type KeyScope = 'agent' | 'pool';

/** A key as listed: never its secret or hash. */
export interface ApiKeyInfo {
  key_id: string;
  prefix: string;
  scope: KeyScope;
  scope_value: string;
  name: string | null;
  created_at: number;
  revoked_at: number | null;
}

const KEY_COLUMNS = 'key_id, prefix, scope, scope_value, name, created_at, revoked_at';

export async function insertKey(tx: SqlExecutor, key: Omit<ApiKeyInfo, 'revoked_at'> & { key_hash: string }): Promise<void> {
  await tx.run('INSERT INTO api_keys (key_id, prefix, key_hash, scope, scope_value, name, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
    key.key_id,
    key.prefix,
    key.key_hash,
    key.scope,
    key.scope_value,
    key.name,
    key.created_at,
  ]);
}

/** Looks a presented key up by its hash; revoked keys are not found. */
export async function findActiveKey(db: SqlExecutor, keyHash: string): Promise<ApiKeyInfo | undefined> {
  return db.get<ApiKeyInfo>(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL`, [keyHash]);
}

export async function listKeys(db: SqlExecutor): Promise<ApiKeyInfo[]> {
  return db.all<ApiKeyInfo>(`SELECT ${KEY_COLUMNS} FROM api_keys ORDER BY created_at, key_id`);
}

/** Revokes a key by id or by its printed prefix; returns the key, or undefined when none matched. */
export async function revokeKey(tx: SqlExecutor, idOrPrefix: string, now: number): Promise<ApiKeyInfo | undefined> {
  return tx.get<ApiKeyInfo>(
    `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE key_id = ? OR prefix = ? RETURNING ${KEY_COLUMNS}`,
    [now, idOrPrefix, idOrPrefix],
  );
}
