/**
 * The narrow SQL interface every query module is written against, once for both databases.
 * Queries use `?` placeholders; the PostgreSQL adapter numbers them. What a database does
 * differently is a member of `Dialect`, never an `if (sqlite)` inside a query module.
 */
export interface SqlExecutor {
  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  get<T>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }>;
}

export interface Dialect {
  readonly name: 'sqlite' | 'postgres';
  /** Row lock for read-then-write inside a transaction (several hubs may share PostgreSQL). */
  readonly forUpdate: string;
  /** `forUpdate` that passes over a row another transaction holds instead of waiting for it (empty on SQLite). */
  readonly forUpdateSkipLocked: string;
  /** A condition that is true when the JSON array in `column` holds the string bound to `?`. */
  jsonArrayContains(column: string): string;
  /**
   * Bytes of a JSON column's text. SQLite reads it from the record header, without loading a
   * megabyte value's overflow pages; list previews depend on that to stay cheap.
   */
  jsonBytes(column: string): string;
  /**
   * How many objects of the JSON array at `column`.`member` have a `field` of at least the number bound
   * to `?`; NULL when there is no such array. `member` and `field` are the caller's constants.
   */
  jsonArrayCountAtLeast(column: string, member: string, field: string): string;
  /**
   * Where transactions of several writers commit out of id order (PostgreSQL: ids are taken at INSERT,
   * so a lower id may commit after a higher one is read), what tells which rows may still come in below
   * an id already read (store/id-horizon.ts); undefined where one writer commits ids in order (SQLite).
   */
  readonly commitOrder: CommitOrder | undefined;
}

export interface CommitOrder {
  /** Rows `{ xid }` (text): this database's transactions now running that have written, other than the caller's. */
  running: string;
  /** `{ n }`: how many of the transactions bound to `?` (a list of those xids) are still running. */
  stillRunning: string;
  /** A condition on the row of the table named `alias`: it was written by one of the transactions bound to `?` (a list of xids). */
  writtenBy(alias: string): string;
}

export interface Db extends SqlExecutor {
  readonly dialect: Dialect;
  /** Runs `fn` in one write transaction and commits; transactions never interleave. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * Runs the default export of `module` (a file URL), `fn(tx, dialect, input)`, in one write transaction
   * on the thread that holds the write connection, and resolves with its answer once committed; `input`
   * and the answer must survive a structured clone (no functions). SQLite only, whose writer is a
   * thread of its own; PostgreSQL's writes do not block the event loop, and callers use `transaction`.
   */
  transactionIn?<T>(module: string, input: unknown): Promise<T>;
  /** Runs SQL without parameters on the write connection (DDL, pragmas). */
  exec(sql: string): Promise<void>;
  /** True when the error means the database cannot commit now (full, down, locked), not bad data. */
  isUnavailable(err: unknown): boolean;
  /** How durable a commit is on this database: degraded means a crash can lose acknowledged data. */
  durability(): Promise<{ level: 'full' | 'degraded'; detail: string }>;
  /** Statements run so far; tests use it to prove a page costs the same queries for 10 or 1,000 agents. */
  readonly statementCount: number;
  /**
   * Gives up to `maxPages` free pages back to the file system (SQLite's incremental vacuum), keeping
   * `keepPages` for new rows, on the write connection between transactions; `remaining` is what is
   * still free. PostgreSQL leaves this to autovacuum and frees nothing here.
   */
  reclaimFreePages(maxPages: number, keepPages: number): Promise<{ freed: number; remaining: number }>;
  /**
   * Checkpoints the whole WAL into the database and truncates it, between transactions and without
   * waiting for readers (false when one held it back; the next call tries again). A no-op on PostgreSQL.
   */
  truncateWal(): Promise<boolean>;
  /**
   * Set once a statement met a damaged database file (SQLite's SQLITE_CORRUPT or SQLITE_NOTADB):
   * readiness stays false from then on, until the hub restarts on a repaired file. Absent on PostgreSQL.
   */
  readonly corruption?: StoreCorruption | undefined;
  /** What the database occupies, table by table (indexes included), for GET /api/v1/storage. */
  footprint(): Promise<Footprint>;
  close(): Promise<void>;
}

export interface StoreCorruption {
  /** SQLite's code, e.g. SQLITE_CORRUPT. */
  code: string;
  /** When it was first met (epoch ms). */
  since: number;
  /** What the operator should do, without the file's full path (it is shown on public /readyz). */
  advice: string;
}

export interface TableFootprint {
  name: string;
  /** Rows; `rowsEstimated` when they come from the planner's statistics rather than a count. */
  rows: number;
  rowsEstimated: boolean;
  /** Table, indexes and out-of-line storage; null when this database cannot tell one table from another. */
  bytes: number | null;
}

export interface Footprint {
  /** How table sizes were measured. */
  method: 'dbstat' | 'page_count' | 'pg_total_relation_size';
  tables: TableFootprint[];
  /** The whole database: SQLite's page_count × page_size (free pages included), PostgreSQL's pg_database_size. */
  totalBytes: number;
  /** SQLite only: the database file, its write-ahead log, free pages, and the auto_vacuum mode. */
  sqlite?: { fileBytes: number; walBytes: number; freeBytes: number; autoVacuum: 'none' | 'full' | 'incremental' };
}

/** Parses a JSON column: SQLite hands back text, PostgreSQL an already-parsed value. */
export function jsonColumn<T>(value: unknown, fallback: T): T {
  if (value === null || value === undefined) return fallback;
  if (typeof value === 'string') {
    try {
      return JSON.parse(value) as T;
    } catch {
      return fallback;
    }
  }
  return value as T;
}

/** Collects the conditions of a filtered list; the SQL fragments are constants, the values parameters. */
export class Where {
  private readonly conditions: string[] = [];
  readonly params: unknown[] = [];
  add(condition: string, ...values: unknown[]): this {
    this.conditions.push(condition);
    this.params.push(...values);
    return this;
  }
  sql(): string {
    return this.conditions.length ? `WHERE ${this.conditions.join(' AND ')}` : '';
  }
}
