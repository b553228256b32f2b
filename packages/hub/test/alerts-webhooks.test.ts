import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../src/clock.js';
import { alerts, cpu, openLive, register, settle, startReceiver } from './support/alert-helpers.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { DIALECTS, postgresUnavailable, type Dialect } from './support/stores.js';

/**
 * Notifications: a webhook receiver on loopback gets the firing and the resolve (a Slack-compatible
 * `text` beside the alert's fields), even when it fails twice first (the delivery log shows 3
 * attempts); silences hold; acknowledgement stops repeats; docs/reliability.md I5 targets are refused.
 */

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
/** Loopback receivers need the private allowance; retries are made short. */
const FLAGS = ['--host-metrics-interval', '0', '--webhook-allow-private', 'true', '--webhook-backoff-ms', '20', '--alert-repeat', '600'];

async function withHub(dialect: Dialect, flags: string[], fn: (hub: TestHub, clock: ManualClock) => Promise<void>): Promise<void> {
  const clock = new ManualClock(T0);
  const hub = await startTestHub(dialect, { clock, flags });
  try {
    await fn(hub, clock);
  } finally {
    await hub.close();
  }
}

/**
 * A rule that fires at once on one agent's CPU above 50; the tests stay below the default rule's 80,
 * so each controls exactly what fires.
 */
