import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { ManualClock } from '../src/clock.js';
import { LIVE_TOO_MANY_CLOSE, LIVE_TOO_SLOW_CLOSE } from '../src/live/fanout.js';
import { ADMIN_TOKEN, startTestHub, type TestHub } from './support/hub.js';

/**
 * The live feed `/api/v1/live` over a real WebSocket: what each commit announces, and the
 * handshake and size rules of docs/reliability.md W1 and W2.
 */

interface Opened {
  socket: WebSocket;
  messages: Record<string, unknown>[];
  /** Every frame as received (the messages above are these, unpacked). */
  frames: Buffer[];
  /** Resolves when the socket closes, with the hub's code and reason. */
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves with the first message (after `hello`) that matches. */
  next(match: (m: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

function open(hub: TestHub, headers: Record<string, string> = { authorization: `Bearer ${ADMIN_TOKEN}` }): Promise<Opened> {
  const url = hub.url.replace(/^http/, 'ws') + '/api/v1/live';
  const socket = new WebSocket(url, { headers });
  const messages: Record<string, unknown>[] = [];
  const frames: Buffer[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  const waiters: { match: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void }[] = [];
  socket.on('message', (data) => {
    frames.push(data as Buffer);
    // A frame is one tick's messages as an array (`hello` is a single object).
    const parsed = JSON.parse(String(data)) as Record<string, unknown> | Record<string, unknown>[];
    for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
      messages.push(m);
      for (const w of [...waiters]) {
        if (w.match(m)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    }
  });
  const next: Opened['next'] = (match, timeoutMs = 3000) => {
    const seen = messages.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no matching message in ${timeoutMs} ms; got ${JSON.stringify(messages)}`)),
        timeoutMs,
      );
      waiters.push({ match, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  };
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve({ socket, messages, frames, closed, next }));
    socket.once('unexpected-response', (_req, res) =>
      reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })),
    );
    socket.once('error', reject);
  });
}

describe('live feed over WebSocket', () => {
  let hub: TestHub;
  const clock = new ManualClock(Date.now());
  before(async () => {
    hub = await startTestHub('sqlite', { clock, flags: ['--host-metrics-interval', '0'] });
  });
  after(() => hub.close());

  test('W1: no credentials get 401 before the upgrade, a foreign Origin 403, the right ones a socket', async () => {
    await assert.rejects(open(hub, {}), { status: 401 });
    await assert.rejects(open(hub, { authorization: 'Bearer wrong-token-0123456789' }), { status: 401 });
    await assert.rejects(open(hub, { authorization: `Bearer ${ADMIN_TOKEN}`, origin: 'https://evil.example' }), { status: 403 });
    const same = await open(hub, { authorization: `Bearer ${ADMIN_TOKEN}`, origin: hub.url });
    assert.equal((await same.next((m) => m.type === 'hello')).type, 'hello');
    same.socket.close();
  });

  test('agent keys may not read the fleet-wide feed', async () => {
    await hub.call('POST', '/api/v1/agents', { agent_id: 'keyed', name: 'k', agent_type: 't' });
    const { body } = await hub.call('POST', '/api/v1/keys', { agent_id: 'keyed' });
    await assert.rejects(open(hub, { authorization: `Bearer ${body.key}` }), { status: 403 });
  });

  test('each commit is announced once: registration, heartbeat, event, error, resolve, stop, missed heartbeats', async () => {
    const live = await open(hub);
    await hub.call('POST', '/api/v1/agents', { agent_id: 'live-1', name: 'l', agent_type: 't', heartbeat_interval_s: 10 });
    assert.equal((await live.next((m) => m.type === 'agent_status' && m.agent_id === 'live-1')).reason, 'registered');

    const hb = { status: 'busy', resources: { cpu_percent: 42.5, gpu_type: 'none' }, metrics: { memory_mb: 256 }, event_id: 'hb-live-1' };
    assert.equal((await hub.call('POST', '/api/v1/agents/live-1/heartbeat', hb)).status, 200);
    const update = await live.next((m) => m.type === 'metrics_update' && m.agent_id === 'live-1');
    assert.equal(update.status, 'busy');
    assert.deepEqual(update.resources, hb.resources);
    assert.deepEqual(update.metrics, hb.metrics);
    // A retried heartbeat is stored once and announced once.
    assert.equal((await hub.call('POST', '/api/v1/agents/live-1/heartbeat', hb)).status, 200);

    await hub.call('POST', '/api/v1/agents/live-1/events', { event_type: 'info', message: 'hello <b>world</b>' });
    const ev = await live.next((m) => m.type === 'event' && m.agent_id === 'live-1');
    assert.equal(ev.message, 'hello <b>world</b>');

    const err = await hub.call('POST', '/api/v1/agents/live-1/errors', { error_type: 'Boom', message: 'it broke' });
    const announced = await live.next((m) => m.type === 'error' && m.agent_id === 'live-1');
    assert.equal(announced.id, err.body.id);
    await hub.call('POST', `/api/v1/errors/${err.body.id}/resolve`);
    assert.equal((await live.next((m) => m.type === 'error_resolved')).id, err.body.id);

    clock.advance(31_000);
    await hub.liveness.sweep();
    const offline = await live.next((m) => m.type === 'agent_status' && m.reason === 'missed_heartbeats');
    assert.deepEqual([offline.agent_id, offline.status], ['live-1', 'offline']);

    await hub.call('POST', '/api/v1/agents/live-1/heartbeat', { status: 'online' });
    assert.equal((await live.next((m) => m.type === 'agent_status' && m.reason === 'heartbeat')).status, 'online');
    await hub.call('POST', '/api/v1/agents/live-1/events', { event_type: 'stopped' });
    assert.equal((await live.next((m) => m.type === 'agent_status' && m.reason === 'stopped')).status, 'offline');

    const updates = live.messages.filter((m) => m.type === 'metrics_update' && m.agent_id === 'live-1');
    assert.equal(updates.length, 2, 'the retried heartbeat was not announced again');
    live.socket.close();
  });

  test('W2: a frame above 64 KiB closes the socket with 1009', async () => {
    const live = await open(hub);
    const closed = new Promise<number>((resolve) => live.socket.on('close', (code) => resolve(code)));
    live.socket.send('x'.repeat(64 * 1024 + 1));
    assert.equal(await closed, 1009);
  });

  test('stopping the hub closes open sockets with 1001', async () => {
    const other = await startTestHub('sqlite', { flags: ['--host-metrics-interval', '0'] });
    const live = await open(other);
    const closed = new Promise<number>((resolve) => live.socket.on('close', (code) => resolve(code)));
    await other.close();
    assert.equal(await closed, 1001);
  });
});

/** Live-feed limits: socket caps, coalescing, and what a socket that stops reading may cost (docs/reliability.md W2). */
describe('live feed limits', () => {
  const MAX_BUFFERED = 65_536;
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub('sqlite', {
      flags: [
        ...['--host-metrics-interval', '0', '--live-max-sockets', '3', '--live-max-sockets-per-client', '2'],
        ...['--live-max-buffered', String(MAX_BUFFERED)],
      ],
    });
    await hub.call('POST', '/api/v1/agents', { agent_id: 'burst', name: 'b', agent_type: 't' });
  });
  after(() => hub.close());

  const signIn = async (): Promise<Record<string, string>> => {
    const res = await hub.call('POST', '/api/v1/session', { token: ADMIN_TOKEN }, null);
    assert.equal(res.status, 201);
    return { cookie: String(res.headers['set-cookie']).split(';')[0] as string };
  };

  test('sockets over the per-client cap, then over the hub cap, are closed with 4029 and a reason', async () => {
    const first = await open(hub);
    const second = await open(hub);
    await first.next((m) => m.type === 'hello');
    await second.next((m) => m.type === 'hello');
    const third = await open(hub);
    assert.deepEqual(await third.closed, {
      code: LIVE_TOO_MANY_CLOSE,
      reason: 'too many live sockets for this session or token (limit 2)',
    });
    assert.equal(third.messages.length, 0, 'a refused socket gets no hello');

    // A sign-in session is a client of its own; the hub's cap counts everyone.
    const mySession = await open(hub, await signIn());
    await mySession.next((m) => m.type === 'hello');
    const otherSession = await open(hub, await signIn());
    assert.deepEqual(await otherSession.closed, { code: LIVE_TOO_MANY_CLOSE, reason: 'too many live sockets on this hub (limit 3)' });

    // A closed socket frees its place.
    first.socket.close();
    await first.closed;
    await waitFor(() => hub.live.stats().sockets === 2);
    const again = await open(hub);
    await again.next((m) => m.type === 'hello');
    assert.equal(hub.live.stats().refused, 2);
    for (const s of [second, mySession, again]) s.socket.close();
    await Promise.all([second.closed, mySession.closed, again.closed]);
    await waitFor(() => hub.live.stats().sockets === 0);
  });

  test('messages committed together arrive in fewer frames, every one of them, in commit order', async () => {
    const live = await open(hub);
    await live.next((m) => m.type === 'hello');
    const framesBefore = live.frames.length;
    const batch = { events: Array.from({ length: 200 }, (_, i) => ({ agent_id: 'burst', event_type: 'info', message: `b-${i}` })) };
    const singles = Array.from({ length: 40 }, (_, i) =>
      hub.call('POST', '/api/v1/agents/burst/events', { event_type: 'info', message: `s-${i}` }),
    );
    const [batchRes, ...singleRes] = await Promise.all([hub.call('POST', '/api/v1/ingest', batch), ...singles]);
    assert.equal(batchRes.status, 200, JSON.stringify(batchRes.body));
    for (const r of singleRes) assert.equal(r.status, 201, JSON.stringify(r.body));
    await live.next((m) => m.type === 'event' && m.message === 'b-199');
    await waitFor(() => live.messages.filter((m) => m.type === 'event').length === 240);

    const events = live.messages.filter((m) => m.type === 'event');
    const ids = events.map((m) => m.id as number);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
      'in commit order',
    );
    assert.equal(new Set(ids).size, 240, 'each once');
    assert.deepEqual(
      events.filter((m) => String(m.message).startsWith('b-')).map((m) => m.message),
      batch.events.map((e) => e.message),
      'a batch in its own order',
    );
    assert.deepEqual(
      new Set(singleRes.map((r) => r.body.id)),
      new Set(events.filter((m) => String(m.message).startsWith('s-')).map((m) => m.id)),
    );
    const frames = live.frames.length - framesBefore;
    assert.ok(frames < 41, `240 messages from at most 41 commits came in ${frames} frames`);
    live.socket.close();
    await live.closed;
  });

  test('a socket that stops reading is closed with 4008 at the bound, and the hub holds no more for it', async () => {
    const reader = await open(hub);
    const stalled = await open(hub);
    await Promise.all([reader.next((m) => m.type === 'hello'), stalled.next((m) => m.type === 'hello')]);
    stalled.socket.pause();

    const big = 'x'.repeat(8000);
    let posted = 0;
    let peak = 0;
    // Kernel buffers take a few MiB first; 1,600 events of 8 KB (13 MB) are far more than enough.
    for (let round = 0; round < 40 && hub.live.stats().dropped === 0; round++) {
      const events = Array.from({ length: 40 }, (_, i) => ({ agent_id: 'burst', event_type: 'info', message: `${round}-${i} ${big}` }));
      assert.equal((await hub.call('POST', '/api/v1/ingest', { events })).status, 200);
      posted += events.length;
      await new Promise((r) => setTimeout(r, 20));
      peak = Math.max(peak, hub.live.stats().maxBuffered);
    }
    const stats = hub.live.stats();
    assert.equal(stats.dropped, 1, `the stalled socket was dropped after ${posted} events`);
    assert.equal(stats.sockets, 1, 'the reading socket stays');
    // One frame is at most the bound plus one message; it may go out while just under the bound.
    assert.ok(peak <= 2 * MAX_BUFFERED + 9000, `at most ${2 * MAX_BUFFERED + 9000} bytes waited for one socket, saw ${peak}`);

    // Later messages are not queued for it: the hub's backlog stays what it was when it was dropped.
    const events = Array.from({ length: 40 }, (_, i) => ({ agent_id: 'burst', event_type: 'info', message: `after-${i} ${big}` }));
    assert.equal((await hub.call('POST', '/api/v1/ingest', { events })).status, 200);
    posted += events.length;
    await reader.next((m) => m.type === 'event' && String(m.message).startsWith('after-39 '), 10_000);
    assert.ok(hub.live.stats().maxBuffered <= 2 * MAX_BUFFERED + 9000);
    assert.equal(
      reader.messages.filter((m) => m.type === 'event' && String(m.message).endsWith(big)).length,
      posted,
      'the socket that reads got every message',
    );

    // Reading again, the stalled client gets what was queued before the drop, then the close code: it reconnects and refetches.
    stalled.socket.resume();
    const { code, reason } = await stalled.closed;
    assert.equal(code, LIVE_TOO_SLOW_CLOSE);
    assert.match(reason, /fell behind/);
    reader.socket.close();
    await reader.closed;
  });
});

async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
