import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import WebSocket from 'ws';
import { ManualClock } from '../src/clock.js';
import { readCookie, SESSION_ENDED_CLOSE, sessionCookie, Sessions } from '../src/auth/sessions.js';
import { ADMIN_TOKEN, startTestHub, type TestHub } from './support/hub.js';

/**
 * Dashboard sessions over real HTTP and a real WebSocket: sign-in, the cookie's attributes, CSRF
 * (docs/reliability.md W3), the live feed's origin check with a cookie (W1), security headers (W5), and
 * sign-out closing the session's sockets (A6).
 */

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

async function send(
  hub: TestHub,
  method: string,
  path: string,
  opts: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await request(`${hub.url}${path}`, {
    method: method as 'GET',
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.body.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.statusCode, headers: res.headers as Answer['headers'], body };
}

async function signIn(hub: TestHub): Promise<{ cookie: string; csrf: string; setCookie: string }> {
  const res = await send(hub, 'POST', '/api/v1/session', { body: { token: ADMIN_TOKEN } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const setCookie = String(res.headers['set-cookie']);
  const id = readCookie(setCookie.split(';')[0], 'vigil_session');
  assert.ok(id);
  return { cookie: `vigil_session=${id}`, csrf: res.body.csrf_token, setCookie };
}

function openLive(hub: TestHub, headers: Record<string, string>): Promise<WebSocket> {
  const socket = new WebSocket(hub.url.replace(/^http/, 'ws') + '/api/v1/live', { headers });
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) =>
      reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })),
    );
    socket.once('error', reject);
  });
}

