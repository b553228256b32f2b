import type { Migration } from './types.js';

/**
 * The idempotency index of `agent_metrics` leads with `event_id` instead of `agent_id`. The same
 * unique pair, so `ON CONFLICT (agent_id, event_id)` still finds it (both databases match a conflict
 * target to a unique index whatever the column order). With time-ordered ids (UUIDv7, what the SDK
 * sends) new entries land on the index's right-hand edge rather than in one leaf page per agent,
 * so a commit of N heartbeats from N agents writes about one index page instead of N (bench/RESULTS.md,
 * Ingest). Ids that are not time-ordered cost what they cost before: one leaf page per entry.
 * Rebuilding the index reads the whole table once, at the first start after the upgrade.
 */
export const eventIdIndexOrder: Migration = {
  version: 4,
  name: 'agent_metrics idempotency index by event id',
  statements: () => [
    `DROP INDEX idx_agent_metrics_event_id`,
    `CREATE UNIQUE INDEX idx_agent_metrics_event_id ON agent_metrics (event_id, agent_id)`,
  ],
};
