import type { AgentProcessMetrics, RegisterAgent, ResourceReport } from '@vigil/protocol';
import { defaultOnError, type VigilClientError } from './errors.js';
import type { BackoffPolicy } from './retry-policy.js';

/** What a heartbeat reports besides liveness; see {@link VigilClientOptions.collect}. */
export interface CollectedResources {
  /** The base `resources` dict (docs/seed-requirements.md) (host or cgroup figures); a field left out keeps its last value on the hub, `null` clears it. */
  resources?: ResourceReport;
  /** The agent process's own figures; `message_count` is filled in by the client. */
  metrics?: AgentProcessMetrics;
}

/** Options of {@link VigilClient}. Only `url`, `key`, `name` and `agentType` are required. */
export interface VigilClientOptions {
  /** The hub's base URL, e.g. `http://127.0.0.1:7070`. */
  url: string;
  /** An agent key, a pool key or the admin token, sent as `Authorization: Bearer <key>`. */
  key: string;
  /**
   * This agent's id. Default: the key's own agent for an agent key; otherwise the id the hub
   * assigns at the first registration, which the client then reuses for the rest of its life.
   */
  agentId?: string;
  /** Display name. */
  name: string;
  /** Kind of agent: `orchestrator`, `code`, `research`, `llm-worker`, or another word. */
  agentType: string;
  /** Pool the agent belongs to (the hub's default is `default`). */
  pool?: string;
  capabilities?: string[];
  /** Free-form JSON object stored with the agent. */
  metadata?: Record<string, unknown>;
  /** Heartbeat interval in milliseconds (default 15 000). The hub marks an agent offline after 3 missed intervals. */
  interval?: number;
  /**
   * Gathers a heartbeat's resources. Default: Vigil's collector watching this process (its
   * cgroup's or the host's CPU and memory, GPUs, and the process's own usage). A call that throws,
   * or takes longer than the interval, gives a heartbeat without resources, so liveness never waits on it.
   */
  collect?: () => CollectedResources | Promise<CollectedResources>;
  /**
   * Called with every problem the client meets: the hub unreachable or overloaded (`transient`,
   * retried on its own), refused credentials, items the hub refused, a failing `collect`. Default:
   * non-transient problems are written to the console with `console.warn`.
   */
  onError?: (error: VigilClientError) => void;
  /** How long one HTTP attempt may take before it is aborted and retried, in ms (default 10 000). */
  requestTimeoutMs?: number;
  /** Most bytes of reports held while the hub is slow or away (default 8 MiB). */
  maxBufferBytes?: number;
  /** Most reports held while the hub is slow or away (default 100 000). */
  maxBufferItems?: number;
  /** Most reports in one request (default 500; the hub takes up to 1 000). */
  maxBatchItems?: number;
  /** Most bytes in one request (default 1 MiB; the hub's default limit for a batch is 4 MiB). */
  maxBatchBytes?: number;
  /** How long a report may wait for others to share its request, in ms (default 1 000). */
  flushDelayMs?: number;
  /** First retry delay in ms (default 1 000); each further failure doubles it. */
  backoffBaseMs?: number;
  /** Longest retry delay in ms (default 30 000, and never more than `interval`). */
  backoffCapMs?: number;
  /** How often to try again after the hub refused the credentials or the URL, in ms (default 60 000). */
  blockedRetryMs?: number;
  /** The agent's clock for timestamps and ids (default `Date.now`). Scheduling uses a monotonic clock. */
  now?: () => number;
  /** Source of jitter in [0, 1) (default `Math.random`). */
  random?: () => number;
}

