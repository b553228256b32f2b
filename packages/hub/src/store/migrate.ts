import type { Db } from './db.js';
import { MIGRATIONS } from './migrations/index.js';
import { POSTGRES_TYPES, SQLITE_TYPES } from './migrations/types.js';

/**
 * Brings the schema up to date in one transaction per migration and returns the versions applied.
 * Concurrent hubs on one PostgreSQL database serialise here (the caller holds an advisory lock).
 * `log` is told how a long row move is getting on; `upTo` stops at that version (tests build an
 * older store with it, to migrate it from there).
 */
export async function migrate(db: Db, now: number, log: (line: string) => void = () => undefined, upTo = Infinity): Promise<number[]> {
  const types = db.dialect.name === 'sqlite' ? SQLITE_TYPES : POSTGRES_TYPES;
  await db.exec(
    `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at ${types.bigint} NOT NULL)`,
  );
  const done = new Set(
    (await db.transaction((tx) => tx.all<{ version: number }>('SELECT version FROM schema_migrations'))).map((r) => Number(r.version)),
  );
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (done.has(m.version) || m.version > upTo) continue;
    await db.transaction(async (tx) => {
      for (const sql of m.statements(types, now)) if (sql.trim() !== '') await tx.run(sql);
      if (m.moveRows) await m.moveRows(tx, db.dialect.name, now, log);
      await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [m.version, m.name, now]);
    });
    applied.push(m.version);
  }
  return applied;
}
