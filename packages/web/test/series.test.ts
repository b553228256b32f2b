import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MetricSample } from '../src/api/types.js';
import { appendSample, emptySeries, fromPoints, fromSamples, hasValues, liveFigures, rangeMs } from '../src/agent/series.js';

function sample(at: number, cpu: number | null): MetricSample {
  return {
    id: at,
    agent_id: 'a',
    timestamp: null,
    received_at: at,
    status: 'online',
    cpu_percent: cpu,
    memory_mb: 100,
    message_count: null,
    error_count: null,
    io_read_bps: null,
    io_write_bps: null,
    host_cpu_percent: 40,
    cpu_cores_physical: null,
    cpu_cores_available: null,
    cpu_load_1min: null,
    cpu_load_5min: null,
    memory_percent: null,
    memory_available_gb: null,
    gpu_vram_total_gb: null,
    gpu_vram_available_gb: null,
    gpu_type: null,
  };
}

test('raw samples (newest first from the API) become oldest-first columns in seconds, inside the range', () => {
  const d = fromSamples([sample(3000, 30), sample(2000, null), sample(1000, 10), sample(500, 5)], 1000);
  assert.deepEqual(d.t, [1, 2, 3]);
  assert.deepEqual(d.values.cpu_percent, [10, null, 30], 'an unmeasured sample is a gap, not 0');
  assert.deepEqual(d.values.host_cpu_percent, [40, 40, 40]);
  assert.equal(hasValues(d, ['gpu_vram_available_gb']), false);
  assert.equal(hasValues(d, ['cpu_percent']), true);
});

test('range API buckets chart their averages', () => {
  const d = fromPoints([
    { t: 120_000, cpu_percent: { min: 1, max: 9, avg: 5, last: 2 }, memory_mb: null },
    { t: 60_000, cpu_percent: { min: 1, max: 3, avg: 2, last: 3 }, io_read_bps: 7 },
  ]);
  assert.deepEqual(d.t, [60, 120]);
  assert.deepEqual(d.values.cpu_percent, [2, 5]);
  assert.deepEqual(d.values.io_read_bps, [7, null]);
  assert.deepEqual(d.values.memory_mb, [null, null]);
});

test('live samples append, slide the window, and never go backwards', () => {
  const figures = liveFigures({
    type: 'metrics_update',
    agent_id: 'a',
    status: 'online',
    resources: { cpu_percent: 50, gpu_vram_available_gb: 8 },
    metrics: { cpu_percent: 12, memory_mb: 256 },
    received_at: 0,
  });
  assert.deepEqual(figures, {
    cpu_percent: 12,
    host_cpu_percent: 50,
    memory_mb: 256,
    gpu_vram_available_gb: 8,
    io_read_bps: null,
    io_write_bps: null,
  });
  let d = appendSample(emptySeries(), 1000, figures, 0);
  d = appendSample(d, 2000, figures, 0);
  assert.deepEqual(d.t, [1, 2]);
  assert.equal(appendSample(d, 1500, figures, 0), d, 'an older sample is ignored');
  d = appendSample(d, 5000, figures, 1500);
  assert.deepEqual(d.t, [2, 5], 'what slid out of the range is dropped');
  assert.deepEqual(d.values.memory_mb, [256, 256]);
});

test('ranges', () => {
  assert.equal(rangeMs('15m'), 900_000);
  assert.equal(rangeMs('7d'), 604_800_000);
});
