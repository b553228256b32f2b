import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredError } from '../src/api/types.js';
import { applyReopen, groupByFingerprint, resolvedIds } from '../src/errors/group.js';

function err(id: number, agent: string, fingerprint: string, last: number, over: Partial<StoredError> = {}): StoredError {
  return {
    id,
    agent_id: agent,
    error_type: 'TimeoutError',
    message: `message ${id}`,
    stack_trace: null,
    metadata: {},
    fingerprint,
    occurrences: 2,
    timestamp: last,
    first_seen_at: last - 100,
    last_seen_at: last,
    resolved: false,
    resolved_at: null,
    ...over,
  };
}

test("the same failure on several agents is one row; its message is the latest one's", () => {
  const groups = groupByFingerprint([
    err(1, 'a', 'f1', 1000),
    err(2, 'b', 'f1', 3000),
    err(3, 'a', 'f2', 2000, { resolved: true }),
    err(4, 'a', 'f1', 500, { resolved: true, occurrences: 5 }),
  ]);
  assert.deepEqual(
    groups.map((g) => g.fingerprint),
    ['f1', 'f2'],
    'most recent first',
  );
  const f1 = groups[0];
  assert.deepEqual(f1?.agents, ['a', 'b']);
  assert.equal(f1?.occurrences, 9);
  assert.equal(f1?.message, 'message 2');
  assert.equal(f1?.latest.id, 2);
  assert.deepEqual(f1?.ids, [1, 2, 4]);
  assert.deepEqual(f1?.unresolved, [1, 2], 'Resolve touches only the open groups');
  assert.equal(f1?.first_seen_at, 400);
  assert.deepEqual(groups[1]?.unresolved, []);
  assert.deepEqual(groupByFingerprint([]), []);
});

test('Reopen targets only the resolved groups behind a row', () => {
  const [g] = groupByFingerprint([
    err(1, 'a', 'f1', 1000),
    err(2, 'b', 'f1', 900, { resolved: true }),
    err(3, 'a', 'f1', 500, { resolved: true }),
  ]);
  assert.ok(g);
  assert.deepEqual(resolvedIds(g), [2, 3]);
});

test('a reopen replaces the reopened row, drops a merged one, and keeps it out of lists that show no open errors', () => {
  const resolvedA = err(5, 'a', 'f1', 1000, { resolved: true, resolved_at: 1100, occurrences: 3 });
  const openA = err(8, 'a', 'f1', 2000, { occurrences: 2 });
  const other = err(6, 'b', 'f2', 1500);
  const reopened = { ...resolvedA, resolved: false, resolved_at: null };
  assert.deepEqual(
    applyReopen([other, resolvedA], { error: reopened, removed_id: null }).map((e) => [e.id, e.resolved]),
    [
      [6, false],
      [5, false],
    ],
    'replaced in place',
  );

  const merged = { ...openA, occurrences: 5, first_seen_at: resolvedA.first_seen_at };
  const all = applyReopen([openA, other, resolvedA], { error: merged, removed_id: 5 });
  assert.deepEqual(
    all.map((e) => [e.id, e.occurrences]),
    [
      [8, 5],
      [6, 2],
    ],
  );
  assert.deepEqual(applyReopen(all, { error: merged, removed_id: 5 }), all, 'the answer and its live message apply once');

  const onlyResolved = (e: { resolved: boolean }) => e.resolved;
  assert.deepEqual(applyReopen([resolvedA], { error: reopened, removed_id: null }, onlyResolved), [], 'the resolved view drops it');
  assert.deepEqual(
    applyReopen([other], { error: merged, removed_id: 5 }).map((e) => e.id),
    [8, 6],
    'an open view that lacked the group gains it',
  );
});
