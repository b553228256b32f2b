import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { request } from 'undici';
import { ManualClock } from '../src/clock.js';
import { alerts, register, settle, startReceiver } from './support/alert-helpers.js';
import { ADMIN_TOKEN, startTestHub, type TestHub } from './support/hub.js';
import { DIALECTS, postgresUnavailable } from './support/stores.js';

/**
 * Issue 12, cost and token alerts: rules on LLM spend over a sliding window, per agent or per pool,
 * summed from the stored calls (`llm_traces.received_at`), so the window is exact to the
 * millisecond and a restart neither resolves nor re-fires what is firing.
 */

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const FLAGS = ['--host-metrics-interval', '0', '--webhook-allow-private', 'true', '--webhook-backoff-ms', '20', '--alert-repeat', '0'];

let calls = 0;
async function llmCall(hub: TestHub, agentId: string, fields: { output_tokens?: number; input_tokens?: number; cost_usd?: number }) {
  const r = await hub.call('POST', `/api/v1/agents/${agentId}/traces`, {
    model: 'claude-sonnet-4',
    event_id: `call-${++calls}`,
    ...fields,
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
}

async function rule(hub: TestHub, body: Record<string, unknown>): Promise<any> {
  const r = await hub.call('POST', '/api/v1/alert-rules', { severity: 'critical', ...body });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.rule;
}

async function evaluate(hub: TestHub): Promise<void> {
  await hub.alerts.tick();
  await settle(hub);
}

/** Claude Code `api_request` events over OTLP/HTTP JSON, for agent `agentId` in pool `pool` (docs/otlp.md). */
async function claudeCodeCalls(hub: TestHub, agentId: string, pool: string, costs: number[]): Promise<void> {
  const str = (key: string, value: string) => ({ key, value: { stringValue: value } });
  const at = BigInt(hub.clock.now()) * 1_000_000n;
  const records = costs.map((cost, i) => ({
    timeUnixNano: String(at),
    body: { stringValue: 'claude_code.api_request' },
    attributes: [
      str('event.name', 'api_request'),
      str('event.timestamp', new Date(hub.clock.now()).toISOString()),
      str('session.id', `session-${i}`),
      str('model', 'claude-sonnet-4-5'),
      { key: 'cost_usd', value: { doubleValue: cost } },
      { key: 'output_tokens', value: { intValue: 1000 } },
    ],
  }));
  const resource = [str('service.name', 'claude-code'), str('vigil.agent_id', agentId), str('vigil.pool', pool)];
  const body = {
    resourceLogs: [{ resource: { attributes: resource }, scopeLogs: [{ scope: { name: 'claude_code' }, logRecords: records }] }],
  };
  const res = await request(`${hub.url}/v1/logs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.statusCode, 200, await res.body.text());
  await res.body.dump();
}

const open = async (hub: TestHub, name: string) =>
  (await alerts(hub)).filter((a) => a.rule_name === name).map((a) => [a.agent_id, a.state, a.value, a.last_value]);

for (const dialect of DIALECTS) {
  describe(`cost and token alerts on ${dialect}`, async () => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;

    test('a rule without a window on a spend metric, or with one on another metric, is refused', { skip }, async () => {
      const hub = await startTestHub(dialect, { clock: new ManualClock(T0), flags: FLAGS });
      try {
        const noWindow = await hub.call('POST', '/api/v1/alert-rules', { name: 'spend', metric: 'cost_usd', op: '>', threshold: 20 });
        assert.equal(noWindow.status, 400);
        assert.equal(noWindow.body.error.code, 'VIGIL_VALIDATION');
        assert.match(noWindow.body.error.message, /window_seconds is required/);
        const stray = await hub.call('POST', '/api/v1/alert-rules', {
          name: 'cpu',
          metric: 'cpu_percent',
          op: '>',
          threshold: 20,
          window_seconds: 60,
        });
        assert.equal(stray.status, 400);
        assert.match(stray.body.error.message, /window_seconds applies only/);
        const badGroup = await hub.call('POST', '/api/v1/alert-rules', {
          name: 'spend',
          metric: 'cost_usd',
          op: '>',
          threshold: 20,
          window_seconds: 60,
          group_by: 'model',
        });
        assert.equal(badGroup.status, 400);
        assert.equal(badGroup.body.error.code, 'VIGIL_VALIDATION');

        const created = await rule(hub, { name: 'spend', metric: 'cost_usd', op: '>', threshold: 20, window_seconds: 3600 });
        assert.equal(created.window_seconds, 3600);
        assert.equal(created.group_by, 'agent', 'per agent unless told otherwise');
        // Moving the rule to a metric without a window needs the window cleared in the same patch.
        const moved = await hub.call('PATCH', `/api/v1/alert-rules/${created.id}`, { metric: 'cpu_percent' });
        assert.equal(moved.status, 400);
        assert.equal(moved.body.error.code, 'VIGIL_VALIDATION');
        const cleared = await hub.call('PATCH', `/api/v1/alert-rules/${created.id}`, { metric: 'cpu_percent', window_seconds: null });
        assert.equal(cleared.status, 200, JSON.stringify(cleared.body));
        assert.deepEqual([cleared.body.rule.window_seconds, cleared.body.rule.group_by], [null, null]);
      } finally {
        await hub.close();
      }
    });

    test(
      'per agent: output tokens over 10 minutes, a call just inside the window counts and one just outside does not',
      { skip },
      async () => {
        const clock = new ManualClock(T0);
        const hub = await startTestHub(dialect, { clock, flags: FLAGS });
        try {
          await rule(hub, { name: 'token-burn', metric: 'tokens.output', op: '>', threshold: 2_000_000, window_seconds: 600 });
          await register(hub, 'burner');
          await register(hub, 'steady');
          await llmCall(hub, 'burner', { output_tokens: 1_500_000 });
          await llmCall(hub, 'steady', { output_tokens: 1_500_000 });
          clock.advance(1_000);
          await llmCall(hub, 'burner', { output_tokens: 600_000 });
          await llmCall(hub, 'steady', { output_tokens: 400_000 });
          await evaluate(hub);
          // Per agent, not summed across the fleet: steady's 1.9 M is under the threshold.
          assert.deepEqual(await open(hub, 'token-burn'), [['burner', 'firing', 2_100_000, 2_100_000]]);

          // The first call was received at T0: at T0 + 600 s - 1 ms it is still in the last 600 s.
          clock.set(T0 + 599_999);
          await evaluate(hub);
          assert.deepEqual(await open(hub, 'token-burn'), [['burner', 'firing', 2_100_000, 2_100_000]]);

          // At T0 + 600 s it has left the window: 0.6 M remains, past the hysteresis margin, so it resolves.
          clock.set(T0 + 600_000);
          await evaluate(hub);
          const [ended] = await alerts(hub, '?agent_id=burner');
          assert.deepEqual(
            [ended.state, ended.resolve_reason, ended.last_value, ended.peak_value],
            ['resolved', 'recovered', 600_000, 2_100_000],
          );
        } finally {
          await hub.close();
        }
      },
    );

    test(
      'per pool: one alert per pool when its agents together spend more than $20 in the hour, with the figure in the webhook',
      { skip },
      async () => {
        const receiver = await startReceiver();
        const clock = new ManualClock(T0);
        const hub = await startTestHub(dialect, { clock, flags: FLAGS });
        try {
          assert.equal((await hub.call('POST', '/api/v1/webhooks', { url: receiver.url })).status, 201);
          const spend = await rule(hub, {
            name: 'pool-spend',
            metric: 'cost_usd',
            op: '>',
            threshold: 20,
            window_seconds: 3600,
            group_by: 'pool',
          });
          // A silence names a pool's alert by its key, as it names an agent.
          const silence = await hub.call('POST', '/api/v1/silences', { agent_id: 'pool:research', until: T0 + 7_200_000 });
          assert.equal(silence.status, 201, JSON.stringify(silence.body));
          await register(hub, 'coder-1', { pool_name: 'coding' });
          await register(hub, 'coder-2', { pool_name: 'coding' });
          await register(hub, 'thinker', { pool_name: 'research' });
          await llmCall(hub, 'coder-1', { cost_usd: 12.5 });
          await llmCall(hub, 'thinker', { cost_usd: 50 });
          await evaluate(hub);
          assert.deepEqual(await open(hub, 'pool-spend'), [['pool:research', 'firing', 50, 50]], '$12.50 in coding is under $20');

          clock.advance(30_000);
          await llmCall(hub, 'coder-2', { cost_usd: 9.75 });
          await evaluate(hub);
          // Neither coder passed $20 alone: the alert is the pool's, keyed pool:coding, and there is no per-agent one.
          assert.deepEqual((await open(hub, 'pool-spend')).sort(), [
            ['pool:coding', 'firing', 22.25, 22.25],
            ['pool:research', 'firing', 50, 50],
          ]);
          const [firing] = await receiver.waitFor(1);
          assert.equal(firing.event, 'firing');
          assert.equal(firing.alert.rule_id, spend.id);
          assert.equal(firing.alert.agent_id, 'pool:coding');
          assert.equal(firing.alert.value, 22.25);
          assert.match(firing.text, /cost_usd is 22\.25 on pool coding/);

          // The hour after coder-1's and thinker's calls (received at T0), only coder-2's $9.75 is left.
          clock.set(T0 + 3_600_000);
          await evaluate(hub);
          await receiver.waitFor(2);
          assert.deepEqual(
            receiver.requests.map((r) => [r.body.event, r.body.alert.agent_id, r.body.alert.last_value]),
            [
              ['firing', 'pool:coding', 22.25],
              ['resolved', 'pool:coding', 9.75],
            ],
            'the silenced pool was never announced, so its end is not either',
          );
          const research = await alerts(hub, '?agent_id=pool:research');
          assert.deepEqual(
            research.map((a) => [a.state, a.last_value, a.notified_at]),
            [['resolved', 0, null]],
          );
        } finally {
          await hub.close();
          await receiver.close();
        }
      },
    );

    test('LLM calls committed over OTLP are evaluated at once, without waiting for the timer', { skip }, async () => {
      const clock = new ManualClock(T0);
      // The timer runs once an hour here: only the commit itself can raise the alert within the test.
      const hub = await startTestHub(dialect, { clock, flags: FLAGS, alertsEveryMs: 3_600_000 });
      try {
        await rule(hub, { name: 'cc-spend', metric: 'cost_usd', op: '>=', threshold: 3, window_seconds: 300, group_by: 'pool' });
        await claudeCodeCalls(hub, 'cc-1', 'coding', [1.25, 0.75]);
        await claudeCodeCalls(hub, 'cc-2', 'coding', [1]);
        const deadline = Date.now() + 10_000;
        let seen: unknown[] = [];
        while (Date.now() < deadline) {
          await settle(hub);
          seen = await open(hub, 'cc-spend');
          if (seen.length > 0) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        assert.deepEqual(seen, [['pool:coding', 'firing', 3, 3]]);
      } finally {
        await hub.close();
      }
    });

    test(
      'a firing pool spend alert keeps its id across a graceful restart: no resolve, no second firing, no extra webhook',
      { skip },
      async () => {
        const receiver = await startReceiver();
        const clock = new ManualClock(T0);
        const first = await startTestHub(dialect, { clock, flags: FLAGS });
        let second: TestHub | undefined;
        try {
          assert.equal((await first.call('POST', '/api/v1/webhooks', { url: receiver.url })).status, 201);
          await rule(first, { name: 'pool-spend', metric: 'cost_usd', op: '>', threshold: 20, window_seconds: 3600, group_by: 'pool' });
          await register(first, 'a-1', { pool_name: 'coding' });
          await register(first, 'a-2', { pool_name: 'coding' });
          await llmCall(first, 'a-1', { cost_usd: 15 });
          clock.advance(60_000);
          await llmCall(first, 'a-2', { cost_usd: 10 });
          await evaluate(first);
          const before = await alerts(first, '?agent_id=pool:coding');
          assert.deepEqual(
            before.map((a) => [a.state, a.value]),
            [['firing', 25]],
          );
          await receiver.waitFor(1);

          await first.stop();
          clock.advance(5_000);
          second = await startTestHub(dialect, { clock, flags: FLAGS, target: first.target, dir: first.dir });
          await evaluate(second);
          clock.advance(60_000);
          await evaluate(second);
          const after = await alerts(second, '?agent_id=pool:coding');
          assert.deepEqual(
            after.map((a) => [a.id, a.state, a.resolved_at, a.last_value]),
            [[before[0].id, 'firing', null, 25]],
            'the same alert, still firing at the stored figure',
          );
          assert.deepEqual(
            receiver.requests.map((r) => [r.body.event, r.body.alert.id]),
            [['firing', before[0].id]],
          );

          // Pausing an agent mutes its own alerts, not its pool's: its $10 still counts.
          const paused = await second.call('PATCH', '/api/v1/agents/a-2', { paused: true });
          assert.equal(paused.status, 200, JSON.stringify(paused.body));
          await evaluate(second);
          assert.deepEqual(
            (await alerts(second, '?agent_id=pool:coding')).map((a) => [a.id, a.state, a.last_value]),
            [[before[0].id, 'firing', 25]],
          );

          // a-1's $15 leaves the hour (received at T0): $10 remains, and it resolves once, under the same id.
          clock.set(T0 + 3_600_000);
          await evaluate(second);
          await receiver.waitFor(2);
          assert.deepEqual(
            receiver.requests.map((r) => [r.body.event, r.body.alert.id, r.body.alert.last_value]),
            [
              ['firing', before[0].id, 25],
              ['resolved', before[0].id, 10],
            ],
          );
        } finally {
          await second?.close();
          await first.close();
          await receiver.close();
        }
      },
    );
  });
}
