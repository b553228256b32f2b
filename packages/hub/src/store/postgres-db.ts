import pg from 'pg';
import type { Db, Dialect, Footprint, SqlExecutor } from './db.js';
import { ensurePartition, missingPartition } from './partitions.js';

export const postgresDialect: Dialect = {
  name: 'postgres',
  forUpdate: ' FOR UPDATE',
  forUpdateSkipLocked: ' FOR UPDATE SKIP LOCKED',
  // pg_stat_activity rather than pg_current_snapshot(): a snapshot lists every database's transactions,
  // and an idle-in-transaction session elsewhere on the server must not hold this database's readers back.
  commitOrder: {
    running:
      'SELECT CAST(backend_xid AS text) AS xid FROM pg_stat_activity WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()',
    stillRunning:
      'SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND CAST(backend_xid AS text) = ANY(CAST(? AS text[]))',
    writtenBy: (alias) => `CAST(${alias}.xmin AS text) = ANY(CAST(? AS text[]))`,
  },
  jsonArrayContains: (column) => `${column} @> jsonb_build_array(?::text)`,
  jsonBytes: (column) => `octet_length(${column}::text)`,
  jsonArrayCountAtLeast: (column, member, field) =>
    `(CASE WHEN jsonb_typeof(${column}->'${member}') = 'array' THEN (SELECT COUNT(*) FROM jsonb_array_elements(${column}->'${member}') AS e
       WHERE CAST(e->>'${field}' AS double precision) >= CAST(? AS double precision)) END)`,
};

