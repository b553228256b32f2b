import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALERT_METRICS } from '@vigil/protocol';
import { EMPTY_DRAFT, METRIC_NAMES, ruleBody, scopeMatches, type RuleDraft } from '../src/alerts/rule-form.js';

const draft = (patch: Partial<RuleDraft>): RuleDraft => ({ ...EMPTY_DRAFT, name: 'hot', threshold: '80', ...patch });
const problem = (patch: Partial<RuleDraft>) => {
  const r = ruleBody(draft(patch), false);
  return r.ok ? null : r.message;
};

test('the form offers every metric the API accepts, in its order', () => {
  assert.deepEqual(METRIC_NAMES, [...ALERT_METRICS]);
});

test('a good draft becomes the API body: numbers parsed, empty scope fields left out', () => {
  const r = ruleBody(draft({ for_seconds: '30', pool_name: 'gpu', severity: 'critical' }), false);
  assert.deepEqual(r, {
    ok: true,
    body: {
      name: 'hot',
      metric: 'cpu_percent',
      op: '>',
      threshold: 80,
      for_seconds: 30,
      severity: 'critical',
      scope: { pool_name: 'gpu' },
      enabled: true,
    },
  });
  const edit = ruleBody(draft({}), true);
  assert.equal(edit.ok && edit.body.hysteresis, null, 'an edit with no hysteresis goes back to the default');
});

test('each field is checked with the bounds the API sets, and the message names the field', () => {
  assert.match(problem({ name: ' ' }) ?? '', /body\.name/);
  assert.match(problem({ name: 'x'.repeat(101) }) ?? '', /body\.name/);
  assert.match(problem({ threshold: '' }) ?? '', /body\.threshold/);
  assert.match(problem({ threshold: 'abc' }) ?? '', /body\.threshold/);
  assert.match(problem({ threshold: '2e15' }) ?? '', /body\.threshold/);
  assert.match(problem({ for_seconds: '-1' }) ?? '', /body\.for_seconds must be >= 0/);
  assert.match(problem({ for_seconds: '1.5' }) ?? '', /body\.for_seconds/);
  assert.match(problem({ for_seconds: String(7 * 86_400 + 1) }) ?? '', /body\.for_seconds/);
  assert.match(problem({ hysteresis: '-2' }) ?? '', /body\.hysteresis/);
  assert.match(problem({ pool_name: 'has space' }) ?? '', /body\.scope\.pool_name/);
  assert.equal(problem({ threshold: '-3.5', hysteresis: '0' }), null);
});

test('the scope matches agents as the engine does: every given field must match', () => {
  const agents = [
    { agent_id: 'a', pool_name: 'gpu', agent_type: 'trainer' },
    { agent_id: 'b', pool_name: 'gpu', agent_type: 'server' },
    { agent_id: 'c', pool_name: 'cpu', agent_type: 'trainer' },
  ];
  const ids = (scope: object) => scopeMatches(agents, scope).map((a) => a.agent_id);
  assert.deepEqual(ids({}), ['a', 'b', 'c']);
  assert.deepEqual(ids({ pool_name: 'gpu' }), ['a', 'b']);
  assert.deepEqual(ids({ pool_name: 'gpu', agent_type: 'trainer' }), ['a']);
  assert.deepEqual(ids({ agent_id: 'c', pool_name: 'gpu' }), []);
});

test('a spend rule carries its window and grouping; other metrics carry none, and an edit clears it', () => {
  const spend = ruleBody(
    { ...EMPTY_DRAFT, name: 'pool spend', metric: 'cost_usd', threshold: '20', window_seconds: '3600', group_by: 'pool' },
    false,
  );
  assert.ok(spend.ok);
  assert.equal(spend.body.window_seconds, 3600);
  assert.equal(spend.body.group_by, 'pool');
  const bad = ruleBody({ ...EMPTY_DRAFT, name: 'x', metric: 'tokens.output', threshold: '1', window_seconds: '0' }, false);
  assert.deepEqual(bad, { ok: false, message: 'body.window_seconds must be 1 to 604800' });
  const cpu = ruleBody({ ...EMPTY_DRAFT, name: 'cpu', threshold: '80' }, false);
  assert.ok(cpu.ok);
  assert.equal('window_seconds' in cpu.body, false);
  const edited = ruleBody({ ...EMPTY_DRAFT, name: 'cpu', threshold: '80' }, true);
  assert.ok(edited.ok);
  assert.equal(edited.body.window_seconds, null);
});