async function hotRule(hub: TestHub, agentId: string): Promise<number> {
  const r = await hub.call('POST', '/api/v1/alert-rules', {
    name: `hot ${agentId}`,
    metric: 'cpu_percent',
    op: '>',
    threshold: 50,
    for_seconds: 0,
    severity: 'critical',
    scope: { agent_id: agentId },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.rule.id;
}

async function addWebhook(hub: TestHub, url: string): Promise<number> {
  const r = await hub.call('POST', '/api/v1/webhooks', { url, name: 'test receiver' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.webhook.id;
}

for (const dialect of DIALECTS) {
  describe(`alert webhooks on ${dialect}`, async () => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;

    test('a receiver that fails twice still gets the firing, then the resolve; the delivery log shows the attempts', { skip }, async () => {
      const receiver = await startReceiver();
      try {
        await withHub(dialect, FLAGS, async (hub) => {
          const webhookId = await addWebhook(hub, receiver.url);
          await hotRule(hub, 'hook-1');
          await register(hub, 'hook-1');
          receiver.failFirst = 2;
          await cpu(hub, 'hook-1', 71.5);
          const [firing] = await receiver.waitFor(1);
          assert.equal(receiver.requests.length, 3, 'two 500s, then a 200');
          assert.equal(receiver.requests[0]?.headers['content-type'], 'application/json');
          // Every attempt of one notification carries one id, in the body and the header, for receivers that deduplicate.
          assert.deepEqual(
            receiver.requests.map((q) => [q.body.delivery_id, q.headers['x-vigil-delivery-id']]),
            Array(3).fill([`alert-${firing.alert.id}-${firing.alert.pending_since}-firing-webhook-${webhookId}`, firing.delivery_id]),
          );
          assert.deepEqual(
            [firing.event, firing.alert.state, firing.alert.agent_id, firing.alert.value, firing.alert.severity],
            ['firing', 'firing', 'hook-1', 71.5, 'critical'],
          );
          assert.equal(firing.text, '[CRITICAL] hot hook-1: cpu_percent is 71.5 on agent hook-1 (cpu_percent > 50; peak 71.5)');
          await settle(hub);
          const log = await hub.call('GET', `/api/v1/webhooks/${webhookId}/deliveries`);
          assert.equal(log.status, 200);
          assert.deepEqual(
            log.body.deliveries.map((d: any) => [d.kind, d.status, d.attempts, d.last_status_code, d.alert_id]),
            [['firing', 'delivered', 3, 200, firing.alert.id]],
          );

          await cpu(hub, 'hook-1', 10);
          const [, resolved] = await receiver.waitFor(2);
          assert.deepEqual([resolved.event, resolved.alert.state, resolved.alert.id], ['resolved', 'resolved', firing.alert.id]);
          assert.match(resolved.text, /^\[RESOLVED\] hot hook-1: cpu_percent is back to 10/);
          assert.notEqual(resolved.delivery_id, firing.delivery_id, 'the resolve is another notification');
          await settle(hub);
          assert.equal(receiver.requests.length, 4, 'nothing else was sent');
          assert.equal((await hub.call('GET', `/api/v1/webhooks/${webhookId}/deliveries`)).body.deliveries.length, 2);
        });
      } finally {
        await receiver.close();
      }
    });

    test(
      'issue 5, done when: CPU above 80 % for longer than the default rule (2 min) gives one firing in the store, on the live feed and at the webhook; dropping it one resolve',
      { skip },
      async () => {
        const receiver = await startReceiver();
        try {
          await withHub(dialect, FLAGS, async (hub, clock) => {
            await addWebhook(hub, receiver.url);
            const live = await openLive(hub);
            await register(hub, 'done-1');
            for (let s = 0; s <= 180; s += 15) {
              await cpu(hub, 'done-1', 85 + (s % 30 === 0 ? 5 : 0));
              clock.advance(15_000);
              await hub.alerts.tick();
            }
            await cpu(hub, 'done-1', 30);
            await settle(hub);
            for (let i = 0; i < 4; i++) {
              clock.advance(15_000);
              await hub.alerts.tick();
            }
            await settle(hub);

            const stored = await alerts(hub, '?agent_id=done-1');
            assert.deepEqual(
              stored.map((a) => [a.rule_name, a.state, a.started_at, a.peak_value]),
              [['high_cpu', 'resolved', T0 + 120_000, 90]],
            );
            const sent = receiver.delivered().map((b) => [b.event, b.alert.id]);
            assert.deepEqual(sent, [
              ['firing', stored[0].id],
              ['resolved', stored[0].id],
            ]);
            await live.next((m) => m.type === 'alert' && m.change === 'resolved');
            const announced = live.messages.filter((m) => m.type === 'alert' && m.alert.agent_id === 'done-1' && m.change !== 'pending');
            assert.deepEqual(
              announced.map((m) => m.change),
              ['firing', 'resolved'],
            );
            live.close();
          });
        } finally {
          await receiver.close();
        }
      },
    );

    test('a receiver that never answers 2xx is tried 5 times and logged as failed; a 4xx is not retried', { skip }, async () => {
      const receiver = await startReceiver();
      try {
        await withHub(dialect, FLAGS, async (hub) => {
          const webhookId = await addWebhook(hub, receiver.url);
          await hotRule(hub, 'down-1');
          await register(hub, 'down-1');
          receiver.failFirst = 1000;
          await cpu(hub, 'down-1', 75);
          await settle(hub);
          assert.equal(receiver.requests.length, 5);
          const [d] = (await hub.call('GET', `/api/v1/webhooks/${webhookId}/deliveries`)).body.deliveries;
          assert.deepEqual([d.status, d.attempts, d.last_status_code, d.last_error], ['failed', 5, 500, 'HTTP 500']);
          // The alert itself is recorded whatever happened to its notification.
          assert.equal((await alerts(hub, '?state=firing&agent_id=down-1')).length, 1);

          receiver.failStatus = 404;
          await hotRule(hub, 'down-2');
          await register(hub, 'down-2');
          await cpu(hub, 'down-2', 75);
          await settle(hub);
          assert.equal(receiver.requests.length, 6, 'a 404 is not retried');
          const [gone] = (await hub.call('GET', `/api/v1/webhooks/${webhookId}/deliveries`)).body.deliveries;
          assert.deepEqual([gone.status, gone.attempts, gone.last_status_code], ['failed', 1, 404]);
        });
      } finally {
        await receiver.close();
      }
    });

    test(
      'silences hold: a silenced alert is recorded and announced live but not sent; the resolve of an unsent firing is not sent',
      { skip },
      async () => {
        const receiver = await startReceiver();
        try {
          await withHub(dialect, FLAGS, async (hub, clock) => {
            await addWebhook(hub, receiver.url);
            const ruleId = await hotRule(hub, 'quiet-1');
            await register(hub, 'quiet-1');
            const live = await openLive(hub);
            const byAgent = await hub.call('POST', '/api/v1/silences', {
              agent_id: 'quiet-1',
              duration_seconds: 3600,
              comment: 'maintenance',
            });
            assert.equal(byAgent.status, 201, JSON.stringify(byAgent.body));
            assert.equal(byAgent.body.silence.until, T0 + 3_600_000);

            await cpu(hub, 'quiet-1', 75);
            await settle(hub);
            const [firing] = await alerts(hub, '?state=firing&agent_id=quiet-1');
            assert.equal(firing.notified_at, null);
            assert.equal((await live.next((m) => m.type === 'alert' && m.change === 'firing')).alert.id, firing.id);
            await cpu(hub, 'quiet-1', 5);
            await settle(hub);
            assert.equal((await alerts(hub, '?state=resolved&agent_id=quiet-1')).length, 1);
            assert.equal(receiver.requests.length, 0, 'nothing sent while silenced');

            // A silence of the rule; when it is lifted, the alert still firing is sent then.
            const byRule = await hub.call('POST', '/api/v1/silences', { rule_id: ruleId, until: T0 + 60_000 });
            assert.equal(byRule.status, 201);
            await hub.call('DELETE', `/api/v1/silences/${byAgent.body.silence.id}`);
            await cpu(hub, 'quiet-1', 76);
            await settle(hub);
            assert.equal(receiver.requests.length, 0, 'the rule silence holds');
            assert.deepEqual(
              (await hub.call('GET', '/api/v1/silences')).body.silences.map((s: any) => [s.rule_id, s.active]),
              [[ruleId, true]],
            );
            clock.advance(60_001);
            await hub.alerts.tick();
            const [late] = await receiver.waitFor(1);
            assert.deepEqual([late.event, late.alert.agent_id], ['firing', 'quiet-1']);
            assert.equal((await hub.call('GET', '/api/v1/silences')).body.silences.length, 0, 'expired silences are not listed by default');
            assert.equal((await hub.call('GET', '/api/v1/silences?all=true')).body.silences.length, 1);
            live.close();
          });
        } finally {
          await receiver.close();
        }
      },
    );

    test('a firing alert is repeated until acknowledged; acknowledged, it is not', { skip }, async () => {
      const receiver = await startReceiver();
      try {
        await withHub(dialect, FLAGS, async (hub, clock) => {
          await addWebhook(hub, receiver.url);
          await hotRule(hub, 'loud-1');
          await register(hub, 'loud-1');
          await cpu(hub, 'loud-1', 70);
          await receiver.waitFor(1);
          clock.advance(600_000);
          await hub.alerts.tick();
          const [, repeat] = await receiver.waitFor(2);
          assert.deepEqual([repeat.event, repeat.text.endsWith('(still firing)')], ['repeat', true]);

          const ack = await hub.call('POST', `/api/v1/alerts/${repeat.alert.id}/ack`);
          assert.equal(ack.status, 200);
          await hub.alerts.idle();
          for (let i = 0; i < 3; i++) {
            clock.advance(600_000);
            await hub.alerts.tick();
          }
          await settle(hub);
          assert.equal(receiver.requests.length, 2, 'no repeat after the acknowledgement');
          await cpu(hub, 'loud-1', 1);
          const [, , resolved] = await receiver.waitFor(3);
          assert.equal(resolved.event, 'resolved', 'the resolve is still sent');
        });
      } finally {
        await receiver.close();
      }
    });

    test('silence and webhook input is validated; deleting a webhook stops its deliveries', { skip }, async () => {
      await withHub(dialect, FLAGS, async (hub) => {
        const cases: [unknown, RegExp][] = [
          [{ duration_seconds: 60 }, /rule_id, agent_id or both/],
          [{ agent_id: 'a', until: T0 - 1 }, /in the future/],
          [{ agent_id: 'a' }, /exactly one of until/],
          [{ agent_id: 'a', until: T0 + 1000, duration_seconds: 5 }, /exactly one of until/],
          [{ agent_id: 'a', duration_seconds: -1 }, /duration_seconds must be >= 1/],
        ];
        for (const [body, message] of cases) {
          const r = await hub.call('POST', '/api/v1/silences', body);
          assert.equal(r.status, 400, JSON.stringify(body));
          assert.match(r.body.error.message, message);
        }
        assert.equal((await hub.call('POST', '/api/v1/silences', { rule_id: 999999, duration_seconds: 60 })).status, 404);
        assert.equal((await hub.call('DELETE', '/api/v1/silences/999999')).body.error.code, 'VIGIL_SILENCE_NOT_FOUND');
        assert.equal((await hub.call('POST', '/api/v1/webhooks', { url: 'http://127.0.0.1:9/', secret: 'x' })).status, 400);
        const id = await addWebhook(hub, 'http://127.0.0.1:9/x');
        assert.deepEqual(
          (await hub.call('GET', '/api/v1/webhooks')).body.webhooks.map((w: any) => [w.id, w.url]),
          [[id, 'http://127.0.0.1:9/…']],
        );
        assert.equal((await hub.call('DELETE', `/api/v1/webhooks/${id}`)).status, 200);
        assert.equal((await hub.call('GET', `/api/v1/webhooks/${id}/deliveries`)).body.error.code, 'VIGIL_WEBHOOK_NOT_FOUND');
        assert.equal((await hub.call('DELETE', `/api/v1/webhooks/${id}`)).body.error.code, 'VIGIL_WEBHOOK_NOT_FOUND');
      });
    });
  });
}

describe('webhook URLs in answers', () => {
  test('credentials and paths are redacted in every answer; deliveries still use the full URL', async () => {
    const receiver = await startReceiver();
    try {
      await withHub('sqlite', FLAGS, async (hub) => {
        const port = new URL(receiver.url).port;
        const secretUrl = `http://hookuser:s3cret-pass@127.0.0.1:${port}/hook/T0/B0/tok3n?sig=abc#frag`;
        const shown = `http://127.0.0.1:${port}/…`;
        const secrets = /hookuser|s3cret|tok3n|sig=abc|frag|\/hook/;
        const created = await hub.call('POST', '/api/v1/webhooks', { url: secretUrl, name: 'slack' });
        assert.equal(created.status, 201);
        assert.equal(created.body.webhook.url, shown);
        assert.doesNotMatch(JSON.stringify(created.body), secrets);
        const listed = await hub.call('GET', '/api/v1/webhooks');
        assert.deepEqual(
          listed.body.webhooks.map((w: any) => [w.name, w.url]),
          [['slack', shown]],
        );
        assert.doesNotMatch(JSON.stringify(listed.body), secrets);
        // A bare host keeps its trailing slash: nothing was hidden.
        const bare = await hub.call('POST', '/api/v1/webhooks', { url: `http://127.0.0.1:${port}` });
        assert.equal(bare.body.webhook.url, `http://127.0.0.1:${port}/`);
        assert.equal((await hub.call('DELETE', `/api/v1/webhooks/${bare.body.webhook.id}`)).body.webhook.url, `http://127.0.0.1:${port}/`);

        await hotRule(hub, 'redact-1');
        await register(hub, 'redact-1');
        await cpu(hub, 'redact-1', 75);
        await receiver.waitFor(1);
        const [sent] = receiver.requests;
        assert.equal(sent?.path, '/hook/T0/B0/tok3n?sig=abc', 'the stored URL is the full one');
        assert.equal(sent?.headers.authorization, `Basic ${Buffer.from('hookuser:s3cret-pass').toString('base64')}`);
        await settle(hub);
        const deliveries = await hub.call('GET', `/api/v1/webhooks/${created.body.webhook.id}/deliveries`);
        assert.doesNotMatch(JSON.stringify(deliveries.body), secrets);
        const removed = await hub.call('DELETE', `/api/v1/webhooks/${created.body.webhook.id}`);
        assert.equal(removed.body.webhook.url, shown);
      });
    } finally {
      await receiver.close();
    }
  });
});

describe('webhook test send', () => {
  test('a test send reaches the receiver once with a test payload and reports what it answered; nothing is logged as a delivery', async () => {
    const receiver = await startReceiver();
    try {
      await withHub('sqlite', FLAGS, async (hub) => {
        const created = await hub.call('POST', '/api/v1/webhooks', { url: receiver.url });
        const id = created.body.webhook.id as number;
        const sent = await hub.call('POST', `/api/v1/webhooks/${id}/test`);
        assert.equal(sent.status, 200);
        assert.deepEqual(sent.body, { delivered: true, status_code: 200, error: null });
        assert.equal(receiver.requests.length, 1);
        const got = receiver.requests[0];
        assert.equal(got?.body.event, 'test');
        assert.equal(got?.headers['x-vigil-delivery-id'], got?.body.delivery_id);
        assert.equal((await hub.call('GET', `/api/v1/webhooks/${id}/deliveries`)).body.deliveries.length, 0);

        receiver.failFirst = 99;
        const failed = await hub.call('POST', `/api/v1/webhooks/${id}/test`);
        assert.deepEqual(failed.body, { delivered: false, status_code: 500, error: 'HTTP 500' });
        assert.equal(receiver.requests.length, 2, 'a test send is never retried');
        assert.equal((await hub.call('POST', '/api/v1/webhooks/9999/test')).body.error.code, 'VIGIL_WEBHOOK_NOT_FOUND');
      });
    } finally {
      await receiver.close();
    }
  });
});

describe('I5: webhook targets', () => {
  const targets = ['http://169.254.169.254/', 'http://localhost:1/', 'file:///etc/passwd', 'ftp://x'];

  test('metadata, loopback, file: and ftp: targets are refused with 400 when private targets are not allowed', async () => {
    await withHub('sqlite', ['--host-metrics-interval', '0'], async (hub) => {
      for (const url of [
        ...targets,
        'http://[fd00:ec2::254]/',
        'http://metadata.google.internal/',
        'http://10.0.0.1/',
        'http://[::1]:8080/',
      ]) {
        const r = await hub.call('POST', '/api/v1/webhooks', { url });
        assert.equal(r.status, 400, url);
        assert.equal(r.body.error.code, 'VIGIL_WEBHOOK_TARGET_REFUSED', url);
        assert.match(r.body.error.message, /^body\.url is refused: /);
      }
      assert.deepEqual((await hub.call('GET', '/api/v1/webhooks')).body.webhooks, []);
      assert.equal((await hub.call('POST', '/api/v1/webhooks', { url: 'https://hooks.example.com/services/T0/B0/x' })).status, 201);
    });
  });

  test('allowing private targets opens loopback, never metadata, link-local or other schemes; the send-time check refuses what it must', async () => {
    await withHub('sqlite', FLAGS, async (hub) => {
      assert.equal((await hub.call('POST', '/api/v1/webhooks', { url: 'http://localhost:1/' })).status, 201);
      for (const url of ['http://169.254.169.254/', 'file:///etc/passwd', 'ftp://x', 'http://[fd00:ec2::254]/']) {
        assert.equal((await hub.call('POST', '/api/v1/webhooks', { url })).status, 400, url);
      }
    });
    // A webhook stored while private targets were allowed is refused at send time once they are not.
    const clock = new ManualClock(T0);
    const first = await startTestHub('sqlite', { clock, flags: FLAGS });
    let second: TestHub | undefined;
    try {
      const id = await addWebhook(first, 'http://localhost:1/hook');
      await first.stop();
      second = await startTestHub('sqlite', { clock, flags: ['--host-metrics-interval', '0'], target: first.target, dir: first.dir });
      await hotRule(second, 'ssrf-1');
      await register(second, 'ssrf-1');
      await cpu(second, 'ssrf-1', 75);
      await settle(second);
      const [d] = (await second.call('GET', `/api/v1/webhooks/${id}/deliveries`)).body.deliveries;
      assert.deepEqual([d.status, d.attempts, d.last_status_code], ['failed', 1, null]);
      assert.match(d.last_error, /^refused: localhost is this machine/);
    } finally {
      await second?.close();
      await first.close();
    }
  });
});
