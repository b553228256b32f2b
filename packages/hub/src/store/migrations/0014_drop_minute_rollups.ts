import type { Migration } from './types.js';

/**
 * The per-minute rollups go: a minute row cost more than the raw samples it summed (about 97 bytes
 * per heartbeat against 21 for a sealed sample, bench/RESULTS.md), and raw samples are kept longer
 * than minutes were, so minute charts are summed from raw when read. The hourly rollups stay, and so
 * does `rollup_state`: its mark now says which minutes are folded into their hours, as it said which
 * minutes were rolled (and folded) before, so the job carries on where it stopped.
 */
export const dropMinuteRollups: Migration = {
  version: 14,
  name: 'drop minute rollups',
  statements: () => ['DROP TABLE IF EXISTS agent_metrics_1m', 'DROP TABLE IF EXISTS system_metrics_1m'],
};
