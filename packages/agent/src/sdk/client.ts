import { performance } from 'node:perf_hooks';
import type { AgentEventType, Heartbeat } from '@vigil/protocol';
import { Collector, toProcessMetrics, toResources } from '../collector/index.js';
import { DeliveryBuffer, ITEM_KINDS, zeroCounts, type ItemKind, type KindCounts } from './buffer.js';
import { Delivery } from './delivery.js';
import { VigilClientError, type ClientErrorCode } from './errors.js';
import { errorBody, eventBody, isAgentEventType, traceBody, wireReplacer, type TraceInput } from './items.js';
import { MAX_TIMER_MS, resolveOptions, type CollectedResources, type Settings, type VigilClientOptions } from './options.js';
import { Transport, type HubReply } from './transport.js';
import { uuidv7Generator } from './uuid.js';

/** Counters of what the client did; see {@link VigilClient.stats}. */
export interface VigilClientStats {
  /** Reports recorded, including the client's own heartbeats and drop warnings. */
  recorded: number;
  /** Reports waiting or in flight. */
  queued: number;
  /** Bytes of reports waiting or in flight. */
  queuedBytes: number;
  /** Reports the hub has stored. */
  delivered: number;
  /** Reports shed to stay within the buffer bound, or still undelivered at close. */
  dropped: number;
  droppedByKind: KindCounts;
  /** Reports the hub refused as invalid (never retried). */
  droppedInvalid: number;
  /** Attempts that failed and were retried. */
  retries: number;
  /** True while the hub refuses the credentials or the URL is wrong. */
  blocked: boolean;
  lastError: { code: ClientErrorCode; message: string; at: number } | undefined;
}

/** Options of {@link VigilClient.close}. */
export interface CloseOptions {
  /** How long the final flush may take, in ms (default 5 000). */
  timeoutMs?: number;
}

/**
 * Reports a Node.js agent to a Vigil hub: registration, heartbeats with resources, lifecycle
 * events, errors and LLM call traces.
 *
 * Reports are buffered in memory within a bound and sent in batches; every one carries a UUIDv7
 * `event_id`, so a retry is stored once. Failed sends are retried with capped exponential
 * backoff and jitter for as long as the client lives. No method throws or blocks: problems go to
 * `onError`, counts to {@link VigilClient.stats}. Timers and sockets do not keep the process
 * alive; call {@link VigilClient.close} before exiting to deliver what is buffered.
 *
 * @example
 * ```ts
 * import { VigilClient } from '@vigil/agent';
 *
 * const vigil = new VigilClient({ url: 'http://127.0.0.1:7070', key: process.env.VIGIL_KEY ?? '', name: 'summariser', agentType: 'llm-worker' });
 * vigil.start();
 * vigil.event('started', 'summariser ready');
 * vigil.trace({ model: 'claude-sonnet-4', provider: 'anthropic', input_tokens: 1200, output_tokens: 300, latency_ms: 2100, status: 'ok' });
 * const undelivered = await vigil.close({ timeoutMs: 5000 });
 * ```
 */
export class VigilClient {
  private readonly s: Settings;
  private readonly buffer: DeliveryBuffer;
  private readonly delivery: Delivery;
  private readonly newId: () => string;
  /** Vigil's collector, opened at the first heartbeat when no `collect` was given. */
  private collector: Collector | undefined;
  private state: 'new' | 'running' | 'closing' | 'closed' = 'new';
  private lastError: VigilClientStats['lastError'];
  private status: 'online' | 'busy' = 'online';
  private messageCount = 0;
  private collecting = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private closing: Promise<number> | undefined;
  private dropsReported: KindCounts = zeroCounts();
  private lastDropReport = -Infinity;

  /**
   * Builds a client; nothing is sent before {@link VigilClient.start}.
   * @throws TypeError when `url` is not an http(s) URL or a numeric option is out of range:
   * configuration mistakes surface at once, before the agent relies on the client.
   */
  constructor(options: VigilClientOptions) {
    this.s = resolveOptions(options);
    this.buffer = new DeliveryBuffer({ maxBytes: this.s.maxBufferBytes, maxItems: this.s.maxBufferItems });
    this.delivery = new Delivery(
      this.buffer,
      new Transport(this.s.url, this.s.key),
      this.s,
      (...args) => this.report(...args),
      () => this.reportDrops(false),
    );
    this.newId = uuidv7Generator(this.s.now);
  }

  /** The agent's id: the one given, or the hub's once registered; undefined before that. */
  get agentId(): string | undefined {
    return this.delivery.agentId;
  }

