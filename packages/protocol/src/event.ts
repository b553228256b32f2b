import { Type, type Static } from 'typebox';
import { AGENT_EVENT_TYPES, TEXT_LIMITS } from './constants.js';
import { EpochMs, EventId, Metadata } from './ids.js';

/** Event types only the hub writes; clients cannot forge them. */
export const HUB_EVENT_TYPES = ['registered', 'online', 'offline'] as const;
export type AgentEventType = (typeof AGENT_EVENT_TYPES)[number];
export type HubEventType = (typeof HUB_EVENT_TYPES)[number];
export type EventType = AgentEventType | HubEventType;

export const AgentEventTypeSchema = Type.Enum(AGENT_EVENT_TYPES);

export const AgentEvent = Type.Object(
  {
    event_type: AgentEventTypeSchema,
    message: Type.Optional(Type.String({ maxLength: TEXT_LIMITS.message })),
    metadata: Type.Optional(Metadata),
    timestamp: Type.Optional(EpochMs),
    event_id: Type.Optional(EventId),
  },
  { additionalProperties: false },
);
export type AgentEvent = Static<typeof AgentEvent>;
