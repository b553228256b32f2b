import { createHash } from 'node:crypto';
import type { AgentError, AgentEvent, RegisterAgent } from '@vigil/protocol';
import type { Principal } from '../auth/principal.js';
import { errorFingerprint } from '../ingest/fingerprint.js';
import { cleanText, nanosToMs, numberAttr, stringAttr, type Attrs } from './attributes.js';
import { chooseAgent, isClaudeCode } from './agent.js';
import type { Decoded, LogIn, MetricIn, PointIn, SpanIn } from './decode.js';

/** One LLM call for `llm_traces`, keyed by a derived idempotency key (its `event_id`). */
export interface LlmCall {
  event_id: string;
  trace_id: string | null;
  span_id: string | null;
  model: string;
  provider: string | null;
  operation: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cache_read_tokens: number | null;
  cache_creation_tokens: number | null;
  cost_usd: number | null;
  latency_ms: number | null;
  status: 'ok' | 'error' | null;
  error: string | null;
  source: string;
  attributes: Attrs;
  timestamp: number;
}

export interface MetricPoint {
  name: string;
  unit: string;
  kind: 'gauge' | 'sum' | 'histogram';
  temporality: number;
  attributes: Attrs;
  /** Nanoseconds as decimal text: kept exact in a BIGINT column. */
  startNs: string;
  timeNs: string;
  timestamp: number;
  value: number;
}

/** Everything one request holds for one agent: applied in one writer command. */
export interface AgentBatch {
  agentId: string;
  /** Used only when the agent does not exist yet (first sight registers it). */
  register: RegisterAgent & { agent_id: string };
  calls: LlmCall[];
  errors: { error: AgentError; fingerprint: string }[];
  events: AgentEvent[];
  points: MetricPoint[];
  /** Latest time of LLM activity (calls, tool use, prompts) in this batch, if any. */
  activityAt: number | null;
}

export interface Mapped {
  batches: AgentBatch[];
  /** Records refused before storage (no agent, invalid ids, unsupported metric types). */
  rejected: number;
  /** Records kept only generically (non-GenAI spans are not kept: they count as rejected). */
  notes: Set<string>;
  /** An agent key sent data naming another agent. */
  forbidden: boolean;
}

const CLAUDE_ACTIVITY = new Set(['api_request', 'api_error', 'api_retries_exhausted', 'tool_result', 'tool_decision', 'user_prompt']);

/** A derived idempotency key: the same call sent twice (a retried export, or as an event and a span) gets one. */
const digestKey = (kind: string, ...parts: unknown[]): string =>
  `otlp:${kind}:${createHash('sha256')
    .update(JSON.stringify(parts, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)))
    .digest('hex')
    .slice(0, 32)}`;
const requestKey = (requestId: string): string => `otlp:req:${requestId.replace(/[^A-Za-z0-9_.:-]/g, '_').slice(0, 100)}`;

/** Whole non-negative token counts; anything else is dropped rather than stored wrong. */
const tokens = (v: number | undefined): number | null => (v !== undefined && v >= 0 && v <= 1e12 ? Math.round(v) : null);

/**
 * Turns a decoded export into per-agent batches: GenAI spans and Claude Code `api_request` events
 * become LLM calls, Claude Code API errors become error logs, other events and log records become
 * events, metric points become points of their own series. Nothing is written here.
 */