  /**
   * Registers the agent and starts heartbeats (one now, then one per interval). Returns at once;
   * registration and delivery go on in the background until {@link VigilClient.close}. Calling it
   * again, or after close, does nothing.
   *
   * @example
   * ```ts
   * const vigil = new VigilClient({ url: 'http://127.0.0.1:7070', key: 'vgl_…', name: 'crawler', agentType: 'research', interval: 30_000 });
   * vigil.start();
   * ```
   */
  start(): void {
    this.guard(() => {
      if (this.state !== 'new') return;
      this.state = 'running';
      this.heartbeatTimer = setInterval(() => void this.beat(), this.s.interval);
      this.heartbeatTimer.unref();
      void this.beat();
      this.delivery.start();
    });
  }

  /**
   * Records a lifecycle event (`started`, `stopped`, `error`, `warning` or `info`). A `stopped`
   * event takes the agent offline on the hub at once.
   *
   * @example
   * ```ts
   * vigil.event('info', 'epoch 3 done', { loss: 0.12 });
   * ```
   */
  event(type: AgentEventType, message?: string, metadata?: Record<string, unknown>): void {
    this.guard(() => {
      if (!isAgentEventType(type)) {
        this.buffer.refuse('event', true);
        this.report('invalid_items', `event type ${JSON.stringify(type)} is not one of started, stopped, error, warning, info`, false);
        return;
      }
      this.accept('event', eventBody(type, message, metadata));
    });
  }

  /**
   * Records an error: an `Error`'s name, message and stack (with its `cause`s); anything else
   * thrown is recorded as `NonError` with its text. Repeats of one failure are grouped by the hub.
   *
   * @example
   * ```ts
   * try {
   *   JSON.parse('{');
   * } catch (err) {
   *   vigil.error(err, { input: 'config.json' });
   * }
   * ```
   */
  error(err: unknown, metadata?: Record<string, unknown>): void {
    this.guard(() => this.accept('error', errorBody(err, metadata)));
  }

  /**
   * Records one LLM call: model, tokens, cost, latency, outcome. `timestamp` (epoch ms) defaults
   * to now.
   *
   * @example
   * ```ts
   * vigil.trace({ model: 'gpt-4o', provider: 'openai', input_tokens: 812, output_tokens: 95, cost_usd: 0.0031, latency_ms: 930, status: 'ok' });
   * ```
   */
  trace(trace: TraceInput): void {
    this.guard(() => this.accept('trace', traceBody(trace)));
  }

  /** Adds to the `message_count` reported with each heartbeat (messages or tasks the agent handled). */
  countMessages(n = 1): void {
    this.guard(() => {
      if (Number.isSafeInteger(n) && n > 0) this.messageCount += n;
    });
  }

  /** Sets the status the next heartbeats report: `busy` while working, `online` when idle. */
  setStatus(status: 'online' | 'busy'): void {
    this.guard(() => {
      if (status === 'online' || status === 'busy') this.status = status;
    });
  }

  /** A snapshot of the client's counters. */
  stats(): VigilClientStats {
    const b = this.buffer;
    const droppedByKind = { ...b.dropped };
    return {
      recorded: b.recorded,
      queued: b.pending,
      queuedBytes: b.pendingBytes,
      delivered: b.delivered,
      dropped: ITEM_KINDS.reduce((n, k) => n + droppedByKind[k], 0),
      droppedByKind,
      droppedInvalid: b.droppedInvalid,
      retries: this.delivery.retries,
      blocked: this.delivery.isBlocked,
      lastError: this.lastError,
    };
  }

  /**
   * Stops heartbeats, delivers what is buffered within `timeoutMs`, and releases the client.
   * Resolves (never rejects) with how many reports were not delivered; they are counted as
   * dropped. The process stays alive until it resolves. Reports recorded after close are dropped.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', () => {
   *   void vigil.close({ timeoutMs: 3000 }).then((undelivered) => process.exit(undelivered === 0 ? 0 : 1));
   * });
   * ```
   */
  close(options: CloseOptions = {}): Promise<number> {
    const t = options?.timeoutMs;
    this.closing ??= this.shutdown(typeof t === 'number' && t >= 0 && t <= MAX_TIMER_MS ? t : this.s.closeTimeoutMs);
    return this.closing;
  }

  /**
   * Records a `stopped` event, which takes the agent offline on the hub at once, then
   * {@link VigilClient.close}s. For an agent that is shutting down for good.
   */
  stop(options: CloseOptions & { message?: string } = {}): Promise<number> {
    this.event('stopped', options?.message ?? 'stopped');
    return this.close(options);
  }

