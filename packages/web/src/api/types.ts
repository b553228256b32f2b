/**
 * The API's answer shapes, taken from the hub's own declarations (type-only: nothing of the hub is
 * bundled), so the dashboard fails to compile when an answer it reads changes shape.
 */
export type { Agent } from '../../../hub/src/store/agents.js';
export type { StoredEvent } from '../../../hub/src/store/events.js';
export type { StoredError } from '../../../hub/src/store/errors.js';
export type { MetricSample, AgentDashboard, FleetSummary } from '../../../hub/src/store/dashboard.js';
export type { LiveMessage } from '../../../hub/src/live/messages.js';
export type { StorageReport, TableReport, TierReport } from '../../../hub/src/store/storage.js';
export type { CapacityMatch, FittingGpu } from '../../../hub/src/store/capacity.js';
export type { Claim } from '../../../hub/src/store/claims.js';
export type { AgentStatus, Resources } from '@vigil/protocol';

import type { Agent } from '../../../hub/src/store/agents.js';
import type { StoredEvent } from '../../../hub/src/store/events.js';
import type { FleetSummary } from '../../../hub/src/store/dashboard.js';

/** `GET /api/monitoring/dashboard` as the dashboard reads it (the extras of the monitoring API, docs/seed-requirements.md, are not used). */
export interface DashboardPage {
  agents: Agent[];
  recentEvents: StoredEvent[];
  activeErrors: { agent_id: string; count: number }[];
  summary: FleetSummary;
  next_cursor: string | null;
}

export interface AgentsPage {
  agents: Agent[];
  next_cursor: string | null;
}

/** `GET /api/v1/session` and `POST /api/v1/session`. */
export interface SessionInfo {
  csrf_token: string | null;
  idle_timeout_s: number;
}

/** The hub's error shape: `{error: {code, message}}`. */
export interface ErrorBody {
  error: { code: string; message: string };
}

export type { Alert, AlertChange, AlertMetric, AlertOp, AlertRule, AlertScope, AlertSeverity, AlertStateName } from '@vigil/protocol';
export type { Silence } from '../../../hub/src/store/alerts.js';
export type { Webhook, Delivery } from '../../../hub/src/store/webhooks.js';
