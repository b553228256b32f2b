import http from 'node:http';
import https from 'node:https';
import { backoffDelay, type Backoff } from '@vigil/protocol/backoff';
import type { Clock } from '../clock.js';
import type { Writer } from '../ingest/writer.js';
import type { SqlExecutor } from '../store/db.js';
import { unfinishedDeliveries, type DeliveryStatus, type QueuedDelivery } from '../store/webhooks.js';
import { submitAlertAction } from './submit.js';
import type { Notifier } from './engine.js';
import { BlockedTargetError, checkWebhookUrl, guardedLookup } from './webhook-target.js';

export interface WebhookOptions {
  /** Attempts per delivery, the first included. */
  maxAttempts: number;
  /** Wait before the second attempt; each later wait doubles (see RETRY). */
  backoffMs: number;
  /** Longest one attempt may take, connection and answer included. */
  timeoutMs: number;
  /** Loopback and private-network targets are allowed (never metadata or link-local). */
  allowPrivate: boolean;
  /**
   * Who claims deliveries (store/webhooks.ts `claimDelivery`): several hubs on one database each
   * have their own id, so exactly one of them sends each delivery. One hub keeps one id across
   * restarts, so what it was sending when it stopped is its own to resume at once.
   */
  hubId: string;
}

/**
 * Between attempts: doubling from `--webhook-backoff-ms`, less up to a quarter at random so that the
 * deliveries of many alerts that failed on one receiver outage do not all retry in the same instant,
 * and at most an hour apart, so that a receiver back after a long outage hears within the hour.
 */
const RETRY: Omit<Backoff, 'baseMs'> = { capMs: 3_600_000, jitter: 0.25 };
/** Slack on a claim beyond the attempt and the wait after it, so a slow hub does not lose its claim mid-attempt. */
const CLAIM_SLACK_MS = 5000;

export type SendOutcome = { ok: true; status: number } | { ok: false; status: number | null; error: string; retry: boolean };

/**
 * One POST of a JSON body, with node:http and a guarded DNS lookup (no shell, no redirects
 * followed: a 3xx could point anywhere, so it counts as a failure).
 */
export function postJson(
  rawUrl: string,
  body: string,
  o: { timeoutMs: number; allowPrivate: boolean; signal: AbortSignal; headers?: Record<string, string> },
): Promise<SendOutcome> {
  const target = checkWebhookUrl(rawUrl, o.allowPrivate);
  if (!target.ok) return Promise.resolve({ ok: false, status: null, error: `refused: ${target.reason}`, retry: false });
  const url = target.url;
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: SendOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const req = lib.request(
      url,
      {
        method: 'POST',
        headers: {
          ...o.headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'vigil-hub',
        },
        lookup: guardedLookup(o.allowPrivate),
        // One connection per delivery: a keep-alive pool would outlive the receiver and the hub's stop.
        agent: false,
        signal: o.signal,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        if (status >= 200 && status < 300) return settle({ ok: true, status });
        const retry = status === 408 || status === 429 || status >= 500;
        const error = status >= 300 && status < 400 ? 'redirects are not followed' : `HTTP ${status}`;
        settle({ ok: false, status, error, retry });
      },
    );
    const timer = setTimeout(
      () => req.destroy(Object.assign(new Error(`no answer within ${o.timeoutMs} ms`), { code: 'ETIMEDOUT' })),
      o.timeoutMs,
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof BlockedTargetError) return settle({ ok: false, status: null, error: `refused: ${err.message}`, retry: false });
      settle({ ok: false, status: null, error: err.code ? `${err.code}: ${err.message}` : err.message, retry: true });
    });
    req.end(body);
  });
}

