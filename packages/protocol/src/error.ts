import { Type, type Static } from 'typebox';
import { TEXT_LIMITS } from './constants.js';
import { EpochMs, EventId, Metadata } from './ids.js';

export const AgentError = Type.Object(
  {
    error_type: Type.String({ minLength: 1, maxLength: TEXT_LIMITS.errorType }),
    message: Type.String({ maxLength: TEXT_LIMITS.message }),
    stack_trace: Type.Optional(Type.String({ maxLength: TEXT_LIMITS.stackTrace })),
    metadata: Type.Optional(Metadata),
    timestamp: Type.Optional(EpochMs),
    event_id: Type.Optional(EventId),
  },
  { additionalProperties: false },
);
export type AgentError = Static<typeof AgentError>;