describe('dashboard sessions', () => {
  let hub: TestHub;
  const clock = new ManualClock(Date.now());
  before(async () => {
    hub = await startTestHub('sqlite', { clock, flags: ['--host-metrics-interval', '0', '--session-idle', '30'] });
  });
  after(() => hub.close());

  test('the admin token signs in; a wrong token, an agent key or a malformed body does not', async () => {
    const { setCookie, csrf } = await signIn(hub);
    assert.match(
      setCookie,
      /^vigil_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/,
      'HttpOnly, SameSite=Strict, no Secure over plain HTTP',
    );
    assert.match(csrf, /^[A-Za-z0-9_-]{43}$/);

    const wrong = await send(hub, 'POST', '/api/v1/session', { body: { token: 'not-the-admin-token-0123456789' } });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, 'VIGIL_UNAUTHORIZED');
    assert.equal(wrong.headers['set-cookie'], undefined);

    await hub.call('POST', '/api/v1/agents', { agent_id: 'keyed', name: 'k', agent_type: 't' });
    const key = (await hub.call('POST', '/api/v1/keys', { agent_id: 'keyed' })).body.key as string;
    assert.equal((await send(hub, 'POST', '/api/v1/session', { body: { token: key } })).status, 401, 'an agent key is not the admin');
    assert.equal((await send(hub, 'POST', '/api/v1/session', { body: { token: 'has a space in it 0123456789' } })).status, 401);
    assert.equal((await send(hub, 'POST', '/api/v1/session', { body: {} })).status, 400);
    assert.equal((await send(hub, 'POST', '/api/v1/session', { body: { token: ADMIN_TOKEN, extra: 1 } })).status, 400);
  });

  test('the cookie authenticates API reads as the admin; a made-up or missing cookie does not', async () => {
    const { cookie, csrf } = await signIn(hub);
    const me = await send(hub, 'GET', '/api/v1/session', { headers: { cookie } });
    assert.equal(me.status, 200);
    assert.equal(me.body.csrf_token, csrf, 'a reloaded page gets its CSRF token back');
    assert.equal(me.body.idle_timeout_s, 30 * 60);
    assert.equal((await send(hub, 'GET', '/api/monitoring/dashboard', { headers: { cookie } })).status, 200);
    assert.equal((await send(hub, 'GET', '/api/v1/agents', { headers: { cookie: `other=1; ${cookie}; x=2` } })).status, 200);
    for (const bad of ['vigil_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'vigil_session=../../etc', 'vigil_session=']) {
      const res = await send(hub, 'GET', '/api/v1/agents', { headers: { cookie: bad } });
      assert.equal(res.status, 401, bad);
    }
    const bearerMe = await send(hub, 'GET', '/api/v1/session', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(bearerMe.body.csrf_token, null, 'a Bearer caller has no session');
    // An Authorization header decides alone: a wrong one is refused even next to a good cookie.
    const mixed = await send(hub, 'GET', '/api/v1/agents', { headers: { cookie, authorization: 'Bearer wrong-token-0123456789abc' } });
    assert.equal(mixed.status, 401);
  });

  test('W3: a cookie-authenticated change needs the CSRF header and the same origin, else 403', async () => {
    await hub.call('POST', '/api/v1/agents', { agent_id: 'csrf-agent', name: 'c', agent_type: 't' });
    const made = await hub.call('POST', '/api/v1/agents/csrf-agent/errors', { error_type: 'E', message: 'boom' });
    const path = `/api/v1/errors/${made.body.id}/resolve`;
    const { cookie, csrf } = await signIn(hub);
    const refusals: [string, Record<string, string>][] = [
      ['no CSRF header', { cookie }],
      ['a wrong CSRF token', { cookie, 'x-vigil-csrf': 'A'.repeat(43) }],
      ['a foreign Origin', { cookie, 'x-vigil-csrf': csrf, origin: 'https://evil.example' }],
      ['a cross-site fetch', { cookie, 'x-vigil-csrf': csrf, 'sec-fetch-site': 'cross-site' }],
      ['another session’s token', { cookie, 'x-vigil-csrf': (await signIn(hub)).csrf }],
    ];
    for (const [why, headers] of refusals) {
      const res = await send(hub, 'POST', path, { headers });
      assert.equal(res.status, 403, why);
      assert.equal(res.body.error.code, 'VIGIL_CSRF_REJECTED', why);
    }
    const open = await hub.call('GET', '/api/v1/errors?agent_id=csrf-agent');
    assert.equal(open.body.errors[0].resolved, false, 'no refused request resolved it');
    const ok = await send(hub, 'POST', path, {
      headers: { cookie, 'x-vigil-csrf': csrf, origin: hub.url, 'sec-fetch-site': 'same-origin' },
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.error.resolved, true);
    const foreignSignIn = await send(hub, 'POST', '/api/v1/session', {
      body: { token: ADMIN_TOKEN },
      headers: { origin: 'https://evil.example' },
    });
    assert.equal(foreignSignIn.status, 403, 'no sign-in from another site (login CSRF)');
  });

  test('sign-out ends the session: the cookie stops working and is cleared', async () => {
    const { cookie, csrf } = await signIn(hub);
    assert.equal((await send(hub, 'DELETE', '/api/v1/session', { headers: { cookie } })).status, 403, 'sign-out is a change too');
    const out = await send(hub, 'DELETE', '/api/v1/session', { headers: { cookie, 'x-vigil-csrf': csrf } });
    assert.equal(out.status, 204);
    assert.match(String(out.headers['set-cookie']), /^vigil_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0$/);
    assert.equal((await send(hub, 'GET', '/api/v1/agents', { headers: { cookie } })).status, 401);
  });

  test('a session unused for longer than --session-idle ends; use keeps it alive', async () => {
    const { cookie } = await signIn(hub);
    clock.advance(29 * 60_000);
    assert.equal((await send(hub, 'GET', '/api/v1/agents', { headers: { cookie } })).status, 200);
    clock.advance(29 * 60_000);
    assert.equal((await send(hub, 'GET', '/api/v1/agents', { headers: { cookie } })).status, 200, 'the last request counts, not sign-in');
    clock.advance(31 * 60_000);
    assert.equal((await send(hub, 'GET', '/api/v1/agents', { headers: { cookie } })).status, 401);
  });

  test('W1: the live feed takes the session cookie from the same origin, 403 from another, 401 without', async () => {
    const { cookie } = await signIn(hub);
    await assert.rejects(openLive(hub, { cookie, origin: 'https://evil.example' }), { status: 403 });
    await assert.rejects(openLive(hub, { origin: hub.url }), { status: 401 });
    await assert.rejects(openLive(hub, { cookie: 'vigil_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', origin: hub.url }), {
      status: 401,
    });
    const socket = await openLive(hub, { cookie, origin: hub.url });
    socket.close();
  });

  test('A6: signing out closes that session’s live sockets within 5 s, and only those', async () => {
    const mine = await signIn(hub);
    const other = await signIn(hub);
    const a = await openLive(hub, { cookie: mine.cookie, origin: hub.url });
    const b = await openLive(hub, { cookie: other.cookie, origin: hub.url });
    const closed = new Promise<{ code: number; ms: number }>((resolve) => {
      const t0 = performance.now();
      a.once('close', (code) => resolve({ code, ms: performance.now() - t0 }));
    });
    assert.equal(
      (await send(hub, 'DELETE', '/api/v1/session', { headers: { cookie: mine.cookie, 'x-vigil-csrf': mine.csrf } })).status,
      204,
    );
    const { code, ms } = await closed;
    assert.equal(code, SESSION_ENDED_CLOSE, 'the page learns to sign in again rather than reconnect');
    assert.ok(ms < 5000, `closed after ${ms.toFixed(0)} ms`);
    assert.equal(b.readyState, WebSocket.OPEN, 'the other session is untouched');
    b.close();
  });

  test('an open live feed keeps its session alive past the idle limit', async () => {
    const { cookie } = await signIn(hub);
    const socket = await openLive(hub, { cookie, origin: hub.url });
    clock.advance(60 * 60_000);
    assert.equal((await send(hub, 'GET', '/api/v1/agents', { headers: { cookie } })).status, 200);
    const gone = new Promise((resolve) => socket.once('close', resolve));
    socket.close();
    await gone;
    await new Promise((r) => setTimeout(r, 50));
    clock.advance(31 * 60_000);
    assert.equal((await send(hub, 'GET', '/api/v1/agents', { headers: { cookie } })).status, 401, 'idle counts from the socket closing');
  });

  test('W5: security headers on every kind of answer, and never a wildcard CORS header', async () => {
    const answers = [
      await send(hub, 'GET', '/'),
      await send(hub, 'GET', '/healthz'),
      await send(hub, 'GET', '/api/v1/agents', { headers: { origin: 'https://evil.example' } }),
      await send(hub, 'GET', '/api/v1/agents', { headers: { authorization: `Bearer ${ADMIN_TOKEN}`, origin: 'https://evil.example' } }),
      await send(hub, 'GET', '/api/v1/nothing-here'),
      await send(hub, 'POST', '/api/v1/session', { body: { token: 'x' } }),
      await send(hub, 'OPTIONS', '/api/v1/agents', {
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
      }),
    ];
    for (const res of answers) {
      const where = `${res.status} ${JSON.stringify(res.body).slice(0, 60)}`;
      const csp = String(res.headers['content-security-policy']);
      assert.match(csp, /default-src '(self|none)'/, where);
      assert.doesNotMatch(csp, /script-src[^;]*'unsafe-inline'/, where);
      if (csp.includes("'self'")) assert.match(csp, /frame-ancestors 'none'/, where);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', where);
      assert.equal(res.headers['referrer-policy'], 'no-referrer', where);
      assert.equal(res.headers['access-control-allow-origin'], undefined, where);
      assert.equal(res.headers['access-control-allow-credentials'], undefined, where);
    }
  });
});

describe('the session table', () => {
  test('ids are random, only their hashes are kept, and unknown or malformed ids find nothing', () => {
    const t = { now: 0 };
    const sessions = new Sessions(() => t.now, { idleMs: 1000 });
    const a = sessions.create();
    const b = sessions.create();
    assert.notEqual(a.id, b.id);
    assert.notEqual(a.csrf, b.csrf);
    assert.equal(sessions.use(a.id)?.csrf, a.csrf);
    assert.equal(sessions.use(undefined), undefined);
    assert.equal(sessions.use('short'), undefined);
    assert.equal(sessions.use(a.csrf), undefined, 'the CSRF token is not a session id');
  });

  test('at most `max` sessions: the longest idle makes room, and its sockets close', () => {
    const t = { now: 0 };
    const sessions = new Sessions(() => t.now, { idleMs: 10_000, max: 2 });
    const first = sessions.create();
    const closes: number[] = [];
    sessions.attach(first.id, { close: (code) => closes.push(code ?? 0), once: () => undefined });
    t.now = 1;
    const second = sessions.create();
    t.now = 2;
    sessions.create();
    assert.equal(sessions.size, 2);
    assert.equal(sessions.use(first.id), undefined);
    assert.deepEqual(closes, [SESSION_ENDED_CLOSE]);
    assert.ok(sessions.use(second.id));
    sessions.revokeAll();
    assert.equal(sessions.size, 0);
  });

  test('the Secure attribute is set under TLS', () => {
    assert.match(sessionCookie('x'.repeat(43), true), /; Secure$/);
    assert.doesNotMatch(sessionCookie('x'.repeat(43), false), /Secure/);
  });

  test('cookie parsing finds the named cookie among others', () => {
    assert.equal(readCookie('a=1; vigil_session=abc; b=2', 'vigil_session'), 'abc');
    assert.equal(readCookie('vigil_sessionx=abc', 'vigil_session'), undefined);
    assert.equal(readCookie(undefined, 'vigil_session'), undefined);
  });
});
