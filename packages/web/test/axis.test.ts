import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultRange, xRange, yRange } from '../src/agent/axis.js';

const MIN = 60_000;

test('a percentage axis starts at 0 and shows at least 0–100, above 100 when a process uses several cores', () => {
  assert.deepEqual(yRange('percent', 3), [0, 100]);
  assert.deepEqual(yRange('percent', 97), [0, 100]);
  assert.deepEqual(yRange('percent', 180), [0, 200]);
  assert.deepEqual(yRange('percent', null), [0, 100]);
  assert.deepEqual(yRange('percent', Number.NaN), [0, 100]);
});

test('other amounts start at 0 too, with room above the highest value', () => {
  const [lo, hi] = yRange('amount', 500);
  assert.equal(lo, 0);
  assert.ok(hi > 500 && hi <= 600);
  assert.deepEqual(yRange('amount', 0), [0, 1]);
  assert.deepEqual(yRange('amount', undefined), [0, 1]);
});

test('the x axis spans the window up to now, but not before the agent registered', () => {
  const now = 10_000_000;
  // An old agent: the whole hour.
  assert.deepEqual(xRange(now, { min: now - 3000, max: now - 10 }, 3600, now - 86_400), [now - 3600, now]);
  // Registered 5 minutes ago: the chart starts then, not 55 minutes of nothing earlier.
  assert.deepEqual(xRange(now, { min: now - 290, max: now - 10 }, 3600, now - 300), [now - 300, now]);
  // Samples sent with times before the registration are still shown.
  assert.deepEqual(xRange(now, { min: now - 660, max: now }, 3600, now - 5), [now - 660, now]);
  // Just registered: at least a minute.
  assert.deepEqual(xRange(now, { min: null, max: null }, 3600, now - 2), [now - 60, now]);
  // A sample ahead of the browser's clock moves the end.
  assert.deepEqual(xRange(now, { min: now - 100, max: now + 30 }, 900, null), [now + 30 - 900, now + 30]);
});

test('the page opens on the shortest range that holds a young agent, and on an hour otherwise', () => {
  const now = Date.UTC(2026, 0, 1);
  assert.equal(defaultRange(now - 5 * MIN, now), '15m');
  assert.equal(defaultRange(now - 15 * MIN, now), '15m');
  assert.equal(defaultRange(now - 20 * MIN, now), '1h');
  assert.equal(defaultRange(now - 3 * 24 * 60 * MIN, now), '1h');
  assert.equal(defaultRange(undefined, now), '1h');
  // A registration time ahead of the browser's clock is a young agent.
  assert.equal(defaultRange(now + MIN, now), '15m');
});