  private async shutdown(timeoutMs: number): Promise<number> {
    const wasRunning = this.state === 'running';
    this.state = 'closing';
    clearInterval(this.heartbeatTimer);
    try {
      if (wasRunning) this.reportDrops(true);
      await this.delivery.finish(timeoutMs);
    } catch (err) {
      this.report('internal', `final flush failed: ${messageOf(err)}`, false, undefined, err);
    }
    this.state = 'closed';
    this.guard(() => this.collector?.close());
    return this.buffer.discard();
  }

  /** Public methods run their work through this: the host application never sees an exception from the SDK. */
  private guard(work: () => void): void {
    try {
      work();
    } catch (err) {
      this.report('internal', `vigil client: ${messageOf(err)}`, false, undefined, err);
    }
  }

  private accept(kind: ItemKind, body: object): void {
    if (this.state === 'closing' || this.state === 'closed') {
      this.buffer.refuse(kind, false);
      return;
    }
    this.enqueue(kind, body);
  }

  private enqueue(kind: ItemKind, body: object & { timestamp?: number }): void {
    const { timestamp, ...rest } = body;
    const at = Math.floor(typeof timestamp === 'number' && Number.isFinite(timestamp) ? timestamp : this.s.now());
    let json: string;
    try {
      json = JSON.stringify({ ...rest, event_id: this.newId() }, wireReplacer);
    } catch (err) {
      this.buffer.refuse(kind, true);
      this.report('invalid_items', `a ${kind} could not be serialised to JSON (${messageOf(err)}); it was dropped`, false, undefined, err);
      return;
    }
    this.buffer.add({ kind, at, json, bytes: Buffer.byteLength(json) });
    this.delivery.kick();
  }

  private async beat(): Promise<void> {
    try {
      let collected: CollectedResources | undefined;
      // A collect still running from the last interval is not started again; this heartbeat goes without it.
      if (!this.collecting) {
        this.collecting = true;
        const sample = Promise.resolve()
          .then(() => this.collectResources())
          .finally(() => (this.collecting = false));
        collected = await withTimeout(sample, this.s.interval).catch((err: unknown) => {
          this.report('collect_failed', `collecting resources failed: ${messageOf(err)}`, false, undefined, err);
          return undefined;
        });
      }
      if (this.state !== 'running') return;
      const heartbeat: Heartbeat = { status: this.status, metrics: { ...collected?.metrics, message_count: this.messageCount } };
      if (collected?.resources) heartbeat.resources = collected.resources;
      this.enqueue('heartbeat', heartbeat);
    } catch (err) {
      this.report('internal', `heartbeat failed: ${messageOf(err)}`, false, undefined, err);
    }
  }

  private async collectResources(): Promise<CollectedResources> {
    if (this.s.collect) return this.s.collect();
    this.collector ??= new Collector({ pid: process.pid, tree: false });
    const s = await this.collector.sample();
    return { resources: toResources(s), metrics: toProcessMetrics(s) };
  }

  /** Once delivery works, tells the hub how many reports were shed while it did not (a Sentry-style client report). */
  private reportDrops(force: boolean): void {
    const now = performance.now();
    if (!force && now - this.lastDropReport < this.s.dropReportEveryMs) return;
    const dropped = this.buffer.dropped;
    const fresh = zeroCounts();
    let total = 0;
    for (const k of ITEM_KINDS) {
      fresh[k] = dropped[k] - this.dropsReported[k];
      total += fresh[k];
    }
    if (total === 0) return;
    this.dropsReported = { ...dropped };
    this.lastDropReport = now;
    this.enqueue(
      'event',
      eventBody('warning', `dropped ${total} items while the hub was unreachable`, {
        source: 'vigil-sdk',
        dropped_heartbeats: fresh.heartbeat,
        dropped_events: fresh.event,
        dropped_errors: fresh.error,
        dropped_traces: fresh.trace,
      }),
    );
  }

  private report(code: ClientErrorCode, message: string, transient: boolean, reply?: HubReply, cause?: unknown): void {
    this.lastError = { code, message, at: this.s.now() };
    const err = new VigilClientError(
      code,
      message,
      transient,
      reply ? { status: reply.status, code: reply.code } : undefined,
      cause === undefined ? undefined : { cause },
    );
    try {
      this.s.onError(err);
    } catch {
      // The host's callback failing must not stop delivery; there is nowhere left to report it.
    }
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
