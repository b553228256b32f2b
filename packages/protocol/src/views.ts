import { Type, type Static, type TSchema } from 'typebox';
import { AGENT_STATUSES } from './agent.js';
import { AGENT_EVENT_TYPES } from './constants.js';
import { HUB_EVENT_TYPES } from './event.js';
import { GpuDevice, Resources } from './resources.js';

/**
 * What the hub answers about agents, events, error groups and LLM calls. Each view names every
 * field it carries (`additionalProperties: false`): the hub maps its rows to these explicitly, so a
 * new column is not exposed until it is added here, and a test holds every answer to them.
 */

export const nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const epochMs = Type.Number({ description: 'Epoch milliseconds' });
const Json = Type.Record(Type.String(), Type.Unknown());

const truncated = Type.Optional(
  Type.Array(Type.String(), {
    description: "Fields cut in this list answer (texts shortened, JSON left out as {}); the item's own route has them whole",
  }),
);

const agentFields = {
  agent_id: Type.String(),
  name: Type.String(),
  agent_type: Type.String(),
  pool_name: Type.String(),
  capabilities: Type.Array(Type.String()),
  status: Type.Enum(AGENT_STATUSES),
  offline_reason: nullable(Type.String({ description: 'Why an offline agent is offline: missed_heartbeats, stopped, crashed, …' })),
  last_heartbeat_at: nullable(epochMs),
  performance_score: Type.Number(),
  resource_metrics: Resources,
  resource_updated_at: Type.Record(Type.String(), Type.Number(), {
    description: 'When each field of resource_metrics was last reported (hub time, epoch ms)',
  }),
  metadata: Json,
  heartbeat_interval_s: Type.Number(),
  registered_at: epochMs,
  updated_at: epochMs,
  cpu_percent: nullable(Type.Number()),
  memory_mb: nullable(Type.Number()),
  message_count: nullable(Type.Number()),
  paused: Type.Boolean({ description: 'Monitoring paused: no alert fires for it' }),
  last_llm_activity_at: nullable(epochMs),
  last_telemetry_at: nullable(epochMs),
  truncated,
};

/** An agent as stored: registration, liveness and its latest resources. */
export const AgentView = Type.Object(agentFields, { additionalProperties: false });
export type AgentView = Static<typeof AgentView>;

const activityFields = {
  llm_state: nullable(Type.Enum(['busy', 'idle'], { description: 'LLM activity within the busy window, or idle; null if never' })),
  telemetry_silent: nullable(Type.String({ description: 'Why an agent whose OTLP export vigil run set up sends none; null when fine' })),
};

/** An agent in `GET /api/v1/agents`: the stored agent and what the hub judges of its LLM activity. */
export const ListedAgent = Type.Object({ ...agentFields, ...activityFields }, { additionalProperties: false });
export type ListedAgent = Static<typeof ListedAgent>;

/** One agent's LLM totals over the last 30 days, by receive time. */
export const AgentLlmTotals = Type.Object(
  {
    since: epochMs,
    calls: Type.Number(),
    errors: Type.Number(),
    input_tokens: Type.Number(),
    output_tokens: Type.Number(),
    cache_read_tokens: Type.Number(),
    cache_creation_tokens: Type.Number(),
    cost_usd: Type.Number(),
  },
  { additionalProperties: false },
);
export type AgentLlmTotals = Static<typeof AgentLlmTotals>;

/** `GET /api/v1/agents/:agentId`: the agent with its LLM activity and totals. */
export const AgentDetail = Type.Object({ ...agentFields, ...activityFields, llm_totals: AgentLlmTotals }, { additionalProperties: false });
export type AgentDetail = Static<typeof AgentDetail>;

/** A GPU that fits a capacity query. */
export const FittingGpu = Type.Object(
  {
    index: GpuDevice.properties.index,
    uuid: GpuDevice.properties.uuid,
    bus_id: GpuDevice.properties.bus_id,
    name: GpuDevice.properties.name,
    vram_free_gb: GpuDevice.properties.vram_free_gb,
  },
  { additionalProperties: false },
);
export type FittingGpu = Static<typeof FittingGpu>;

/** What active capacity claims hold of an agent, already subtracted from the free figures a capacity answer judges by. */
export const Reserved = Type.Object(
  {
    claims: Type.Integer({ minimum: 0 }),
    cpu_cores: Type.Number(),
    memory_gb: Type.Number(),
    gpu_vram_gb: Type.Number({ description: 'VRAM of all claimed GPUs together' }),
  },
  { additionalProperties: false },
);
export type Reserved = Static<typeof Reserved>;

