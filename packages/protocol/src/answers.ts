import { Type, type Static } from 'typebox';
import { AgentStatusSchema } from './agent.js';
import { AlertRuleView, AlertView } from './alert.js';
import { DeliveryView, ListedSilence, SilenceView, WebhookView } from './alert-views.js';
import { ERROR_CODES } from './error-codes.js';
import { CursorList, List, One, Page } from './page.js';
import {
  AgentDetail,
  AgentView,
  ApiKeyView,
  CapacityMatch,
  Claim,
  ErrorGroupView,
  EventView,
  ListedAgent,
  nullable,
  TraceView,
} from './views.js';

/**
 * The bodies of the API's answers, route by route (the OpenAPI document at /api/v1/openapi.json
 * shows which route answers which). Items are the views of views.ts, alert.ts and alert-views.ts.
 */

const IdCursor = Type.Integer({ minimum: 1 });
const closed = { additionalProperties: false } as const;

// Agents
export const RegisterAnswer = Type.Object(
  { created: Type.Boolean({ description: 'True when this registration made the agent' }), agent: AgentView },
  closed,
);
export type RegisterAnswer = Static<typeof RegisterAnswer>;
export const AgentsPage = Page('agents', ListedAgent, Type.String(), 'Agents by id; long metadata left out (listed in truncated)');
export type AgentsPage = Static<typeof AgentsPage>;
export const AgentAnswer = One('agent', AgentDetail);
export type AgentAnswer = Static<typeof AgentAnswer>;
export const UpdatedAgentAnswer = One('agent', AgentView);
export const DeletedAgentAnswer = Type.Object(
  {
    agent_id: Type.String(),
    deleted: Type.Literal(true),
    already_deleted: Type.Boolean(),
    history: Type.Enum(['kept', 'deleted']),
    rows_deleted: Type.Integer(),
  },
  closed,
);
export type DeletedAgentAnswer = Static<typeof DeletedAgentAnswer>;
export const HeartbeatAnswer = Type.Object(
  {
    status: AgentStatusSchema,
    duplicate: Type.Boolean({ description: 'A retry of a heartbeat already stored (same event_id)' }),
    received_at: Type.Number(),
  },
  closed,
);
export type HeartbeatAnswer = Static<typeof HeartbeatAnswer>;
export const CapacityAnswer = Type.Object(
  { agents: Type.Array(CapacityMatch, { description: 'Best fit first' }), bytes_limited: Type.Boolean() },
  closed,
);
export type CapacityAnswer = Static<typeof CapacityAnswer>;

/** `GET /api/v1/capacity/claims`: claims newest first, paged by `before=<next_cursor>`. */
export const ClaimsAnswer = Type.Object(
  { claims: Type.Array(Claim), next_cursor: nullable(Type.String()), bytes_limited: Type.Boolean() },
  closed,
);
export type ClaimsAnswer = Static<typeof ClaimsAnswer>;

// Events, errors, traces
export const StoredAnswer = Type.Object(
  { id: Type.Integer(), duplicate: Type.Boolean({ description: 'A retry of an item already stored (same event_id)' }) },
  closed,
);
export type StoredAnswer = Static<typeof StoredAnswer>;
export const StoredErrorAnswer = Type.Object(
  { id: Type.Integer(), occurrences: Type.Integer(), duplicate: Type.Boolean(), fingerprint: Type.String() },
  closed,
);
export type StoredErrorAnswer = Static<typeof StoredErrorAnswer>;
export const EventsPage = Page('events', EventView, IdCursor, 'Newest first; long messages and metadata cut (listed in truncated)');
export type EventsPage = Static<typeof EventsPage>;
export const EventAnswer = One('event', EventView);
export const ErrorsPage = Page('errors', ErrorGroupView, IdCursor, 'Newest first; long texts and metadata cut (listed in truncated)');
export type ErrorsPage = Static<typeof ErrorsPage>;
export const ErrorAnswer = One('error', ErrorGroupView);
export const ReopenedErrorAnswer = Type.Object(
  {
    error: ErrorGroupView,
    removed_id: nullable(Type.Integer({ description: 'The reopened group, when it was merged into an open one and deleted' })),
  },
  closed,
);
export type ReopenedErrorAnswer = Static<typeof ReopenedErrorAnswer>;
export const TracesPage = Page('traces', TraceView, IdCursor, 'Newest first; long error texts and attributes cut (listed in truncated)');
export type TracesPage = Static<typeof TracesPage>;
export const TraceAnswer = One('trace', TraceView);

/** `POST /api/v1/ingest`: each item's fate. */
export const IngestAnswer = Type.Object(
  {
    accepted: Type.Object({ heartbeats: Type.Integer(), events: Type.Integer(), errors: Type.Integer(), traces: Type.Integer() }, closed),
    duplicates: Type.Integer(),
    rejected: Type.Array(
      Type.Object(
        {
          kind: Type.Enum(['heartbeats', 'events', 'errors', 'traces']),
          index: Type.Integer(),
          code: Type.Enum(ERROR_CODES),
          message: Type.String(),
        },
        closed,
      ),
    ),
    received_at: Type.Number(),
  },
  closed,
);
export type IngestAnswer = Static<typeof IngestAnswer>;

// The monitoring API (docs/seed-requirements.md) writes
export const SeedStoredAnswer = Type.Object({ success: Type.Literal(true), id: Type.Integer(), duplicate: Type.Boolean() }, closed);
export const SeedStoredErrorAnswer = Type.Object(
  { success: Type.Literal(true), id: Type.Integer(), occurrences: Type.Integer(), duplicate: Type.Boolean() },
  closed,
);
export const SeedSuccess = Type.Object({ success: Type.Literal(true) }, closed);

// Alerts
export const RuleAnswer = One('rule', AlertRuleView);
export const RulesAnswer = List('rules', AlertRuleView);
export const AlertsPage = CursorList('alerts', AlertView, IdCursor);
export type AlertsPage = Static<typeof AlertsPage>;
export const AlertAnswer = One('alert', AlertView);
export const SilenceAnswer = One('silence', SilenceView);
export const SilencesAnswer = List('silences', ListedSilence);
export const WebhookAnswer = One('webhook', WebhookView);
export const WebhooksAnswer = List('webhooks', WebhookView);
export const DeliveriesPage = CursorList('deliveries', DeliveryView, IdCursor);
export type DeliveriesPage = Static<typeof DeliveriesPage>;

// Keys
export const KeysAnswer = List('keys', ApiKeyView);
export const KeyAnswer = One('key', ApiKeyView);

// Session
export const SessionAnswer = Type.Object(
  {
    csrf_token: nullable(Type.String({ description: 'Echo in x-vigil-csrf on every signed-in change; null with a Bearer token' })),
    idle_timeout_s: Type.Integer(),
  },
  closed,
);
export type SessionAnswer = Static<typeof SessionAnswer>;

/** `GET /readyz`: ready, or why not (503). */
export const Ready = Type.Object({ ready: Type.Literal(true) }, closed);
export const NotReady = Type.Object({ ready: Type.Literal(false), reason: Type.String() }, closed);
