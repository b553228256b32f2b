import assert from 'node:assert/strict';
import { test } from 'node:test';
import { visibleWindow } from '../src/ui/virtual.js';

const base = { viewportHeight: 400, rowHeight: 40, overscan: 2 };

test('only the rows in view, plus the overscan, are drawn', () => {
  assert.deepEqual(visibleWindow({ ...base, scrollTop: 0, count: 10_000 }), { start: 0, end: 12, offset: 0, height: 400_000 });
  assert.deepEqual(visibleWindow({ ...base, scrollTop: 4000, count: 10_000 }), { start: 98, end: 112, offset: 3920, height: 400_000 });
  // A row cut by the top edge is still drawn.
  assert.equal(visibleWindow({ ...base, scrollTop: 4020, count: 10_000 }).start, 98);
});

test('the window stays inside the list at both ends, and for short or empty lists', () => {
  assert.deepEqual(visibleWindow({ ...base, scrollTop: 10_000_000, count: 10_000 }), {
    start: 9988,
    end: 10_000,
    offset: 399_520,
    height: 400_000,
  });
  assert.deepEqual(visibleWindow({ ...base, scrollTop: -50, count: 3 }), { start: 0, end: 3, offset: 0, height: 120 });
  assert.deepEqual(visibleWindow({ ...base, scrollTop: 0, count: 0 }), { start: 0, end: 0, offset: 0, height: 0 });
});

test('the number of rows drawn does not grow with the list', () => {
  for (const count of [100, 10_000, 1_000_000]) {
    const w = visibleWindow({ ...base, scrollTop: (count * 40) / 2, count });
    assert.ok(w.end - w.start <= 400 / 40 + 1 + 2 * base.overscan, `${count}: ${w.end - w.start} rows`);
  }
});
