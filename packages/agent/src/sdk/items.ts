// Values from the light entry, types only from the schemas: the SDK never loads TypeBox (constants.ts says why).
import { AGENT_EVENT_TYPES, LLM_TRACE_FIELDS, TEXT_LIMITS } from '@vigil/protocol/constants';
import type { AgentError, AgentEvent, AgentEventType, LlmTrace } from '@vigil/protocol';

/** The string limits the hub enforces; the wire schemas are built from the same values, so they cannot drift. */
const LIMITS = {
  message: TEXT_LIMITS.message,
  errorType: TEXT_LIMITS.errorType,
  stack: TEXT_LIMITS.stackTrace,
  model: TEXT_LIMITS.model,
  provider: TEXT_LIMITS.provider,
  traceError: TEXT_LIMITS.message,
};

/** How many `cause`s of an error are appended to its stack trace. */
const MAX_CAUSES = 5;

/** Cuts a string to `max` UTF-16 units without leaving half of a surrogate pair at the end. */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  const cut = s.slice(0, max);
  const last = cut.charCodeAt(cut.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut;
}

/**
 * JSON replacer for everything the SDK sends. The hub refuses a whole request over one NUL
 * character or lone surrogate, or a `null` where a number belongs, so these are repaired here
 * rather than losing the item: text is made well-formed, non-finite numbers (which JSON would turn
 * into `null`) are left out, and bigints become strings instead of making `JSON.stringify` throw.
 */
export function wireReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'string') return value.toWellFormed().replaceAll('\u0000', '\ufffd');
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'bigint') return value.toString();
  return value;
}

export function isAgentEventType(t: unknown): t is AgentEventType {
  return (AGENT_EVENT_TYPES as readonly unknown[]).includes(t);
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Metadata the caller passed, or nothing when it is not a plain object (the hub wants one). */
export function metadataOf(m: unknown): Record<string, unknown> | undefined {
  return isRecord(m) ? m : undefined;
}

export function eventBody(type: AgentEventType, message: string | undefined, metadata: unknown): AgentEvent {
  const e: AgentEvent = { event_type: type };
  if (message !== undefined) e.message = truncate(String(message), LIMITS.message);
  const m = metadataOf(metadata);
  if (m) e.metadata = m;
  return e;
}

/**
 * The hub's error report for anything thrown. `Error`s (of any realm) and error-like objects give
 * their name, message and stack, with the chain of `cause`s appended to the stack; anything else
 * thrown (a string, a number, a plain object) is reported as `NonError` with its text.
 */
export function errorBody(err: unknown, metadata: unknown): AgentError {
  let body: AgentError;
  if (isRecord(err) && typeof err.message === 'string') {
    const name = typeof err.name === 'string' && err.name !== '' ? err.name : 'Error';
    body = { error_type: truncate(name, LIMITS.errorType), message: truncate(err.message, LIMITS.message) };
    const stack = stackWithCauses(err);
    if (stack) body.stack_trace = truncate(stack, LIMITS.stack);
  } else {
    body = { error_type: 'NonError', message: truncate(textOf(err), LIMITS.message) };
  }
  const m = metadataOf(metadata);
  if (m) body.metadata = m;
  return body;
}

function stackWithCauses(err: Record<string, unknown>): string | undefined {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  let e: unknown = err;
  for (let depth = 0; depth <= MAX_CAUSES && e !== undefined && !seen.has(e); depth++) {
    seen.add(e);
    const text = isRecord(e) ? (typeof e.stack === 'string' ? e.stack : typeof e.message === 'string' ? e.message : textOf(e)) : textOf(e);
    parts.push(depth === 0 ? text : `Caused by: ${text}`);
    e = isRecord(e) ? e.cause : undefined;
  }
  return typeof err.stack === 'string' || parts.length > 1 ? parts.join('\n') : undefined;
}

function textOf(x: unknown): string {
  if (typeof x === 'string') return x;
  try {
    return JSON.stringify(x, wireReplacer) ?? String(x);
  } catch {
    return String(x);
  }
}

/** What {@link VigilClient.trace} takes: one LLM call. `timestamp` defaults to now, `event_id` is always generated. */
export type TraceInput = Omit<LlmTrace, 'event_id'>;

export function traceBody(t: TraceInput): LlmTrace {
  // Only the schema's fields: the hub refuses unknown ones, and a JS caller may pass anything.
  const picked: Record<string, unknown> = {};
  for (const k of LLM_TRACE_FIELDS) if (k !== 'event_id' && t[k as keyof TraceInput] !== undefined) picked[k] = t[k as keyof TraceInput];
  const body = picked as LlmTrace;
  body.model = truncate(String(t.model), LIMITS.model);
  if (typeof t.provider === 'string') body.provider = truncate(t.provider, LIMITS.provider);
  if (typeof t.error === 'string') body.error = truncate(t.error, LIMITS.traceError);
  if (t.attributes !== undefined && !metadataOf(t.attributes)) delete body.attributes;
  return body;
}
