import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ManualClock } from '../src/clock.js';
import { purgeHistoryInSteps } from '../src/jobs/retention.js';
import { deleteAgent, purgeAgentHistory } from '../src/store/retire.js';
import { alerts, openLive, register, settle, startReceiver } from './support/alert-helpers.js';
import { vigil } from './support/cli.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { DIALECTS, postgresUnavailable, tempDir, type Dialect } from './support/stores.js';

/**
 * Retiring agents on a real hub over HTTP, on both databases: delete (history removed in batches,
 * or kept until retention), the agent's own key refused while a pool key or the admin brings it back
 * as new, rename, pause and resume with the alerts they end and the live messages they send, and
 * `vigil agents` through the real binary.
 */

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const FLAGS = ['--host-metrics-interval', '0', '--webhook-allow-private', 'true', '--webhook-backoff-ms', '20'];
const HISTORY = [
  'agent_metrics',
  'agent_events',
  'agent_event_ids',
  'error_logs',
  'error_event_ids',
  'llm_traces',
  'llm_trace_ids',
  'alerts',
  'agent_metrics_1h',
];

async function withHub(dialect: Dialect, fn: (hub: TestHub, clock: ManualClock) => Promise<void>, dir?: string): Promise<void> {
  const clock = new ManualClock(T0);
  const hub = await startTestHub(dialect, { clock, flags: FLAGS, ...(dir ? { dir } : {}) });
  try {
    await fn(hub, clock);
  } finally {
    await hub.close();
  }
}

async function ok(hub: TestHub, method: string, path: string, body?: unknown, token?: string): Promise<any> {
  const r = await hub.call(method, path, body, token);
  assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Rows of each history table that belong to `agentId`, read from the store itself. */
async function historyRows(hub: TestHub, agentId: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of HISTORY) {
    // Samples name their agent by its integer key, as rows and (past the recent window) in sealed blocks.
    const key = '(SELECT agent_key FROM agent_keys WHERE agent_id = ?)';
    const sql =
      table === 'agent_metrics'
        ? `SELECT (SELECT COUNT(*) FROM agent_metrics WHERE agent_key = ${key}) + ` +
          `COALESCE((SELECT SUM(samples) FROM agent_metric_blocks WHERE agent_key = ${key}), 0) AS n`
        : `SELECT COUNT(*) AS n FROM ${table} WHERE agent_id = ?`;
    const row = await hub.db.get<{ n: number }>(sql, table === 'agent_metrics' ? [agentId, agentId] : [agentId]);
    out[table] = Number(row?.n ?? 0);
  }
  return out;
}

/** An agent with some of everything: samples (rolled up), events, an error, a trace; then silent, so `agent_offline` fires. */
async function busyThenSilent(hub: TestHub, clock: ManualClock, agentId: string): Promise<void> {
  await register(hub, agentId);
  for (let i = 0; i < 3; i++) {
    await ok(hub, 'POST', `/api/v1/agents/${agentId}/heartbeat`, { status: 'online', metrics: { cpu_percent: 10 + i } });
    clock.advance(5_000);
  }
  await ok(hub, 'POST', `/api/v1/agents/${agentId}/events`, { event_type: 'info', message: 'epoch done', event_id: `ev-${agentId}` });
  await ok(hub, 'POST', `/api/v1/agents/${agentId}/errors`, { error_type: 'TimeoutError', message: 'timed out', event_id: `e-${agentId}` });
  await ok(hub, 'POST', `/api/v1/agents/${agentId}/traces`, {
    event_id: `tr-${agentId}`,
    model: 'm',
    provider: 'p',
    input_tokens: 1,
    output_tokens: 1,
    latency_ms: 5,
    status: 'ok',
  });
  clock.advance(120_000);
  await hub.rollups.runOnce();
  assert.deepEqual(await hub.liveness.sweep(), [agentId]);
  await settle(hub);
  assert.deepEqual(
    (await alerts(hub, `?agent_id=${agentId}&state=firing`)).map((a) => a.rule_name),
    ['agent_offline'],
  );
}

