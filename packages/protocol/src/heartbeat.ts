import { Type, type Static } from 'typebox';
import { EpochMs, EventId } from './ids.js';
import { AgentProcessMetrics, ResourceReport } from './resources.js';

/** A heartbeat may report the agent as working (`busy`); `offline` is decided by the hub. */
export const HEARTBEAT_STATUSES = ['online', 'busy'] as const;

export const Heartbeat = Type.Object(
  {
    status: Type.Optional(Type.Enum(HEARTBEAT_STATUSES)),
    resources: Type.Optional(ResourceReport),
    metrics: Type.Optional(AgentProcessMetrics),
    timestamp: Type.Optional(EpochMs),
    event_id: Type.Optional(EventId),
  },
  { additionalProperties: false },
);
export type Heartbeat = Static<typeof Heartbeat>;
