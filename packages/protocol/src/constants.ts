/**
 * The wire contract's plain values: enumerations and limits, with no schema library behind them.
 * `vigil-agent run` sits beside every agent for its whole life, so the agent imports these from
 * `@vigil/protocol/constants` (and its types with `import type`) instead of loading the TypeBox
 * schemas it never validates against. The schemas below are built from these same values.
 */

/** Event types an agent may send. */
// `stopped` is a planned stop (exit 0, or the operator's signal); `crashed` an exit nobody asked for, or a command
// that could not start (metadata.phase `start`).
export const AGENT_EVENT_TYPES = ['started', 'stopped', 'crashed', 'error', 'warning', 'info'] as const;

/** Most GPUs one heartbeat may describe. */
export const MAX_GPUS = 64;

/** Longest text, in UTF-16 units, the hub accepts in each field the SDK fills from arbitrary input. */
export const TEXT_LIMITS = {
  /** An event's or an error's message, and an LLM trace's error. */
  message: 8192,
  errorType: 200,
  stackTrace: 65536,
  model: 200,
  provider: 100,
} as const;

/** The fields of an LLM trace (the LlmTrace schema's properties); the SDK sends only these, as the hub refuses others. */
export const LLM_TRACE_FIELDS = [
  'model',
  'provider',
  'input_tokens',
  'output_tokens',
  'cost_usd',
  'latency_ms',
  'status',
  'error',
  'trace_id',
  'span_id',
  'attributes',
  'timestamp',
  'event_id',
] as const;
