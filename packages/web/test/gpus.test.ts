import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gpuList, hasGpu, vramUsedPercent } from '../src/agent/gpus.js';

const gpu = (index: number, used: number) => ({ index, vram_total_gb: 80, vram_used_gb: used, vram_free_gb: 80 - used });

test('an agent has a GPU when it sends devices, VRAM, or a vendor other than none', () => {
  assert.equal(hasGpu({}), false, 'nothing reported');
  assert.equal(hasGpu({ gpu_type: 'none' }), false);
  assert.equal(hasGpu({ gpu_type: 'none', gpus: [] }), false);
  assert.equal(hasGpu({ gpu_type: 'apple' }), true);
  assert.equal(hasGpu({ gpu_vram_total_gb: 24 }), true, 'a client of the base resources dict sends only the sums');
  assert.equal(hasGpu({ gpus: [gpu(0, 1)] }), true);
});

test('GPUs are listed in index order, and a share of VRAM never passes 100 %', () => {
  assert.deepEqual(
    gpuList({ gpus: [gpu(1, 2), gpu(0, 3)] }).map((g) => g.index),
    [0, 1],
  );
  assert.deepEqual(gpuList({ gpu_vram_total_gb: 24 }), []);
  assert.equal(vramUsedPercent(gpu(0, 40)), 50);
  assert.equal(vramUsedPercent({ index: 0, vram_total_gb: 0, vram_used_gb: 0, vram_free_gb: 0 }), null);
  assert.equal(vramUsedPercent({ index: 0, vram_total_gb: 10, vram_used_gb: 11, vram_free_gb: 0 }), 100);
});
