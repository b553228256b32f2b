import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyToFiring, filterAlerts, mergeAlert, NO_FILTERS, sortAlerts } from '../src/alerts/alert-list.js';
import type { Alert } from '../src/api/types.js';

const alert = (id: number, patch: Partial<Alert> = {}): Alert => ({
  id,
  rule_id: 1,
  rule_name: 'high_cpu',
  agent_id: 'a-1',
  state: 'firing',
  severity: 'warning',
  metric: 'cpu_percent',
  op: '>',
  threshold: 80,
  pending_since: 1000,
  started_at: 2000,
  resolved_at: null,
  resolve_reason: null,
  value: 90,
  peak_value: 95,
  last_value: 90,
  acknowledged_at: null,
  notified_at: null,
  message: '',
  ...patch,
});

test('a live change replaces the alert of that id, a new one is added, a cancelled pending one goes', () => {
  const list = [alert(1, { state: 'pending', started_at: null }), alert(2)];
  const fired = mergeAlert(list, 'firing', alert(1));
  assert.deepEqual(
    fired.map((a) => [a.id, a.state]),
    [
      [1, 'firing'],
      [2, 'firing'],
    ],
  );
  assert.equal(mergeAlert(fired, 'pending', alert(3, { state: 'pending' })).length, 3);
  assert.deepEqual(
    mergeAlert(list, 'cancelled', alert(1, { state: 'resolved' })).map((a) => a.id),
    [2],
  );
});

test('an older copy (a refetch racing a frame) never undoes a newer one', () => {
  const resolved = [alert(1, { state: 'resolved', resolved_at: 3000, resolve_reason: 'recovered' })];
  assert.equal(mergeAlert(resolved, 'firing', alert(1))[0]?.state, 'resolved');
  const acked = [alert(1, { acknowledged_at: 2500 })];
  assert.equal(mergeAlert(acked, 'firing', alert(1))[0]?.acknowledged_at, 2500);
  assert.equal(mergeAlert(acked, 'resolved', alert(1, { state: 'resolved' }))[0]?.state, 'resolved');
});

test('firing first (critical before warning, oldest first), then pending, then resolved, latest first', () => {
  const list = [
    alert(1, { state: 'resolved', resolved_at: 5000 }),
    alert(2, { state: 'pending', started_at: null }),
    alert(3, { started_at: 3000 }),
    alert(4, { severity: 'critical', started_at: 4000 }),
    alert(5, { started_at: 2500 }),
    alert(6, { state: 'resolved', resolved_at: 6000 }),
  ];
  assert.deepEqual(
    sortAlerts(list).map((a) => a.id),
    [4, 5, 3, 2, 6, 1],
  );
});

test('filters by state, severity, rule and agent substrings, and pool', () => {
  const list = [
    alert(1, { agent_id: 'gpu-box-1', rule_name: 'high_cpu' }),
    alert(2, { agent_id: 'cpu-box', rule_name: 'agent_offline', severity: 'critical' }),
    alert(3, { state: 'pending', agent_id: 'gpu-box-2' }),
    alert(4, { state: 'resolved', agent_id: 'gpu-box-1' }),
  ];
  const ids = (f: Partial<typeof NO_FILTERS>, poolOf?: (id: string) => string | undefined) =>
    filterAlerts(list, { ...NO_FILTERS, ...f }, poolOf).map((a) => a.id);
  assert.deepEqual(ids({}), [1, 2, 3, 4]);
  assert.deepEqual(ids({ state: 'open' }), [1, 2, 3]);
  assert.deepEqual(ids({ state: 'resolved' }), [4]);
  assert.deepEqual(ids({ state: 'pending' }), [3]);
  assert.deepEqual(ids({ severity: 'critical' }), [2]);
  assert.deepEqual(ids({ rule: 'OFFLINE ' }), [2]);
  assert.deepEqual(ids({ agent: 'gpu-box-1' }), [1, 4]);
  assert.deepEqual(
    ids({ pool: 'gpu' }, (id) => (id.startsWith('gpu') ? 'gpu' : 'cpu')),
    [1, 3, 4],
  );
});

test('the firing set follows live changes: fired in, resolved, cancelled or pending out', () => {
  let firing = applyToFiring(new Map(), alert(1));
  firing = applyToFiring(firing, alert(2));
  assert.deepEqual([...firing.keys()], [1, 2]);
  firing = applyToFiring(firing, alert(1, { state: 'resolved' }));
  assert.deepEqual([...firing.keys()], [2]);
  firing = applyToFiring(firing, alert(2, { acknowledged_at: 10 }));
  assert.equal(firing.get(2)?.acknowledged_at, 10, 'an acknowledged alert still fires');
  assert.equal(applyToFiring(firing, alert(3, { state: 'pending' })).size, 1);
});
