import Database from 'better-sqlite3';
import type { Dialect, SqlExecutor } from './db.js';

/**
 * What both sides of the SQLite store share: the dialect, how parameters bind, and the write
 * connection itself, which lives on the writer thread (sqlite-write-thread.ts).
 */

export const sqliteDialect: Dialect = {
  name: 'sqlite',
  forUpdate: '',
  forUpdateSkipLocked: '',
  commitOrder: undefined,
  jsonArrayContains: (column) => `EXISTS (SELECT 1 FROM json_each(${column}) WHERE json_each.value = ?)`,
  jsonBytes: (column) => `octet_length(${column})`,
  jsonArrayCountAtLeast: (column, member, field) =>
    `(CASE WHEN json_type(${column}, '$.${member}') = 'array' THEN (SELECT COUNT(*) FROM json_each(${column}, '$.${member}') AS e
       WHERE json_extract(e.value, '$.${field}') >= ?) END)`,
};

/** Longest a transaction waits for the write lock another process holds. */
export const LOCK_WAIT_MS = 5000;
/** Longest one try for the lock blocks the writer thread (which must also answer `pragma` calls meanwhile). */
export const BUSY_SLICE_MS = 20;

type Param = string | number | bigint | Buffer | null;

function bindable(params: readonly unknown[]): Param[] {
  return params.map((p) => {
    if (p === undefined || p === null) return null;
    if (typeof p === 'boolean') return p ? 1 : 0;
    // A Buffer posted to the writer thread arrives as a plain Uint8Array.
    if (p instanceof Uint8Array && !Buffer.isBuffer(p)) return Buffer.from(p.buffer, p.byteOffset, p.byteLength);
    return p as Param;
  });
}

/** A statement cache over one connection, as the store's SqlExecutor (its promises are settled already). */
export class Statements {
  count = 0;
  private readonly cache = new Map<string, Database.Statement>();
  constructor(readonly conn: Database.Database) {}

  private prepare(sql: string): Database.Statement {
    let stmt = this.cache.get(sql);
    if (!stmt) {
      stmt = this.conn.prepare(sql);
      this.cache.set(sql, stmt);
    }
    this.count++;
    return stmt;
  }

  all<T>(sql: string, params: readonly unknown[] = []): T[] {
    return this.prepare(sql).all(...bindable(params)) as T[];
  }
  get<T>(sql: string, params: readonly unknown[] = []): T | undefined {
    return this.prepare(sql).get(...bindable(params)) as T | undefined;
  }
  run(sql: string, params: readonly unknown[] = []): { changes: number } {
    const stmt = this.prepare(sql);
    if (stmt.reader) return { changes: stmt.all(...bindable(params)).length };
    return { changes: stmt.run(...bindable(params)).changes };
  }

  /** The same statements behind the store's asynchronous interface; `guard` sees every failure first. */
  executor(guard: <T>(fn: () => T) => T = (fn) => fn()): SqlExecutor {
    return {
      all: async <T>(sql: string, params?: readonly unknown[]) => guard(() => this.all<T>(sql, params)),
      get: async <T>(sql: string, params?: readonly unknown[]) => guard(() => this.get<T>(sql, params)),
      run: async (sql: string, params?: readonly unknown[]) => guard(() => this.run(sql, params)),
    };
  }
}

/**
 * Opens the write connection with the hub's per-connection settings. The file-wide ones (WAL,
 * auto_vacuum) and the checks of what the file is are made once, before, by SqliteDb.
 */
export function openWriteConnection(path: string, synchronous: 'full' | 'normal'): Database.Database {
  const conn = new Database(path, { fileMustExist: true });
  try {
    conn.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    // Short, and retried by whenUnlocked: a lock held by another process must not keep the writer
    // thread from answering the hub's other calls (pragma reads, shutdown) for seconds.
    conn.pragma(`busy_timeout = ${BUSY_SLICE_MS}`);
    conn.pragma('foreign_keys = ON');
    // Fewer, larger checkpoints keep inserts fast on big tables; 10,000 pages bounds the WAL near 40 MiB.
    conn.pragma('wal_autocheckpoint = 10000');
    // A WAL that grew while a reader held it back is cut back to 64 MiB when it is next reset.
    conn.pragma('journal_size_limit = 67108864');
    conn.pragma('cache_size = -32768');
    return conn;
  } catch (err) {
    conn.close();
    throw err;
  }
}
