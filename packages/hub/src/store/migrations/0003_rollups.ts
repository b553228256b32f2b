import type { Migration, SqlTypes } from './types.js';

// The figures each rollup keeps, frozen here as they were when this migration shipped (a migration
// imports nothing from the app). Per figure: how many samples had it (`_n`), their sum (so averages
// merge exactly), min, max, and the value of the bucket's latest sample (`_last`).
const AGENT_FIGURES = [
  'cpu_percent',
  'memory_mb',
  'host_cpu_percent',
  'memory_percent',
  'memory_available_gb',
  'gpu_vram_available_gb',
  'io_read_bps',
  'io_write_bps',
];
const HOST_FIGURES = [
  'cpu_percent',
  'memory_percent',
  'memory_used_bytes',
  'disk_used_bytes',
  'cpu_load_1min',
  'io_read_bps',
  'io_write_bps',
];

function rollupTable(t: SqlTypes, name: string, key: string, figures: string[]): string[] {
  const columns = figures.flatMap((f) => [
    `${f}_n ${t.bigint} NOT NULL`,
    `${f}_sum ${t.double} NOT NULL`,
    `${f}_min ${t.double}`,
    `${f}_max ${t.double}`,
    `${f}_last ${t.double}`,
  ]);
  return [
    // `bucket` is the bucket's start (epoch ms of the hub's clock, like `received_at`); `last_at`
    // the receive time of its latest sample, which decides `_last` when buckets merge. Stored in key
    // order where the database can: a chart reads one key's consecutive buckets, which then share
    // pages instead of each sitting on a page of its own among every other key's (measured in
    // bench/RESULTS.md).
    `CREATE TABLE ${name} (
      ${key} TEXT NOT NULL,
      bucket ${t.bigint} NOT NULL,
      samples ${t.bigint} NOT NULL,
      last_at ${t.bigint} NOT NULL,
      ${columns.join(',\n      ')},
      PRIMARY KEY (${key}, bucket)
    )${t.clusteredByKey}`,
    // Time-window work (rolling an hour from its minutes, purging, fleet charts) reads by bucket.
    `CREATE INDEX idx_${name}_bucket ON ${name} (bucket)`,
  ];
}

/**
 * Per-minute and per-hour rollups of agent and host metrics, the state of the job that writes
 * them, and the indexes retention needs to purge by the hub's clock without scanning.
 */
export const rollupsSchema: Migration = {
  version: 3,
  name: 'rollups and retention',
  statements: (t) => [
    ...rollupTable(t, 'agent_metrics_1m', 'agent_id', AGENT_FIGURES),
    ...rollupTable(t, 'agent_metrics_1h', 'agent_id', AGENT_FIGURES),
    ...rollupTable(t, 'system_metrics_1m', 'host', HOST_FIGURES),
    ...rollupTable(t, 'system_metrics_1h', 'host', HOST_FIGURES),
    // One row per rolled series: minutes before `minute_mark` are rolled; raw rows with an id above
    // `seen_id` have not yet been checked for arriving late into an already rolled minute.
    `CREATE TABLE rollup_state (
      series TEXT PRIMARY KEY,
      minute_mark ${t.bigint} NOT NULL,
      seen_id ${t.bigint} NOT NULL,
      updated_at ${t.bigint} NOT NULL
    )`,
    // Purges take the oldest rows by receive time; these tables had no index leading with it.
    `CREATE INDEX idx_agent_metrics_received ON agent_metrics (received_at)`,
    `CREATE INDEX idx_llm_traces_received ON llm_traces (received_at)`,
    `CREATE INDEX idx_error_event_ids_received ON error_event_ids (received_at)`,
  ],
};
