import type { Migration, MigrationExecutor } from './types.js';

// Frozen here as they were when this migration shipped (a migration imports nothing from the app;
// store/partitions.ts has the live list). `indexes`: the table's indexes as migrations 1 to 13 made
// them, less the unique (agent_id, event_id) index this migration drops, recreated on the
// partitioned parent with the same definitions so that ATTACH adopts the old table's indexes.
const TABLES = [
  {
    table: 'agent_events',
    ids: 'agent_event_ids',
    unique: 'idx_agent_events_event_id',
    indexes: [
      ['idx_agent_events_agent_type', '(agent_id, event_type)'],
      ['idx_agent_events_agent_id', '(agent_id, id)'],
      ['idx_agent_events_received', '(received_at)'],
    ],
  },
  {
    table: 'llm_traces',
    ids: 'llm_trace_ids',
    unique: 'idx_llm_traces_event_id',
    indexes: [
      ['idx_llm_traces_agent_time', '(agent_id, received_at)'],
      ['idx_llm_traces_received', '(received_at)'],
      ['idx_llm_traces_time', '(timestamp)'],
    ],
  },
] as const;
const DAY = 86_400_000;
/** Days made after the legacy partition's bound; the hub makes today's and three ahead at every start. */
const DAYS_AHEAD = 3;

const dayName = (table: string, from: number) => `${table}_p${new Date(from).toISOString().slice(0, 10).replace(/-/g, '')}`;

/**
 * `agent_events` and `llm_traces` partitioned by day of `received_at` on PostgreSQL, as migration 13
 * did the raw metric tables (docs/several-hubs.md, "Time partitioning"). A partitioned table cannot
 * keep a unique index that lacks the partition key, so idempotency moves, on both databases (one
 * code path), from the unique (agent_id, event_id) index to a table of ids per kind:
 * `agent_event_ids` and `llm_trace_ids` (agent, event id, the stored row's id for the retry's answer,
 * its arrival), filled here from the rows kept, purged with the rows they stand for (store/retention.ts).
 * The unique indexes go on both databases: the id tables do their work.
 *
 * PostgreSQL: no row is copied. The old table becomes the legacy partition (MINVALUE to the day after
 * its newest row or `now`), its indexes adopted by the parent's, its primary key kept as its unique id
 * index; each later day carries a unique index on id of its own (reads by id: `getEvent`, `getTrace`,
 * purge batches, and the id cursors of the events and traces lists and of the LLM sums). The
 * parent has no foreign key to `agents`: attaching or dropping a partition that has one locks
 * `agents`, which every heartbeat updates; agents are never deleted (retiring marks them), and every
 * insert names an agent the writer has just looked up. The legacy partition's own foreign key is
 * dropped for the same reason (dropping the partition would lock `agents`). SQLite keeps its tables.
 */
export const eventTracePartitions: Migration = {
  version: 15,
  name: 'event and trace idempotency by id tables; daily partitions of agent_events and llm_traces (PostgreSQL)',
  statements: (t) =>
    TABLES.flatMap(({ table, ids, unique }) => [
      `CREATE TABLE ${ids} (
        agent_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        id ${t.bigint} NOT NULL,
        received_at ${t.bigint} NOT NULL,
        PRIMARY KEY (agent_id, event_id)
      )${t.clusteredByKey}`,
      `CREATE INDEX idx_${ids}_received ON ${ids} (received_at)`,
      // The unique index guaranteed one row per pair; the id table takes over from it.
      `INSERT INTO ${ids} (agent_id, event_id, id, received_at) SELECT agent_id, event_id, id, received_at FROM ${table} WHERE event_id IS NOT NULL`,
      `DROP INDEX ${unique}`,
    ]),
  // Nothing is moved, so there is no progress to tell: each step is a catalog change.
  moveRows: async (tx: MigrationExecutor, dialect, now) => {
    if (dialect !== 'postgres') return;
    for (const { table, indexes } of TABLES) {
      const legacy = `${table}_legacy`;
      const stats = await tx.get<{ hi: number | null; n: number }>(
        `SELECT MAX(received_at) AS hi, (SELECT COUNT(*) FROM (SELECT 1 FROM ${table} LIMIT 1) AS one) AS n FROM ${table}`,
      );
      const empty = Number(stats?.n ?? 0) === 0;
      await tx.run(`ALTER TABLE ${table} RENAME TO ${legacy}`);
      await tx.run(`ALTER INDEX ${table}_pkey RENAME TO ${legacy}_pkey`);
      for (const [name] of indexes) await tx.run(`ALTER INDEX ${name} RENAME TO ${name}_legacy`);
      const fks = await tx.get<{ names: string | null }>(
        `SELECT string_agg(conname, ',') AS names FROM pg_constraint WHERE conrelid = CAST('${legacy}' AS regclass) AND contype = 'f'`,
      );
      for (const fk of fks?.names?.split(',') ?? []) await tx.run(`ALTER TABLE ${legacy} DROP CONSTRAINT ${fk}`);
      // Same columns, defaults and NOT NULLs; a fresh identity for id (its sequence is set below).
      await tx.run(`CREATE TABLE ${table} (LIKE ${legacy} INCLUDING DEFAULTS INCLUDING IDENTITY) PARTITION BY RANGE (received_at)`);
      for (const [name, columns] of indexes) await tx.run(`CREATE INDEX ${name} ON ${table} ${columns}`);
      // Above every id ever handed out (purges delete rows, and the LLM sums' cursor has passed
      // their ids): the old sequence's position, or the largest id.
      const seq = await tx.get<{ name: string }>(`SELECT pg_get_serial_sequence('${legacy}', 'id') AS name`);
      const used = await tx.get<{ last: number; called: boolean }>(
        `SELECT last_value AS last, is_called AS called FROM ${seq?.name ?? ''}`,
      );
      const top = await tx.get<{ id: number | null }>(`SELECT MAX(id) AS id FROM ${legacy}`);
      const next = Math.max(used?.called ? Number(used.last) + 1 : Number(used?.last ?? 1), Number(top?.id ?? 0) + 1);
      await tx.run(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), ${next}, false)`);
      const bound = Math.floor(Math.max(now, Number(stats?.hi ?? now)) / DAY) * DAY + DAY;
      let first = Math.floor(now / DAY) * DAY;
      if (empty) {
        await tx.run(`DROP TABLE ${legacy}`);
      } else {
        // The CHECK lets ATTACH trust the bound without scanning; it stays, harmless, as the legacy table's own.
        await tx.run(`ALTER TABLE ${legacy} ADD CONSTRAINT ${legacy}_bound CHECK (received_at IS NOT NULL AND received_at < ${bound})`);
        await tx.run(`ALTER TABLE ${table} ATTACH PARTITION ${legacy} FOR VALUES FROM (MINVALUE) TO (${bound})`);
        first = bound;
      }
      for (let from = first; from <= Math.floor(now / DAY) * DAY + DAYS_AHEAD * DAY; from += DAY) {
        const name = dayName(table, from);
        await tx.run(`CREATE TABLE ${name} PARTITION OF ${table} FOR VALUES FROM (${from}) TO (${from + DAY})`);
        await tx.run(`CREATE UNIQUE INDEX ${name}_id ON ${name} (id)`);
      }
    }
  },
};