export function mapExport(decoded: Decoded, principal: Principal, now: number): Mapped {
  const out: Mapped = { batches: [], rejected: 0, notes: new Set(), forbidden: false };
  const byAgent = new Map<string, AgentBatch>();
  const batchFor = (resource: Attrs, record: Attrs): AgentBatch | undefined => {
    const choice = chooseAgent(principal, resource, record);
    if (!choice.ok) {
      if (choice.reason === 'forbidden') out.forbidden = true;
      else if (choice.reason === 'unidentified')
        out.notes.add('records without vigil.agent_id or service.instance.id (or Claude Code user.id) were rejected');
      else out.notes.add('records with an invalid vigil.agent_id were rejected');
      out.rejected++;
      return undefined;
    }
    let batch = byAgent.get(choice.agentId);
    if (!batch) {
      batch = {
        agentId: choice.agentId,
        register: registration(choice.agentId, resource, principal),
        calls: [],
        errors: [],
        events: [],
        points: [],
        activityAt: null,
      };
      byAgent.set(choice.agentId, batch);
    }
    return batch;
  };
  const active = (batch: AgentBatch, at: number) => {
    batch.activityAt = Math.max(batch.activityAt ?? 0, at);
  };

  if (decoded.signal === 'traces') {
    for (const { resource, records } of decoded.resources) {
      for (const s of records) {
        if (s.traceId === null || s.spanId === null) {
          out.rejected++;
          out.notes.add('spans with an invalid trace or span id were rejected');
          continue;
        }
        const call = spanCall(s, now);
        if (!call) {
          out.rejected++;
          out.notes.add('spans without gen_ai.* attributes are not stored; Vigil keeps LLM calls only');
          continue;
        }
        // Claude Code's api_request events are the source of its calls: its spans count only when a
        // request_id ties them to the event (stored once), never as a second copy of the call.
        if (isClaudeCode(resource) && !call.event_id.startsWith('otlp:req:')) {
          out.notes.add('Claude Code spans without request_id are not stored as calls (its api_request events are)');
          continue;
        }
        const batch = batchFor(resource, s.attributes);
        if (!batch) continue;
        batch.calls.push(call);
        active(batch, call.timestamp);
      }
    }
  } else if (decoded.signal === 'logs') {
    for (const { resource, records } of decoded.resources) {
      for (const r of records) {
        const batch = batchFor(resource, r.attributes);
        if (!batch) continue;
        mapLog(batch, resource, r, now, active, out.notes);
      }
    }
  } else {
    for (const { resource, records } of decoded.resources) {
      for (const m of records) {
        if (m.kind === 'unsupported') {
          out.rejected += m.pointCount;
          out.notes.add('exponential histograms and summaries are not stored');
          continue;
        }
        out.rejected += m.pointCount - m.points.length;
        for (const p of m.points) {
          const batch = batchFor(resource, p.attributes);
          if (batch) batch.points.push(metricPoint(m, p, now));
        }
      }
    }
  }
  out.batches = [...byAgent.values()];
  return out;
}

function registration(agentId: string, resource: Attrs, principal: Principal): RegisterAgent & { agent_id: string } {
  const service = stringAttr(resource, 'service.name');
  const metadata: Record<string, unknown> = { source: 'otlp' };
  for (const key of ['service.name', 'service.version', 'host.name', 'host.arch', 'os.type', 'os.version']) {
    const v = stringAttr(resource, key);
    if (v !== undefined) metadata[key] = v;
  }
  return {
    agent_id: agentId,
    name: cleanText(stringAttr(resource, 'vigil.agent_name') ?? service ?? agentId, 200) || agentId,
    agent_type: isClaudeCode(resource) ? 'claude-code' : 'otel',
    ...(principal.kind === 'pool'
      ? { pool_name: principal.pool }
      : { pool_name: cleanText(stringAttr(resource, 'vigil.pool') ?? 'default', 100) }),
    // OTLP exporters send metrics every 60 s by default; a shorter interval would flap the agent.
    heartbeat_interval_s: 60,
    metadata,
  };
}

