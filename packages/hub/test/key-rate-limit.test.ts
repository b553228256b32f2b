import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { BURST_S, KeyRateLimit, MAX_HOLD_MS } from '../src/auth/key-rate-limit.js';
import { ManualClock } from '../src/clock.js';
import { startTestHub, type TestHub } from './support/hub.js';

/**
 * Per-key fairness (docs/reliability.md B3): an agent or pool key sending more than its rate gets
 * 429 VIGIL_RATE_LIMITED with Retry-After and nothing of it is stored, while another key's requests
 * and the admin token's are neither refused nor counted against it. Over real HTTP on a hub whose
 * clock the test moves, so the buckets refill exactly when the test says.
 */

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

describe('KeyRateLimit', () => {
  const now = { admitted: true, holdMs: 0 };
  const held = (holdMs: number) => ({ admitted: true, holdMs });
  const refused = (retryAfterS: number) => ({ admitted: false, holdMs: MAX_HOLD_MS, retryAfterS });

  test('a burst of two seconds of the rate; then each request waits its turn, up to a second, and beyond that is refused', () => {
    const clock = new ManualClock(T0);
    const limit = new KeyRateLimit(5, 0, () => clock.now());
    for (let i = 0; i < 5 * BURST_S; i++) assert.deepEqual(limit.admit('a', 0), now, `request ${i + 1} of the burst`);
    // Each takes its share at once, so the next waits 0.2 s longer.
    for (const ms of [200, 400, 600, 800, 1000]) assert.deepEqual(limit.admit('a', 0), held(ms));
    // 1.2 s away: held a second, then refused, and charged nothing.
    assert.deepEqual(limit.admit('a', 0), refused(1));
    assert.deepEqual(limit.admit('a', 0), refused(1));
    assert.deepEqual(limit.admit('b', 0), now, 'another key is not affected');
    clock.advance(1200);
    assert.deepEqual(limit.admit('a', 0), now, 'the refused requests took nothing');
    assert.deepEqual(limit.admit('a', 0), held(200));
    // An idle key's bucket fills up to the burst and no further.
    clock.advance(60_000);
    for (let i = 0; i < 5 * BURST_S; i++) assert.deepEqual(limit.admit('a', 0), now);
    assert.deepEqual(limit.admit('a', 0), held(200));
  });

  test('bytes: a body larger than what is left passes, then the key waits until the debt is repaid', () => {
    const clock = new ManualClock(T0);
    const limit = new KeyRateLimit(0, 1000, () => clock.now());
    assert.deepEqual(limit.admit('a', 5000), now, 'admitted while the byte bucket is not in debt');
    // 2,000 - 5,000: 3,000 bytes owed at 1,000 a second, 2 s more than a request is held.
    assert.deepEqual(limit.admit('a', 10), refused(2));
    clock.advance(2000);
    assert.deepEqual(limit.admit('a', 10), held(1000));
    clock.advance(1010);
    assert.deepEqual(limit.admit('a', 10), now);
    // Bytes read after admission (a chunked body) count too.
    limit.charge('a', 4000);
    assert.deepEqual(limit.admit('a', 0), refused(4), '4,010 bytes owed');
  });

  test('held at most maxHoldMs: 0 refuses at once (gRPC); a key owes at most a minute of its byte rate', () => {
    const clock = new ManualClock(T0);
    const limit = new KeyRateLimit(5, 1000, () => clock.now());
    for (let i = 0; i < 5 * BURST_S; i++) limit.admit('a', 0, 0);
    assert.deepEqual(limit.admit('a', 0, 0), { admitted: false, holdMs: 0, retryAfterS: 1 });
    assert.deepEqual(limit.admit('b', 1e12), now, 'a huge body passes once');
    // Without the floor this key would wait 31,700 years; it owes 60,000 bytes, a minute.
    assert.deepEqual(limit.admit('b', 0), refused(59));
  });

  test('a rate of 0 turns that limit off; memory is bounded and a forgotten key starts with full buckets', () => {
    const clock = new ManualClock(T0);
    const off = new KeyRateLimit(0, 0, () => clock.now());
    for (let i = 0; i < 1000; i++) assert.deepEqual(off.admit('a', 1e9), now);
    assert.equal(off.tracked, 0, 'nothing is tracked when both limits are off');

    const limit = new KeyRateLimit(1, 0, () => clock.now(), 3);
    for (const key of ['a', 'a', 'b', 'c', 'd']) limit.admit(key, 0);
    assert.equal(limit.tracked, 3);
    // `a` was used least recently and is forgotten first: it starts again with a full bucket.
    assert.deepEqual(limit.admit('a', 0), now);
    assert.deepEqual(limit.admit('a', 0), now);
    assert.deepEqual(limit.admit('a', 0), held(1000));
  });
});

