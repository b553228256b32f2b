import { Type, type Static } from 'typebox';
import { EpochMs, EventId, Metadata } from './ids.js';

/** Event types an agent may send. */
// `stopped` is a planned stop (exit 0, or the operator's signal); `crashed` an exit nobody asked for, or a command
// that could not start (metadata.phase `start`).
export const AGENT_EVENT_TYPES = ['started', 'stopped', 'crashed', 'error', 'warning', 'info'] as const;
/** Event types only the hub writes; clients cannot forge them. */
export const HUB_EVENT_TYPES = ['registered', 'online', 'offline'] as const;
export type AgentEventType = (typeof AGENT_EVENT_TYPES)[number];
export type HubEventType = (typeof HUB_EVENT_TYPES)[number];
export type EventType = AgentEventType | HubEventType;

export const AgentEventTypeSchema = Type.Enum(AGENT_EVENT_TYPES);

export const AgentEvent = Type.Object(
  {
    event_type: AgentEventTypeSchema,
    message: Type.Optional(Type.String({ maxLength: 8192 })),
    metadata: Type.Optional(Metadata),
    timestamp: Type.Optional(EpochMs),
    event_id: Type.Optional(EventId),
  },
  { additionalProperties: false },
);
export type AgentEvent = Static<typeof AgentEvent>;
