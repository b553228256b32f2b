import type { Migration } from './types.js';

// The agent figures the hourly rollup keeps, frozen as they were when this migration shipped (a
// migration imports nothing from the app).
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

/**
 * The per-minute rollups go: a minute row cost more than the raw samples it summed (about 97 bytes
 * per heartbeat against 21 for a sealed sample, bench/RESULTS.md), and raw samples are kept longer
 * than minutes were, so minute charts are summed from raw when read. The hourly rollups stay, and so
 * does `rollup_state`: its mark now says which minutes are folded into their hours, as it said which
 * minutes were rolled (and folded) before, so the job carries on where it stopped.
 *
 * The fleet's hours are summed once more, into one row per hour (`fleet_metrics_1h`), so the fleet
 * chart reads 168 rows for a week whatever the fleet's size, not one row per agent and hour. Per
 * figure: the samples that had it (`_n`), their sum, min and max, and `_total`, the sum of each
 * agent's average over the hour (the fleet's memory in use). Filled from the hours already rolled.
 */
export const dropMinuteRollups: Migration = {
  version: 14,
  name: 'drop minute rollups, fleet hours',
  statements: (t) => [
    'DROP TABLE IF EXISTS agent_metrics_1m',
    'DROP TABLE IF EXISTS system_metrics_1m',
    `CREATE TABLE fleet_metrics_1h (
      bucket ${t.bigint} PRIMARY KEY,
      agents ${t.bigint} NOT NULL,
      samples ${t.bigint} NOT NULL,
      ${AGENT_FIGURES.map((f) => `${f}_n ${t.bigint} NOT NULL, ${f}_sum ${t.double} NOT NULL, ${f}_min ${t.double}, ${f}_max ${t.double}, ${f}_total ${t.double}`).join(',\n      ')}
    )`,
    `INSERT INTO fleet_metrics_1h (bucket, agents, samples, ${AGENT_FIGURES.map((f) => `${f}_n, ${f}_sum, ${f}_min, ${f}_max, ${f}_total`).join(', ')})
     SELECT bucket, COUNT(*), SUM(samples), ${AGENT_FIGURES.map(
       (f) => `SUM(${f}_n), SUM(${f}_sum), MIN(${f}_min), MAX(${f}_max), SUM(CASE WHEN ${f}_n > 0 THEN ${f}_sum / ${f}_n END)`,
     ).join(', ')}
     FROM agent_metrics_1h GROUP BY bucket`,
  ],
};
