import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import type { ResourceReport } from '@vigil/protocol';
import { mergeReport, UPDATED_AT } from '../src/store/resource-patch.js';

/**
 * mergeReport replaced SQLite's json_patch of the heartbeat's patch (the report with its receive
 * times under `_updated_at`) inside the UPDATE. It must give the same dict, stored or not stored before,
 * for any report the schema admits: scalars, arrays (`gpus`) and nulls that clear a field.
 */
const field = fc.constantFrom('cpu_percent', 'memory_available_gb', 'gpu_type', 'gpus', 'extra_a', 'extra_b', 'label');
const value = fc.oneof(
  fc.constant(null),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
  fc.integer(),
  fc.boolean(),
  fc.string({ maxLength: 8 }),
  fc.array(fc.record({ index: fc.nat(7), vram_free_gb: fc.double({ noNaN: true, noDefaultInfinity: true, min: 0, max: 80 }) }), {
    maxLength: 2,
  }),
);
const report = fc.dictionary(field, value, { maxKeys: 6 }) as fc.Arbitrary<ResourceReport>;

/** What the UPDATE used to bind: the report plus, per field, its receive time (null for a cleared field). */
function patchOf(r: ResourceReport, now: number): string {
  const updated: Record<string, number | null> = {};
  for (const [k, v] of Object.entries(r)) updated[k] = v === null ? null : now;
  return JSON.stringify({ ...r, [UPDATED_AT]: updated });
}

test('mergeReport gives the dict json_patch gave, over any sequence of reports', () => {
  const db = new Database(':memory:');
  const patch = db.prepare('SELECT json_patch(?, ?) AS merged').pluck();
  try {
    fc.assert(
      fc.property(fc.array(report, { minLength: 1, maxLength: 6 }), (reports) => {
        let sql = '{}';
        let js: Record<string, unknown> = {};
        reports.forEach((r, i) => {
          const now = 1_700_000_000_000 + i * 15_000;
          sql = patch.get(sql, patchOf(r, now)) as string;
          js = mergeReport(js, r, now);
          // Compared as stored text, member order included (JSON has no -0: both store 0).
          assert.equal(JSON.stringify(js), JSON.stringify(JSON.parse(sql)));
        });
      }),
      { numRuns: 300 },
    );
  } finally {
    db.close();
  }
});

test('mergeReport leaves the stored dict it was given as it was (it may be a cached parse)', () => {
  const stored = Object.freeze({ cpu_percent: 5, [UPDATED_AT]: Object.freeze({ cpu_percent: 1 }) });
  const merged = mergeReport(stored, { cpu_percent: null, gpu_type: 'nvidia' }, 2);
  assert.deepEqual(merged, { gpu_type: 'nvidia', [UPDATED_AT]: { gpu_type: 2 } });
  assert.deepEqual(stored, { cpu_percent: 5, [UPDATED_AT]: { cpu_percent: 1 } });
});

test('a stored _updated_at that is not an object is replaced, as json_patch replaced it', () => {
  const merged = mergeReport({ cpu_percent: 5, [UPDATED_AT]: 7 }, { memory_available_gb: 3, cpu_percent: null }, 9);
  assert.deepEqual(merged, { [UPDATED_AT]: { memory_available_gb: 9 }, memory_available_gb: 3 });
});
