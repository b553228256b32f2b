import type { Migration, MigrationExecutor } from './types.js';

// Frozen here as they were when this migration shipped (a migration imports nothing from the app).
const FIGURES = [
  'cpu_percent', 'memory_mb', 'message_count', 'io_read_bps', 'io_write_bps',
  'host_cpu_percent', 'cpu_cores_physical', 'cpu_cores_available', 'cpu_load_1min', 'cpu_load_5min',
  'memory_percent', 'memory_available_gb', 'gpu_vram_total_gb', 'gpu_vram_available_gb',
] as const; // prettier-ignore
/** How long a heartbeat's event id is remembered (store/heartbeat-ids.ts has the live figure). */
const EVENT_ID_WINDOW_MS = 3_600_000;
/** Rows moved per statement: a bounded slice of the old table, whatever its size. */
const BATCH = 50_000;

/**
 * Heartbeat samples stored compactly (bench/RESULTS.md, "Compact metrics"):
 *  - agents get an integer key (`agent_keys`), so a sample stores 1 to 3 bytes instead of the agent's
 *    text id, in the row and in every index entry;
 *  - a sample keeps only numbers: its status as a small code (1 online, 2 busy), no `gpu_type` (the
 *    agent's row has it), no `error_count` (never written);
 *  - past a recent window (two hours), each agent's hour of samples is sealed into one compressed
 *    block of columns (`agent_metric_blocks`) by the rollup job; this migration only makes the table;
 *  - idempotency no longer costs a unique index over every sample kept for days: event ids live in
 *    `heartbeat_event_ids` for an hour (retries arrive within minutes) and retention purges them.
 * Ids are kept as they were, so the rollup job's mark (`rollup_state.seen_id`) stays right.
 * Existing samples are moved in batches of ids, with progress told to the log.
 */
export const compactMetrics: Migration = {
  version: 10,
  name: 'compact heartbeat samples: integer agent keys, numbers only, an event-id window',
  statements: (t, now) => [
    `CREATE TABLE agent_keys (
      agent_key ${t.id},
      agent_id TEXT NOT NULL UNIQUE
    )`,
    `INSERT INTO agent_keys (agent_id) SELECT agent_id FROM agents ORDER BY registered_at, agent_id`,
    `DROP INDEX idx_agent_metrics_agent_time`,
    `DROP INDEX idx_agent_metrics_event_id`,
    `ALTER TABLE agent_metrics RENAME TO agent_metrics_0009`,
    t.postgresOnly(`ALTER INDEX agent_metrics_pkey RENAME TO agent_metrics_0009_pkey`),
    `CREATE TABLE agent_metrics (
      id ${t.id},
      agent_key ${t.bigint} NOT NULL,
      received_at ${t.bigint} NOT NULL,
      timestamp ${t.bigint},
      status INTEGER NOT NULL,
      ${FIGURES.map((f) => `${f} ${f === 'message_count' ? t.bigint : f === 'cpu_cores_physical' ? 'INTEGER' : t.double}`).join(',\n      ')}
    )`,
    // Past a recent window, an agent's hour of samples is one compressed block (store/sealing.ts).
    `CREATE TABLE agent_metric_blocks (
      agent_key ${t.bigint} NOT NULL,
      start_at ${t.bigint} NOT NULL,
      end_at ${t.bigint} NOT NULL,
      samples INTEGER NOT NULL,
      data ${t.blob} NOT NULL,
      PRIMARY KEY (agent_key, start_at)
    )${t.clusteredByKey}`,
    `CREATE INDEX idx_agent_metric_blocks_end ON agent_metric_blocks (end_at)`,
    `CREATE TABLE heartbeat_event_ids (
      event_id TEXT NOT NULL,
      agent_key ${t.bigint} NOT NULL,
      received_at ${t.bigint} NOT NULL,
      PRIMARY KEY (event_id, agent_key)
    )${t.clusteredByKey}`,
    `CREATE INDEX idx_heartbeat_event_ids_received ON heartbeat_event_ids (received_at)`,
    `INSERT INTO heartbeat_event_ids (event_id, agent_key, received_at)
     SELECT m.event_id, k.agent_key, MIN(m.received_at) FROM agent_metrics_0009 m JOIN agent_keys k ON k.agent_id = m.agent_id
     WHERE m.event_id IS NOT NULL AND m.received_at >= ${now - EVENT_ID_WINDOW_MS} GROUP BY m.event_id, k.agent_key`,
  ],
  moveRows: async (tx: MigrationExecutor, dialect, _now, log) => {
    const range = await tx.get<{ lo: number | null; hi: number | null; n: number }>(
      'SELECT MIN(id) AS lo, MAX(id) AS hi, COUNT(*) AS n FROM agent_metrics_0009',
    );
    const total = Number(range?.n ?? 0);
    if (total > 0) log(`migration 10: moving ${total.toLocaleString('en-US')} heartbeat samples into the compact table`);
    const cols = ['id', 'agent_key', 'received_at', 'timestamp', 'status', ...FIGURES];
    const copy =
      `INSERT INTO agent_metrics (${cols.join(', ')})${dialect === 'postgres' ? ' OVERRIDING SYSTEM VALUE' : ''} ` +
      `SELECT m.id, k.agent_key, m.received_at, m.timestamp, CASE m.status WHEN 'busy' THEN 2 WHEN 'offline' THEN 0 ELSE 1 END, ` +
      `${FIGURES.map((f) => `m.${f}`).join(', ')} ` +
      'FROM agent_metrics_0009 m JOIN agent_keys k ON k.agent_id = m.agent_id WHERE m.id >= ? AND m.id < ? ORDER BY m.id';
    let moved = 0;
    let lastTold = 0;
    const hi = Number(range?.hi ?? 0);
    for (let from = Number(range?.lo ?? 0); total > 0 && from <= hi; from += BATCH) {
      moved += (await tx.run(copy, [from, from + BATCH])).changes;
      if (moved - lastTold >= total / 10 || from + BATCH > hi) {
        lastTold = moved;
        log(
          `migration 10: ${moved.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} samples moved (${Math.round((moved / total) * 100)} %)`,
        );
      }
    }
    await tx.run('DROP TABLE agent_metrics_0009');
    // Built once over the moved rows rather than kept up to date row by row during the move.
    await tx.run('CREATE INDEX idx_agent_metrics_agent_time ON agent_metrics (agent_key, received_at)');
    await tx.run('CREATE INDEX idx_agent_metrics_received ON agent_metrics (received_at)');
    if (dialect === 'postgres') {
      await tx.run(
        "SELECT setval(pg_get_serial_sequence('agent_metrics', 'id'), COALESCE((SELECT MAX(id) FROM agent_metrics), 0) + 1, false)",
      );
    }
  },
};
