import type { Migration, MigrationExecutor } from './types.js';

// Frozen here as they were when this migration shipped (a migration imports nothing from the app;
// store/partitions.ts has the live list). `indexes`: the table's indexes as migrations 1 to 12 made
// them, recreated on the partitioned parent with the same definitions so that ATTACH adopts the old
// table's indexes instead of building new ones. `key`: its primary key when it includes the time column.
const TABLES = [
  {
    table: 'agent_metrics',
    column: 'received_at',
    idIndex: true,
    key: null,
    indexes: [
      ['idx_agent_metrics_agent_time', '(agent_key, received_at)'],
      ['idx_agent_metrics_received', '(received_at)'],
    ],
  },
  { table: 'system_metrics', column: 'received_at', idIndex: true, key: null, indexes: [['idx_system_metrics_time', '(received_at)']] },
  {
    table: 'agent_metric_blocks',
    column: 'start_at',
    idIndex: false,
    key: '(agent_key, start_at)',
    indexes: [['idx_agent_metric_blocks_end', '(end_at)']],
  },
] as const;
const DAY = 86_400_000;
/** Days made after the legacy partition's bound; the hub makes today's and three ahead at every start. */
const DAYS_AHEAD = 3;

const dayName = (table: string, from: number) => `${table}_p${new Date(from).toISOString().slice(0, 10).replace(/-/g, '')}`;

/**
 * PostgreSQL: the large append-only tables partitioned by day of their time column, so retention
 * drops whole days (docs/several-hubs.md, "Time partitioning"). No row is copied, however big the
 * table: the old table is renamed `<table>_legacy` and attached as the first partition, from MINVALUE
 * to the start of the day after its newest row (or after `now`), with a CHECK proving its rows fit so
 * that ATTACH need not scan it (validating the CHECK reads the table once; nothing is written, no index
 * is built: the parent's identical indexes adopt the old ones); it ages out under retention like any day. An empty table is dropped
 * instead (a new database has no legacy partition). A partitioned parent cannot have PRIMARY KEY (id)
 * without the time column: ids come from the parent's identity, set above the old maximum, and each
 * partition keeps a unique index on id of its own (the legacy one its old primary key) for the
 * lookups by id (rollup cursor, purge batches, sealing). SQLite: nothing changes.
 */
export const timePartitions: Migration = {
  version: 13,
  name: 'daily time partitions of the raw metric tables (PostgreSQL)',
  statements: () => [],
  // Nothing is moved, so there is no progress to tell: each step is a catalog change.
  moveRows: async (tx: MigrationExecutor, dialect, now) => {
    if (dialect !== 'postgres') return;
    for (const { table, column, idIndex, key, indexes } of TABLES) {
      const legacy = `${table}_legacy`;
      const stats = await tx.get<{ hi: number | null; n: number }>(
        `SELECT MAX(${column}) AS hi, (SELECT COUNT(*) FROM (SELECT 1 FROM ${table} LIMIT 1) AS one) AS n FROM ${table}`,
      );
      const empty = Number(stats?.n ?? 0) === 0;
      await tx.run(`ALTER TABLE ${table} RENAME TO ${legacy}`);
      await tx.run(`ALTER INDEX ${table}_pkey RENAME TO ${legacy}_pkey`);
      for (const [name] of indexes) await tx.run(`ALTER INDEX ${name} RENAME TO ${name}_legacy`);
      // Same columns, defaults and NOT NULLs; a fresh identity for id (its sequence is set below).
      await tx.run(`CREATE TABLE ${table} (LIKE ${legacy} INCLUDING DEFAULTS INCLUDING IDENTITY) PARTITION BY RANGE (${column})`);
      if (key) await tx.run(`ALTER TABLE ${table} ADD PRIMARY KEY ${key}`);
      for (const [name, columns] of indexes) await tx.run(`CREATE INDEX ${name} ON ${table} ${columns}`);
      if (idIndex) {
        // Above every id ever handed out, not only the largest kept (sealing deletes rows, and the
        // rollup cursor has passed their ids): the old sequence's position, or the largest id.
        const seq = await tx.get<{ name: string }>(`SELECT pg_get_serial_sequence('${legacy}', 'id') AS name`);
        const used = await tx.get<{ last: number; called: boolean }>(
          `SELECT last_value AS last, is_called AS called FROM ${seq?.name ?? ''}`,
        );
        const top = await tx.get<{ id: number | null }>(`SELECT MAX(id) AS id FROM ${legacy}`);
        const next = Math.max(used?.called ? Number(used.last) + 1 : Number(used?.last ?? 1), Number(top?.id ?? 0) + 1);
        await tx.run(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), ${next}, false)`);
      }
      const bound = Math.floor(Math.max(now, Number(stats?.hi ?? now)) / DAY) * DAY + DAY;
      let first = Math.floor(now / DAY) * DAY;
      if (empty) {
        await tx.run(`DROP TABLE ${legacy}`);
      } else {
        // The CHECK lets ATTACH trust the bound without scanning; it stays, harmless, as the legacy table's own.
        await tx.run(`ALTER TABLE ${legacy} ADD CONSTRAINT ${legacy}_bound CHECK (${column} IS NOT NULL AND ${column} < ${bound})`);
        await tx.run(`ALTER TABLE ${table} ATTACH PARTITION ${legacy} FOR VALUES FROM (MINVALUE) TO (${bound})`);
        first = bound;
      }
      for (let from = first; from <= Math.floor(now / DAY) * DAY + DAYS_AHEAD * DAY; from += DAY) {
        const name = dayName(table, from);
        await tx.run(`CREATE TABLE ${name} PARTITION OF ${table} FOR VALUES FROM (${from}) TO (${from + DAY})`);
        if (idIndex) await tx.run(`CREATE UNIQUE INDEX ${name}_id ON ${name} (id)`);
      }
    }
  },
};
