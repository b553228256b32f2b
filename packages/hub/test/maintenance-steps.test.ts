import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { ManualClock } from '../src/clock.js';
import type { Command } from '../src/ingest/commands.js';
import { Writer } from '../src/ingest/writer.js';
import { resizeStep } from '../src/jobs/passes.js';
import { openStore } from '../src/store/open.js';
import { HOUR_MS, MINUTE_MS } from '../src/store/rollups.js';
import { SYSTEM_METRICS_COLUMNS, type SystemMetricsRow } from '../src/store/system-metrics.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { DIALECTS, postgresUnavailable, tempDir } from './support/stores.js';

/**
 * How maintenance steps (rollups, seals, purges) are sized and paced so that a backlog does not
 * hold the single writer for long stretches while clients write. What that does to ingest p99 is
 * measured by `npm run bench:ingest` (its steps run), not here.
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

  test('a maximum below the minimum wins', () => {
    assert.equal(resizeStep(7, 50, 5, 100, 7, true), 7);
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

describe('maintenance steps are paced while clients write (SQLite writer)', () => {
  const hostRow = (host: string): Command => ({
    kind: 'system_metrics',
    row: {
      host,
      received_at: 1,
      ...(Object.fromEntries(SYSTEM_METRICS_COLUMNS.filter((c) => c !== 'host' && c !== 'received_at').map((c) => [c, null])) as Omit<
        SystemMetricsRow,
        'host' | 'received_at'
      >),
    },
  });
  const purge: Command = { kind: 'purge', target: 'agent_metrics', cutoff: 0, limit: 100 };
  const log = { error: () => undefined, warn: () => undefined };
  const LOCK_MS = 400;

  /** A writer whose first step's batch took at least LOCK_MS (the write lock held by another connection meanwhile). */
  async function afterSlowStep(fn: (writer: Writer) => Promise<void>): Promise<void> {
    const dir = tempDir();
    const path = join(dir.path, 'pacing.db');
    const { db } = await openStore(path, { sqliteSynchronous: 'full', now: Date.now() });
    const writer = new Writer(db, { capacity: 100, batchMaxItems: 100, batchMaxDelayMs: 1 }, log);
    const other = new Database(path);
    try {
      other.exec('BEGIN IMMEDIATE');
      const slow = writer.submit([purge], { background: true });
      await new Promise((r) => setTimeout(r, LOCK_MS));
      other.exec('ROLLBACK');
      await slow;
      await fn(writer);
    } finally {
      if (other.inTransaction) other.exec('ROLLBACK');
      other.close();
      await writer.drain();
      await db.close();
      dir.remove();
    }
  }

  test('after a long step, the next waits about three times as long while a client writes; the client goes first', async () => {
    await afterSlowStep(async (writer) => {
      const order: string[] = [];
      const client = writer.submit([hostRow('c')]).then(() => order.push('client'));
      const submitted = performance.now();
      const next = writer.submit([purge], { background: true }).then(() => {
        order.push('step');
        return performance.now() - submitted;
      });
      await client;
      const waited = await next;
      assert.deepEqual(order, ['client', 'step']);
      assert.ok(waited >= 2 * LOCK_MS, `the next step waited ${waited.toFixed(0)} ms after a ${LOCK_MS} ms step`);
    });
  });

  test('with no client writing, the next step goes at once', async () => {
    await afterSlowStep(async (writer) => {
      const submitted = performance.now();
      await writer.submit([purge], { background: true });
      const waited = performance.now() - submitted;
      assert.ok(waited < 2 * LOCK_MS, `the next step waited ${waited.toFixed(0)} ms with no client writing`);
    });
  });

  test('a step held back when the writer stops is refused, not left hanging', async () => {
    await afterSlowStep(async (writer) => {
      await writer.submit([hostRow('c')]);
      const held = writer.submit([purge], { background: true });
      await writer.drain();
      await assert.rejects(held, { code: 'VIGIL_SHUTTING_DOWN' });
    });
  });
});
