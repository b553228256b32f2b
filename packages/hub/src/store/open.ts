import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { isPostgresUrl } from './db-target.js';
import type { Warn } from '../private-files.js';
import type { Db } from './db.js';
import { migrate } from './migrate.js';
import { ensurePartitionsAhead } from './partitions.js';
import { PostgresDb } from './postgres-db.js';
import { SqliteDb } from './sqlite-db.js';
import { checkSqliteFile } from './sqlite-file.js';

export interface OpenOptions {
  sqliteSynchronous: 'full' | 'normal';
  /** A zero-length SQLite file may be initialised as a new database (`--sqlite-init-empty`); otherwise it is refused. */
  sqliteInitEmpty?: boolean;
  now: number;
  onIdleError?: (err: Error) => void;
  /** Told what was found amiss and set right (SQLite files other users could read). */
  onWarning?: Warn;
  /** Told how a long migration is getting on (moving a big table's rows takes minutes). */
  onProgress?: (line: string) => void;
}

// Any fixed number works; it only has to be the same for every hub sharing the database.
const MIGRATION_LOCK = 0x76_69_67_69;

/** Opens SQLite (a path) or PostgreSQL (a postgres:// URL) and migrates it to the latest schema. */
export async function openStore(target: string, options: OpenOptions): Promise<{ db: Db; applied: number[] }> {
  if (isPostgresUrl(target)) {
    const db = new PostgresDb({ url: target, ...(options.onIdleError ? { onIdleError: options.onIdleError } : {}) });
    try {
      // Today's partitions and the next days' exist before the hub listens (store/partitions.ts); the job owner keeps them ahead.
      const applied = await db.withAdvisoryLock(MIGRATION_LOCK, async () => {
        const versions = await migrate(db, options.now, options.onProgress);
        await ensurePartitionsAhead(db, options.now);
        return versions;
      });
      return { db, applied };
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
  }
  mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
  checkSqliteFile(target, options.sqliteInitEmpty ?? false);
  const db = new SqliteDb(target, {
    synchronous: options.sqliteSynchronous,
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
  });
  try {
    return { db, applied: await migrate(db, options.now, options.onProgress) };
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
}
