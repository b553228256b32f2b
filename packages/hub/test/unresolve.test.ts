import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../src/clock.js';
import { alerts, openLive, register, settle } from './support/alert-helpers.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { DIALECTS, postgresUnavailable } from './support/stores.js';

/**
 * Reopening a resolved error group (`POST /api/v1/errors/:errorId/unresolve`) on both databases,
 * over real HTTP: the store, the list, idempotence, the merge into a group a repeat opened after the
 * resolve, refusals, the live feed, and the alert engine's count of unresolved errors.
 */

const STACK = 'Error: upstream closed\n    at callModel (/app/src/llm.js:42:7)';

for (const dialect of DIALECTS) {
  describe(`reopening errors on ${dialect}`, async () => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 12, 0, 0));
    let hub: TestHub;
    before(async () => {
      if (!skip) hub = await startTestHub(dialect, { clock, flags: ['--host-metrics-interval', '0'] });
    });
    after(async () => {
      if (!skip) await hub.close();
    });

    let sent = 0;
    /** Reports one occurrence of the same failure (numbers in messages are normalised away) and returns its group id. */
    async function report(agentId: string, extra: Record<string, unknown> = {}): Promise<number> {
      const r = await hub.call('POST', `/api/v1/agents/${agentId}/errors`, {
        error_type: 'UpstreamError',
        message: `upstream closed after ${++sent} ms`,
        stack_trace: STACK,
        ...extra,
      });
      assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r.body));
      return r.body.id as number;
    }

    const stored = (id: number) =>
      hub.db.get<{ resolved: unknown; resolved_at: number | null; occurrences: number }>(
        'SELECT resolved, resolved_at, occurrences FROM error_logs WHERE id = ?',
        [id],
      );
    const openRows = async (agentId: string) =>
      Number(
        (await hub.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM error_logs WHERE agent_id = ? AND resolved = FALSE', [agentId]))?.n,
      );

    test('a resolved group reopens in the store and in the list; reopening again is idempotent', { skip }, async () => {
      await register(hub, 'ro-1');
      const id = await report('ro-1');
      await report('ro-1');
      assert.equal((await hub.call('POST', `/api/v1/errors/${id}/resolve`)).status, 200);
      assert.equal(Boolean((await stored(id))?.resolved), true);

      const first = await hub.call('POST', `/api/v1/errors/${id}/unresolve`);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.deepEqual(
        [first.body.error.id, first.body.error.resolved, first.body.error.resolved_at, first.body.error.occurrences, first.body.removed_id],
        [id, false, null, 2, null],
      );
      const row = await stored(id);
      assert.equal(Boolean(row?.resolved), false);
      assert.equal(row?.resolved_at, null);
      const open = await hub.call('GET', '/api/v1/errors?agent_id=ro-1&resolved=false');
      assert.deepEqual(
        open.body.errors.map((e: { id: number }) => e.id),
        [id],
      );

      const again = await hub.call('POST', `/api/v1/errors/${id}/unresolve`);
      assert.equal(again.status, 200);
      assert.deepEqual(again.body, first.body, 'reopening an open group changes nothing');
      assert.equal(await openRows('ro-1'), 1);
      // Open again, so a repeat counts on it rather than opening another group.
      assert.equal(await report('ro-1'), id);
      assert.equal(Number((await stored(id))?.occurrences), 3);
    });

    test('reopening when a repeat opened a new group merges into it, keeping one open group', { skip }, async () => {
      await register(hub, 'ro-merge');
      const old = await report('ro-merge', { event_id: 'ro-merge-occurrence-1' });
      clock.advance(1000);
      await report('ro-merge');
      const oldRow = (await hub.call('GET', '/api/v1/errors?agent_id=ro-merge')).body.errors[0];
      await hub.call('POST', `/api/v1/errors/${old}/resolve`);
      clock.advance(60_000);
      const fresh = await report('ro-merge');
      assert.notEqual(fresh, old, 'a repeat after the resolve opened a new group');
      clock.advance(5000);
      await report('ro-merge');
      await report('ro-merge');
      const freshRow = (await hub.call('GET', '/api/v1/errors?agent_id=ro-merge&resolved=false')).body.errors[0];
      assert.equal(freshRow.occurrences, 3);

      const r = await hub.call('POST', `/api/v1/errors/${old}/unresolve`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.error.id, fresh, 'the answer names the group that now holds the failure');
      assert.equal(r.body.removed_id, old);
      assert.equal(r.body.error.resolved, false);
      assert.equal(r.body.error.occurrences, 5, '2 reopened + 3 open');
      assert.equal(r.body.error.first_seen_at, oldRow.first_seen_at, 'the earliest first sighting');
      assert.equal(r.body.error.last_seen_at, freshRow.last_seen_at, 'the latest last sighting');

      assert.equal(await stored(old), undefined, 'the reopened row is gone');
      assert.equal(await openRows('ro-merge'), 1, 'one open group per (agent, fingerprint)');
      const all = await hub.call('GET', '/api/v1/errors?agent_id=ro-merge');
      assert.deepEqual(
        all.body.errors.map((e: { id: number; occurrences: number }) => [e.id, e.occurrences]),
        [[fresh, 5]],
      );
      // The unique index still guards the group: a repeat counts on it.
      assert.equal(await report('ro-merge'), fresh);
      assert.equal(Number((await stored(fresh))?.occurrences), 6);
      // A retry of an occurrence the merged row had counted answers with the group that holds it now.
      const retry = await hub.call('POST', '/api/v1/agents/ro-merge/errors', {
        error_type: 'UpstreamError',
        message: 'upstream closed after 1 ms',
        stack_trace: STACK,
        event_id: 'ro-merge-occurrence-1',
      });
      assert.deepEqual([retry.status, retry.body.id, retry.body.duplicate, retry.body.occurrences], [200, fresh, true, 6]);
      // The id that went away is now unknown.
      assert.equal((await hub.call('POST', `/api/v1/errors/${old}/unresolve`)).status, 404);
    });

    test('an unknown id is 404; no credentials 401; agent and pool keys 403, changing nothing', { skip }, async () => {
      const missing = await hub.call('POST', '/api/v1/errors/987654321/unresolve');
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error.code, 'VIGIL_ERROR_NOT_FOUND');

      await register(hub, 'ro-auth', { pool_name: 'ro-pool' });
      const id = await report('ro-auth');
      await hub.call('POST', `/api/v1/errors/${id}/resolve`);
      const agentKey = (await hub.call('POST', '/api/v1/keys', { agent_id: 'ro-auth' })).body.key as string;
      const poolKey = (await hub.call('POST', '/api/v1/keys', { pool_name: 'ro-pool' })).body.key as string;
      const none = await hub.call('POST', `/api/v1/errors/${id}/unresolve`, undefined, null);
      assert.equal(none.status, 401);
      assert.equal(none.body.error.code, 'VIGIL_UNAUTHORIZED');
      for (const [who, key] of [
        ['agent key of the same agent', agentKey],
        ['pool key of its pool', poolKey],
      ] as const) {
        const r = await hub.call('POST', `/api/v1/errors/${id}/unresolve`, undefined, key);
        assert.equal(r.status, 403, who);
        assert.equal(r.body.error.code, 'VIGIL_FORBIDDEN', who);
      }
      assert.equal(Boolean((await stored(id))?.resolved), true, 'still resolved');
    });

    test('the live feed announces a reopen once, and a merge with the id that went away', { skip }, async () => {
      await register(hub, 'ro-live');
      const live = await openLive(hub);
      try {
        const id = await report('ro-live');
        await hub.call('POST', `/api/v1/errors/${id}/resolve`);
        await hub.call('POST', `/api/v1/errors/${id}/unresolve`);
        const reopened = await live.next((m) => m.type === 'error_reopened' && m.error.id === id);
        assert.deepEqual(
          [reopened.agent_id, reopened.error.resolved, reopened.error.resolved_at, reopened.removed_id, reopened.reopened_at],
          ['ro-live', false, null, null, clock.now()],
        );
        // Reopening an open group stores nothing and announces nothing; the event is a marker that
        // everything committed before it has been delivered.
        await hub.call('POST', `/api/v1/errors/${id}/unresolve`);
        await hub.call('POST', '/api/v1/agents/ro-live/events', { event_type: 'info', message: 'ro-live marker' });
        await live.next((m) => m.type === 'event' && m.message === 'ro-live marker');
        assert.equal(live.messages.filter((m) => m.type === 'error_reopened' && m.error.id === id).length, 1);

        await hub.call('POST', `/api/v1/errors/${id}/resolve`);
        const fresh = await report('ro-live');
        await hub.call('POST', `/api/v1/errors/${id}/unresolve`);
        const merged = await live.next((m) => m.type === 'error_reopened' && m.removed_id === id);
        assert.deepEqual([merged.error.id, merged.error.occurrences], [fresh, 2]);
      } finally {
        live.close();
      }
    });

    test('an alert rule on unresolved_errors counts a reopened group again, and a merged one once', { skip }, async () => {
      await register(hub, 'ro-alert');
      for (const [name, threshold] of [
        ['ro more than one', 1],
        ['ro more than two', 2],
      ] as const) {
        const rule = await hub.call('POST', '/api/v1/alert-rules', {
          name,
          metric: 'unresolved_errors',
          op: '>',
          threshold,
          for_seconds: 0,
          severity: 'warning',
          scope: { agent_id: 'ro-alert' },
        });
        assert.equal(rule.status, 201, JSON.stringify(rule.body));
      }
      const firing = async () =>
        (await alerts(hub, '?state=firing&agent_id=ro-alert')).map((a: { rule_name: string; value: number }) => [a.rule_name, a.value]);

      const first = await report('ro-alert');
      await hub.call('POST', `/api/v1/errors/${first}/resolve`);
      await report('ro-alert', { error_type: 'OtherError', message: 'another failure' });
      await settle(hub);
      assert.deepEqual(await firing(), [], 'one unresolved group');

      await hub.call('POST', `/api/v1/errors/${first}/unresolve`);
      await settle(hub);
      assert.deepEqual(await firing(), [['ro more than one', 2]], 'the reopened group counts again');

      // Resolve the other group, let it repeat into a new one, then reopen the resolved one: it merges.
      const other = (await hub.call('GET', '/api/v1/errors?agent_id=ro-alert&resolved=false')).body.errors.find(
        (e: { error_type: string }) => e.error_type === 'OtherError',
      ).id as number;
      await hub.call('POST', `/api/v1/errors/${other}/resolve`);
      await report('ro-alert', { error_type: 'OtherError', message: 'another failure' });
      const merged = await hub.call('POST', `/api/v1/errors/${other}/unresolve`);
      assert.equal(merged.body.removed_id, other);
      await settle(hub);
      assert.equal(
        (await firing()).some(([name]) => name === 'ro more than two'),
        false,
        'a merge adds no group',
      );

      await report('ro-alert', { error_type: 'ThirdError', message: 'a third failure' });
      await settle(hub);
      assert.ok(
        (await firing()).some(([name, value]) => name === 'ro more than two' && value === 3),
        'positive control: a third group crosses the threshold',
      );
    });
  });
}
