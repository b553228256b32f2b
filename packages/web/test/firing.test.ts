import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FiringAlerts } from '../src/alerts/firing.js';
import type { Alert, LiveMessage } from '../src/api/types.js';

const alert = (id: number, state: Alert['state'], agent = 'a-1') => ({ id, state, agent_id: agent }) as Alert;

/** A feed that delivers what the test sends, and a fetch the test answers when it likes. */
function harness() {
  const listeners: ((m: LiveMessage) => void)[] = [];
  const reconnects: (() => void)[] = [];
  let answer: (alerts: Alert[]) => void = () => undefined;
  let fetches = 0;
  const api = {
    get: <T>() => {
      fetches++;
      return new Promise<T>((resolve) => (answer = (alerts) => resolve({ alerts } as T)));
    },
  };
  const feed = {
    onMessage: (fn: (m: LiveMessage) => void) => (listeners.push(fn), () => undefined),
    onReconnect: (fn: () => void) => (reconnects.push(fn), () => undefined),
  };
  const firing = new FiringAlerts(api, feed);
  const send = (a: Alert) =>
    listeners.forEach((fn) => fn({ type: 'alert', change: a.state === 'firing' ? 'firing' : 'resolved', alert: a }));
  return {
    firing,
    send,
    answer: (alerts: Alert[]) => answer(alerts),
    reconnect: () => reconnects.forEach((fn) => fn()),
    fetches: () => fetches,
  };
}

const tick = () => new Promise((r) => setImmediate(r));

test('the count starts from the fetch and follows live changes', async () => {
  const h = harness();
  h.firing.start();
  h.answer([alert(1, 'firing'), alert(2, 'firing', 'b-2')]);
  await tick();
  assert.equal(h.firing.count, 2);
  assert.equal(h.firing.forAgent('b-2'), 1);
  h.send(alert(3, 'firing'));
  h.send(alert(1, 'resolved'));
  assert.equal(h.firing.count, 2);
  assert.equal(h.firing.forAgent('a-1'), 1);
});

test('a change that arrives while the fetch is out is not undone by its older answer', async () => {
  const h = harness();
  h.firing.start();
  h.send(alert(1, 'resolved')); // resolved after the hub read its answer, before the answer came
  h.send(alert(5, 'firing', 'c-5'));
  h.answer([alert(1, 'firing')]);
  await tick();
  assert.equal(h.firing.count, 1);
  assert.equal(h.firing.forAgent('a-1'), 0, 'alert 1 stays resolved');
  assert.equal(h.firing.forAgent('c-5'), 1, 'alert 5 fires');
});

test('a reconnect fetches again (what changed while the socket was down was not sent)', async () => {
  const h = harness();
  h.firing.start();
  h.answer([alert(1, 'firing')]);
  await tick();
  h.reconnect();
  assert.equal(h.fetches(), 2);
  h.answer([]);
  await tick();
  assert.equal(h.firing.count, 0);
});
