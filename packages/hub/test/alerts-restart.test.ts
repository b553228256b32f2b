import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../src/clock.js';
import { alerts, cpu, register, settle, startReceiver } from './support/alert-helpers.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { DIALECTS, postgresUnavailable } from './support/stores.js';

/**
 * Issue 9, finding 7: a restart is not news. An `error_rate` alert that is firing when the hub stops
 * is the same firing alert (same id, no resolve, no second webhook) when it starts again on the same
 * store, because the error counts of the last minute are stored with each report and reloaded; it
 * resolves once the reports really leave the window.
 */

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const FLAGS = ['--host-metrics-interval', '0', '--webhook-allow-private', 'true', '--webhook-backoff-ms', '20', '--alert-repeat', '600'];

async function reportErrors(hub: TestHub, agentId: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await hub.call('POST', `/api/v1/agents/${agentId}/errors`, {
      error_type: 'TimeoutError',
      message: `upstream timed out (${i})`,
      event_id: `${agentId}-err-${i}`,
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
}

for (const dialect of DIALECTS) {
  describe(`error_rate alerts across a restart on ${dialect}`, async () => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;

    test(
      'a firing error_rate alert keeps its id across a graceful restart: no resolve, no new firing, no extra webhook',
      { skip },
      async () => {
        const receiver = await startReceiver();
        const clock = new ManualClock(T0);
        const first = await startTestHub(dialect, { clock, flags: FLAGS });
        let second: TestHub | undefined;
        try {
          assert.equal((await first.call('POST', '/api/v1/webhooks', { url: receiver.url })).status, 201);
          const rule = await first.call('POST', '/api/v1/alert-rules', {
            name: 'erroring',
            metric: 'error_rate',
            op: '>',
            threshold: 3,
            for_seconds: 0,
            severity: 'critical',
            scope: { agent_id: 'rate-1' },
          });
          assert.equal(rule.status, 201, JSON.stringify(rule.body));
          await register(first, 'rate-1');
          await reportErrors(first, 'rate-1', 6);
          await settle(first);
          const [firing] = await receiver.waitFor(1);
          assert.equal(firing.event, 'firing');
          const before = await alerts(first, '?agent_id=rate-1');
          assert.deepEqual(
            before.map((a) => [a.state, a.value]),
            [['firing', 4]],
            'fired at the fourth report',
          );

          await first.stop();
          clock.advance(5_000);
          second = await startTestHub(dialect, { clock, flags: FLAGS, target: first.target, dir: first.dir });
          await second.alerts.tick();
          await settle(second);
          clock.advance(20_000);
          await second.alerts.tick();
          await settle(second);

          const after = await alerts(second, '?agent_id=rate-1');
          assert.deepEqual(
            after.map((a) => [a.id, a.state, a.resolved_at]),
            [[before[0].id, 'firing', null]],
            'the same alert, still firing',
          );
          assert.deepEqual(
            receiver.requests.map((r) => [r.body.event, r.body.alert.id]),
            [['firing', before[0].id]],
            'no "recovered" and no second firing was sent',
          );

          // The reports leave the one-minute window: now it has really recovered, once, under the same id.
          clock.advance(40_000);
          await second.alerts.tick();
          await settle(second);
          await receiver.waitFor(2);
          assert.deepEqual(
            receiver.requests.map((r) => [r.body.event, r.body.alert.id]),
            [
              ['firing', before[0].id],
              ['resolved', before[0].id],
            ],
          );
          const resolved = await alerts(second, '?agent_id=rate-1');
          assert.deepEqual(
            resolved.map((a) => [a.id, a.state, a.resolve_reason]),
            [[before[0].id, 'resolved', 'recovered']],
          );
        } finally {
          await second?.close();
          await first.close();
          await receiver.close();
        }
      },
    );

    test(
      'a heartbeat stored but never evaluated (the hub died first) raises its alert at the next start, at its own time; a stale one does not',
      { skip },
      async () => {
        const receiver = await startReceiver();
        const clock = new ManualClock(T0);
        const first = await startTestHub(dialect, { clock, flags: FLAGS });
        let second: TestHub | undefined;
        try {
          assert.equal((await first.call('POST', '/api/v1/webhooks', { url: receiver.url })).status, 201);
          const rule = await first.call('POST', '/api/v1/alert-rules', {
            name: 'warm',
            metric: 'cpu_percent',
            op: '>',
            threshold: 50,
            severity: 'critical',
          });
          assert.equal(rule.status, 201, JSON.stringify(rule.body));
          await register(first, 'late-1', { heartbeat_interval_s: 60 });
          await register(first, 'stale-1', { heartbeat_interval_s: 10 });
          // The engine stops listening, as a hub killed between the heartbeat's commit and its alert's would.
          await first.alerts.stop();
          clock.advance(1_000);
          await cpu(first, 'late-1', 70);
          await cpu(first, 'stale-1', 75);
          assert.deepEqual(await alerts(first), [], 'nothing was decided before the stop');
          await first.stop();

          // 60 s later: within 3 intervals of late-1 (180 s), past 3 of stale-1 (30 s), whose figure is too old to act on.
          clock.advance(60_000);
          second = await startTestHub(dialect, { clock, flags: FLAGS, target: first.target, dir: first.dir });
          await settle(second);
          const raised = await alerts(second);
          assert.deepEqual(
            raised.map((a) => [a.agent_id, a.state, a.started_at, a.value]),
            [['late-1', 'firing', T0 + 1_000, 70]],
          );
          await receiver.waitFor(1);
          assert.deepEqual(
            receiver.requests.map((r) => [r.body.event, r.body.alert.id]),
            [['firing', raised[0].id]],
          );
          // Evaluated once: a second restart leaves it as it is.
          await second.stop();
          const third = await startTestHub(dialect, { clock, flags: FLAGS, target: first.target, dir: first.dir });
          await settle(third);
          assert.deepEqual(
            (await alerts(third)).map((a) => [a.id, a.state]),
            [[raised[0].id, 'firing']],
          );
          await third.stop();
          assert.equal(receiver.requests.length, 1);
        } finally {
          await second?.close();
          await first.close();
          await receiver.close();
        }
      },
    );

    test('stored error counts past the window are deleted by the engine timer', { skip }, async () => {
      const clock = new ManualClock(T0);
      const hub = await startTestHub(dialect, { clock, flags: FLAGS });
      try {
        await register(hub, 'rate-2');
        await reportErrors(hub, 'rate-2', 3);
        const count = async () => Number((await hub.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM error_counts'))?.n);
        assert.equal(await count(), 1, 'three reports in one second are one row');
        clock.advance(30_000);
        await hub.alerts.tick();
        assert.equal(await count(), 1, 'still inside the window');
        clock.advance(31_000);
        await hub.alerts.tick();
        assert.equal(await count(), 0);
      } finally {
        await hub.close();
      }
    });
  });
}
