import type { Migration } from './types.js';

/**
 * Alert history goes with the events' retention (store/retention.ts): resolved alerts, webhook
 * deliveries that are finished (delivered, or failed for good) and silences that have ended. An open
 * alert and a pending delivery are never purged, and an alert goes only once no delivery of it is
 * left. Each purge batch reads its oldest rows as one range of these indexes; the one on `alert_id`
 * answers whether an alert still has a delivery.
 */
export const alertHistoryRetention: Migration = {
  version: 17,
  name: 'resolved alerts, finished webhook deliveries and ended silences purged by retention',
  statements: () => [
    // By state first: SQLite, which has no statistics here (the hub runs no ANALYZE), would otherwise
    // read every resolved alert through idx_alerts_state and sort them.
    `CREATE INDEX idx_alerts_resolved_at ON alerts (state, resolved_at)`,
    `CREATE INDEX idx_webhook_deliveries_finished ON webhook_deliveries (updated_at) WHERE status <> 'pending'`,
    `CREATE INDEX idx_webhook_deliveries_alert ON webhook_deliveries (alert_id)`,
    `CREATE INDEX idx_alert_silences_until ON alert_silences (until)`,
  ],
};
