import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { AgentProcessMetrics, ALERT_METRICS, ALERT_OPS, isWindowedMetric, Resources, type AlertOp } from '@vigil/protocol';
import { breaches, defaultMargin, OK, step, stillFiring, type AlertState, type Change, type Condition } from '../src/alerts/state.js';
import { ErrorRate, inScope, sampleValue } from '../src/alerts/metrics.js';

/**
 * The pure (rule, agent) state machine: boundaries by table, then properties over random sample
 * sequences (fast-check) against a plain reading of the rules: fire only after a breach has lasted
 * `for`, once per episode; resolve only past the hysteresis margin; changes in a legal order.
 */

interface Sample {
  at: number;
  value: number | null;
}

/** Feeds samples in order; `starts[i]` is the index of the sample that began the episode state `i` is in. */
function run(
  c: Condition,
  samples: readonly Sample[],
): { changes: { change: Change; at: number; index: number }[]; states: AlertState[]; starts: number[] } {
  let state: AlertState = OK;
  let start = -1;
  const changes: { change: Change; at: number; index: number }[] = [];
  const states: AlertState[] = [];
  const starts: number[] = [];
  samples.forEach((s, index) => {
    const before = state.phase;
    const r = step(c, state, s.value, s.at);
    state = r.state;
    if (before === 'ok' && state.phase !== 'ok') start = index;
    states.push(state);
    starts.push(start);
    if (r.change) changes.push({ change: r.change, at: s.at, index });
  });
  return { changes, states, starts };
}

const cpu: Condition = { op: '>', threshold: 80, forMs: 120_000, margin: 4 };

describe('alert state machine: boundaries', () => {
  test('fires only once the breach has lasted for_seconds, exactly at the boundary', () => {
    const t0 = 1_000_000;
    const { changes } = run(cpu, [
      { at: t0, value: 85 },
      { at: t0 + 60_000, value: 90 },
      { at: t0 + 119_999, value: 90 },
      { at: t0 + 120_000, value: 91 },
      { at: t0 + 180_000, value: 95 },
    ]);
    assert.deepEqual(
      changes.map((c) => [c.change, c.at - t0]),
      [
        ['pending', 0],
        ['firing', 120_000],
      ],
    );
  });

  test('a dip below the threshold while pending starts the duration over', () => {
    const { changes } = run(cpu, [
      { at: 0, value: 85 },
      { at: 100_000, value: 79 },
      { at: 110_000, value: 85 },
      { at: 200_000, value: 85 },
      { at: 230_000, value: 85 },
    ]);
    assert.deepEqual(
      changes.map((c) => [c.change, c.at]),
      [
        ['pending', 0],
        ['cancelled', 100_000],
        ['pending', 110_000],
        ['firing', 230_000],
      ],
    );
  });

  test('for_seconds 0 fires on the first breaching sample, without a pending phase', () => {
    const c = { ...cpu, forMs: 0 };
    assert.deepEqual(
      run(c, [{ at: 5, value: 81 }]).changes.map((x) => x.change),
      ['firing'],
    );
  });

  test('hysteresis: a firing CPU > 80 alert (margin 4) holds at 80, 77 and 76.01 and resolves at 76', () => {
    const c = { ...cpu, forMs: 0 };
    const { changes, states } = run(c, [
      { at: 0, value: 81 },
      { at: 1, value: 80 },
      { at: 2, value: 77 },
      { at: 3, value: 76.01 },
      { at: 4, value: 76 },
    ]);
    assert.deepEqual(
      changes.map((x) => [x.change, x.at]),
      [
        ['firing', 0],
        ['resolved', 4],
      ],
    );
    assert.equal(states[3]?.phase, 'firing');
  });

  test('each comparator with its margin, the equal case included', () => {
    const table: [AlertOp, number, boolean, boolean][] = [
      // op, value, breaches 10?, still firing with margin 1?
      ['>', 10, false, true],
      ['>', 9, false, false],
      ['>=', 10, true, true],
      ['>=', 9, false, true],
      ['>=', 8.99, false, false],
      ['<', 10, false, true],
      ['<', 11, false, false],
      ['<=', 10, true, true],
      ['<=', 11, false, true],
      ['<=', 11.01, false, false],
    ];
    for (const [op, value, b, s] of table) {
      assert.equal(breaches(op, value, 10), b, `${value} ${op} 10`);
      assert.equal(stillFiring({ op, threshold: 10, forMs: 0, margin: 1 }, value), s, `${value} still firing ${op} 10 (margin 1)`);
    }
  });

  test('no data cancels a pending alert and resolves a firing one; peak is the worst value by direction', () => {
    assert.deepEqual(
      run(cpu, [
        { at: 0, value: 90 },
        { at: 1, value: null },
      ]).changes.map((c) => c.change),
      ['pending', 'cancelled'],
    );
    const low: Condition = { op: '<', threshold: 2, forMs: 0, margin: 0 };
    const { changes, states } = run(low, [
      { at: 0, value: 1.5 },
      { at: 1, value: 0.5 },
      { at: 2, value: 1 },
      { at: 3, value: null },
    ]);
    assert.deepEqual(
      changes.map((c) => c.change),
      ['firing', 'resolved'],
    );
    const firing = states[2];
    assert.ok(firing?.phase === 'firing');
    assert.deepEqual([firing.valueAtFire, firing.peak, firing.value], [1.5, 0.5, 1]);
  });

  test('the default margin is 5 % of the threshold', () => {
    assert.equal(defaultMargin(80), 4);
    assert.equal(defaultMargin(-20), 1);
    assert.equal(defaultMargin(0), 0);
  });
});