export const DEFAULTS = {
  // The hub's own default heartbeat interval; the registration tells the hub the chosen value.
  interval: 15_000,
  // docs/reliability.md S4: a blackholed hub must cost an attempt at most 10 s.
  requestTimeoutMs: 10_000,
  // docs/reliability.md S1: the SDK's memory stays within 8 MiB of buffer whatever the outage.
  maxBufferBytes: 8 * 1024 * 1024,
  // Bounds the per-item overhead of many tiny reports, which the byte bound alone would not.
  maxBufferItems: 100_000,
  // Half the hub's per-batch maximum (1 000), so a batch never hits that limit.
  maxBatchItems: 500,
  // A quarter of the hub's default ingest body limit (4 × 1 MiB), leaving room for hubs set lower.
  maxBatchBytes: 1024 * 1024,
  // Long enough to batch a burst into one request, short enough that a dashboard shows events at once.
  flushDelayMs: 1_000,
  backoffBaseMs: 1_000,
  // A fleet retrying a down hub sends it at most one request per agent per 22.5-30 s. Retries
  // also never wait longer than one heartbeat interval, so an agent is back online within an
  // interval of the hub's return (docs/reliability.md F1) and never retries more often than it heartbeats.
  backoffCapMs: 30_000,
  // docs/reliability.md S3: after 401/403, at most one request a minute until an operator fixes the key.
  blockedRetryMs: 60_000,
  // vigil run and most hosts give the final flush a few seconds.
  closeTimeoutMs: 5_000,
  // A warning event about shed items at most once a minute, however long the hub stays slow.
  dropReportEveryMs: 60_000,
  // The hub refuses timestamps more than 5 min ahead of its clock (docs/reliability.md F3). A skew beyond
  // a minute is a wrong clock, not NTP jitter or the `Date` header's 1 s resolution, and is corrected.
  clockSkewToleranceMs: 60_000,
};

/** setTimeout's longest delay; a longer one fires after 1 ms instead. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The options, validated and completed with their defaults. */
export type Settings = Readonly<
  typeof DEFAULTS &
    Required<Pick<VigilClientOptions, 'key' | 'now' | 'random' | 'onError'>> &
    Pick<VigilClientOptions, 'agentId' | 'collect'> & { url: URL; registration: RegisterAgent; backoff: BackoffPolicy }
>;

/**
 * Validates the options and fills in the defaults.
 * @throws TypeError on a configuration mistake, so it surfaces before the agent relies on the client.
 */
export function resolveOptions(options: VigilClientOptions): Settings {
  const o = { ...DEFAULTS, now: Date.now, random: Math.random, onError: defaultOnError, ...definedOnly(options) };
  const positive = (k: keyof typeof o, max: number) => {
    const value = o[k];
    if (!(typeof value === 'number' && value > 0 && value <= max)) {
      throw new TypeError(`VigilClient: ${k} must be a number above 0 and at most ${max}, not ${String(value)}`);
    }
  };
  // The hub accepts heartbeat intervals up to an hour.
  positive('interval', 3_600_000);
  for (const k of ['requestTimeoutMs', 'backoffBaseMs', 'backoffCapMs', 'blockedRetryMs'] as const) positive(k, MAX_TIMER_MS);
  for (const k of ['maxBufferBytes', 'maxBufferItems', 'maxBatchItems', 'maxBatchBytes'] as const) positive(k, Number.MAX_SAFE_INTEGER);
  if (!(typeof o.flushDelayMs === 'number' && o.flushDelayMs >= 0 && o.flushDelayMs <= MAX_TIMER_MS)) {
    throw new TypeError(`VigilClient: flushDelayMs must be from 0 to ${MAX_TIMER_MS}`);
  }
  const registration: RegisterAgent = {
    name: options.name,
    agent_type: options.agentType,
    heartbeat_interval_s: Math.min(3600, Math.max(1, Math.round(o.interval / 1000))),
  };
  if (options.pool !== undefined) registration.pool_name = options.pool;
  if (options.capabilities !== undefined) registration.capabilities = options.capabilities;
  if (options.metadata !== undefined) registration.metadata = options.metadata;
  return {
    ...o,
    key: options.key,
    url: parseUrl(options.url),
    registration,
    backoff: { baseMs: o.backoffBaseMs, capMs: Math.min(o.backoffCapMs, o.interval) },
  };
}

function parseUrl(raw: string): URL {
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    throw new TypeError(`VigilClient: url must be an http:// or https:// URL, not ${JSON.stringify(raw)}`);
  }
  return url;
}

/** The options the caller actually set, so an explicit `undefined` does not wipe out a default. */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
