/** Column types that differ between the databases; migrations are written once against these. */
export interface SqlTypes {
  /** Auto-numbered integer primary key. */
  id: string;
  /** 64-bit integer (epoch milliseconds, counts). */
  bigint: string;
  double: string;
  bool: string;
  json: string;
  /** Bytes (a compressed block). */
  blob: string;
  /** Statements only one database needs (PostgreSQL's GIN index). */
  postgresOnly(sql: string): string;
  /**
   * Ends a CREATE TABLE whose rows should be stored in primary-key order (SQLite's WITHOUT ROWID),
   * so one key's rows sit together on disk; PostgreSQL has no such clause and stores a heap.
   */
  clusteredByKey: string;
}

export const SQLITE_TYPES: SqlTypes = {
  id: 'INTEGER PRIMARY KEY',
  bigint: 'INTEGER',
  double: 'REAL',
  bool: 'INTEGER',
  json: 'TEXT',
  blob: 'BLOB',
  postgresOnly: () => '',
  clusteredByKey: ' WITHOUT ROWID',
};

export const POSTGRES_TYPES: SqlTypes = {
  id: 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY',
  bigint: 'BIGINT',
  double: 'DOUBLE PRECISION',
  bool: 'BOOLEAN',
  json: 'JSONB',
  blob: 'BYTEA',
  postgresOnly: (sql) => sql,
  clusteredByKey: '',
};

export interface Migration {
  version: number;
  name: string;
  /** `now`: the migration's time (epoch ms), for rows a migration inserts. */
  statements(t: SqlTypes, now: number): string[];
  /**
   * Moves existing rows, after `statements` and in the same transaction, in batches so that memory
   * stays bounded however big the store is; `log` is told how far it got. Migrations whose data
   * move cannot be one statement (too slow to show no progress) use this.
   */
  moveRows?(tx: MigrationExecutor, dialect: 'sqlite' | 'postgres', now: number, log: (line: string) => void): Promise<void>;
}

/** What a migration's row move may run: plain statements, as `SqlExecutor` has them (no import from the app). */
export interface MigrationExecutor {
  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }>;
  get<T>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
}