/** An agent with room for a job. */
export const CapacityMatch = Type.Object(
  {
    ...agentFields,
    reserved: Reserved,
    fitting_gpus: Type.Optional(
      nullable(
        Type.Array(FittingGpu, {
          description: 'With a GPU condition: the GPUs with the VRAM free; null for an agent that reports no gpus array',
        }),
      ),
    ),
  },
  { additionalProperties: false },
);
export type CapacityMatch = Static<typeof CapacityMatch>;

export const CLAIM_STATUSES = ['active', 'released', 'expired'] as const;

/** A capacity claim: what was reserved on which agent (and GPUs), for which job, until when (docs/capacity.md). */
export const Claim = Type.Object(
  {
    claim_id: Type.String(),
    agent_id: Type.String(),
    pool_name: Type.String(),
    job: Type.String(),
    status: Type.Enum(CLAIM_STATUSES),
    cpu_cores: Type.Number(),
    memory_gb: Type.Number(),
    gpu_vram_gb: Type.Number({ description: 'VRAM reserved on each claimed GPU' }),
    gpu_count: Type.Integer({ minimum: 0 }),
    gpus: nullable(
      Type.Array(Type.Object({ index: Type.Integer(), uuid: Type.Optional(Type.String()) }, { additionalProperties: false }), {
        description: 'The claimed GPUs; null when the agent reports no gpus array (judged as one GPU) or none was asked for',
      }),
    ),
    claimed_by: Type.String({ description: 'admin, or pool:<name> for a pool key' }),
    created_at: Type.Number(),
    expires_at: Type.Number(),
    released_at: nullable(Type.Number()),
  },
  { additionalProperties: false },
);
export type Claim = Static<typeof Claim>;

export const EVENT_TYPES = [...AGENT_EVENT_TYPES, ...HUB_EVENT_TYPES] as const;

/** A lifecycle event, sent by the agent or decided by the hub. */
export const EventView = Type.Object(
  {
    id: Type.Integer(),
    agent_id: Type.String(),
    event_id: nullable(Type.String()),
    event_type: Type.Enum(EVENT_TYPES),
    message: nullable(Type.String()),
    metadata: Json,
    timestamp: Type.Number({ description: "The agent's time for the event (the hub's when it sent none)" }),
    received_at: epochMs,
    truncated,
  },
  { additionalProperties: false },
);
export type EventView = Static<typeof EventView>;

/** A group of error reports with one fingerprint on one agent. */
export const ErrorGroupView = Type.Object(
  {
    id: Type.Integer(),
    agent_id: Type.String(),
    error_type: Type.String(),
    message: Type.String(),
    stack_trace: nullable(Type.String()),
    metadata: Json,
    fingerprint: Type.String(),
    occurrences: Type.Integer({ description: 'How many times the failure was reported while unresolved' }),
    timestamp: Type.Number(),
    first_seen_at: epochMs,
    last_seen_at: epochMs,
    resolved: Type.Boolean(),
    resolved_at: nullable(epochMs),
    truncated,
  },
  { additionalProperties: false },
);
export type ErrorGroupView = Static<typeof ErrorGroupView>;

/** One LLM call. */
export const TraceView = Type.Object(
  {
    id: Type.Integer(),
    agent_id: Type.String(),
    event_id: nullable(Type.String()),
    trace_id: nullable(Type.String()),
    span_id: nullable(Type.String()),
    model: Type.String(),
    provider: nullable(Type.String()),
    input_tokens: nullable(Type.Number()),
    output_tokens: nullable(Type.Number()),
    cache_read_tokens: nullable(Type.Number()),
    cache_creation_tokens: nullable(Type.Number()),
    operation: nullable(Type.String()),
    source: nullable(Type.String({ description: 'otlp_span or claude_code_event when not the trace API' })),
    cost_usd: nullable(Type.Number()),
    latency_ms: nullable(Type.Number()),
    status: nullable(Type.String()),
    error: nullable(Type.String()),
    attributes: Json,
    timestamp: Type.Number(),
    received_at: epochMs,
    truncated,
  },
  { additionalProperties: false },
);
export type TraceView = Static<typeof TraceView>;

/** An agent key or a pool key, as listed: never its secret or hash. */
export const ApiKeyView = Type.Object(
  {
    key_id: Type.String(),
    prefix: Type.String(),
    scope: Type.Enum(['agent', 'pool']),
    scope_value: Type.String(),
    name: nullable(Type.String()),
    created_at: epochMs,
    revoked_at: nullable(epochMs),
  },
  { additionalProperties: false },
);
export type ApiKeyView = Static<typeof ApiKeyView>;

/** `POST /api/v1/keys`: the key with its secret, shown this once. */
export const CreatedApiKey = Type.Object(
  { key: Type.String({ description: 'The secret: shown only in this answer' }), ...ApiKeyView.properties },
  { additionalProperties: false },
);
export type CreatedApiKey = Static<typeof CreatedApiKey>;
