import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { BURST_S, KeyRateLimit } from '../src/auth/key-rate-limit.js';
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
  test('a burst of two seconds of the rate, then one request per 1/rate s; each key has its own buckets', () => {
    const clock = new ManualClock(T0);
    const limit = new KeyRateLimit(5, 0, () => clock.now());
    for (let i = 0; i < 5 * BURST_S; i++) assert.equal(limit.admit('a', 0), 0, `request ${i + 1} of the burst`);
    // 0.2 s to the next request, answered in whole seconds.
    assert.equal(limit.admit('a', 0), 1);
    assert.equal(limit.admit('b', 0), 0, 'another key is not affected');
    clock.advance(200);
    assert.equal(limit.admit('a', 0), 0, 'one request earned in 0.2 s');
    assert.equal(limit.admit('a', 0), 1);
    // A refused request is not charged: waiting the time said is enough.
    clock.advance(200);
    assert.equal(limit.admit('a', 0), 0);
    // An idle key's bucket fills up to the burst and no further.
    clock.advance(60_000);
    for (let i = 0; i < 5 * BURST_S; i++) assert.equal(limit.admit('a', 0), 0);
    assert.equal(limit.admit('a', 0), 1);
  });

  test('bytes: a body larger than what is left passes once, then the key waits until the debt is repaid', () => {
    const clock = new ManualClock(T0);
    const limit = new KeyRateLimit(0, 1000, () => clock.now());
    assert.equal(limit.admit('a', 5000), 0, 'admitted while the byte bucket is not in debt');
    // 2,000 - 5,000 = 3,000 bytes owed at 1,000 a second.
    assert.equal(limit.admit('a', 10), 3);
    clock.advance(2999);
    assert.equal(limit.admit('a', 10), 1);
    clock.advance(1);
    assert.equal(limit.admit('a', 10), 0);
    // Bytes read after admission (a chunked body) count too.
    limit.charge('a', 4000);
    assert.equal(limit.admit('a', 0), 5, '4,010 bytes owed');
  });

  test('a rate of 0 turns that limit off; memory is bounded and a forgotten key starts with full buckets', () => {
    const clock = new ManualClock(T0);
    const off = new KeyRateLimit(0, 0, () => clock.now());
    for (let i = 0; i < 1000; i++) assert.equal(off.admit('a', 1e9), 0);
    assert.equal(off.tracked, 0, 'nothing is tracked when both limits are off');

    const limit = new KeyRateLimit(1, 0, () => clock.now(), 3);
    for (const key of ['a', 'a', 'b', 'c', 'd']) limit.admit(key, 0);
    assert.equal(limit.tracked, 3);
    // `a` was used least recently and is forgotten first: it starts again with a full bucket.
    assert.equal(limit.admit('a', 0), 0);
    assert.equal(limit.admit('a', 0), 0);
    assert.equal(limit.admit('a', 0), 1);
  });
});

describe('per-key rate limits over HTTP (B3)', () => {
  const clock = new ManualClock(T0);
  let hub: TestHub;
  const keys: Record<string, string> = {};

  const send = async (path: string, token: string, body: unknown) => {
    const res = await hub.call('POST', path, body, token);
    return { status: res.status, code: res.body?.error?.code as string | undefined, retryAfter: res.headers['retry-after'] };
  };
  const eventsOf = async (agentId: string) =>
    (await hub.call('GET', `/api/v1/events?agent_id=${agentId}&event_type=info&limit=500`)).body.events.length as number;

  before(async () => {
    hub = await startTestHub('sqlite', {
      clock,
      flags: ['--key-rate-limit', '5', '--key-byte-limit', '100000', '--host-metrics-interval', '0'],
    });
    for (const id of ['noisy', 'quiet']) {
      assert.equal((await hub.call('POST', '/api/v1/agents', { agent_id: id, name: id, agent_type: 'worker' })).status, 201);
      keys[id] = (await hub.call('POST', '/api/v1/keys', { agent_id: id })).body.key as string;
    }
  });
  after(async () => {
    await hub.close();
  });

  test('a key sending six times its burst gets 429 with Retry-After for the rest, stores only what was admitted, and another key is not refused', async () => {
    const event = (i: number) => ({ event_type: 'info', message: `n${i}`, event_id: `noisy-${i}` });
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) => send('/api/v1/agents/noisy/events', keys.noisy as string, event(i))),
    );
    const admitted = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => a.status === 429);
    assert.equal(admitted.length, 5 * BURST_S, 'the burst: two seconds of 5 a second');
    assert.equal(refused.length, 60 - 5 * BURST_S);
    for (const r of refused) {
      assert.equal(r.code, 'VIGIL_RATE_LIMITED');
      assert.equal(r.retryAfter, '1');
    }
    assert.equal(await eventsOf('noisy'), 5 * BURST_S, 'a refused request stores nothing');

    // Meanwhile the quiet agent's key and the admin token go through, every time.
    for (let i = 0; i < 5; i++) {
      assert.equal((await send('/api/v1/agents/quiet/heartbeat', keys.quiet as string, { status: 'online' })).status, 200);
    }
    for (let i = 0; i < 30; i++) assert.equal((await hub.call('GET', '/api/v1/agents')).status, 200, 'the admin token is not limited');

    // One second later the noisy key has earned five more requests, and no more.
    clock.advance(1000);
    const next = await Promise.all(
      Array.from({ length: 8 }, (_, i) => send('/api/v1/agents/noisy/events', keys.noisy as string, event(100 + i))),
    );
    assert.deepEqual(next.map((a) => a.status).sort(), [...Array(5).fill(201), ...Array(3).fill(429)]);
    assert.equal(await eventsOf('noisy'), 5 * BURST_S + 5);
    // The limit is counted in the hub's metrics like any other refusal.
    const metrics = (await hub.call('GET', '/metrics')).body as string;
    assert.match(metrics, /vigil_http_refused_requests_total\{code="VIGIL_RATE_LIMITED"\} 53\n/);
  });

  test('body bytes count, with or without Content-Length', async () => {
    clock.advance(60_000);
    // 200,000 bytes of burst at 100,000 a second: a batch of about 250,000 bytes passes and leaves about 50,000 owed.
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
    assert.equal(owed.retryAfter, '1');
    clock.advance(1000);
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
    assert.equal(owedAgain.retryAfter, '1', 'about 50,000 bytes owed at 100,000 a second, rounded up');
    clock.advance(1000);
    assert.equal((await send('/api/v1/agents/quiet/heartbeat', keys.quiet as string, { status: 'online' })).status, 200);
  });
});
