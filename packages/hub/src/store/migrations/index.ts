import { initialSchema } from './0001_initial_schema.js';
import { alertsSchema } from './0002_alerts.js';
import { rollupsSchema } from './0003_rollups.js';
import { eventIdIndexOrder } from './0004_event_id_index_order.js';
import { notificationOutbox } from './0005_notification_outbox.js';
import { otlpSchema } from './0006_otlp.js';
import { crashRule } from './0007_crash_rule.js';
import { retiredAgents } from './0008_retired_agents.js';
import { spendRules } from './0009_spend_rules.js';
import { compactMetrics } from './0010_compact_metrics.js';
import { severalHubs } from './0011_several_hubs.js';
import { capacityClaims } from './0012_capacity_claims.js';
import { timePartitions } from './0013_time_partitions.js';
import { dropMinuteRollups } from './0014_drop_minute_rollups.js';
import { eventTracePartitions } from './0015_event_trace_partitions.js';
import { claimsRetention } from './0016_claims_retention.js';
import { alertHistoryRetention } from './0017_alert_history_retention.js';
import type { Migration } from './types.js';

/** Every migration, oldest first. Append; never edit one that has shipped. */
export const MIGRATIONS: readonly Migration[] = [
  initialSchema,
  alertsSchema,
  rollupsSchema,
  eventIdIndexOrder,
  notificationOutbox,
  otlpSchema,
  crashRule,
  retiredAgents,
  spendRules,
  compactMetrics,
  severalHubs,
  capacityClaims,
  timePartitions,
  dropMinuteRollups,
  eventTracePartitions,
  claimsRetention,
  alertHistoryRetention,
];
