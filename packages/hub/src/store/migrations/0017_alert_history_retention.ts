import type { Migration } from './types.js';

/**
 * Alert history goes with the events' retention (store/retention.ts): resolved alerts, webhook
 * deliveries that are finished (delivered, or failed for good) and silences that have ended. An open
 * alert and a pending delivery are never purged. Each purge batch reads its oldest rows as one range
 * of these indexes; the one on `alert_id` answers whether a resolved alert still has a delivery
 * pending.
 */
export const alertHistoryRetention: Migration = {
  version: 17,
  name: 'resolved alerts, finished webhook deliveries and ended silences purged by retention',
  statements: () => [
    `CREATE INDEX idx_alerts_resolved_at ON alerts (resolved_at) WHERE state = 'resolved'`,
    `CREATE INDEX idx_webhook_deliveries_finished ON webhook_deliveries (updated_at) WHERE status <> 'pending'`,
    `CREATE INDEX idx_webhook_deliveries_alert ON webhook_deliveries (alert_id)`,
    `CREATE INDEX idx_alert_silences_until ON alert_silences (until)`,
  ],
};
