import type { Migration } from './types.js';

/**
 * What several hubs on one database share instead of keeping in memory (docs/several-hubs.md).
 *
 * `sessions`: dashboard sign-ins, so a restart or another hub keeps people signed in. Only a SHA-256
 * of each id is stored, like API keys; `last_seen` is when the session was last used.
 *
 * `rollup_state.horizon_*`: on PostgreSQL, row ids are handed out at INSERT, not at COMMIT, so another
 * hub's transaction may commit a row below an id the rollup has already passed. The rollup checks ids
 * up to `horizon_id` for late rows only once the transactions running when it read that id
 * (`horizon_xids`) have ended, and knows which rows it rolled then (`horizon_mark`) (store/rollups.ts).
 *
 * `webhook_deliveries.claimed_by` / `claim_until`: a hub sends a delivery only while it holds its
 * claim (a lease), so exactly one hub sends each notification; a dead hub's lease runs out.
 *
 * `live_messages`: a committed batch's live messages too large for one NOTIFY payload (8,000 bytes);
 * the notification names the row and the other hubs read it (live/cluster.ts).
 */
export const severalHubs: Migration = {
  version: 11,
  name: 'several hubs: sessions, rollup horizon, delivery claims, large live messages',
  statements: (t) => [
    `CREATE TABLE sessions (
      id_hash TEXT PRIMARY KEY,
      csrf TEXT NOT NULL,
      created_at ${t.bigint} NOT NULL,
      last_seen ${t.bigint} NOT NULL
    )`,
    `CREATE INDEX idx_sessions_last_seen ON sessions (last_seen)`,
    `ALTER TABLE rollup_state ADD COLUMN horizon_id ${t.bigint}`,
    `ALTER TABLE rollup_state ADD COLUMN horizon_mark ${t.bigint}`,
    `ALTER TABLE rollup_state ADD COLUMN horizon_xids TEXT`,
    `ALTER TABLE webhook_deliveries ADD COLUMN claimed_by TEXT`,
    `ALTER TABLE webhook_deliveries ADD COLUMN claim_until ${t.bigint}`,
    `CREATE TABLE live_messages (
      id ${t.id},
      messages ${t.json} NOT NULL,
      created_at ${t.bigint} NOT NULL
    )`,
  ],
};
