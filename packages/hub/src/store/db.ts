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
  /** A condition that is true when the JSON array in `column` holds the string bound to `?`. */
  jsonArrayContains(column: string): string;
}

export interface Db extends SqlExecutor {
  readonly dialect: Dialect;
  /** Runs `fn` in one write transaction and commits; transactions never interleave. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Runs SQL without parameters on the write connection (DDL, pragmas). */
  exec(sql: string): Promise<void>;
  /** True when the error means the database cannot commit now (full, down, locked), not bad data. */
  isUnavailable(err: unknown): boolean;
  /** How durable a commit is on this database: degraded means a crash can lose acknowledged data. */
  durability(): Promise<{ level: 'full' | 'degraded'; detail: string }>;
  /** Statements run so far; tests use it to prove a page costs the same queries for 10 or 1,000 agents. */
  readonly statementCount: number;
  close(): Promise<void>;
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
