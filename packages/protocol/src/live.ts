import { Type, type Static } from 'typebox';
import { AGENT_STATUSES } from './agent.js';
import { ALERT_CHANGES, AlertView } from './alert.js';
import { AGENT_EVENT_TYPES } from './constants.js';
import { AgentProcessMetrics, Resources } from './resources.js';
import { ErrorGroupView, nullable } from './views.js';

/**
 * The live feed (`GET /api/v1/live`, a WebSocket). The first frame is one `hello` object; every
 * later frame is a JSON array of `LiveMessage`s committed within one tick, in commit order.
 */

/**
 * Version of the live feed's messages, sent in `hello`. It grows when a message changes in a way an
 * old client would misread; adding a message type or an optional field does not change it.
 */
export const LIVE_PROTOCOL_VERSION = 1;

export const LiveHello = Type.Object(
  {
    type: Type.Literal('hello'),
    at: Type.Number({ description: "The hub's time (epoch ms)" }),
    protocol_version: Type.Integer({ minimum: 1, description: 'LIVE_PROTOCOL_VERSION of the hub' }),
  },
  { additionalProperties: false },
);
export type LiveHello = Static<typeof LiveHello>;

const closed = { additionalProperties: false } as const;
const status = Type.Enum(AGENT_STATUSES);

export const AGENT_STATUS_REASONS = ['registered', 'heartbeat', 'missed_heartbeats', 'stopped', 'crashed', 'failed_to_start'] as const;

export const LiveMessageSchema = Type.Union([
  Type.Object(
    {
      type: Type.Literal('metrics_update'),
      agent_id: Type.String(),
      status,
      resources: Type.Unsafe<Static<typeof Resources> & Record<string, unknown>>(Resources),
      resource_updated_at: Type.Optional(Type.Record(Type.String(), Type.Number())),
      metrics: AgentProcessMetrics,
      received_at: Type.Number(),
    },
    { ...closed, description: "A heartbeat: the agent's resources after it was merged in, and its process figures" },
  ),
  Type.Object(
    {
      type: Type.Literal('event'),
      id: Type.Integer(),
      agent_id: Type.String(),
      event_type: Type.Enum(AGENT_EVENT_TYPES),
      message: nullable(Type.String()),
      metadata: Type.Record(Type.String(), Type.Unknown()),
      received_at: Type.Number(),
    },
    closed,
  ),
  Type.Object(
    {
      type: Type.Literal('error'),
      id: Type.Integer(),
      agent_id: Type.String(),
      error_type: Type.String(),
      message: Type.String(),
      occurrences: Type.Integer(),
      received_at: Type.Number(),
    },
    closed,
  ),
  Type.Object({ type: Type.Literal('error_resolved'), id: Type.Integer(), agent_id: Type.String(), resolved_at: Type.Number() }, closed),
  Type.Object(
    {
      type: Type.Literal('error_reopened'),
      agent_id: Type.String(),
      error: ErrorGroupView,
      removed_id: nullable(Type.Integer()),
      reopened_at: Type.Number(),
    },
    { ...closed, description: 'A resolved group reopened; merged into an open one (removed_id deleted) when a repeat had opened it' },
  ),
  Type.Object(
    {
      type: Type.Literal('agent_status'),
      agent_id: Type.String(),
      status,
      reason: Type.Enum(AGENT_STATUS_REASONS),
      at: Type.Number(),
      pool_name: Type.Optional(Type.String({ description: 'On registration only' })),
      agent_type: Type.Optional(Type.String({ description: 'On registration only' })),
    },
    closed,
  ),
  Type.Object(
    { type: Type.Literal('agent_updated'), agent_id: Type.String(), name: Type.String(), paused: Type.Boolean(), at: Type.Number() },
    { ...closed, description: 'Renamed, or its monitoring paused or resumed' },
  ),
  Type.Object({ type: Type.Literal('agent_removed'), agent_id: Type.String(), at: Type.Number() }, closed),
  Type.Object(
    {
      type: Type.Literal('llm_activity'),
      agent_id: Type.String(),
      calls: Type.Integer(),
      input_tokens: Type.Number(),
      output_tokens: Type.Number(),
      cost_usd: Type.Number(),
      at: Type.Number(),
    },
    { ...closed, description: "LLM calls an agent's OpenTelemetry data added" },
  ),
  Type.Object({ type: Type.Literal('alert'), change: Type.Enum(ALERT_CHANGES), alert: AlertView }, closed),
]);
export type LiveMessage = Static<typeof LiveMessageSchema>;

/** A frame after `hello`: the messages one tick committed, in commit order. */
export const LiveFrame = Type.Array(LiveMessageSchema);
