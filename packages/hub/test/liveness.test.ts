import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../src/clock.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { DIALECTS, postgresUnavailable, storeTarget, tempDir, type Dialect } from './support/stores.js';

/**
 * Liveness by the hub's clock (docs/reliability.md F1's rule, F3's clock skew), driven by a ManualClock and
 * `hub.liveness.sweep()` so every boundary is exact: offline after `missed × interval` (3 × 10 s
 * here) without a heartbeat, one interval of grace after a hub restart, `stopped` as a planned stop.
 */

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const INTERVAL_MS = 10_000;
const HOUR = 3_600_000;

/** A fresh hub with its own ManualClock, closed (store dropped, dir removed) even when the test fails. */
async function withHub(dialect: Dialect, fn: (hub: TestHub, clock: ManualClock) => Promise<void>): Promise<void> {
  const clock = new ManualClock(T0);
  const hub = await startTestHub(dialect, { clock });
  try {
    await fn(hub, clock);
  } finally {
    await hub.close();
  }
}

async function register(hub: TestHub, agentId: string): Promise<void> {
  const r = await hub.call('POST', '/api/v1/agents', { agent_id: agentId, name: agentId, agent_type: 'worker', heartbeat_interval_s: 10 });
  assert.equal(r.status, 201, JSON.stringify(r.body));
}

