import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { FailureThrottle } from '../src/auth/failure-throttle.js';
import { ManualClock } from '../src/clock.js';
import { clientKey } from '../src/ip-address.js';
import { ADMIN_TOKEN, startTestHub, type TestHub } from './support/hub.js';

/**
 * Issue 9, finding 13: failed keys and failed dashboard sign-ins are limited per client address
 * (10 a minute, then 429 VIGIL_AUTH_THROTTLED with Retry-After), over real HTTP from several
 * loopback source addresses. Credentials that have worked keep working from a locked-out
 * address; other addresses are not affected.
 */

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

interface Answer {
  status: number;
  body: any;
  retryAfter: string | undefined;
}

describe('failed credentials are throttled per client address (finding 13)', () => {
  const clock = new ManualClock(T0);
  let hub: TestHub;
  const from = new Map<string, Agent>();

  /** A request from the loopback source address `source` (Linux routes all of 127/8 to lo). */
  async function send(source: string, method: string, path: string, opts: { token?: string; body?: unknown } = {}): Promise<Answer> {
    let dispatcher = from.get(source);
    if (!dispatcher) {
      dispatcher = new Agent({ localAddress: source });
      from.set(source, dispatcher);
    }
    const headers: Record<string, string> = {};
    if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await request(`${hub.url}${path}`, {
      method: method as 'GET',
      headers,
      dispatcher,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.body.text();
    return {
      status: res.statusCode,
      body: text ? JSON.parse(text) : undefined,
      retryAfter: res.headers['retry-after'] as string | undefined,
    };
  }

  const heartbeat = { status: 'online', resources: {}, metrics: {} };

  before(async () => {
    hub = await startTestHub('sqlite', { clock, flags: ['--host-metrics-interval', '0'] });
  });
  after(async () => {
    await hub.close();
    await Promise.all([...from.values()].map((a) => a.close()));
  });

  test('the 11th failure in a minute answers 429 with Retry-After; known credentials still work, other addresses are unaffected', async () => {
    // An agent key that has worked before the lockout, and the admin token (used by hub.call).
    assert.equal((await hub.call('POST', '/api/v1/agents', { agent_id: 't-1', name: 't', agent_type: 'worker' })).status, 201);
    const key = (await hub.call('POST', '/api/v1/keys', { agent_id: 't-1' })).body.key as string;
    assert.equal((await send('127.0.0.1', 'POST', '/api/v1/agents/t-1/heartbeat', { token: key, body: heartbeat })).status, 200);

    for (let i = 1; i <= 10; i++) {
      const r = await send('127.0.0.1', 'GET', '/api/v1/agents', { token: `wrong-token-${i}-0123456789` });
      assert.equal(r.status, 401, `failure ${i}`);
      assert.equal(r.body.error.code, 'VIGIL_UNAUTHORIZED');
    }
    const locked = await send('127.0.0.1', 'GET', '/api/v1/agents', { token: 'wrong-token-11-0123456789' });
    assert.equal(locked.status, 429);
    assert.equal(locked.body.error.code, 'VIGIL_AUTH_THROTTLED');
    assert.match(locked.body.error.message, /retry in 6 s/);
    assert.equal(locked.retryAfter, '6', 'one more try is earned every 6 s');
    // A malformed header is a failure like a wrong token; during the lockout it is refused untried.
    assert.equal((await send('127.0.0.1', 'GET', '/api/v1/agents', { token: '' })).status, 429);

    // Credentials that have worked on this hub are still checked and still work from the locked-out address.
    assert.equal((await send('127.0.0.1', 'POST', '/api/v1/agents/t-1/heartbeat', { token: key, body: heartbeat })).status, 200);
    assert.equal((await send('127.0.0.1', 'GET', '/api/v1/agents', { token: ADMIN_TOKEN })).status, 200);
    // A genuine key never used before waits like a guess (it is not tried while the address is locked out).
    const fresh = (await hub.call('POST', '/api/v1/keys', { agent_id: 't-1' })).body.key as string;
    assert.equal((await send('127.0.0.1', 'POST', '/api/v1/agents/t-1/heartbeat', { token: fresh, body: heartbeat })).status, 429);

    // Another address is not affected.
    const other = await send('127.0.0.2', 'GET', '/api/v1/agents', { token: 'wrong-token-elsewhere-0123' });
    assert.equal(other.status, 401);
    assert.equal((await send('127.0.0.2', 'POST', '/api/v1/agents/t-1/heartbeat', { token: fresh, body: heartbeat })).status, 200);

    // Time earns tries back: one after 6 s, a full minute's worth after a minute.
    clock.advance(6_000);
    assert.equal((await send('127.0.0.1', 'GET', '/api/v1/agents', { token: 'wrong-token-12-0123456789' })).status, 401);
    assert.equal((await send('127.0.0.1', 'GET', '/api/v1/agents', { token: 'wrong-token-13-0123456789' })).status, 429);
    clock.advance(60_000);
    for (let i = 0; i < 10; i++) {
      assert.equal((await send('127.0.0.1', 'GET', '/api/v1/agents', { token: `wrong-again-${i}-0123456789` })).status, 401);
    }
    assert.equal((await send('127.0.0.1', 'GET', '/api/v1/agents', { token: 'wrong-again-x-0123456789' })).status, 429);
  });

  test('failed dashboard sign-ins count the same way; the admin token still signs in', async () => {
    for (let i = 1; i <= 10; i++) {
      const r = await send('127.0.0.3', 'POST', '/api/v1/session', { body: { token: `not-the-admin-token-${i}-0123` } });
      assert.equal(r.status, 401, `sign-in ${i}`);
    }
    const locked = await send('127.0.0.3', 'POST', '/api/v1/session', { body: { token: 'not-the-admin-token-11-0123' } });
    assert.equal(locked.status, 429);
    assert.equal(locked.body.error.code, 'VIGIL_AUTH_THROTTLED');
    assert.equal(locked.retryAfter, '6');
    assert.equal((await send('127.0.0.3', 'POST', '/api/v1/session', { body: { token: ADMIN_TOKEN } })).status, 201);
    // Failed sign-ins and failed keys share the address's budget.
    assert.equal((await send('127.0.0.3', 'GET', '/api/v1/agents', { token: 'wrong-token-0123456789abc' })).status, 429);
  });

  test('a burst of concurrent guesses gets no more tries than a sequence', async () => {
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => send('127.0.0.5', 'GET', '/api/v1/agents', { token: `burst-guess-${i}-0123456789` })),
    );
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [...new Array<number>(10).fill(401), ...new Array<number>(20).fill(429)]);
  });

  test('a genuine key used for the first time costs its address nothing', async () => {
    const key = (await hub.call('POST', '/api/v1/keys', { agent_id: 't-1' })).body.key as string;
    for (let i = 0; i < 9; i++)
      assert.equal((await send('127.0.0.6', 'GET', '/api/v1/agents', { token: `wrong-${i}-0123456789abc` })).status, 401);
    assert.equal((await send('127.0.0.6', 'POST', '/api/v1/agents/t-1/heartbeat', { token: key, body: heartbeat })).status, 200);
    assert.equal((await send('127.0.0.6', 'GET', '/api/v1/agents', { token: 'wrong-9-0123456789abc' })).status, 401, 'the tenth failure');
    assert.equal((await send('127.0.0.6', 'GET', '/api/v1/agents', { token: 'wrong-10-0123456789abc' })).status, 429);
  });

  test('requests without credentials are refused 401 but do not count as failures', async () => {
    for (let i = 0; i < 30; i++) assert.equal((await send('127.0.0.4', 'GET', '/api/v1/agents')).status, 401);
    assert.equal((await send('127.0.0.4', 'GET', '/api/v1/agents', { token: 'wrong-token-0123456789abc' })).status, 401);
  });
});

