import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../src/clock.js';
import { alerts, cpu, openLive, register, ruleByName, settle } from './support/alert-helpers.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { DIALECTS, postgresUnavailable, type Dialect } from './support/stores.js';

/**
 * Alerts end to end on a real hub over HTTP, on both databases, with a ManualClock driving
 * durations (`hub.alerts.tick()` stands in for the engine's timer): the default rules, rule CRUD
 * and its 400s, firing only after the duration and exactly once, no flapping, resolve once, the
 * live feed, offline and error-count rules, scopes, acknowledgement, and a restart in the middle.
 */

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const FLAGS = ['--host-metrics-interval', '0'];

async function withHub(dialect: Dialect, fn: (hub: TestHub, clock: ManualClock) => Promise<void>): Promise<void> {
  const clock = new ManualClock(T0);
  const hub = await startTestHub(dialect, { clock, flags: FLAGS });
  try {
    await fn(hub, clock);
  } finally {
    await hub.close();
  }
}

/** Moves the clock and lets the engine's timer run once. */
async function advance(hub: TestHub, clock: ManualClock, ms: number): Promise<void> {
  clock.advance(ms);
  await hub.alerts.tick();
  await settle(hub);
}

for (const dialect of DIALECTS) {
  describe(`alerts on ${dialect}`, async () => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;

    test('the seed defaults ship enabled with the schema', { skip }, async () => {
      await withHub(dialect, async (hub) => {
        const { body } = await hub.call('GET', '/api/v1/alert-rules');
        const defaults = body.rules.map((r: any) => [r.name, r.metric, r.op, r.threshold, r.severity, r.enabled, r.source]);
        assert.deepEqual(defaults, [
          ['high_cpu', 'cpu_percent', '>', 80, 'warning', true, 'default'],
          ['high_memory', 'memory_mb', '>', 1024, 'warning', true, 'default'],
          ['high_errors', 'unresolved_errors', '>', 10, 'critical', true, 'default'],
          ['agent_offline', 'offline', '>', 0, 'critical', true, 'default'],
          ['agent_crashed', 'crashed', '>', 0, 'critical', true, 'default'],
        ]);
        assert.equal(body.rules[0].for_seconds, 120);
        assert.deepEqual(body.rules[0].scope, {});
      });
    });

    test('rules: create, read, change, delete; bad input is a 400 naming the field', { skip }, async () => {
      await withHub(dialect, async (hub) => {
        const good = { name: 'gpu low', metric: 'gpu_vram_available_gb', op: '<', threshold: 2, for_seconds: 60, severity: 'info' };
        const bad: [Record<string, unknown>, RegExp][] = [
          [{ ...good, op: '=>' }, /body\.op must be one of ">", ">=", "<", "<="/],
          [{ ...good, metric: 'cpu_temp' }, /body\.metric must be one of "cpu_percent"/],
          [{ ...good, for_seconds: -5 }, /body\.for_seconds must be >= 0/],
          [{ ...good, for_seconds: 1.5 }, /body\.for_seconds must be integer/],
          [{ ...good, severity: 'page' }, /body\.severity must be one of/],
          [{ ...good, threshold: '80' }, /body\.threshold must be number/],
          [{ ...good, scope: { pool: 'gpu' } }, /body\.scope has unknown field "pool"/],
          [{ ...good, color: 'red' }, /body has unknown field "color"/],
          [{ name: 'x', metric: 'offline', op: '>' }, /body is missing required field "threshold"/],
        ];
        for (const [body, message] of bad) {
          const r = await hub.call('POST', '/api/v1/alert-rules', body);
          assert.equal(r.status, 400, JSON.stringify(body));
          assert.equal(r.body.error.code, 'VIGIL_VALIDATION');
          assert.match(r.body.error.message, message);
        }

        const created = await hub.call('POST', '/api/v1/alert-rules', { ...good, scope: { pool_name: 'gpu' } });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        const rule = created.body.rule;
        assert.deepEqual(
          [rule.name, rule.scope, rule.enabled, rule.hysteresis, rule.source],
          ['gpu low', { pool_name: 'gpu' }, true, null, 'api'],
        );
        assert.equal((await hub.call('POST', '/api/v1/alert-rules', good)).body.error.code, 'VIGIL_ALERT_RULE_EXISTS');

        assert.deepEqual((await hub.call('GET', `/api/v1/alert-rules/${rule.id}`)).body.rule, rule);
        const changed = await hub.call('PATCH', `/api/v1/alert-rules/${rule.id}`, { threshold: 4, hysteresis: 0.5, scope: {} });
        assert.equal(changed.status, 200, JSON.stringify(changed.body));
        assert.deepEqual([changed.body.rule.threshold, changed.body.rule.hysteresis, changed.body.rule.scope], [4, 0.5, {}]);
        assert.equal((await hub.call('PATCH', `/api/v1/alert-rules/${rule.id}`, {})).status, 400, 'an empty change');
        assert.match((await hub.call('PATCH', `/api/v1/alert-rules/${rule.id}`, { op: '!=' })).body.error.message, /body\.op/);
        assert.equal(
          (await hub.call('PATCH', '/api/v1/alert-rules/999999', { threshold: 1 })).body.error.code,
          'VIGIL_ALERT_RULE_NOT_FOUND',
        );
        assert.equal((await hub.call('GET', '/api/v1/alert-rules/abc')).status, 400);

        assert.equal((await hub.call('DELETE', `/api/v1/alert-rules/${rule.id}`)).status, 200);
        assert.equal((await hub.call('GET', `/api/v1/alert-rules/${rule.id}`)).status, 404);
        assert.equal((await hub.call('DELETE', `/api/v1/alert-rules/${rule.id}`)).body.error.code, 'VIGIL_ALERT_RULE_NOT_FOUND');
      });
    });

    test(
      'CPU above 80 % fires only after 2 minutes, once, in the store and on the live feed; a hovering value does not flap; it resolves once',
      { skip },
      async () => {
        await withHub(dialect, async (hub, clock) => {
          const live = await openLive(hub);
          const highCpu = await ruleByName(hub, 'high_cpu');
          await register(hub, 'hot-1');
          await cpu(hub, 'hot-1', 90);
          await settle(hub);
          const [pending] = await alerts(hub, '?agent_id=hot-1');
          assert.deepEqual([pending.state, pending.rule_id, pending.pending_since, pending.started_at], ['pending', highCpu.id, T0, null]);

          await advance(hub, clock, 60_000);
          await cpu(hub, 'hot-1', 95);
          await advance(hub, clock, 59_999);
          assert.equal((await alerts(hub, '?state=firing&agent_id=hot-1')).length, 0, 'not at 119.999 s');

          await advance(hub, clock, 1);
          const firing = await alerts(hub, '?state=firing&agent_id=hot-1');
          assert.equal(firing.length, 1, 'firing at 120 s');
          assert.deepEqual([firing[0].started_at, firing[0].value, firing[0].severity], [T0 + 120_000, 95, 'warning']);

          // Above the threshold and hovering around it, but never below 80 − 4: one alert, still firing.
          for (const v of [97, 81, 79, 80.5, 77, 82, 76.5]) {
            await cpu(hub, 'hot-1', v);
            await advance(hub, clock, 15_000);
          }
          const still = await alerts(hub, '?agent_id=hot-1');
          assert.deepEqual(
            still.map((a) => [a.state, a.peak_value, a.last_value]),
            [['firing', 97, 76.5]],
          );

          await cpu(hub, 'hot-1', 70);
          await advance(hub, clock, 15_000);
          await advance(hub, clock, 600_000);
          const resolved = await alerts(hub, '?state=resolved&agent_id=hot-1');
          assert.equal(resolved.length, 1);
          assert.deepEqual(
            [resolved[0].id, resolved[0].resolved_at, resolved[0].resolve_reason, resolved[0].peak_value, resolved[0].last_value],
            [firing[0].id, T0 + 120_000 + 7 * 15_000, 'recovered', 97, 70],
          );
          assert.match(resolved[0].message, /cpu_percent is back to 70 on agent hot-1/);
          assert.equal((await alerts(hub, '?state=firing')).length, 0);

          await live.next((m) => m.type === 'alert' && m.change === 'resolved');
          const changes = live.messages
            .filter((m) => m.type === 'alert' && m.alert.agent_id === 'hot-1')
            .map((m) => [m.change, m.alert.state]);
          assert.deepEqual(changes, [
            ['pending', 'pending'],
            ['firing', 'firing'],
            ['resolved', 'resolved'],
          ]);
          live.close();
        });
      },
    );

    test('a breach shorter than the duration never fires; a pending alert leaves no history', { skip }, async () => {
      await withHub(dialect, async (hub, clock) => {
        await register(hub, 'blip-1');
        for (let i = 0; i < 5; i++) {
          await cpu(hub, 'blip-1', 99);
          await advance(hub, clock, 100_000);
          await cpu(hub, 'blip-1', 20);
          await advance(hub, clock, 10_000);
        }
        assert.deepEqual(await alerts(hub, '?agent_id=blip-1'), []);
      });
    });

    test(
      'the offline rule fires when liveness marks an agent offline, resolves when it is back; a planned stop does not fire',
      { skip },
      async () => {
        await withHub(dialect, async (hub, clock) => {
          const live = await openLive(hub);
          await register(hub, 'gone-1');
          await register(hub, 'stop-1');
          clock.advance(20_000);
          await cpu(hub, 'gone-1', 5);
          await hub.call('POST', '/api/v1/agents/stop-1/events', { event_type: 'stopped' });
          clock.advance(31_000);
          assert.deepEqual(await hub.liveness.sweep(), ['gone-1']);
          await settle(hub);
          const firing = await alerts(hub, '?state=firing');
          assert.deepEqual(
            firing.map((a) => [a.agent_id, a.metric, a.severity, a.started_at]),
            [['gone-1', 'offline', 'critical', T0 + 51_000]],
          );
          assert.match(firing[0].message, /Agent gone-1 is offline/);
          assert.equal((await live.next((m) => m.type === 'alert' && m.change === 'firing')).alert.agent_id, 'gone-1');

          await advance(hub, clock, 3_600_000);
          assert.equal((await alerts(hub, '?agent_id=gone-1')).length, 1, 'still one alert an hour later');
          await cpu(hub, 'gone-1', 5);
          await settle(hub);
          const [back] = await alerts(hub, '?agent_id=gone-1');
          assert.deepEqual([back.state, back.resolve_reason], ['resolved', 'recovered']);
          live.close();
        });
      },
    );

    test('more than 10 unresolved errors fires critical; resolving errors resolves it', { skip }, async () => {
      await withHub(dialect, async (hub) => {
        await register(hub, 'err-1');
        const ids: number[] = [];
        for (let i = 0; i < 11; i++) {
          // The same failure twice is one group: only distinct groups count.
          for (const _ of [1, 2]) {
            const r = await hub.call('POST', '/api/v1/agents/err-1/errors', {
              error_type: `E${i}`,
              message: `failure kind ${'x'.repeat(i)}`,
            });
            ids.push(r.body.id);
          }
          await settle(hub);
          assert.equal((await alerts(hub, '?state=firing&agent_id=err-1')).length, i === 10 ? 1 : 0, `after ${i + 1} groups`);
        }
        const [firing] = await alerts(hub, '?state=firing&agent_id=err-1');
        assert.deepEqual([firing.metric, firing.value, firing.severity], ['unresolved_errors', 11, 'critical']);
        await hub.call('POST', `/api/v1/errors/${ids[0]}/resolve`);
        await hub.call('POST', `/api/v1/errors/${ids[0]}/resolve`);
        await settle(hub);
        assert.equal(
          (await alerts(hub, '?state=firing&agent_id=err-1')).length,
          1,
          '10 is within the margin (> 9.5), resolving twice counts once',
        );
        await hub.call('POST', `/api/v1/errors/${ids[2]}/resolve`);
        await settle(hub);
        const [done] = await alerts(hub, '?agent_id=err-1');
        assert.deepEqual([done.state, done.last_value], ['resolved', 9]);
      });
    });

    test('scopes and heartbeat fields: a pool rule on resources.gpu_vram_available_gb watches only its pool; ack', { skip }, async () => {
      await withHub(dialect, async (hub) => {
        const r = await hub.call('POST', '/api/v1/alert-rules', {
          name: 'vram low',
          metric: 'resources.gpu_vram_available_gb',
          op: '<',
          threshold: 2,
          for_seconds: 0,
          severity: 'critical',
          scope: { pool_name: 'gpu' },
        });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        await register(hub, 'gpu-1', { pool_name: 'gpu' });
        await register(hub, 'cpu-1', { pool_name: 'cpu' });
        for (const id of ['gpu-1', 'cpu-1']) {
          await hub.call('POST', `/api/v1/agents/${id}/heartbeat`, { resources: { gpu_vram_available_gb: 1, gpu_type: 'nvidia' } });
        }
        await settle(hub);
        const firing = await alerts(hub, '?state=firing');
        assert.deepEqual(
          firing.map((a) => [a.agent_id, a.rule_name, a.value]),
          [['gpu-1', 'vram low', 1]],
        );
        const ack = await hub.call('POST', `/api/v1/alerts/${firing[0].id}/ack`);
        assert.equal(ack.status, 200);
        assert.equal(typeof ack.body.alert.acknowledged_at, 'number');
        assert.equal((await hub.call('POST', '/api/v1/alerts/999999/ack')).body.error.code, 'VIGIL_ALERT_NOT_FOUND');
        assert.equal((await hub.call('GET', '/api/v1/alerts?state=open')).status, 400);

        // Disabling the rule ends its alert (resolved, with the reason), and nothing fires again.
        await hub.call('PATCH', `/api/v1/alert-rules/${r.body.rule.id}`, { enabled: false });
        await settle(hub);
        const [ended] = await alerts(hub, '?agent_id=gpu-1');
        assert.deepEqual([ended.state, ended.resolve_reason], ['resolved', 'rule_changed']);
        await hub.call('POST', '/api/v1/agents/gpu-1/heartbeat', { resources: { gpu_vram_available_gb: 0.5 } });
        await settle(hub);
        assert.equal((await alerts(hub, '?agent_id=gpu-1')).length, 1);
      });
    });

    test('pending and firing alerts survive a restart: no second firing, one resolve, the duration kept', { skip }, async () => {
      const clock = new ManualClock(T0);
      const first = await startTestHub(dialect, { clock, flags: FLAGS });
      let second: TestHub | undefined;
      try {
        await register(first, 'keep-1');
        await register(first, 'keep-2');
        await cpu(first, 'keep-1', 90);
        await advance(first, clock, 120_000);
        await cpu(first, 'keep-1', 93);
        await cpu(first, 'keep-2', 88);
        await advance(first, clock, 60_000);
        assert.deepEqual(
          (await alerts(first)).map((a) => [a.agent_id, a.state]),
          [
            ['keep-2', 'pending'],
            ['keep-1', 'firing'],
          ],
        );
        await first.stop();

        second = await startTestHub(dialect, { clock, flags: FLAGS, target: first.target, dir: first.dir });
        // keep-2 has been pending since T0 + 120 s: it fires once 2 minutes have passed, counted across the restart.
        await advance(second, clock, 59_000);
        assert.equal((await alerts(second, '?state=firing')).length, 1);
        await advance(second, clock, 1_000);
        assert.deepEqual(
          (await alerts(second, '?state=firing')).map((a) => [a.agent_id, a.started_at, a.peak_value]),
          [
            ['keep-2', T0 + 240_000, 88],
            ['keep-1', T0 + 120_000, 93],
          ],
        );
        await cpu(second, 'keep-1', 93);
        await cpu(second, 'keep-1', 10);
        await settle(second);
        const all = await alerts(second, '?agent_id=keep-1');
        assert.deepEqual(
          all.map((a) => [a.state, a.peak_value]),
          [['resolved', 93]],
        );
      } finally {
        await second?.close();
        await first.close();
      }
    });
  });
}
