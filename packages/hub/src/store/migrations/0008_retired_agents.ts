import type { Migration } from './types.js';

/**
 * Agents can be retired. `paused` mutes an agent's alerts (heartbeats are still taken and shown);
 * `deleted_at` marks a deleted agent: its row stays as a tombstone so its own key cannot bring it
 * back, and so history kept on request still has the row its foreign keys name. `history_purge_before`
 * is set while a deletion's history is still being removed (in batches) and cleared when it is done.
 */
export const retiredAgents: Migration = {
  version: 8,
  name: 'paused and deleted agents',
  statements: (t) => [
    `ALTER TABLE agents ADD COLUMN paused ${t.bool} NOT NULL DEFAULT FALSE`,
    `ALTER TABLE agents ADD COLUMN deleted_at ${t.bigint}`,
    `ALTER TABLE agents ADD COLUMN history_purge_before ${t.bigint}`,
    // The few agents the alert engine must leave alone, read on every tick without a scan of the fleet.
    `CREATE INDEX idx_agents_muted ON agents (agent_id) WHERE paused = TRUE OR deleted_at IS NOT NULL`,
  ],
};
