import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredError } from '../src/api/types.js';
import { groupByFingerprint } from '../src/errors/group.js';

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
