import { performance } from 'node:perf_hooks';
import type { ErrorCode } from '@vigil/protocol';
import { ITEM_KINDS, type DeliveryBuffer, type ItemKind, type QueuedItem } from './buffer.js';
import type { Report } from './errors.js';
import { wireReplacer } from './items.js';
import type { Settings } from './options.js';
import { backoffDelay, classifyStatus, parseRetryAfter } from './retry-policy.js';
import type { HubReply, Transport } from './transport.js';

type Next = { kind: 'now' } | { kind: 'idle' } | { kind: 'wait'; ms: number };
const NOW: Next = { kind: 'now' };
const IDLE: Next = { kind: 'idle' };

const LIST: Record<ItemKind, string> = { heartbeat: 'heartbeats', event: 'events', error: 'errors', trace: 'traces' };
const KIND_OF_LIST = new Map(ITEM_KINDS.map((k) => [LIST[k], k] as const));

/**
 * Moves reports from the buffer to the hub, one request at a time so they arrive in order:
 * registers first (and again whenever the hub has forgotten the agent), then sends batches
 * through `POST /api/v1/ingest`, deciding after each answer what comes next (docs/reliability.md S3).
 */
export class Delivery {
  /** Aborts whatever request is in flight when the final flush runs out of time. */
  private readonly abort = new AbortController();
  private running = false;
  private id: string | undefined;
  private registered = false;
  /** Registered, and no batch delivered since: a 404 now is not a lost registration but a hub problem. */
  private freshRegistration = false;
  private blocked = false;
  private failures = 0;
  private retryCount = 0;
  /** Largest batch to try while narrowing down which item of a refused batch is invalid. */
  private probe = Infinity;
  /** Hub clock minus agent clock, added to timestamps when sent; 0 while they agree within the tolerance. */
  private clockOffset = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = 0;
  /** The pending timer is a retry delay, which new reports must not cut short. */
  private timerIsRetry = false;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly buffer: DeliveryBuffer,
    private readonly transport: Transport,
    private readonly s: Settings,
    private readonly report: Report,
    /** Called after a batch is stored, so the client can say what was shed while delivery failed. */
    private readonly onStored: () => void,
  ) {
    this.id = s.agentId;
  }

  get agentId(): string | undefined {
    return this.id;
  }

  /** True while the hub refuses the credentials, the registration or the URL. */
  get isBlocked(): boolean {
    return this.blocked;
  }

  get retries(): number {
    return this.retryCount;
  }

  /** Registers at once, then sends whatever is recorded. */
  start(): void {
    this.running = true;
    this.setTimer(0, false);
  }

  /** New reports arrived: send them after the flush delay, unless a retry delay is running. */
  kick(): void {
    if (!this.running || this.inFlight || this.timerIsRetry) return;
    const delay = this.buffer.waiting >= this.s.maxBatchItems ? 0 : this.s.flushDelayMs;
    if (this.timer && this.timerDue <= performance.now() + delay) return;
    this.setTimer(delay, false);
  }

  /**
   * Stops the background sending and makes a last effort to deliver everything within
   * `timeoutMs`, however the hub behaves; then releases the connection.
   */
  async finish(timeoutMs: number): Promise<void> {
    const started = this.running;
    this.running = false;
    clearTimeout(this.timer);
    const deadline = performance.now() + timeoutMs;
    // Not unref()ed: this timer keeps the host process alive until the final flush is over.
    const hold = setTimeout(() => this.abort.abort(), timeoutMs);
    try {
      await this.inFlight;
      while (started && this.buffer.waiting > 0 && !this.blocked) {
        const left = deadline - performance.now();
        if (left <= 0) break;
        const next = await this.step(Math.min(this.s.requestTimeoutMs, left));
        if (next.kind === 'idle') break;
        if (next.kind === 'wait') await sleep(Math.min(next.ms, deadline - performance.now()));
      }
    } finally {
      clearTimeout(hold);
      this.transport.close();
    }
  }

  private setTimer(ms: number, retry: boolean): void {
    clearTimeout(this.timer);
    this.timerDue = performance.now() + ms;
    this.timerIsRetry = retry;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerIsRetry = false;
      this.pump();
    }, ms);
    this.timer.unref();
  }

  private pump(): void {
    if (!this.running || this.inFlight) return;
    this.inFlight = this.step(this.s.requestTimeoutMs)
      .catch((err: unknown): Next => {
        this.report('internal', `delivery failed: ${err instanceof Error ? err.message : String(err)}`, false, undefined, err);
        return { kind: 'wait', ms: this.s.backoff.capMs };
      })
      .then((next) => {
        this.inFlight = undefined;
        if (!this.running) return;
        if (next.kind === 'now') this.setTimer(0, false);
        else if (next.kind === 'wait') this.setTimer(next.ms, true);
        else if (this.buffer.waiting > 0) this.kick();
      });
  }

  /** One attempt: register if needed, else send one batch. Says what to do next. */
  private async step(timeoutMs: number): Promise<Next> {
    if (!this.registered) return this.register(timeoutMs);
    const batch = this.buffer.take(Math.min(this.s.maxBatchItems, this.probe), this.s.maxBatchBytes);
    if (batch.length === 0) return IDLE;
    const { body, lists } = batchBody(batch, this.id as string, this.clockOffset);
    let reply: HubReply;
    try {
      reply = await this.transport.post('/api/v1/ingest', body, timeoutMs, this.abort.signal);
    } catch (err) {
      this.buffer.requeue(batch);
      return this.unanswered(err);
    }
    this.observeHubClock(reply);
    const verdict = classifyStatus(reply.status, reply.code);
    // A 2xx that is not the hub's batch answer (a captive portal, a proxy's page) delivered nothing.
    if (verdict === 'ok' && isIngestAnswer(reply.body)) return this.settle(batch, lists, reply.body.rejected, reply);
    if (verdict === 'invalid' && batch.length === 1) {
      this.buffer.settleInvalid(batch);
      this.probe = Infinity;
      this.report('invalid_items', `the hub refused a ${batch[0]?.kind} as invalid (${describe(reply)}); it was dropped`, false, reply);
      return this.buffer.waiting > 0 ? NOW : IDLE;
    }
    this.buffer.requeue(batch);
    switch (verdict) {
      case 'retry':
        return this.retryLater(reply);
      case 'reregister':
        return this.lostRegistration(reply);
      case 'invalid':
        // One bad item refuses the whole batch: halve until it is alone, so only it is dropped.
        this.probe = Math.ceil(batch.length / 2);
        return NOW;
      case 'ok':
      case 'blocked':
        return this.block(reply);
    }
  }

  private async register(timeoutMs: number): Promise<Next> {
    const { registration } = this.s;
    const body = JSON.stringify(this.id === undefined ? registration : { agent_id: this.id, ...registration }, wireReplacer);
    let reply: HubReply;
    try {
      reply = await this.transport.post('/api/v1/agents', body, timeoutMs, this.abort.signal);
    } catch (err) {
      return this.unanswered(err);
    }
    this.observeHubClock(reply);
    const verdict = classifyStatus(reply.status, reply.code);
    if (verdict === 'retry') return this.retryLater(reply);
    const assigned = (reply.body as { agent?: { agent_id?: unknown } } | undefined)?.agent?.agent_id;
    if (verdict === 'invalid') {
      this.blocked = true;
      this.report(
        'invalid_items',
        `the hub refused the registration (${describe(reply)}); check name, agentType, pool and capabilities`,
        false,
        reply,
      );
      return { kind: 'wait', ms: this.s.blockedRetryMs };
    }
    if (verdict !== 'ok' || typeof assigned !== 'string') return this.block(reply);
    this.id = assigned;
    this.registered = true;
    this.freshRegistration = true;
    this.blocked = false;
    this.failures = 0;
    return this.buffer.waiting > 0 ? NOW : IDLE;
  }

  /** A 200 or 207 from the batch route: `rejected` holds the fate of each item that was not stored. */
  private settle(batch: QueuedItem[], lists: Map<ItemKind, QueuedItem[]>, rejected: unknown, reply: HubReply): Next {
    const refused = new Map<QueuedItem, ErrorCode | 'unknown'>();
    for (const r of Array.isArray(rejected) ? (rejected as { kind?: unknown; index?: unknown; code?: unknown }[]) : []) {
      const kind = typeof r.kind === 'string' ? KIND_OF_LIST.get(r.kind) : undefined;
      const item = kind && typeof r.index === 'number' ? lists.get(kind)?.[r.index] : undefined;
      if (item) refused.set(item, typeof r.code === 'string' ? (r.code as ErrorCode) : 'unknown');
    }
    const lost = batch.filter((it) => refused.get(it) === 'VIGIL_AGENT_NOT_FOUND');
    const invalid = batch.filter((it) => refused.has(it) && refused.get(it) !== 'VIGIL_AGENT_NOT_FOUND');
    this.buffer.settleDelivered(batch.filter((it) => !refused.has(it)));
    this.buffer.settleInvalid(invalid);
    if (invalid.length > 0) {
      const codes = [...new Set(invalid.map((it) => refused.get(it)))].join(', ');
      this.report('invalid_items', `the hub refused ${invalid.length} report(s) (${codes}); they were dropped`, false, reply);
    }
    if (lost.length > 0) {
      this.buffer.requeue(lost);
      return this.lostRegistration(reply);
    }
    this.failures = 0;
    this.freshRegistration = false;
    this.probe *= 2;
    this.onStored();
    return this.buffer.waiting > 0 ? NOW : IDLE;
  }

  /** The hub does not know the agent (its database was reset, or the agent was deleted): register again. */
  private lostRegistration(reply: HubReply): Next {
    this.registered = false;
    // Just registered and still unknown: the hub is inconsistent, so back off instead of looping.
    return this.freshRegistration ? this.retryLater(reply) : NOW;
  }

  private block(reply: HubReply): Next {
    const credentials = reply.status === 401 || reply.status === 403 || reply.status === 409;
    this.blocked = true;
    // The next attempt is a registration: it tells whether the key (or the URL) works again.
    this.registered = false;
    const then = `reports are kept and retried every ${Math.round(this.s.blockedRetryMs / 1000)} s`;
    this.report(
      credentials ? 'rejected_credentials' : 'bad_endpoint',
      credentials
        ? `the hub refused the key (${describe(reply)}); ${then}`
        : `${this.s.url.href} does not answer like a Vigil hub (${describe(reply)}); ${then}`,
      false,
      reply,
    );
    return { kind: 'wait', ms: this.s.blockedRetryMs };
  }

  private retryLater(reply: HubReply): Next {
    this.failures++;
    this.retryCount++;
    this.report('hub_unavailable', `the hub answered ${describe(reply)}; retrying`, true, reply);
    const asked = parseRetryAfter(reply.retryAfter, this.s.now());
    return { kind: 'wait', ms: asked ?? backoffDelay(this.failures, this.s.backoff, this.s.random) };
  }

  private unanswered(err: unknown): Next {
    this.failures++;
    this.retryCount++;
    this.report(
      'unreachable',
      `the hub did not answer (${err instanceof Error ? err.message : String(err)}); retrying`,
      true,
      undefined,
      err,
    );
    return { kind: 'wait', ms: backoffDelay(this.failures, this.s.backoff, this.s.random) };
  }

  /**
   * Learns the hub's clock from its `Date` header. An agent whose clock is far off would have
   * every report refused (too far ahead) or misplaced in time (too far behind), so timestamps are
   * shifted onto the hub's clock when sent, as Sentry Relay corrects clock drift.
   */
  private observeHubClock(reply: HubReply): void {
    const hubNow = reply.date === undefined ? NaN : Date.parse(reply.date);
    if (!Number.isFinite(hubNow)) return;
    const offset = hubNow - this.s.now();
    this.clockOffset = Math.abs(offset) > this.s.clockSkewToleranceMs ? offset : 0;
  }
}

/** The batch body, with each item's `agent_id` and `timestamp` spliced in, and which item sits at which index of each list. */
function batchBody(batch: QueuedItem[], agentId: string, clockOffset: number): { body: string; lists: Map<ItemKind, QueuedItem[]> } {
  const lists = new Map<ItemKind, QueuedItem[]>();
  for (const it of batch) {
    const list = lists.get(it.kind);
    if (list) list.push(it);
    else lists.set(it.kind, [it]);
  }
  const prefix = `{"agent_id":${JSON.stringify(agentId)},"timestamp":`;
  const parts = [...lists].map(
    ([kind, items]) =>
      `"${LIST[kind]}":[${items.map((it) => `${prefix}${Math.max(0, it.at + clockOffset)},${it.json.slice(1)}`).join(',')}]`,
  );
  return { body: `{${parts.join(',')}}`, lists };
}

function isIngestAnswer(body: unknown): body is { rejected: unknown } {
  return typeof body === 'object' && body !== null && 'accepted' in body && 'rejected' in body;
}

function describe(reply: HubReply): string {
  return reply.code ? `${reply.status} ${reply.code}` : `HTTP ${reply.status}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
