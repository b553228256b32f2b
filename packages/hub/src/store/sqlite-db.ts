import { existsSync, statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { tightenFile, type Warn } from '../private-files.js';
import type { Db, Dialect, Footprint, SqlExecutor, StoreCorruption } from './db.js';
import type { DbstatAnswer } from './sqlite-dbstat-worker.js';
import { checkVigilTables, corruptionAdvice, isCorruption, StoreCorruptError, StoreFileError } from './sqlite-file.js';

export const sqliteDialect: Dialect = {
  name: 'sqlite',
  forUpdate: '',
  forUpdateSkipLocked: '',
  commitOrder: undefined,
  jsonArrayContains: (column) => `EXISTS (SELECT 1 FROM json_each(${column}) WHERE json_each.value = ?)`,
  jsonBytes: (column) => `octet_length(${column})`,
  jsonMergePatch: (column) => `json_patch(${column}, ?)`,
  jsonArrayCountAtLeast: (column, member, field) =>
    `(CASE WHEN json_type(${column}, '$.${member}') = 'array' THEN (SELECT COUNT(*) FROM json_each(${column}, '$.${member}') AS e
       WHERE json_extract(e.value, '$.${field}') >= ?) END)`,
};

export interface SqliteOptions {
  synchronous: 'full' | 'normal';
  /** Told when an existing database file was readable by other users (and was set to 0600). */
  onWarning?: Warn;
}

// Codes (not messages) that mean "cannot commit now": disk full, I/O failure, lock contention.
const UNAVAILABLE = /^SQLITE_(FULL|IOERR|BUSY|LOCKED|READONLY|CANTOPEN|NOMEM|PROTOCOL)/;

/** Longest a transaction waits for the write lock another process holds. */
const LOCK_WAIT_MS = 5000;
/** Longest one try for the lock blocks the event loop. */
const BUSY_SLICE_MS = 20;

type Param = string | number | bigint | Buffer | null;

function bindable(params: readonly unknown[]): Param[] {
  return params.map((p) => {
    if (p === undefined || p === null) return null;
    if (typeof p === 'boolean') return p ? 1 : 0;
    return p as Param;
  });
}

/**
 * SQLite through better-sqlite3: one connection for the single writer, one read-only connection
 * for queries, so readers never see a batch that has not committed (WAL gives them a snapshot).
 */
export class SqliteDb implements Db {
  readonly dialect = sqliteDialect;
  statementCount = 0;
  private readonly writer: Database.Database;
  private reader: Database.Database | undefined;
  private readonly cache = new Map<string, Database.Statement>();
  private readonly readCache = new Map<string, Database.Statement>();
  private lock: Promise<unknown> = Promise.resolve();
  corruption: StoreCorruption | undefined;

  constructor(
    readonly path: string,
    options: SqliteOptions,
  ) {
    const existed = existsSync(path);
    this.writer = new Database(path);
    try {
      // Before anything is written: a file of another application would get Vigil's tables beside its own.
      checkVigilTables(path, this.writer.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]);
      // The database holds every agent's data: 0600. SQLite creates the -wal and -shm files with the
      // database file's mode, so setting it before the first statement covers them; files of an
      // existing database that were looser are set to 0600 with a warning.
      for (const file of [path, `${path}-wal`, `${path}-shm`]) {
        const was = tightenFile(file);
        if (was !== undefined && existed) {
          options.onWarning?.({ file, mode: was }, `${file} was readable by other users (mode ${was}); set it to 0600`);
        }
      }
      // Lets retention give purged pages back to the file system (incremental_vacuum). SQLite only
      // honours it on a new, empty database, and only before the switch to WAL writes the header;
      // on a database created without it, it changes nothing (footprint() reports the mode).
      this.writer.pragma('auto_vacuum = INCREMENTAL');
      this.writer.pragma('journal_mode = WAL');
      this.writer.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      // Short: SQLite's busy handler sleeps on the event loop's thread, so a lock held by another process
      // would freeze the whole hub; a transaction waits for the lock asynchronously instead (whenUnlocked).
      this.writer.pragma(`busy_timeout = ${BUSY_SLICE_MS}`);
      this.writer.pragma('foreign_keys = ON');
      // Fewer, larger checkpoints keep inserts fast on big tables; 10,000 pages bounds the WAL near 40 MiB.
      this.writer.pragma('wal_autocheckpoint = 10000');
      // A WAL that grew while a reader held it back is cut back to 64 MiB when it is next reset.
      this.writer.pragma('journal_size_limit = 67108864');
      this.writer.pragma('cache_size = -32768');
    } catch (err) {
      this.writer.close();
      if (isCorruption(err)) throw new StoreFileError(`cannot open ${path}: ${corruptionAdvice(path, (err as { code: string }).code)}`);
      throw err;
    }
  }

  /** Reads a pragma back from the write connection (tests check the durability setting is real). */
  pragma(name: string): unknown {
    return this.writer.pragma(name, { simple: true });
  }

  private readConn(): Database.Database {
    // Opened lazily so migrations have created the schema before the first read.
    if (!this.reader) {
      this.reader = new Database(this.path, { readonly: true });
      this.reader.pragma('busy_timeout = 5000');
      this.reader.pragma('cache_size = -32768');
    }
    return this.reader;
  }

  private prepare(conn: Database.Database, cache: Map<string, Database.Statement>, sql: string) {
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = conn.prepare(sql);
      cache.set(sql, stmt);
    }
    this.statementCount++;
    return stmt;
  }

  /**
   * Runs `fn`, noting a damaged file: the first SQLITE_CORRUPT or SQLITE_NOTADB flips readiness
   * (`corruption`) and every such failure is raised as StoreCorruptError, which the API answers
   * as VIGIL_STORE_CORRUPT rather than an unexplained 500.
   */
  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (!isCorruption(err)) throw err;
      const code = (err as { code: string }).code;
      this.corruption ??= { code, since: Date.now(), advice: corruptionAdvice(this.path, code) };
      throw new StoreCorruptError(this.path, code, err);
    }
  }

  private executor(conn: Database.Database, cache: Map<string, Database.Statement>): SqlExecutor {
    return {
      all: async <T>(sql: string, params: readonly unknown[] = []) =>
        this.guard(() => this.prepare(conn, cache, sql).all(...bindable(params)) as T[]),
      get: async <T>(sql: string, params: readonly unknown[] = []) =>
        this.guard(() => this.prepare(conn, cache, sql).get(...bindable(params)) as T | undefined),
      run: async (sql: string, params: readonly unknown[] = []) =>
        this.guard(() => {
          const stmt = this.prepare(conn, cache, sql);
          if (stmt.reader) return { changes: stmt.all(...bindable(params)).length };
          return { changes: stmt.run(...bindable(params)).changes };
        }),
    };
  }

  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.executor(this.readConn(), this.readCache).all<T>(sql, params);
  }
  get<T>(sql: string, params?: readonly unknown[]): Promise<T | undefined> {
    return this.executor(this.readConn(), this.readCache).get<T>(sql, params);
  }
  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }> {
    return this.transaction((tx) => tx.run(sql, params));
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const result = this.lock.then(async () => {
      await this.whenUnlocked('BEGIN IMMEDIATE');
      try {
        const value = await fn(this.executor(this.writer, this.cache));
        this.guard(() => this.writer.exec('COMMIT'));
        return value;
      } catch (err) {
        if (this.writer.inTransaction) this.writer.exec('ROLLBACK');
        throw err;
      }
    });
    this.lock = result.catch(() => undefined);
    return result;
  }

  /**
   * Runs `sql` on the write connection, waiting up to LOCK_WAIT_MS for another process's write lock in
   * short slices with the event loop free between them, then failing with SQLITE_BUSY (503).
   */
  private async whenUnlocked(sql: string): Promise<void> {
    const giveUp = performance.now() + LOCK_WAIT_MS;
    for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
      try {
        this.guard(() => this.writer.exec(sql));
        return;
      } catch (err) {
        if (!String((err as { code?: unknown }).code).startsWith('SQLITE_BUSY') || performance.now() + pause > giveUp) throw err;
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  exec(sql: string): Promise<void> {
    const result = this.lock.then(() => this.whenUnlocked(sql));
    this.lock = result.catch(() => undefined);
    return result;
  }

  isUnavailable(err: unknown): boolean {
    const code = (err as { code?: unknown } | null)?.code;
    return typeof code === 'string' && UNAVAILABLE.test(code);
  }

  async durability() {
    const sync = Number(this.writer.pragma('synchronous', { simple: true }));
    // 2 = FULL: a commit is on disk before it is acknowledged. 1 = NORMAL: it survives a crash of
    // the hub but the last commits before a power loss may roll back.
    return sync >= 2
      ? { level: 'full' as const, detail: 'sqlite synchronous=FULL' }
      : { level: 'degraded' as const, detail: 'sqlite synchronous=NORMAL: power loss may lose the last commits' };
  }

  /** Runs `fn` on the write connection between transactions, in their order (pragmas that cannot run inside one). */
  private between<T>(fn: () => T): Promise<T> {
    const result = this.lock.then(() => this.guard(fn));
    this.lock = result.catch(() => undefined);
    return result;
  }

  reclaimFreePages(maxPages: number, keepPages: number): Promise<{ freed: number; remaining: number }> {
    return this.between(() => {
      const free = () => Number(this.writer.pragma('freelist_count', { simple: true }));
      const before = free();
      const pages = Math.min(Math.floor(maxPages), before - keepPages);
      if (pages <= 0 || Number(this.writer.pragma('auto_vacuum', { simple: true })) !== 2) return { freed: 0, remaining: before };
      this.writer.exec(`PRAGMA incremental_vacuum(${pages})`);
      const after = free();
      return { freed: before - after, remaining: after };
    });
  }

  truncateWal(): Promise<boolean> {
    return this.between(() => {
      // Never wait: a reader elsewhere (a backup, `vigil storage`) must not stall the writer.
      this.writer.pragma('busy_timeout = 0');
      try {
        const [r] = this.writer.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
        return r?.busy === 0;
      } finally {
        this.writer.pragma(`busy_timeout = ${BUSY_SLICE_MS}`);
      }
    });
  }

  async footprint(): Promise<Footprint> {
    const size = (file: string) => {
      try {
        return statSync(file).size;
      } catch {
        return 0;
      }
    };
    const pragma = (name: string) => Number(this.readConn().pragma(name, { simple: true }));
    const pageSize = pragma('page_size');
    const totalBytes = pragma('page_count') * pageSize;
    const freeBytes = pragma('freelist_count') * pageSize;
    const autoVacuum = (['none', 'full', 'incremental'] as const)[pragma('auto_vacuum')] ?? 'none';
    const answer = await new Promise<DbstatAnswer>((resolve, reject) => {
      const worker = new Worker(new URL('./sqlite-dbstat-worker.js', import.meta.url), { workerData: { path: this.path } });
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`dbstat worker exited with ${code}`)));
    });
    return {
      ...answer,
      totalBytes,
      sqlite: { fileBytes: size(this.path), walBytes: size(`${this.path}-wal`), freeBytes, autoVacuum },
    };
  }

  async close(): Promise<void> {
    await this.lock;
    this.reader?.close();
    this.writer.close();
  }
}
