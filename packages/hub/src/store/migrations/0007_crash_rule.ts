import type { Migration } from './types.js';

/**
 * A default rule on crashes, as `agent_offline` is on silence: an agent whose command exited
 * without being asked to (non-zero, or a signal nobody sent through `vigil run`) or could not start
 * is a failure someone should hear of at once. A planned stop fires nothing.
 */
export const crashRule: Migration = {
  version: 7,
  name: 'default agent_crashed rule',
  statements: (_t, now) => [
    `INSERT INTO alert_rules (name, metric, op, threshold, for_seconds, severity, enabled, source, created_at, updated_at)
     SELECT 'agent_crashed', 'crashed', '>', 0, 0, 'critical', TRUE, 'default', ${now}, ${now}
     WHERE NOT EXISTS (SELECT 1 FROM alert_rules WHERE name = 'agent_crashed')`,
  ],
};