/**
 * Sends the notifications the alert engine logged (the outbox, `webhook_deliveries`), recording each
 * attempt, its last status and last error through the single writer. Failed attempts are retried
 * with exponential backoff up to `maxAttempts`; a refused target or a 4xx other than 408 and 429 is
 * not retried. What a stop or a crash cut short is still `pending` and is sent at the next start,
 * under the same `x-vigil-delivery-id`: a crash after a receiver answered and before the hub
 * recorded it sends that notification again, which the id lets the receiver recognise.
 *
 * Before each attempt the notifier claims the delivery in the database for the attempt and the wait
 * after it (a lease); a delivery another hub holds is left to it, and one whose holder died is taken
 * over once the lease lapses, by whichever hub's sweep (`resume`) claims it first.
 */
export class WebhookNotifier implements Notifier {
  private readonly inFlight = new Set<Promise<void>>();
  /** Deliveries being sent now, by row id: one is never sent twice at once. */
  private readonly sending = new Set<number>();
  private readonly abort = new AbortController();

  constructor(
    private readonly deps: { db: SqlExecutor; writer: Writer; clock: Clock; onError: (err: unknown) => void },
    private readonly options: WebhookOptions,
  ) {}

  send(deliveries: readonly QueuedDelivery[]): void {
    for (const d of deliveries) {
      if (this.abort.signal.aborted || this.sending.has(d.id)) continue;
      this.sending.add(d.id);
      this.track(this.deliver(d).finally(() => this.sending.delete(d.id)));
    }
  }

  /** Starts sending what the outbox still holds from before this start; resolves once it is read. */
  async resume(): Promise<void> {
    this.send(await unfinishedDeliveries(this.deps.db));
  }

  /** Resolves when every delivery started so far has finished (delivered, failed or stopped). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /**
   * Aborts requests and waits in flight; what was not delivered stays pending for the next start, or
   * for another hub's sweep: this hub's claims are let go, so that hub need not wait for them to lapse.
   */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.idle();
    await submitAlertAction(this.deps.writer, { type: 'release_claims', by: this.options.hubId }).catch(this.deps.onError);
  }

  private track(p: Promise<void>): void {
    const tracked = p.catch(this.deps.onError).finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  private async deliver(d: QueuedDelivery): Promise<void> {
    const { maxAttempts, backoffMs, timeoutMs, allowPrivate } = this.options;
    const signal = this.abort.signal;
    const headers = { 'x-vigil-delivery-id': d.deliveryId };
    for (;;) {
      if (signal.aborted) return;
      // The attempts count comes from the claim, so a delivery taken over from a dead hub goes on where it stopped.
      const now = this.deps.clock.now();
      const made = await this.claim(
        d.id,
        now,
        now + timeoutMs + Math.min(RETRY.capMs, backoffMs * 2 ** Math.max(0, d.attempts)) + CLAIM_SLACK_MS,
      );
      if (made === null || made >= maxAttempts) return;
      const attempt = made + 1;
      const outcome = await postJson(d.url, d.body, { timeoutMs, allowPrivate, signal, headers });
      // Cut short by a stop: not the receiver's failure, and the next start tries again.
      if (signal.aborted && !outcome.ok) return;
      const last = outcome.ok || !outcome.retry || attempt === maxAttempts;
      const status: DeliveryStatus = outcome.ok ? 'delivered' : last ? 'failed' : 'pending';
      await submitAlertAction(this.deps.writer, {
        type: 'record_attempt',
        attempt: {
          id: d.id,
          attempts: attempt,
          status,
          statusCode: outcome.status,
          error: outcome.ok ? null : outcome.error.slice(0, 500),
          at: this.deps.clock.now(),
        },
      });
      if (last) return;
      d = { ...d, attempts: attempt };
      await sleep(backoffDelay(attempt, { ...RETRY, baseMs: backoffMs }), signal);
    }
  }

  /** Claims (or renews) a delivery for this hub; the attempts made so far, or null when it is not this hub's to send. */
  private async claim(id: number, now: number, until: number): Promise<number | null> {
    const r = await submitAlertAction(this.deps.writer, { type: 'claim_delivery', claim: { id, by: this.options.hubId, now, until } });
    return r.attempts;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