describe('the failure throttle itself', () => {
  test('an IPv6 /64 is one client; IPv4-mapped addresses are their IPv4 address', () => {
    assert.equal(clientKey('2001:db8:1:2::1'), clientKey('2001:db8:1:2:ffff:ffff:ffff:fffe'));
    assert.notEqual(clientKey('2001:db8:1:2::1'), clientKey('2001:db8:1:3::1'));
    assert.equal(clientKey('::ffff:10.0.0.1'), '10.0.0.1');
    assert.equal(clientKey('::ffff:a00:1'), '10.0.0.1');
    assert.equal(clientKey('192.0.2.7'), '192.0.2.7');
  });

  test('memory is bounded: at most the cap of addresses is tracked, the least recently failing forgotten first', () => {
    const clock = new ManualClock(T0);
    const throttle = new FailureThrottle(10, () => clock.now(), 1000);
    for (let i = 0; i < 10; i++) throttle.fail('198.51.100.1');
    assert.ok(throttle.retryAfterS('198.51.100.1') > 0);
    for (let i = 0; i < 50_000; i++) throttle.fail(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    assert.equal(throttle.tracked, 1000);
    assert.equal(throttle.retryAfterS('198.51.100.1'), 0, 'the oldest entry went first');
    assert.ok(throttle.retryAfterS('10.0.195.79') === 0, 'one failure leaves nine tries');
  });

  test('0 turns the limit off', () => {
    const throttle = new FailureThrottle(0, () => T0);
    for (let i = 0; i < 100; i++) throttle.fail('198.51.100.1');
    assert.equal(throttle.retryAfterS('198.51.100.1'), 0);
    assert.equal(throttle.tracked, 0);
  });
});
