import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../src/clock.js';
import { resizeStep } from '../src/jobs/passes.js';
import { HOUR_MS, MINUTE_MS } from '../src/store/rollups.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { DIALECTS, postgresUnavailable } from './support/stores.js';

/**
 * How maintenance steps (rollups, seals, purges) are sized so that no step of a backlog holds the
 * single writer for long. What that does to ingest p99 is measured by `npm run bench:ingest` (its
 * steps run against the same seeded store without them), not here.
 */

describe('step sizing (resizeStep)', () => {
  test('a slow step cuts the next to the size that would have fit, at once, never below the minimum', () => {
    assert.equal(resizeStep(4_000, 20, 5, 250, 10_000, true), 1_000);
    assert.equal(resizeStep(4_000, 400, 5, 250, 10_000, true), 250);
    assert.equal(resizeStep(4_000, 5, 5, 250, 10_000, true), 4_000, 'on target: unchanged');
  });

  test('a fast step doubles the next only when it stopped at its size', () => {
    assert.equal(resizeStep(1_000, 0.5, 5, 250, 10_000, true), 2_000);
    assert.equal(resizeStep(1_000, 0.5, 5, 250, 10_000, false), 1_000, 'it ran out of work: no growth');
    assert.equal(resizeStep(8_000, 0.5, 5, 250, 10_000, true), 10_000, 'capped at the maximum');
  });

  test('a maximum below the minimum wins, and a size above the maximum comes back under it', () => {
    assert.equal(resizeStep(7, 50, 5, 100, 7, true), 7);
    assert.equal(resizeStep(20_000, 5, 5, 250, 10_000, true), 10_000);
  });
});

for (const dialect of DIALECTS) {
  describe(`a rollup step says whether its budget stopped it, on ${dialect}`, async () => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;
    const START = Date.UTC(2026, 2, 1, 9, 0, 0);
    const clock = new ManualClock(START);
    let hub: TestHub;
    before(async () => {
      if (skip) return;
      hub = await startTestHub(dialect, {
        clock,
        flags: ['--host-metrics-interval', '0', '--rollup-interval', '3600', '--retention-interval', '86400'],
      });
      assert.equal((await hub.call('POST', '/api/v1/agents', { agent_id: 'f-1', name: 'f-1', agent_type: 't' })).status, 201);
    });
    after(async () => {
      if (!skip) await hub.close();
    });

    test('full while rows are left past its budget, not on the step that catches up', { skip }, async () => {
      clock.set(START + 2 * HOUR_MS);
      const now = clock.now();
      // Ten samples in ten different minutes of the last hour.
      await hub.writer.submit(
        Array.from({ length: 10 }, (_, i) => ({
          kind: 'heartbeat' as const,
          agentId: 'f-1',
          heartbeat: { resources: { cpu_percent: i } },
          now: now - HOUR_MS + i * MINUTE_MS,
        })),
      );
      const step = (budget: number) =>
        hub.writer.submitOne(
          { kind: 'rollup', step: { series: 'agent', until: now - 5_000, budget, lateFloor: 0, now } },
          { background: true },
        );
      const first = await step(3);
      assert.equal(first.full, true, 'three rows of ten: the budget stopped it');
      assert.equal(first.done, false);
      let last = first;
      for (let i = 0; i < 20 && !last.done; i++) last = await step(10_000);
      assert.equal(last.done, true);
      assert.equal(last.full, false, 'the step that caught up ran out of work, not of budget');
    });
  });
}