const opArb = fc.constantFrom(...ALERT_OPS);
const conditionArb = fc.record({
  op: opArb,
  threshold: fc.integer({ min: -100, max: 100 }),
  forMs: fc.constantFrom(0, 1, 1000, 30_000, 120_000),
  margin: fc.constantFrom(0, 0.5, 2, 10),
});
/** Values near the threshold, where the interesting things happen, and some gaps in the data. */
function samplesArb(c: { threshold: number }) {
  return fc
    .array(
      fc.record({
        gap: fc.integer({ min: 0, max: 60_000 }),
        value: fc.option(fc.integer({ min: c.threshold - 15, max: c.threshold + 15 }), { freq: 12, nil: null }),
      }),
      { maxLength: 80 },
    )
    .map((xs) => {
      let at = 1_700_000_000_000;
      return xs.map((x) => ({ at: (at += x.gap), value: x.value }));
    });
}
const scenario = conditionArb.chain((c) => samplesArb(c).map((samples) => ({ c, samples })));

describe('alert state machine: properties', () => {
  test('changes follow ok → pending → firing → resolved, with cancelled back from pending', () => {
    const next: Record<string, readonly string[]> = {
      ok: ['pending', 'firing'],
      pending: ['cancelled', 'firing'],
      firing: ['resolved'],
    };
    const after: Record<Change, string> = { pending: 'pending', firing: 'firing', cancelled: 'ok', resolved: 'ok' };
    fc.assert(
      fc.property(scenario, ({ c, samples }) => {
        let phase = 'ok';
        for (const { change } of run(c, samples).changes) {
          assert.ok(next[phase]?.includes(change), `${change} after ${phase}`);
          phase = after[change];
        }
      }),
      { numRuns: 500 },
    );
  });

  test('a firing happens only after every sample since the breach began has breached, for at least for_seconds', () => {
    fc.assert(
      fc.property(scenario, ({ c, samples }) => {
        const { changes, states, starts } = run(c, samples);
        for (const f of changes.filter((x) => x.change === 'firing')) {
          const st = states[f.index];
          const start = starts[f.index] as number;
          assert.ok(st?.phase === 'firing');
          assert.equal(st.since, samples[start]?.at, 'the breach began with the episode');
          assert.ok(f.at - st.since >= c.forMs, 'lasted long enough');
          for (const s of samples.slice(start, f.index + 1)) {
            assert.ok(s.value !== null && breaches(c.op, s.value, c.threshold), `sample at ${s.at} breached`);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  test('no flapping: a firing alert resolves only on a value past the margin (or no data), and fires again only after one', () => {
    fc.assert(
      fc.property(scenario, ({ c, samples }) => {
        const { changes } = run(c, samples);
        for (const r of changes.filter((x) => x.change === 'resolved')) {
          const v = samples[r.index]?.value ?? null;
          assert.ok(v === null || !stillFiring(c, v), `resolved on ${v}, which is past the margin`);
        }
        const fired = changes.filter((x) => x.change === 'firing').length;
        const resolved = changes.filter((x) => x.change === 'resolved').length;
        assert.ok(fired - resolved === 0 || fired - resolved === 1, 'one open firing at most');
      }),
      { numRuns: 500 },
    );
  });

  test('a value hovering within the margin never resolves a firing alert', () => {
    fc.assert(
      fc.property(
        fc.record({ op: opArb, threshold: fc.integer({ min: -50, max: 50 }), margin: fc.integer({ min: 1, max: 10 }) }),
        fc.array(fc.double({ min: 0, max: 0.999, noNaN: true }), { minLength: 1, maxLength: 100 }),
        ({ op, threshold, margin }, offsets) => {
          const c: Condition = { op, threshold, forMs: 0, margin };
          const up = op === '>' || op === '>=';
          // Fire clearly, then hover on either side of the threshold but inside the band.
          const start = up ? threshold + 1 : threshold - 1;
          const hover = offsets.map((o) =>
            up ? threshold - margin * o + (o > 0.5 ? margin : 0) : threshold + margin * o - (o > 0.5 ? margin : 0),
          );
          const { changes } = run(
            c,
            [start, ...hover].map((value, i) => ({ at: i * 1000, value })),
          );
          assert.deepEqual(
            changes.map((x) => x.change),
            ['firing'],
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  test('with no duration and no margin, the alert fires exactly while the raw condition holds', () => {
    fc.assert(
      fc.property(scenario, ({ c, samples }) => {
        const raw = { ...c, forMs: 0, margin: 0 };
        const { states } = run(raw, samples);
        samples.forEach((s, i) => {
          const expected = s.value !== null && breaches(c.op, s.value, c.threshold);
          assert.equal(states[i]?.phase === 'firing', expected, `sample ${i} (${s.value})`);
        });
      }),
      { numRuns: 500 },
    );
  });

  test('the peak is the worst value seen since the breach began', () => {
    fc.assert(
      fc.property(scenario, ({ c, samples }) => {
        const { states, starts } = run(c, samples);
        states.forEach((st, i) => {
          if (st.phase === 'ok') return;
          const seen = samples
            .slice(starts[i], i + 1)
            .filter((s) => s.value !== null)
            .map((s) => s.value as number);
          const up = c.op === '>' || c.op === '>=';
          assert.equal(st.peak, up ? Math.max(...seen) : Math.min(...seen));
        });
      }),
      { numRuns: 300 },
    );
  });
});

describe('alert metrics', () => {
  test('every numeric field of a heartbeat (resources.* and metrics.*) is a metric a rule can watch', () => {
    const groups: [string, { properties: Record<string, { type?: unknown }> }][] = [
      ['resources', Resources as never],
      ['metrics', AgentProcessMetrics as never],
    ];
    const numeric = groups.flatMap(([group, schema]) =>
      Object.entries(schema.properties)
        .filter(([, s]) => s.type === 'number' || s.type === 'integer')
        .map(([field]) => `${group}.${field}`),
    );
    assert.ok(numeric.length >= 14);
    assert.deepEqual(
      // `tokens.*` are sums of LLM calls over a window, not heartbeat fields.
      ALERT_METRICS.filter((m) => m.includes('.') && !isWindowedMetric(m)),
      numeric,
    );
  });

  test('a heartbeat gives each metric its field; a missing field is no value, not 0', () => {
    const resources = { cpu_percent: 50, memory_percent: 40, gpu_vram_available_gb: 7, cpu_load_1min: 2 };
    const metrics = { memory_mb: 900, cpu_percent: 120, io_read_bps: 10 };
    assert.equal(sampleValue('cpu_percent', resources, metrics), 120, 'the process CPU when it reports one');
    assert.equal(sampleValue('cpu_percent', resources, {}), 50, 'else the host CPU');
    assert.equal(sampleValue('memory_mb', resources, metrics), 900);
    assert.equal(sampleValue('memory_percent', resources, metrics), 40);
    assert.equal(sampleValue('gpu_vram_available_gb', resources, metrics), 7);
    assert.equal(sampleValue('resources.cpu_load_1min', resources, metrics), 2);
    assert.equal(sampleValue('metrics.io_read_bps', resources, metrics), 10);
    assert.equal(sampleValue('resources.gpu_vram_total_gb', resources, metrics), undefined);
    assert.equal(sampleValue('memory_mb', {}, {}), undefined);
  });

  test('scopes match by agent, pool and type, every given field at once', () => {
    const where = { pool: 'gpu', type: 'llm-worker' };
    assert.ok(inScope({}, 'a', where));
    assert.ok(inScope({ pool_name: 'gpu' }, 'a', where));
    assert.ok(inScope({ pool_name: 'gpu', agent_type: 'llm-worker', agent_id: 'a' }, 'a', where));
    assert.ok(!inScope({ pool_name: 'cpu' }, 'a', where));
    assert.ok(!inScope({ agent_type: 'llm-worker', agent_id: 'b' }, 'a', where));
    assert.ok(!inScope({ pool_name: 'gpu' }, 'a', undefined), 'an agent of unknown pool is in no pool scope');
  });

  test('error_rate counts reports in the last minute and forgets older ones', () => {
    const r = new ErrorRate();
    for (let i = 0; i < 5; i++) r.record('a', 10_000 + i * 100);
    r.record('a', 40_000);
    assert.equal(r.rate('a', 40_000), 6);
    assert.equal(r.rate('a', 69_000), 6);
    assert.equal(r.rate('a', 71_000), 1, 'the first five are more than a minute old');
    assert.equal(r.rate('a', 101_000), 0);
    assert.equal(r.rate('other', 0), 0);
  });

  test('error_rate reloaded from stored per-second counts equals the rate counted live; active says when any remain', () => {
    const live = new ErrorRate();
    for (const at of [10_000, 10_500, 11_200, 40_000]) live.record('a', at);
    const restored = new ErrorRate();
    // As `error_counts` holds them: (second, reports), ascending.
    for (const [second, reports] of [
      [10, 2],
      [11, 1],
      [40, 1],
    ] as const)
      restored.add('a', second, reports, 45_000);
    for (const now of [45_000, 70_500, 71_500]) assert.equal(restored.rate('a', now), live.rate('a', now), `at ${now}`);
    assert.equal(restored.active(99_000), true);
    assert.equal(restored.rate('a', 100_500), live.rate('a', 100_500));
    assert.equal(restored.active(101_000), false);
    const stale = new ErrorRate();
    stale.add('a', 10, 5, 200_000);
    assert.equal(stale.rate('a', 200_000), 0, 'a count older than the window is dropped on arrival');
  });
});
