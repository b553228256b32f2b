import { Type, type Static } from 'typebox';
import { EpochMs, EventId, Metadata } from './ids.js';

export const AgentError = Type.Object(
  {
    error_type: Type.String({ minLength: 1, maxLength: 200 }),
    message: Type.String({ maxLength: 8192 }),
    stack_trace: Type.Optional(Type.String({ maxLength: 65536 })),
    metadata: Type.Optional(Metadata),
    timestamp: Type.Optional(EpochMs),
    event_id: Type.Optional(EventId),
  },
  { additionalProperties: false },
);
export type AgentError = Static<typeof AgentError>;