describe('per-key rate limits over HTTP (B3)', () => {
  const clock = new ManualClock(T0);
  let hub: TestHub;
  const keys: Record<string, string> = {};

  const send = async (path: string, token: string, body: unknown) => {
    const started = performance.now();
    const res = await hub.call('POST', path, body, token);
    const ms = performance.now() - started;
    return { status: res.status, code: res.body?.error?.code as string | undefined, retryAfter: res.headers['retry-after'], ms };
  };
  const eventsOf = async (agentId: string) =>
    (await hub.call('GET', `/api/v1/events?agent_id=${agentId}&event_type=info&limit=500`)).body.events.length as number;

  before(async () => {
    hub = await startTestHub('sqlite', {
      clock,
      flags: ['--key-rate-limit', '5', '--key-byte-limit', '50000', '--host-metrics-interval', '0'],
    });
    for (const id of ['noisy', 'quiet']) {
      assert.equal((await hub.call('POST', '/api/v1/agents', { agent_id: id, name: id, agent_type: 'worker' })).status, 201);
      keys[id] = (await hub.call('POST', '/api/v1/keys', { agent_id: id })).body.key as string;
    }
  });
  after(async () => {
    await hub.close();
  });

  test('a key sending six times its burst: a second of it waits its turn, the rest gets 429 with Retry-After and is not stored; other keys are not refused', async () => {
    const event = (i: number) => ({ event_type: 'info', message: `n${i}`, event_id: `noisy-${i}` });
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) => send('/api/v1/agents/noisy/events', keys.noisy as string, event(i))),
    );
    const admitted = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => a.status === 429);
    // The burst (two seconds of 5 a second) at once, then five more held up to a second for their turn.
    assert.equal(admitted.length, 5 * BURST_S + 5);
    assert.equal(refused.length, 60 - 5 * BURST_S - 5);
    for (const r of refused) {
      assert.equal(r.code, 'VIGIL_RATE_LIMITED');
      assert.equal(r.retryAfter, '1');
      // Held a second before the answer, so that a client resending at once cannot spin the hub.
      assert.ok(r.ms >= MAX_HOLD_MS - 50, `refused after ${Math.round(r.ms)} ms`);
    }
    assert.equal(await eventsOf('noisy'), 5 * BURST_S + 5, 'a refused request stores nothing');

    // Meanwhile the quiet agent's key and the admin token go through, every time.
    for (let i = 0; i < 5; i++) {
      assert.equal((await send('/api/v1/agents/quiet/heartbeat', keys.quiet as string, { status: 'online' })).status, 200);
    }
    for (let i = 0; i < 30; i++) assert.equal((await hub.call('GET', '/api/v1/agents')).status, 200, 'the admin token is not limited');

    // One second later it has repaid the five it was lent: five more go through (held), and no more.
    clock.advance(1000);
    const next = await Promise.all(
      Array.from({ length: 8 }, (_, i) => send('/api/v1/agents/noisy/events', keys.noisy as string, event(100 + i))),
    );
    assert.deepEqual(next.map((a) => a.status).sort(), [...Array(5).fill(201), ...Array(3).fill(429)]);
    assert.equal(await eventsOf('noisy'), 5 * BURST_S + 10);
    // The limit is counted in the hub's metrics like any other refusal.
    const metrics = (await hub.call('GET', '/metrics')).body as string;
    assert.match(metrics, /vigil_http_refused_requests_total\{code="VIGIL_RATE_LIMITED"\} 48\n/);
  });

  test('body bytes count, with or without Content-Length', async () => {
    clock.advance(60_000);
    // A declared length over the route's limit is refused unread (413) and charged nothing.
    const tooBig = await send('/api/v1/agents/quiet/events', keys.quiet as string, { event_type: 'info', message: 'z'.repeat(1_100_000) });
    assert.equal(tooBig.status, 413);
    assert.equal((await send('/api/v1/agents/quiet/heartbeat', keys.quiet as string, { status: 'online' })).status, 200);
    // 100,000 bytes of burst at 50,000 a second: a batch of about 250,000 bytes passes and leaves
    // the rest owed, about three seconds: more than a request is held. The next request is told to
    // come back after what is owed less the second it was held, and then goes through.
    const batch = {
      heartbeats: Array.from({ length: 850 }, (_, i) => ({
        agent_id: 'quiet',
        event_id: `b-${i}`,
        status: 'online',
        resources: { note: 'z'.repeat(200) },
        metrics: { memory_mb: 1 },
      })),
    };
    const bytes = Buffer.byteLength(JSON.stringify(batch));
    assert.ok(bytes > 200_000 && bytes < 300_000, `batch of ${bytes} bytes`);
    const first = await send('/api/v1/ingest', keys.quiet as string, batch);
    assert.equal(first.status, 200);
    const owed = await send('/api/v1/agents/quiet/heartbeat', keys.quiet as string, { status: 'online' });
    assert.equal(owed.status, 429);
    assert.equal(owed.code, 'VIGIL_RATE_LIMITED');
    const retryS = (sent: number) => Math.ceil((sent - 100_000) / 50_000 - 1);
    assert.equal(owed.retryAfter, String(retryS(bytes)));
    clock.advance(retryS(bytes) * 1000);
    assert.equal((await send('/api/v1/agents/quiet/heartbeat', keys.quiet as string, { status: 'online' })).status, 200);

    // A chunked body (no Content-Length) is charged as it is read: admitted, then the key owes it.
    clock.advance(60_000);
    const text = JSON.stringify({ heartbeats: batch.heartbeats.map((h, i) => ({ ...h, event_id: `c-${i}` })) });
    const chunked = await request(`${hub.url}/api/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.quiet}`, 'content-type': 'application/json' },
      body: Readable.from(
        (function* () {
          for (let i = 0; i < text.length; i += 65_536) yield Buffer.from(text.slice(i, i + 65_536));
        })(),
      ),
    });
    await chunked.body.text();
    assert.equal(chunked.statusCode, 200);
    const owedAgain = await send('/api/v1/agents/quiet/heartbeat', keys.quiet as string, { status: 'online' });
    assert.equal(owedAgain.status, 429, 'the chunked body took the key into debt');
    assert.equal(owedAgain.retryAfter, String(retryS(Buffer.byteLength(text))));
    clock.advance(retryS(Buffer.byteLength(text)) * 1000);
    assert.equal((await send('/api/v1/agents/quiet/heartbeat', keys.quiet as string, { status: 'online' })).status, 200);
  });
});