// int8 (counts, epoch milliseconds) and numeric come back as strings by default; every value this
// schema stores fits a double exactly (epoch ms < 2^53), so parse them as numbers.
const types = {
  getTypeParser(oid: number, format?: string) {
    if (oid === 20 || oid === 1700) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

/** Rewrites `?` placeholders to `$1, $2…`; the SQL here never has `?` inside a literal. */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

// SQLSTATE classes that mean "cannot commit now": connection (08), insufficient resources such as a
// full disk (53), operator intervention such as shutdown or a statement timeout (57), system (58),
// and serialization failure or deadlock (40), which a later retry can pass.
const UNAVAILABLE_CLASSES = new Set(['08', '53', '57', '58', '40']);

/** Days' partitions one transaction may have made for it before it is refused (see `transaction`). */
const MAX_PARTITIONS_PER_TRANSACTION = 32;

const PLANNABLE = /^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b/i;

export interface PostgresOptions {
  url: string;
  /** Upper bound for any one statement, so a stalled server answers 503 instead of hanging. */
  statementTimeoutMs?: number;
  /** A connection was lost (idle in the pool or held by a transaction); the next query reconnects. */
  onIdleError?: (err: Error) => void;
}

export class PostgresDb implements Db {
  readonly dialect = postgresDialect;
  statementCount = 0;
  private readonly pool: pg.Pool;
  /** Told of every lost connection, idle or checked out (the hub logs it). */
  private readonly onLost: (err: Error) => void;
  private readonly sqlCache = new Map<string, { text: string; name: string }>();

  constructor(options: PostgresOptions) {
    const timeout = options.statementTimeoutMs ?? 10_000;
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: 10,
      connectionTimeoutMillis: 5_000,
      query_timeout: timeout + 1_000,
      statement_timeout: timeout,
      types,
    });
    this.onLost = (err) => options.onIdleError?.(err);
    // An idle client losing its connection must not crash the hub; the next query reconnects.
    this.pool.on('error', this.onLost);
  }

  private query(sql: string) {
    let q = this.sqlCache.get(sql);
    if (!q) {
      q = { text: numbered(sql), name: `v${this.sqlCache.size}` };
      this.sqlCache.set(sql, q);
    }
    this.statementCount++;
    return q;
  }

  private executor(client: pg.Pool | pg.PoolClient): SqlExecutor {
    const exec = async <T>(sql: string, params: readonly unknown[] = []) => {
      const q = this.query(sql);
      // Named statements are parsed and planned once per connection; DDL and SHOW are not plannable.
      const name = PLANNABLE.test(sql) ? q.name : undefined;
      return client.query<T & pg.QueryResultRow>({ name, text: q.text, values: params as unknown[] });
    };
    return {
      all: async <T>(sql: string, params?: readonly unknown[]) => (await exec<T>(sql, params)).rows as T[],
      get: async <T>(sql: string, params?: readonly unknown[]) => (await exec<T>(sql, params)).rows[0] as T | undefined,
      run: async (sql: string, params?: readonly unknown[]) => ({ changes: (await exec(sql, params)).rowCount ?? 0 }),
    };
  }

  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.executor(this.pool).all<T>(sql, params);
  }
  get<T>(sql: string, params?: readonly unknown[]): Promise<T | undefined> {
    return this.executor(this.pool).get<T>(sql, params);
  }
  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }> {
    return this.executor(this.pool).run(sql, params);
  }

  /**
   * Checks a client out for the caller's own use. pg-pool takes its idle 'error' listener off a
   * checked-out client, and a connection lost while the client is held (a reset, a server restart)
   * is emitted as 'error' on it: unheard, that kills the process. The held client listens until it is
   * released; the query in flight fails on its own, and the client is then destroyed, not reused.
   */
  private async checkout(): Promise<{ client: pg.PoolClient; release(err?: Error): void }> {
    const client = await this.pool.connect();
    let lost: Error | undefined;
    const onError = (err: Error) => {
      lost ??= err;
      this.onLost(err);
    };
    client.on('error', onError);
    return {
      client,
      release: (err) => {
        client.off('error', onError);
        client.release(err ?? lost);
      },
    };
  }

  /**
   * Runs `fn` in a transaction. A row for a day with no partition yet (store/partitions.ts: a clock
   * far from the days made ahead) fails the transaction; that day's partition is then made in a
   * transaction of its own and `fn` runs again, so no write is refused for it. One transaction may
   * touch several such days (a sealing step writes an agent's old hours), so it is tried again for
   * each day made, up to a bound.
   */
  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    for (let made = 0; ; made++) {
      try {
        return await this.transactionOnce(fn);
      } catch (err) {
        const missing = missingPartition(err);
        if (!missing || made >= MAX_PARTITIONS_PER_TRANSACTION) throw err;
        // 'locked': the DDL waited its lock_timeout; the next try fails the same way and is refused.
        if ((await ensurePartition(this, missing.table, missing.at)) === 'locked') throw err;
      }
    }
  }

  private async transactionOnce<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const { client, release } = await this.checkout();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const value = await fn(this.executor(client));
      await client.query('COMMIT');
      return value;
    } catch (err) {
      broken = err as Error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      // A client whose connection failed is destroyed rather than returned to the pool.
      release(broken && this.isUnavailable(broken) ? broken : undefined);
    }
  }

  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  /** Runs `fn` while holding a session advisory lock, so concurrent hubs migrate one at a time. */
  async withAdvisoryLock<T>(key: number, fn: () => Promise<T>): Promise<T> {
    const { client, release } = await this.checkout();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [key]);
      return await fn();
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => undefined);
      release();
    }
  }

  isUnavailable(err: unknown): boolean {
    if (!(err instanceof pg.DatabaseError)) {
      // Not a server-reported error: the connection itself failed (refused, reset, timed out).
      return err instanceof Error && !(err instanceof TypeError) && !(err instanceof RangeError);
    }
    return UNAVAILABLE_CLASSES.has((err.code ?? '').slice(0, 2));
  }

  async durability() {
    const row = await this.get<{ synchronous_commit: string }>('SHOW synchronous_commit');
    const value = row?.synchronous_commit ?? 'unknown';
    return value === 'off'
      ? { level: 'degraded' as const, detail: 'postgres synchronous_commit=off: a server crash may lose acknowledged commits' }
      : { level: 'full' as const, detail: `postgres synchronous_commit=${value}` };
  }

  // Deleted rows become reusable space through autovacuum; nothing to give back by hand.
  async reclaimFreePages(): Promise<{ freed: number; remaining: number }> {
    return { freed: 0, remaining: 0 };
  }

  async truncateWal(): Promise<boolean> {
    return true;
  }

  async footprint(): Promise<Footprint> {
    // A partitioned table (store/partitions.ts) stores nothing itself: its size and rows are its
    // partitions' sum, and the partitions are not listed as tables of their own.
    const rels = await this.all<{ name: string; bytes: number; estimate: number }>(
      `SELECT c.relname AS name,
         CASE WHEN c.relkind = 'p' THEN (SELECT COALESCE(SUM(pg_total_relation_size(t.relid)), 0) FROM pg_partition_tree(c.oid) t WHERE t.isleaf)
           ELSE pg_total_relation_size(c.oid) END AS bytes,
         CASE WHEN c.relkind = 'p' THEN (SELECT COALESCE(SUM(GREATEST(p.reltuples, 0)), 0) FROM pg_partition_tree(c.oid) t
           JOIN pg_class p ON p.oid = t.relid WHERE t.isleaf) ELSE c.reltuples END::bigint AS estimate
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = current_schema() ORDER BY c.relname`,
    );
    const tables = [];
    for (const r of rels) {
      // Counting a big table takes seconds; the planner's estimate (kept by autovacuum) does there.
      // reltuples is -1 until the table's first vacuum or analyze.
      const estimated = Number(r.estimate) >= 100_000;
      const rows = estimated
        ? Number(r.estimate)
        : Number((await this.get<{ n: number }>(`SELECT COUNT(*) AS n FROM "${r.name.replace(/"/g, '""')}"`))?.n ?? 0);
      tables.push({ name: r.name, rows, rowsEstimated: estimated, bytes: Number(r.bytes) });
    }
    const total = await this.get<{ bytes: number }>('SELECT pg_database_size(current_database()) AS bytes');
    return { method: 'pg_total_relation_size', tables, totalBytes: Number(total?.bytes ?? 0) };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
