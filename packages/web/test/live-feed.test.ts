import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LiveMessage } from '../src/api/types.js';
import { BACKOFF_MAX_MS, reconnectDelay } from '../src/live/backoff.js';
import { LiveFeed, SESSION_ENDED, type ConnectionState, type SocketLike } from '../src/live/feed.js';

test('backoff doubles from about half a second, is capped at 30 s, and is jittered by up to half', () => {
  assert.equal(
    reconnectDelay(0, () => 1),
    500,
  );
  assert.equal(
    reconnectDelay(0, () => 0),
    250,
  );
  assert.equal(
    reconnectDelay(3, () => 1),
    4000,
  );
  assert.equal(
    reconnectDelay(10, () => 1),
    BACKOFF_MAX_MS,
  );
  assert.equal(
    reconnectDelay(1000, () => 0),
    BACKOFF_MAX_MS / 2,
    'huge attempt counts do not overflow',
  );
});

/** A fake socket driven by the test, and a fake timer queue, passed in as the feed's dependencies. */
function harness(signedIn = true) {
  const sockets: (SocketLike & { closed: boolean })[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const states: ConnectionState['kind'][] = [];
  const feed = new LiveFeed({
    url: 'ws://hub/api/v1/live',
    open: () => {
      const s = {
        onopen: null,
        onmessage: null,
        onclose: null,
        onerror: null,
        closed: false,
        close: () => (s.closed = true),
      } as SocketLike & {
        closed: boolean;
      };
      sockets.push(s);
      return s;
    },
    stillSignedIn: async () => signedIn,
    setTimer: (fn, ms) => timers.push({ fn, ms }),
    clearTimer: () => undefined,
    now: () => 0,
    random: () => 1,
  });
  feed.onState((s) => states.push(s.kind));
  const last = () => sockets.at(-1) as SocketLike;
  const open = () => last().onopen?.(new Event('open'));
  const drop = (code = 1006) => last().onclose?.({ code } as CloseEvent);
  const send = (data: unknown) => last().onmessage?.({ data: typeof data === 'string' ? data : JSON.stringify(data) } as MessageEvent);
  return { feed, sockets, timers, states, open, drop, send };
}

const settle = () => new Promise((r) => setImmediate(r));

test('messages reach listeners; hello, junk and unknown types do not', () => {
  const h = harness();
  const got: LiveMessage[] = [];
  h.feed.onMessage((m) => got.push(m));
  h.feed.start();
  h.open();
  h.send({ type: 'hello', at: 1 });
  h.send('not json');
  h.send({ type: 'from_a_newer_hub' });
  h.send(null);
  h.send({ type: 'error_resolved', id: 1, agent_id: 'a', resolved_at: 2 });
  h.send({ type: 'error_reopened', agent_id: 'a', error: { id: 1 }, removed_id: null, reopened_at: 3 });
  assert.deepEqual(
    got.map((m) => m.type),
    ['error_resolved', 'error_reopened'],
  );
  assert.deepEqual(h.states, ['connecting', 'live']);
});

test('a frame of several messages reaches listeners one message at a time, in order, skipping unknown ones', () => {
  const h = harness();
  const got: LiveMessage[] = [];
  h.feed.onMessage((m) => got.push(m));
  h.feed.start();
  h.open();
  h.send([
    { type: 'error_resolved', id: 1, agent_id: 'a', resolved_at: 2 },
    { type: 'from_a_newer_hub' },
    null,
    { type: 'error_resolved', id: 2, agent_id: 'a', resolved_at: 3 },
    { type: 'error_resolved', id: 3, agent_id: 'b', resolved_at: 4 },
  ]);
  h.send([]);
  assert.deepEqual(
    got.map((m) => (m as { id: number }).id),
    [1, 2, 3],
  );
});

test('a drop reconnects with growing delays and signals the pages to catch up once back', async () => {
  const h = harness();
  let catchUps = 0;
  h.feed.onReconnect(() => catchUps++);
  h.feed.start();
  h.open();
  assert.equal(catchUps, 0, 'the first connection is not a reconnect');
  h.drop();
  await settle();
  assert.equal(h.feed.state.kind, 'reconnecting');
  assert.deepEqual(
    h.timers.map((t) => t.ms),
    [500],
  );
  h.timers[0]?.fn();
  h.drop();
  await settle();
  assert.deepEqual(
    h.timers.map((t) => t.ms),
    [500, 1000],
    'the second failure waits longer',
  );
  h.timers[1]?.fn();
  h.open();
  assert.equal(catchUps, 1);
  assert.equal(h.feed.state.kind, 'live');
  h.drop();
  await settle();
  assert.equal(h.timers.at(-1)?.ms, 500, 'a successful connection resets the backoff');
});

test('a session that ended stops the feed instead of retrying', async () => {
  const h = harness();
  h.feed.start();
  h.open();
  h.drop(SESSION_ENDED);
  await settle();
  assert.equal(h.feed.state.kind, 'signed-out');
  assert.equal(h.timers.length, 0);

  const refused = harness(false);
  refused.feed.start();
  refused.drop();
  await settle();
  assert.equal(refused.feed.state.kind, 'signed-out', 'a refused handshake is told apart by the session check');
  assert.equal(refused.timers.length, 0);
});

test('stop closes the socket and nothing reconnects afterwards', async () => {
  const h = harness();
  h.feed.start();
  h.open();
  h.feed.stop();
  assert.equal(h.sockets[0]?.closed, true);
  assert.equal(h.feed.state.kind, 'stopped');
  await settle();
  assert.equal(h.timers.length, 0);
});
