import { Type, type Static } from 'typebox';
import { TEXT_LIMITS } from './constants.js';
import { EpochMs, EventId, Metadata } from './ids.js';

export const TRACE_STATUSES = ['ok', 'error'] as const;

const tokens = Type.Integer({ minimum: 0, maximum: 1e12 });

/** One LLM call made by an agent: which model, how many tokens, how long, what it cost. */
export const LlmTrace = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: TEXT_LIMITS.model }),
    provider: Type.Optional(Type.String({ maxLength: TEXT_LIMITS.provider })),
    input_tokens: Type.Optional(tokens),
    output_tokens: Type.Optional(tokens),
    cost_usd: Type.Optional(Type.Number({ minimum: 0, maximum: 1e9 })),
    latency_ms: Type.Optional(Type.Number({ minimum: 0, maximum: 86_400_000 })),
    status: Type.Optional(Type.Enum(TRACE_STATUSES)),
    error: Type.Optional(Type.String({ maxLength: TEXT_LIMITS.message })),
    trace_id: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{1,64}$' })),
    span_id: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{1,32}$' })),
    attributes: Type.Optional(Metadata),
    timestamp: Type.Optional(EpochMs),
    event_id: Type.Optional(EventId),
  },
  { additionalProperties: false },
);
export type LlmTrace = Static<typeof LlmTrace>;