/** A span is an LLM call when it carries gen_ai.* attributes (old names too) or is Claude Code's llm_request span. */
function spanCall(s: SpanIn, now: number): LlmCall | undefined {
  const a = s.attributes;
  const genAi = Object.keys(a).some((k) => k.startsWith('gen_ai.')) || s.name.startsWith('claude_code.llm_request');
  if (!genAi) return undefined;
  const start = nanosToMs(s.startNs);
  const end = nanosToMs(s.endNs);
  const requestId = stringAttr(a, 'request_id', 'gen_ai.response.id');
  const error = s.statusCode === 2 ? s.statusMessage || stringAttr(a, 'error.type') || 'error' : null;
  return {
    event_id: requestId ? requestKey(requestId) : `otlp:span:${s.traceId}:${s.spanId}`,
    trace_id: s.traceId ?? null,
    span_id: s.spanId ?? null,
    model: cleanText(stringAttr(a, 'gen_ai.response.model', 'gen_ai.request.model', 'model') ?? 'unknown', 200),
    provider: stringAttr(a, 'gen_ai.provider.name', 'gen_ai.system') ?? null,
    operation: stringAttr(a, 'gen_ai.operation.name') ?? null,
    input_tokens: tokens(numberAttr(a, 'gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens', 'input_tokens')),
    output_tokens: tokens(numberAttr(a, 'gen_ai.usage.output_tokens', 'gen_ai.usage.completion_tokens', 'output_tokens')),
    cache_read_tokens: tokens(
      numberAttr(a, 'gen_ai.usage.cache_read.input_tokens', 'gen_ai.usage.cache_read_input_tokens', 'cache_read_tokens'),
    ),
    cache_creation_tokens: tokens(
      numberAttr(a, 'gen_ai.usage.cache_creation.input_tokens', 'gen_ai.usage.cache_creation_input_tokens', 'cache_creation_tokens'),
    ),
    cost_usd: cost(a),
    latency_ms: end >= start && start > 0 ? end - start : (numberAttr(a, 'duration_ms') ?? null),
    status: s.statusCode === 2 ? 'error' : 'ok',
    error: error && cleanText(error, 8192),
    source: 'otlp_span',
    attributes: a,
    timestamp: start > 0 ? start : now,
  };
}

/** Cost in dollars: `cost_usd_micros` (exact) when present, else `cost_usd`. */
function cost(a: Attrs): number | null {
  const micros = numberAttr(a, 'cost_usd_micros');
  if (micros !== undefined && micros >= 0) return Math.round(micros) / 1e6;
  const usd = numberAttr(a, 'cost_usd', 'gen_ai.usage.cost');
  return usd !== undefined && usd >= 0 && usd <= 1e9 ? usd : null;
}

/** Claude Code names its events by `event_name`, an `event.name` attribute, or a body `claude_code.<name>`. */
function claudeEventName(r: LogIn): string | undefined {
  const raw = r.eventName || stringAttr(r.attributes, 'event.name') || (typeof r.body === 'string' ? r.body : '');
  if (raw.startsWith('claude_code.')) return raw.slice('claude_code.'.length);
  return stringAttr(r.attributes, 'event.name');
}

function logTime(r: LogIn, now: number): number {
  const stamped = stringAttr(r.attributes, 'event.timestamp');
  const parsed = stamped ? Date.parse(stamped) : NaN;
  if (r.timeNs > 0n) return nanosToMs(r.timeNs);
  if (Number.isFinite(parsed)) return parsed;
  if (r.observedNs > 0n) return nanosToMs(r.observedNs);
  return now;
}