for (const dialect of DIALECTS) {
  describe(`retiring agents on ${dialect}`, async () => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;

    test('delete: the agent and all its history go, its alert ends and webhooks hear it, the overview drops it', { skip }, async () => {
      const receiver = await startReceiver();
      try {
        await withHub(dialect, async (hub, clock) => {
          await ok(hub, 'POST', '/api/v1/webhooks', { url: receiver.url });
          await busyThenSilent(hub, clock, 'stale-1');
          await register(hub, 'keeper');
          await receiver.waitFor(1);
          const before = await historyRows(hub, 'stale-1');
          for (const t of [
            'agent_metrics',
            'agent_events',
            'agent_event_ids',
            'error_logs',
            'llm_traces',
            'llm_trace_ids',
            'alerts',
            'agent_metrics_1h',
          ]) {
            assert.ok((before[t] ?? 0) > 0, `${t} has rows before the delete: ${JSON.stringify(before)}`);
          }
          const live = await openLive(hub);

          const del = await ok(hub, 'DELETE', '/api/v1/agents/stale-1');
          assert.deepEqual([del.deleted, del.already_deleted, del.history], [true, false, 'deleted']);
          assert.equal(
            del.rows_deleted,
            Object.values(before).reduce((a, b) => a + b, 0),
            'every row of its history, counted once',
          );
          assert.deepEqual(
            Object.values(await historyRows(hub, 'stale-1')),
            HISTORY.map(() => 0),
          );

          // The live feed: the alert ended with the agent, then the agent went.
          const ended = await live.next((m) => m.type === 'alert' && m.change === 'resolved');
          assert.deepEqual([ended.alert.agent_id, ended.alert.resolve_reason], ['stale-1', 'agent_deleted']);
          assert.deepEqual(await live.next((m) => m.type === 'agent_removed'), {
            type: 'agent_removed',
            agent_id: 'stale-1',
            at: clock.now(),
          });
          const [, resolved] = await receiver.waitFor(2);
          assert.deepEqual(
            [resolved.event, resolved.alert.agent_id, resolved.alert.resolve_reason],
            ['resolved', 'stale-1', 'agent_deleted'],
          );
          live.close();

          // Gone from every reader.
          assert.equal((await hub.call('GET', '/api/v1/agents/stale-1')).body.error.code, 'VIGIL_AGENT_NOT_FOUND');
          assert.deepEqual(
            (await ok(hub, 'GET', '/api/v1/agents')).agents.map((a: any) => a.agent_id),
            ['keeper'],
          );
          const dash = await ok(hub, 'GET', '/api/monitoring/dashboard');
          assert.deepEqual(
            dash.agents.map((a: any) => a.agent_id),
            ['keeper'],
          );
          assert.equal(dash.summary.agents_total, 1);
          assert.equal((await hub.call('GET', '/api/v1/agents/stale-1/metrics')).status, 404);

          // A stale test agent never fires agent_offline again, however long it stays silent.
          clock.advance(24 * 3_600_000);
          assert.deepEqual(await hub.liveness.sweep(), ['keeper']);
          await hub.alerts.tick();
          await settle(hub);
          assert.deepEqual(await alerts(hub, '?agent_id=stale-1'), []);
          assert.equal((await hub.call('DELETE', '/api/v1/agents/nobody')).body.error.code, 'VIGIL_AGENT_NOT_FOUND');
        });
      } finally {
        await receiver.close();
      }
    });

    test(
      'a deleted agent: its own key cannot bring it back (403 VIGIL_AGENT_DELETED); a pool key or the admin registers it as new',
      { skip },
      async () => {
        await withHub(dialect, async (hub, clock) => {
          await register(hub, 'w-1', { pool_name: 'gpu' });
          const { key } = await ok(hub, 'POST', '/api/v1/keys', { agent_id: 'w-1' });
          const { key: poolKey } = await ok(hub, 'POST', '/api/v1/keys', { pool_name: 'gpu' });
          await ok(hub, 'POST', '/api/v1/agents/w-1/heartbeat', { status: 'online' }, key);
          await ok(hub, 'DELETE', '/api/v1/agents/w-1');

          // Writes find no agent (the SDK then registers again), and that registration is refused.
          const beat = await hub.call('POST', '/api/v1/agents/w-1/heartbeat', { status: 'online' }, key);
          assert.deepEqual([beat.status, beat.body.error.code], [404, 'VIGIL_AGENT_NOT_FOUND']);
          const again = await hub.call('POST', '/api/v1/agents', { agent_id: 'w-1', name: 'w', agent_type: 'worker' }, key);
          assert.deepEqual([again.status, again.body.error.code], [403, 'VIGIL_AGENT_DELETED']);
          const batch = await hub.call('POST', '/api/v1/ingest', { events: [{ agent_id: 'w-1', event_type: 'info' }] }, key);
          assert.equal(batch.status, 207, 'a batch for a deleted agent stores nothing');
          assert.equal(batch.body.rejected[0].code, 'VIGIL_AGENT_NOT_FOUND', JSON.stringify(batch.body));
          assert.equal((await hub.call('GET', '/api/v1/agents/w-1')).status, 404);

          clock.advance(60_000);
          const back = await hub.call('POST', '/api/v1/agents', { agent_id: 'w-1', name: 'reborn', agent_type: 'worker' }, poolKey);
          assert.equal(back.status, 201, JSON.stringify(back.body));
          assert.deepEqual(
            [back.body.created, back.body.agent.name, back.body.agent.pool_name, back.body.agent.registered_at, back.body.agent.paused],
            [true, 'reborn', 'gpu', T0 + 60_000, false],
          );
          // Back as new: its own key works again, and its history starts afresh.
          await ok(hub, 'POST', '/api/v1/agents/w-1/heartbeat', { status: 'online' }, key);
          const events = await ok(hub, 'GET', '/api/v1/events?agent_id=w-1');
          assert.deepEqual(
            events.events.map((e: any) => e.event_type),
            ['registered'],
          );

          // Deleted again, the admin token brings it back too.
          await ok(hub, 'DELETE', '/api/v1/agents/w-1');
          const admin = await hub.call('POST', '/api/v1/agents', { agent_id: 'w-1', name: 'third', agent_type: 'worker' });
          assert.deepEqual([admin.status, admin.body.created], [201, true]);
        });
      },
    );

    test(
      'delete with keep_history: the agent goes, its history stays for retention, its alert is resolved as agent_deleted',
      { skip },
      async () => {
        await withHub(dialect, async (hub, clock) => {
          await busyThenSilent(hub, clock, 'kept-1');
          const before = await historyRows(hub, 'kept-1');
          const del = await ok(hub, 'DELETE', '/api/v1/agents/kept-1?keep_history=true');
          assert.deepEqual([del.history, del.rows_deleted], ['kept', 0]);
          assert.equal((await hub.call('GET', '/api/v1/agents/kept-1')).status, 404);
          const after = await historyRows(hub, 'kept-1');
          assert.equal(after.agent_metrics, before.agent_metrics);
          assert.equal(after.agent_events, before.agent_events);
          const [offline] = await alerts(hub, '?agent_id=kept-1');
          assert.deepEqual([offline.rule_name, offline.state, offline.resolve_reason], ['agent_offline', 'resolved', 'agent_deleted']);
          const errors = await ok(hub, 'GET', '/api/v1/errors?agent_id=kept-1');
          assert.deepEqual(
            errors.errors.map((e: any) => e.resolved),
            [true],
            'its open errors are no longer active',
          );

          // Asking again without keep_history removes what was kept.
          const again = await ok(hub, 'DELETE', '/api/v1/agents/kept-1');
          assert.deepEqual([again.already_deleted, again.history], [true, 'deleted']);
          assert.ok(again.rows_deleted > 0);
          assert.deepEqual(
            Object.values(await historyRows(hub, 'kept-1')),
            HISTORY.map(() => 0),
          );
        });
      },
    );

    test('history goes in bounded batches, and what a re-registered agent reports since is kept', { skip }, async () => {
      await withHub(dialect, async (hub, clock) => {
        await register(hub, 'big-1');
        for (let i = 0; i < 7; i++) await ok(hub, 'POST', '/api/v1/agents/big-1/heartbeat', { status: 'online' });
        clock.advance(1_000);
        const del = await hub.db.transaction((tx) => deleteAgent(tx, hub.db.dialect, 'big-1', false, clock.now()));
        assert.ok(del.ok && del.deleted);
        const first = await hub.writer.submitOne({ kind: 'purge_agent_history', agentId: 'big-1', limit: 3 });
        assert.deepEqual([first.deleted, first.done], [3, false]);
        // Registered again mid-purge: its new rows are not the old agent's history.
        clock.advance(1_000);
        await register(hub, 'big-1');
        await ok(hub, 'POST', '/api/v1/agents/big-1/heartbeat', { status: 'online' });
        // Every step stays within its bound. How many steps remain depends on whether the start's
        // retention pass (which also finishes removals) got to this agent first, so it is not counted.
        for (let done = false; !done;) {
          const step = await hub.writer.submitOne({ kind: 'purge_agent_history', agentId: 'big-1', limit: 3 });
          assert.ok(step.deleted <= 3, `a step deleted ${step.deleted} rows, over its bound of 3`);
          done = step.done;
        }
        const rows = await historyRows(hub, 'big-1');
        assert.equal(rows.agent_metrics, 1, 'the heartbeat sent after it came back');
        assert.equal(rows.agent_events, 1, 'its new "registered" event');
        // The purge is finished: another step does nothing.
        const last = await hub.db.transaction((tx) => purgeAgentHistory(tx, 'big-1', 3));
        assert.deepEqual([last.deleted, last.done], [0, true]);

        // A deletion whose steps were cut short (the hub stopped) is finished by the next retention pass.
        await register(hub, 'cut-1');
        for (let i = 0; i < 4; i++) await ok(hub, 'POST', '/api/v1/agents/cut-1/heartbeat', { status: 'online' });
        clock.advance(1_000);
        await hub.db.transaction((tx) => deleteAgent(tx, hub.db.dialect, 'cut-1', false, clock.now()));
        assert.ok((await historyRows(hub, 'cut-1')).agent_metrics === 4);
        await hub.retention.runOnce();
        assert.deepEqual(
          Object.values(await historyRows(hub, 'cut-1')),
          HISTORY.map(() => 0),
        );

        // The steps (purgeHistoryInSteps) take at most their bound each and stop when nothing is left:
        // with room for 5 rows a step and every step fast, n rows go in floor(n / 5) + 1 steps.
        await register(hub, 'steps-1');
        for (let i = 0; i < 12; i++) await ok(hub, 'POST', '/api/v1/agents/steps-1/heartbeat', { status: 'online' });
        clock.advance(1_000);
        const rowsBefore = Object.values(await historyRows(hub, 'steps-1')).reduce((a, b) => a + b, 0);
        await hub.db.transaction((tx) => deleteAgent(tx, hub.db.dialect, 'steps-1', false, clock.now()));
        const purged = await purgeHistoryInSteps(hub.writer, 'steps-1', { targetMs: 60_000, maxRows: 5 });
        assert.deepEqual(purged, { deleted: rowsBefore, steps: Math.floor(rowsBefore / 5) + 1 });
        assert.deepEqual(
          Object.values(await historyRows(hub, 'steps-1')),
          HISTORY.map(() => 0),
        );
      });
    });

    test(
      'pause: open alerts end (agent_paused), heartbeats still count, no alert fires while paused; resume watches again',
      { skip },
      async () => {
        await withHub(dialect, async (hub, clock) => {
          const live = await openLive(hub);
          await busyThenSilent(hub, clock, 'p-1');
          const paused = await ok(hub, 'PATCH', '/api/v1/agents/p-1', { paused: true });
          assert.equal(paused.agent.paused, true);
          assert.deepEqual(await live.next((m) => m.type === 'agent_updated'), {
            type: 'agent_updated',
            agent_id: 'p-1',
            name: 'p-1',
            paused: true,
            at: clock.now(),
          });
          const [ended] = await alerts(hub, '?agent_id=p-1');
          assert.deepEqual([ended.state, ended.resolve_reason], ['resolved', 'agent_paused']);

          // Still reporting: the heartbeat is taken and the agent is online, but it stays quiet.
          const beat = await hub.call('POST', '/api/v1/agents/p-1/heartbeat', { status: 'online', metrics: { cpu_percent: 99 } });
          assert.equal(beat.status, 200);
          const agent = (await ok(hub, 'GET', '/api/v1/agents/p-1')).agent;
          assert.deepEqual([agent.status, agent.paused, agent.cpu_percent], ['online', true, 99]);
          const row = (await ok(hub, 'GET', '/api/monitoring/dashboard')).agents.find((a: any) => a.agent_id === 'p-1');
          assert.equal(row.paused, true, 'the overview shows it as paused');
          clock.advance(120_000);
          assert.deepEqual(await hub.liveness.sweep(), ['p-1'], 'liveness still tells the truth about it');
          await hub.alerts.tick();
          await settle(hub);
          clock.advance(600_000);
          await hub.alerts.tick();
          await settle(hub);
          assert.equal((await alerts(hub, '?agent_id=p-1&state=firing')).length, 0, 'no alert while paused');

          // Rename leaves monitoring as it is.
          const renamed = await ok(hub, 'PATCH', '/api/v1/agents/p-1', { name: 'old test box' });
          assert.deepEqual([renamed.agent.name, renamed.agent.paused], ['old test box', true]);

          // Resumed while still silent: the offline alert fires again at once.
          await ok(hub, 'PATCH', '/api/v1/agents/p-1', { paused: false });
          await settle(hub);
          assert.deepEqual(
            (await alerts(hub, '?agent_id=p-1&state=firing')).map((a) => a.rule_name),
            ['agent_offline'],
          );

          // Bad patches are 400s naming the problem; unknown agents 404.
          assert.equal((await hub.call('PATCH', '/api/v1/agents/p-1', {})).body.error.code, 'VIGIL_VALIDATION');
          assert.equal((await hub.call('PATCH', '/api/v1/agents/p-1', { paused: 'yes' })).body.error.code, 'VIGIL_VALIDATION');
          assert.equal((await hub.call('PATCH', '/api/v1/agents/p-1', { status: 'online' })).body.error.code, 'VIGIL_VALIDATION');
          assert.equal((await hub.call('PATCH', '/api/v1/agents/p-1', { name: '' })).body.error.code, 'VIGIL_VALIDATION');
          assert.equal((await hub.call('PATCH', '/api/v1/agents/nobody', { paused: true })).status, 404);
          live.close();
        });
      },
    );

    test('only the admin retires agents: agent and pool keys get 403', { skip }, async () => {
      await withHub(dialect, async (hub) => {
        await register(hub, 'k-1', { pool_name: 'gpu' });
        const { key } = await ok(hub, 'POST', '/api/v1/keys', { agent_id: 'k-1' });
        const { key: poolKey } = await ok(hub, 'POST', '/api/v1/keys', { pool_name: 'gpu' });
        for (const k of [key, poolKey]) {
          assert.equal((await hub.call('DELETE', '/api/v1/agents/k-1', undefined, k)).status, 403);
          assert.equal((await hub.call('PATCH', '/api/v1/agents/k-1', { paused: true }, k)).status, 403);
        }
        assert.equal((await hub.call('DELETE', '/api/v1/agents/k-1', undefined, null)).status, 401);
        assert.equal((await ok(hub, 'GET', '/api/v1/agents/k-1')).agent.paused, false);
      });
    });

    test('vigil agents pause, rename, resume and rm through the real binary; a running hub follows within a tick', { skip }, async () => {
      const dir = tempDir();
      try {
        await withHub(
          dialect,
          async (hub, clock) => {
            const store = ['--data-dir', dir.path, '--db', hub.target];
            await busyThenSilent(hub, clock, 'cli-1');
            await register(hub, 'cli-2');

            const pause = await vigil(['agents', 'pause', 'cli-1', ...store]);
            assert.equal(pause.code, 0, pause.stderr);
            assert.match(pause.stdout, /^paused monitoring of cli-1; 1 open alert\(s\) ended/);
            await hub.alerts.tick();
            await settle(hub);
            clock.advance(600_000);
            await hub.alerts.tick();
            await settle(hub);
            assert.equal((await alerts(hub, '?agent_id=cli-1&state=firing')).length, 0, 'the running hub keeps it quiet');

            const rename = await vigil(['agents', 'rename', 'cli-1', 'retired box', ...store]);
            assert.equal(rename.code, 0, rename.stderr);
            assert.equal(rename.stdout, 'renamed cli-1 to "retired box"\n');
            assert.equal((await ok(hub, 'GET', '/api/v1/agents/cli-1')).agent.name, 'retired box');

            assert.equal((await vigil(['agents', 'resume', 'cli-1', ...store])).stdout, 'resumed monitoring of cli-1\n');
            await hub.alerts.tick();
            await settle(hub);
            assert.deepEqual(
              (await alerts(hub, '?agent_id=cli-1&state=firing')).map((a) => a.rule_name),
              ['agent_offline'],
            );

            const rm = await vigil(['agents', 'rm', 'cli-1', ...store]);
            assert.equal(rm.code, 0, rm.stderr);
            assert.match(rm.stdout, /^deleted agent cli-1; \d+ rows of history removed\n$/);
            assert.equal((await hub.call('GET', '/api/v1/agents/cli-1')).status, 404);
            await hub.alerts.tick();
            await settle(hub);
            assert.deepEqual(await alerts(hub, '?agent_id=cli-1'), []);

            const keep = await vigil(['agents', 'rm', 'cli-2', '--keep-history', ...store]);
            assert.equal(keep.stdout, 'deleted agent cli-2; history kept until retention\n');

            const missing = await vigil(['agents', 'pause', 'nobody', ...store]);
            assert.deepEqual([missing.code, missing.stderr], [1, 'no agent "nobody"\n']);
            const usage = await vigil(['agents', 'rename', 'cli-2', ...store]);
            assert.equal(usage.code, 2);
            assert.match(usage.stderr, /agents rename needs an agent id and a name/);
            assert.equal((await vigil(['agents', 'rm', '../x', ...store])).code, 2);
            assert.equal((await vigil(['agents', 'pause', 'cli-2', '--keep-history', ...store])).code, 2);
          },
          join(dir.path, 'hub'),
        );
      } finally {
        dir.remove();
      }
    });
  });
}
