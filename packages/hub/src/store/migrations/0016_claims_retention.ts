import type { Migration } from './types.js';

/**
 * Ended capacity claims go with the events' retention (store/retention.ts). A claim ends when it is
 * released or its lease runs out, whichever comes first, so its end is `COALESCE(released_at,
 * expires_at)`; an active claim's end is ahead of the hub's clock and never past a cutoff. The index
 * on that expression lets each purge batch read its oldest ended claims as one index range.
 */
export const claimsRetention: Migration = {
  version: 16,
  name: 'ended capacity claims purged by retention',
  statements: () => [`CREATE INDEX idx_capacity_claims_ended ON capacity_claims ((COALESCE(released_at, expires_at)))`],
};