function mapLog(
  batch: AgentBatch,
  resource: Attrs,
  r: LogIn,
  now: number,
  active: (b: AgentBatch, at: number) => void,
  notes: Set<string>,
): void {
  const a = r.attributes;
  const at = logTime(r, now);
  const key = digestKey('log', r.timeNs, r.observedNs, r.eventName, r.body, a);
  const name =
    isClaudeCode(resource) || r.eventName.startsWith('claude_code.') || String(r.body).startsWith('claude_code.')
      ? claudeEventName(r)
      : undefined;
  if (name !== undefined && CLAUDE_ACTIVITY.has(name)) active(batch, at);

  if (name === 'api_request') {
    const requestId = stringAttr(a, 'request_id');
    batch.calls.push({
      event_id: requestId ? requestKey(requestId) : key,
      trace_id: r.traceId ?? null,
      span_id: r.spanId ?? null,
      model: cleanText(stringAttr(a, 'model') ?? 'unknown', 200),
      provider: 'anthropic',
      operation: 'chat',
      // Anthropic's input count excludes cached tokens; the four counts are kept apart.
      input_tokens: tokens(numberAttr(a, 'input_tokens')),
      output_tokens: tokens(numberAttr(a, 'output_tokens')),
      cache_read_tokens: tokens(numberAttr(a, 'cache_read_tokens')),
      cache_creation_tokens: tokens(numberAttr(a, 'cache_creation_tokens')),
      cost_usd: cost(a),
      latency_ms: numberAttr(a, 'duration_ms') ?? null,
      status: 'ok',
      error: null,
      source: 'claude_code_event',
      attributes: a,
      timestamp: at,
    });
    return;
  }
  if (name === 'api_error' || name === 'api_retries_exhausted') {
    const message = cleanText(stringAttr(a, 'error') ?? (typeof r.body === 'string' ? r.body : name), 8192);
    const errorType = `claude_code.${name}`;
    const statusCode = stringAttr(a, 'status_code');
    const groupMessage = statusCode ? `${message} (status ${statusCode})` : message;
    batch.errors.push({
      error: { error_type: errorType, message: groupMessage, metadata: a, timestamp: at, event_id: key },
      fingerprint: errorFingerprint(errorType, groupMessage, undefined),
    });
    // A failed call is a call too: it counts toward the error rate, with no tokens or cost.
    if (name === 'api_error') {
      batch.calls.push({
        event_id: `${key}:call`,
        trace_id: r.traceId ?? null,
        span_id: r.spanId ?? null,
        model: cleanText(stringAttr(a, 'model') ?? 'unknown', 200),
        provider: 'anthropic',
        operation: 'chat',
        input_tokens: null,
        output_tokens: null,
        cache_read_tokens: null,
        cache_creation_tokens: null,
        cost_usd: null,
        latency_ms: numberAttr(a, 'duration_ms') ?? null,
        status: 'error',
        error: message,
        source: 'claude_code_event',
        attributes: a,
        timestamp: at,
      });
    }
    return;
  }
  if (name !== undefined) {
    // tool_result, tool_decision, user_prompt and events not known yet: kept as events, never dropped.
    if (!CLAUDE_ACTIVITY.has(name)) notes.add(`Claude Code event ${cleanText(name, 100)} is kept generically`);
    batch.events.push({
      event_type: 'info',
      message: `claude_code.${cleanText(name, 200)}`,
      metadata: { ...a, otel_event: name },
      timestamp: at,
      event_id: key,
    });
    return;
  }
  const text = typeof r.body === 'string' ? r.body : r.body === null ? r.eventName || 'log record' : JSON.stringify(r.body);
  const type: AgentEvent['event_type'] = r.severityNumber >= 17 ? 'error' : r.severityNumber >= 13 ? 'warning' : 'info';
  batch.events.push({
    event_type: type,
    message: cleanText(text, 8192),
    metadata: { ...a, ...(r.eventName ? { otel_event: r.eventName } : {}), ...(r.severityText ? { severity: r.severityText } : {}) },
    timestamp: at,
    event_id: key,
  });
}

function metricPoint(m: MetricIn, p: PointIn, now: number): MetricPoint {
  const ms = nanosToMs(p.timeNs);
  return {
    name: m.name,
    unit: m.unit,
    kind: m.kind as MetricPoint['kind'],
    temporality: m.temporality,
    attributes: p.attributes,
    startNs: p.startNs.toString(),
    timeNs: (p.timeNs > 0n ? p.timeNs : BigInt(now) * 1_000_000n).toString(),
    timestamp: ms > 0 ? ms : now,
    value: p.value,
  };
}
