import type { Migration } from './types.js';

/**
 * Notifications that a crash can neither lose nor tell apart when sent twice, and an `error_rate`
 * that a restart does not reset.
 *
 * `webhook_deliveries.delivery_id` is the stable id of one notification (one alert's transition to
 * one webhook): the delivery rows are now written in the alert change's own transaction, and the
 * unique index makes writing the same transition twice a no-op. Receivers see it in the payload and
 * the `x-vigil-delivery-id` header, so a send repeated after a crash can be recognised. Deliveries
 * logged before this migration get an id from their row number.
 *
 * `error_counts` holds error reports per agent per second, written with each report, so the engine
 * reloads the last minute at start instead of counting from zero.
 */
export const notificationOutbox: Migration = {
  version: 5,
  name: 'notification outbox and stored error counts',
  statements: (t) => [
    `ALTER TABLE webhook_deliveries ADD COLUMN delivery_id TEXT`,
    `UPDATE webhook_deliveries SET delivery_id = 'row-' || id`,
    `CREATE UNIQUE INDEX idx_webhook_deliveries_delivery_id ON webhook_deliveries (delivery_id)`,
    `CREATE TABLE error_counts (
      agent_id TEXT NOT NULL,
      at_second ${t.bigint} NOT NULL,
      reports ${t.bigint} NOT NULL,
      PRIMARY KEY (agent_id, at_second)
    )${t.clusteredByKey}`,
    `CREATE INDEX idx_error_counts_second ON error_counts (at_second)`,
  ],
};