async function agent(hub: TestHub, agentId: string): Promise<any> {
  const r = await hub.call('GET', `/api/v1/agents/${agentId}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.agent;
}

async function events(hub: TestHub, agentId: string, type?: string): Promise<any[]> {
  const q = type ? `&event_type=${type}` : '';
  const r = await hub.call('GET', `/api/v1/events?agent_id=${agentId}${q}&limit=500`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.events;
}

async function heartbeat(hub: TestHub, agentId: string, extra: Record<string, unknown> = {}) {
  return hub.call('POST', `/api/v1/agents/${agentId}/heartbeat`, { status: 'online', ...extra });
}

function assertErrorShape(r: { status: number; body: any; headers: Record<string, unknown> }, status: number, code: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.match(String(r.headers['content-type']), /^application\/json/);
  assert.equal(r.body.error.code, code);
  assert.equal(typeof r.body.error.message, 'string');
}

for (const dialect of DIALECTS) {
  describe(`liveness on ${dialect}`, async () => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;

    test('online at 29 s without a heartbeat, offline once after 30 s, back online once on the next heartbeat', { skip }, async () => {
      await withHub(dialect, async (hub, clock) => {
        await register(hub, 'miss-1');
        clock.advance(20_000); // well past the boot grace, so only the missed-heartbeat rule decides
        const hb = await heartbeat(hub, 'miss-1');
        assert.equal(hb.status, 200);
        const last = clock.now();
        assert.equal(hb.body.received_at, last);
        assert.equal((await agent(hub, 'miss-1')).last_heartbeat_at, last);

        clock.set(last + 29_000);
        assert.deepEqual(await hub.liveness.sweep(), []);
        assert.equal((await agent(hub, 'miss-1')).status, 'online', 'still online 29 s after its last heartbeat');

        clock.set(last + 3 * INTERVAL_MS + 1);
        assert.deepEqual(await hub.liveness.sweep(), ['miss-1']);
        const down = await agent(hub, 'miss-1');
        assert.equal(down.status, 'offline');
        assert.equal(down.offline_reason, 'missed_heartbeats');
        assert.equal(down.last_heartbeat_at, last, 'going offline does not rewrite the last heartbeat');

        // Later sweeps find it already offline: still exactly one `offline` event.
        clock.advance(60_000);
        assert.deepEqual(await hub.liveness.sweep(), []);
        clock.advance(HOUR);
        assert.deepEqual(await hub.liveness.sweep(), []);
        const offline = await events(hub, 'miss-1', 'offline');
        assert.equal(offline.length, 1, 'exactly one offline event');
        assert.equal(offline[0].received_at, last + 3 * INTERVAL_MS + 1, 'stamped with the sweep time');
        assert.deepEqual(offline[0].metadata, { reason: 'missed_heartbeats' });
        assert.equal((await events(hub, 'miss-1', 'online')).length, 0);

        // The next heartbeat brings it back; a second one does not add another `online` event.
        const back = await heartbeat(hub, 'miss-1');
        assert.equal(back.status, 200);
        assert.equal(back.body.status, 'online');
        const up = await agent(hub, 'miss-1');
        assert.equal(up.status, 'online');
        assert.equal(up.offline_reason, null);
        const backAt = clock.now();
        assert.equal(up.last_heartbeat_at, backAt);
        clock.advance(5_000);
        assert.equal((await heartbeat(hub, 'miss-1')).status, 200);
        const online = await events(hub, 'miss-1', 'online');
        assert.equal(online.length, 1, 'exactly one online event');
        assert.equal(online[0].received_at, backAt);
        assert.equal((await events(hub, 'miss-1', 'offline')).length, 1, 'coming back adds no offline event');

        // The 30 s window restarts from the newest heartbeat.
        clock.advance(29_000);
        assert.deepEqual(await hub.liveness.sweep(), []);
        assert.equal((await agent(hub, 'miss-1')).status, 'online');
      });
    });

    test('a stopped event takes the agent offline at once as `stopped`; no missed-heartbeat offline follows', { skip }, async () => {
      await withHub(dialect, async (hub, clock) => {
        await register(hub, 'stop-1');
        clock.advance(15_000);
        assert.equal((await heartbeat(hub, 'stop-1')).status, 200);
        clock.advance(1_000);
        const stopped = await hub.call('POST', '/api/v1/agents/stop-1/events', {
          event_type: 'stopped',
          message: 'shutting down',
          event_id: 's-1',
        });
        assert.equal(stopped.status, 201);
        const a = await agent(hub, 'stop-1');
        assert.equal(a.status, 'offline', 'offline without waiting for a sweep');
        assert.equal(a.offline_reason, 'stopped');
        assert.equal(a.updated_at, clock.now());

        // Long after it would have timed out, sweeps leave it as a planned stop.
        for (const step of [31_000, 60_000, HOUR]) {
          clock.advance(step);
          assert.deepEqual(await hub.liveness.sweep(), []);
        }
        const still = await agent(hub, 'stop-1');
        assert.equal(still.status, 'offline');
        assert.equal(still.offline_reason, 'stopped', 'a sweep does not relabel a planned stop as a failure');
        assert.equal((await events(hub, 'stop-1', 'offline')).length, 0, 'no missed-heartbeat offline event');
        assert.equal((await events(hub, 'stop-1', 'stopped')).length, 1);

        // Started again: one heartbeat is one `online` event.
        assert.equal((await heartbeat(hub, 'stop-1')).status, 200);
        assert.equal((await heartbeat(hub, 'stop-1')).status, 200);
        const back = await agent(hub, 'stop-1');
        assert.equal(back.status, 'online');
        assert.equal(back.offline_reason, null);
        assert.equal((await events(hub, 'stop-1', 'online')).length, 1);
      });
    });

    test('after a hub restart: one interval of grace, then agents that stayed silent go offline', { skip }, async () => {
      const dir = tempDir();
      const store = await storeTarget(dialect, dir.path);
      const hubs: TestHub[] = [];
      try {
        const before = new ManualClock(T0);
        const first = await startTestHub(dialect, { clock: before, target: store.target, dir: dir.path });
        hubs.push(first);
        await register(first, 'dead-1');
        await register(first, 'live-1');
        before.advance(5_000);
        assert.equal((await heartbeat(first, 'dead-1')).status, 200);
        assert.equal((await heartbeat(first, 'live-1')).status, 200);
        await first.stop();

        // The hub was down for an hour: every agent's last heartbeat is long past 3 intervals.
        const bootedAt = T0 + HOUR;
        const after = new ManualClock(bootedAt);
        const second = await startTestHub(dialect, { clock: after, target: store.target, dir: dir.path });
        hubs.push(second);
        assert.equal((await agent(second, 'dead-1')).status, 'online', 'the store kept the state across the restart');

        assert.deepEqual(await second.liveness.sweep(), [], 'a sweep right at boot marks nobody offline');
        after.set(bootedAt + 5_000);
        assert.equal((await heartbeat(second, 'live-1')).status, 200, 'live-1 heartbeats within the grace');
        after.set(bootedAt + INTERVAL_MS - 1);
        assert.deepEqual(await second.liveness.sweep(), [], 'still inside the grace');
        assert.equal((await agent(second, 'dead-1')).status, 'online');

        after.set(bootedAt + INTERVAL_MS);
        assert.deepEqual(await second.liveness.sweep(), ['dead-1'], 'one interval after boot, the silent agent is offline');
        const dead = await agent(second, 'dead-1');
        assert.equal(dead.status, 'offline');
        assert.equal(dead.offline_reason, 'missed_heartbeats');
        assert.equal((await events(second, 'dead-1', 'offline')).length, 1);

        const live = await agent(second, 'live-1');
        assert.equal(live.status, 'online', 'the agent that heartbeat within the grace stays online');
        assert.equal(live.last_heartbeat_at, bootedAt + 5_000);
        assert.equal((await events(second, 'live-1', 'offline')).length, 0);

        // live-1 keeps the ordinary rule from its last heartbeat.
        after.set(bootedAt + 5_000 + 29_000);
        assert.deepEqual(await second.liveness.sweep(), []);
        after.set(bootedAt + 5_000 + 3 * INTERVAL_MS + 1);
        assert.deepEqual(await second.liveness.sweep(), ['live-1']);
      } finally {
        for (const h of hubs) await h.stop();
        await store.cleanup();
        dir.remove();
      }
    });

    test('an agent clock 1 h behind never makes it offline: liveness uses the hub receive time', { skip }, async () => {
      await withHub(dialect, async (hub, clock) => {
        await register(hub, 'skew-1');
        clock.advance(15_000);
        // Heartbeat every interval for two minutes, stamped an hour in the past, sweeping as the hub would.
        for (let i = 0; i < 12; i++) {
          const hb = await heartbeat(hub, 'skew-1', { timestamp: clock.now() - HOUR, event_id: `skew-hb-${i}` });
          assert.equal(hb.status, 200);
          assert.equal(hb.body.received_at, clock.now());
          const a = await agent(hub, 'skew-1');
          assert.equal(a.last_heartbeat_at, clock.now(), 'last_heartbeat_at is the hub receive time, not the agent timestamp');
          clock.advance(INTERVAL_MS);
          assert.deepEqual(await hub.liveness.sweep(), []);
        }
        assert.equal((await agent(hub, 'skew-1')).status, 'online');
        assert.equal((await events(hub, 'skew-1', 'offline')).length, 0);

        // The stored sample keeps both clocks.
        const view = await hub.call('GET', '/api/monitoring/agents/skew-1');
        assert.equal(view.status, 200);
        assert.equal(view.body.metrics.length, 12);
        for (const m of view.body.metrics) assert.equal(m.timestamp, m.received_at - HOUR);
      });
    });

    test('events store the agent timestamp and received_at; more than 5 min ahead is 422', { skip }, async () => {
      await withHub(dialect, async (hub, clock) => {
        await register(hub, 'ts-1');
        clock.advance(15_000);
        const now = clock.now();

        const past = await hub.call('POST', '/api/v1/agents/ts-1/events', {
          event_type: 'info',
          message: 'behind',
          timestamp: now - HOUR,
          event_id: 'ts-past',
        });
        assert.equal(past.status, 201);
        const ahead = await hub.call('POST', '/api/v1/agents/ts-1/events', {
          event_type: 'info',
          message: 'slightly ahead',
          timestamp: now + 4 * 60_000,
          event_id: 'ts-ahead',
        });
        assert.equal(ahead.status, 201, 'a clock up to 5 min ahead is tolerated');
        const none = await hub.call('POST', '/api/v1/agents/ts-1/events', {
          event_type: 'info',
          message: 'unstamped',
          event_id: 'ts-none',
        });
        assert.equal(none.status, 201);

        const stored = new Map((await events(hub, 'ts-1', 'info')).map((e) => [e.event_id, e]));
        assert.deepEqual(
          { timestamp: stored.get('ts-past')?.timestamp, received_at: stored.get('ts-past')?.received_at },
          { timestamp: now - HOUR, received_at: now },
        );
        assert.deepEqual(
          { timestamp: stored.get('ts-ahead')?.timestamp, received_at: stored.get('ts-ahead')?.received_at },
          { timestamp: now + 4 * 60_000, received_at: now },
        );
        assert.deepEqual(
          { timestamp: stored.get('ts-none')?.timestamp, received_at: stored.get('ts-none')?.received_at },
          { timestamp: now, received_at: now },
          'without a timestamp the hub time stands in',
        );

        const tooFar = now + 5 * 60_000 + 1;
        assertErrorShape(
          await hub.call('POST', '/api/v1/agents/ts-1/events', {
            event_type: 'info',
            message: 'future',
            timestamp: tooFar,
            event_id: 'ts-future',
          }),
          422,
          'VIGIL_TIMESTAMP_IN_FUTURE',
        );
        assertErrorShape(
          await hub.call('POST', '/api/v1/agents/ts-1/errors', { error_type: 'E', message: 'future', timestamp: now + HOUR }),
          422,
          'VIGIL_TIMESTAMP_IN_FUTURE',
        );
        const before = (await agent(hub, 'ts-1')).last_heartbeat_at;
        clock.advance(1_000);
        assertErrorShape(await heartbeat(hub, 'ts-1', { timestamp: clock.now() + HOUR }), 422, 'VIGIL_TIMESTAMP_IN_FUTURE');
        assert.equal((await agent(hub, 'ts-1')).last_heartbeat_at, before, 'a refused heartbeat is not a sign of life');
        assert.equal((await events(hub, 'ts-1')).filter((e) => e.event_id === 'ts-future').length, 0, 'the refused event is not stored');

        // In a batch, only the future item is refused; the rest is stored.
        const batch = await hub.call('POST', '/api/v1/ingest', {
          events: [
            { agent_id: 'ts-1', event_type: 'info', message: 'ok', timestamp: clock.now() - HOUR, event_id: 'tb-ok' },
            { agent_id: 'ts-1', event_type: 'info', message: 'future', timestamp: clock.now() + HOUR, event_id: 'tb-future' },
          ],
        });
        assert.equal(batch.status, 207);
        assert.deepEqual(batch.body.accepted, { heartbeats: 0, events: 1, errors: 0, traces: 0 });
        assert.deepEqual(
          batch.body.rejected.map((r: any) => [r.kind, r.index, r.code]),
          [['events', 1, 'VIGIL_TIMESTAMP_IN_FUTURE']],
        );
        const ids = (await events(hub, 'ts-1')).map((e) => e.event_id);
        assert.ok(ids.includes('tb-ok'));
        assert.ok(!ids.includes('tb-future'));
      });
    });
  });
}
