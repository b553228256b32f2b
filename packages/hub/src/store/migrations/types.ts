/** Column types that differ between the databases; migrations are written once against these. */
export interface SqlTypes {
  /** Auto-numbered integer primary key. */
  id: string;
  /** 64-bit integer (epoch milliseconds, counts). */
  bigint: string;
  double: string;
  bool: string;
  json: string;
  /** Statements only one database needs (PostgreSQL's GIN index). */
  postgresOnly(sql: string): string;
}

export const SQLITE_TYPES: SqlTypes = {
  id: 'INTEGER PRIMARY KEY',
  bigint: 'INTEGER',
  double: 'REAL',
  bool: 'INTEGER',
  json: 'TEXT',
  postgresOnly: () => '',
};

export const POSTGRES_TYPES: SqlTypes = {
  id: 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY',
  bigint: 'BIGINT',
  double: 'DOUBLE PRECISION',
  bool: 'BOOLEAN',
  json: 'JSONB',
  postgresOnly: (sql) => sql,
};

export interface Migration {
  version: number;
  name: string;
  statements(t: SqlTypes): string[];
}
