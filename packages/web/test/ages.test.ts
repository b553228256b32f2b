import assert from 'node:assert/strict';
import { test } from 'node:test';
import { extraResources, staleSince } from '../src/agent/ages.js';

test('a figure is old when it was reported more than two intervals before the last heartbeat', () => {
  const at = { cpu_percent: 100_000, memory_percent: 70_000, gpu_type: 10_000 };
  assert.equal(staleSince(at, ['cpu_percent'], 100_000, 15), undefined, 'current');
  assert.equal(staleSince(at, ['memory_percent'], 100_000, 15), undefined, 'exactly two intervals behind is not old yet');
  assert.equal(staleSince(at, ['memory_percent'], 100_001, 15), 70_000, 'just past two intervals');
  assert.equal(staleSince(at, ['cpu_percent', 'gpu_type'], 100_000, 15), 10_000, 'the oldest of several');
  assert.equal(staleSince(at, ['never_sent'], 100_000, 15), undefined);
  assert.equal(staleSince(at, ['constructor'], 100_000, 15), undefined, 'own keys only');
  assert.equal(staleSince(at, ['gpu_type'], null, 15), undefined);
});

test('fields the dashboard has no name for are listed by name', () => {
  assert.deepEqual(extraResources({ cpu_percent: 1, npu_tops: 38, gpus: [], apple_family: 'm3', constructor: 2 }), [
    ['apple_family', 'm3'],
    ['constructor', 2],
    ['npu_tops', 38],
  ]);
});
