import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../src/clock.js';
import { HOUR_MS, MINUTE_MS } from '../src/store/rollups.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { DIALECTS, postgresUnavailable } from './support/stores.js';

/**
 * Rollup steps cut short by tiny budgets, interleaved with rows stamped anywhere in the last three
 * hours (most of them late into minutes already rolled): each row must be counted in its hour
 * exactly once, whichever of the step's two statements folds it (store/rollups.ts). What a late
 * step costs against its budget is measured by `npm run bench:ingest` (its rollup steps), not here.
 */

const START = Date.UTC(2026, 2, 1, 9, 0, 0);
const AGENTS = ['s-1', 's-2', 's-3'];

type Op =
  { kind: 'rows'; rows: { agent: number; ageMs: number; cpu: number | null }[] } | { kind: 'step'; budget: number; advanceMs: number };

const ops = fc.array(
  fc.oneof(
    fc.record({
      kind: fc.constant('rows' as const),
      rows: fc.array(
        fc.record({
          agent: fc.integer({ min: 0, max: AGENTS.length - 1 }),
          ageMs: fc.integer({ min: 0, max: 3 * HOUR_MS }),
          // Few distinct values, so min, max and last are often tied between rows.
          cpu: fc.option(fc.integer({ min: 0, max: 4 }), { freq: 5 }),
        }),
        { minLength: 1, maxLength: 12 },
      ),
    }),
    fc.record({
      kind: fc.constant('step' as const),
      budget: fc.integer({ min: 1, max: 8 }),
      advanceMs: fc.integer({ min: 0, max: 20 * MINUTE_MS }),
    }),
  ),
  { minLength: 1, maxLength: 25 },
);

interface Want {
  samples: number;
  n: number;
  sum: number;
  min: number | null;
  max: number | null;
  last: number | null;
  lastAt: number;
  lastId: number;
}

for (const dialect of DIALECTS) {
  describe(`rollup steps on ${dialect}`, async () => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;

    let hub: TestHub;
    const clock = new ManualClock(START);
    before(async () => {
      if (skip) return;
      hub = await startTestHub(dialect, {
        clock,
        flags: ['--host-metrics-interval', '0', '--rollup-interval', '3600', '--retention-interval', '86400'],
      });
      for (const id of AGENTS)
        assert.equal((await hub.call('POST', '/api/v1/agents', { agent_id: id, name: id, agent_type: 't' })).status, 201);
    });
    after(async () => {
      if (!skip) await hub.close();
    });

    test('every row is counted in its hour once, however steps and late rows interleave', { skip }, async () => {
      await fc.assert(
        fc.asyncProperty(ops, async (plan: Op[]) => {
          // Each run starts over on the same hub: no samples, no hours, no rollup state.
          await hub.db.transaction(async (tx) => {
            for (const table of ['agent_metrics', 'agent_metrics_1h', 'fleet_metrics_1h', 'rollup_state'])
              await tx.run(`DELETE FROM ${table}`);
          });
          clock.set(START + 3 * HOUR_MS);
          const step = (budget: number) => {
            const now = clock.now();
            return hub.writer.submitOne(
              { kind: 'rollup', step: { series: 'agent', until: now - 5_000, budget, lateFloor: 0, now } },
              { background: true },
            );
          };
          for (const op of plan) {
            if (op.kind === 'step') {
              clock.advance(op.advanceMs);
              await step(op.budget);
              continue;
            }
            const now = clock.now();
            await hub.writer.submit(
              op.rows.map((r) => ({
                kind: 'heartbeat' as const,
                agentId: AGENTS[r.agent] as string,
                heartbeat: { resources: r.cpu === null ? {} : { cpu_percent: r.cpu } },
                now: now - r.ageMs,
              })),
            );
          }
          // Catch up with a generous budget, then compare every hour with the rows before the mark.
          for (let i = 0; i < 1000 && !(await step(1_000)).done; i++);
          const mark = Number((await hub.db.get<{ m: number }>("SELECT minute_mark AS m FROM rollup_state WHERE series = 'agent'"))?.m);
          const raw = await hub.db.all<{ id: number; agent_id: string; received_at: number; cpu_percent: number | null }>(
            'SELECT m.id, k.agent_id, m.received_at, m.cpu_percent FROM agent_metrics m JOIN agent_keys k ON k.agent_key = m.agent_key WHERE m.received_at < ?',
            [mark],
          );
          const want = new Map<string, Want>();
          for (const r of raw) {
            const k = `${r.agent_id}|${Math.floor(Number(r.received_at) / HOUR_MS) * HOUR_MS}`;
            const w = want.get(k) ?? { samples: 0, n: 0, sum: 0, min: null, max: null, last: null, lastAt: -1, lastId: -1 };
            w.samples++;
            const v = r.cpu_percent === null ? null : Number(r.cpu_percent);
            if (v !== null) {
              w.n++;
              w.sum += v;
              w.min = w.min === null ? v : Math.min(w.min, v);
              w.max = w.max === null ? v : Math.max(w.max, v);
            }
            const at = Number(r.received_at);
            if (at > w.lastAt || (at === w.lastAt && Number(r.id) > w.lastId))
              Object.assign(w, { last: v, lastAt: at, lastId: Number(r.id) });
            want.set(k, w);
          }
          const got = await hub.db.all<Record<string, number | string | null>>(
            'SELECT agent_id, bucket, samples, cpu_percent_n, cpu_percent_sum, cpu_percent_min, cpu_percent_max, cpu_percent_last FROM agent_metrics_1h',
          );
          assert.equal(got.length, want.size, `hour rows ${got.length}, hours with rows before the mark ${want.size}`);
          for (const g of got) {
            const k = `${g.agent_id}|${Number(g.bucket)}`;
            const w = want.get(k);
            assert.ok(w, `an hour row without rows: ${k}`);
            const num = (x: unknown) => (x === null ? null : Number(x));
            assert.deepEqual(
              [
                Number(g.samples),
                Number(g.cpu_percent_n),
                Number(g.cpu_percent_sum),
                num(g.cpu_percent_min),
                num(g.cpu_percent_max),
                num(g.cpu_percent_last),
              ],
              [w.samples, w.n, w.sum, w.min, w.max, w.last],
              `hour ${k}: samples, n, sum, min, max, last`,
            );
          }
        }),
        { numRuns: dialect === 'sqlite' ? 60 : 25 },
      );
    });
  });
}
