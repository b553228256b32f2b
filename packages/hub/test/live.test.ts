import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { ManualClock } from '../src/clock.js';
import { ADMIN_TOKEN, startTestHub, type TestHub } from './support/hub.js';

/**
 * The live feed `/api/v1/live` over a real WebSocket: what each commit announces, and the
 * handshake and size rules of RELIABILITY.md W1 and W2.
 */

interface Opened {
  socket: WebSocket;
  messages: Record<string, unknown>[];
  /** Resolves with the first message (after `hello`) that matches. */
  next(match: (m: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

function open(hub: TestHub, headers: Record<string, string> = { authorization: `Bearer ${ADMIN_TOKEN}` }): Promise<Opened> {
  const url = hub.url.replace(/^http/, 'ws') + '/api/v1/live';
  const socket = new WebSocket(url, { headers });
  const messages: Record<string, unknown>[] = [];
  const waiters: { match: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void }[] = [];
  socket.on('message', (data) => {
    const m = JSON.parse(String(data)) as Record<string, unknown>;
    messages.push(m);
    for (const w of [...waiters]) {
      if (w.match(m)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
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
    socket.once('open', () => resolve({ socket, messages, next }));
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
