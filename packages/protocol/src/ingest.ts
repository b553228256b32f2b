import { Type, type Static } from 'typebox';
import { AgentError } from './error.js';
import { AgentEvent } from './event.js';
import { Heartbeat } from './heartbeat.js';
import { AgentId } from './ids.js';
import { LlmTrace } from './trace.js';

/** Most items one batch may carry, across its lists. */
export const MAX_BATCH_ITEMS = 1000;

// Spelled out per item (not a generic helper) so the static types keep every property.
const HeartbeatItem = Type.Object({ agent_id: AgentId, ...Heartbeat.properties }, { additionalProperties: false });
const EventItem = Type.Object({ agent_id: AgentId, ...AgentEvent.properties }, { additionalProperties: false });
const ErrorItem = Type.Object({ agent_id: AgentId, ...AgentError.properties }, { additionalProperties: false });
const TraceItem = Type.Object({ agent_id: AgentId, ...LlmTrace.properties }, { additionalProperties: false });

/** Many agents' heartbeats, events, errors and LLM traces in one request; each item's fate is reported. */
export const IngestBatch = Type.Object(
  {
    heartbeats: Type.Optional(Type.Array(HeartbeatItem, { maxItems: MAX_BATCH_ITEMS })),
    events: Type.Optional(Type.Array(EventItem, { maxItems: MAX_BATCH_ITEMS })),
    errors: Type.Optional(Type.Array(ErrorItem, { maxItems: MAX_BATCH_ITEMS })),
    traces: Type.Optional(Type.Array(TraceItem, { maxItems: MAX_BATCH_ITEMS })),
  },
  { additionalProperties: false },
);
export type IngestBatch = Static<typeof IngestBatch>;
