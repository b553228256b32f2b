import type { Migration } from './types.js';

// Alert rules, the alerts they raise (pending → firing → resolved, history kept), silences,
// webhooks and their delivery log.
export const alertsSchema: Migration = {
  version: 2,
  name: 'alerts',
  statements: (t, now) => [
    `CREATE TABLE alert_rules (
      id ${t.id},
      name TEXT NOT NULL UNIQUE,
      metric TEXT NOT NULL,
      op TEXT NOT NULL,
      threshold ${t.double} NOT NULL,
      for_seconds INTEGER NOT NULL DEFAULT 0,
      hysteresis ${t.double},
      severity TEXT NOT NULL,
      scope_agent_id TEXT,
      scope_pool_name TEXT,
      scope_agent_type TEXT,
      enabled ${t.bool} NOT NULL DEFAULT TRUE,
      source TEXT NOT NULL,
      created_at ${t.bigint} NOT NULL,
      updated_at ${t.bigint} NOT NULL
    )`,
    // The monitoring API's checks (docs/seed-requirements.md), now with durations, plus offline. CPU and memory must last a while
    // before anyone is told (a compile spikes CPU for seconds); an error count and an offline
    // verdict are already sustained conditions (liveness has waited three heartbeat intervals).
    `INSERT INTO alert_rules (name, metric, op, threshold, for_seconds, severity, enabled, source, created_at, updated_at) VALUES
      ('high_cpu', 'cpu_percent', '>', 80, 120, 'warning', TRUE, 'default', ${now}, ${now}),
      ('high_memory', 'memory_mb', '>', 1024, 60, 'warning', TRUE, 'default', ${now}, ${now}),
      ('high_errors', 'unresolved_errors', '>', 10, 0, 'critical', TRUE, 'default', ${now}, ${now}),
      ('agent_offline', 'offline', '>', 0, 0, 'critical', TRUE, 'default', ${now}, ${now})`,

    // The rule's name, severity and condition are copied in, so history reads right after the rule changes.
    `CREATE TABLE alerts (
      id ${t.id},
      rule_id ${t.bigint} NOT NULL,
      rule_name TEXT NOT NULL,
      agent_id TEXT NOT NULL,
      state TEXT NOT NULL,
      severity TEXT NOT NULL,
      metric TEXT NOT NULL,
      op TEXT NOT NULL,
      threshold ${t.double} NOT NULL,
      pending_since ${t.bigint} NOT NULL,
      started_at ${t.bigint},
      resolved_at ${t.bigint},
      resolve_reason TEXT,
      value ${t.double},
      peak_value ${t.double},
      last_value ${t.double},
      acknowledged_at ${t.bigint},
      notified_at ${t.bigint},
      updated_at ${t.bigint} NOT NULL
    )`,
    // At most one open (pending or firing) alert per (rule, agent), even with several hubs on one database.
    `CREATE UNIQUE INDEX idx_alerts_open ON alerts (rule_id, agent_id) WHERE state <> 'resolved'`,
    `CREATE INDEX idx_alerts_state ON alerts (state, id)`,
    `CREATE INDEX idx_alerts_agent ON alerts (agent_id, id)`,

    `CREATE TABLE alert_silences (
      id ${t.id},
      rule_id ${t.bigint},
      agent_id TEXT,
      until ${t.bigint} NOT NULL,
      comment TEXT,
      created_at ${t.bigint} NOT NULL
    )`,

    `CREATE TABLE webhooks (
      id ${t.id},
      name TEXT,
      url TEXT NOT NULL,
      created_at ${t.bigint} NOT NULL
    )`,
    // The payload is kept so a delivery cut short by a restart is resumed as it was.
    `CREATE TABLE webhook_deliveries (
      id ${t.id},
      webhook_id ${t.bigint} NOT NULL,
      alert_id ${t.bigint} NOT NULL,
      kind TEXT NOT NULL,
      status TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      last_status_code INTEGER,
      last_error TEXT,
      payload ${t.json} NOT NULL,
      created_at ${t.bigint} NOT NULL,
      updated_at ${t.bigint} NOT NULL,
      delivered_at ${t.bigint}
    )`,
    `CREATE INDEX idx_webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id)`,
    `CREATE INDEX idx_webhook_deliveries_status ON webhook_deliveries (status)`,
  ],
};
