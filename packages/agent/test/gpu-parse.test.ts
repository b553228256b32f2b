import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseNvidiaApps, parseNvidiaGpus, parseRocmVram } from '../src/collector/gpu-parse.js';
import { fixture } from './support/fake-host.js';

const devices = (text: string) => {
  const r = parseNvidiaGpus(text);
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.value;
};

describe('nvidia-smi --query-gpu', () => {
  test('one GPU', () => {
    assert.deepEqual(devices(fixture('gpu/nvidia-1.csv')), [
      {
        index: 0,
        name: 'NVIDIA GeForce RTX 4090',
        memoryTotalMb: 24564,
        memoryUsedMb: 1536,
        memoryFreeMb: 22620,
        utilizationPercent: 7,
        temperatureC: 41,
      },
    ]);
  });

  test('eight GPUs', () => {
    const d = devices(fixture('gpu/nvidia-8.csv'));
    assert.deepEqual(
      d.map((g) => g.index),
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
    assert.equal(d[7]?.memoryUsedMb, 7004);
    assert.equal(d[7]?.utilizationPercent, 84);
  });

  test('no GPU: "No devices were found" is zero devices, not an error', () => {
    assert.deepEqual(devices(fixture('gpu/nvidia-0.txt')), []);
    assert.deepEqual(devices(''), []);
  });

  test('N/A, [Not Supported], commas and unicode in names, extra whitespace', () => {
    const d = devices(fixture('gpu/nvidia-odd.csv'));
    assert.deepEqual(d, [
      { index: 0, name: 'Tesla K80', memoryTotalMb: 11441, memoryUsedMb: 0, memoryFreeMb: 11441 },
      {
        index: 1,
        name: 'NVIDIA RTX A6000, Ü edition, röntgen',
        memoryTotalMb: 49140,
        memoryUsedMb: 100,
        memoryFreeMb: 48540,
        temperatureC: 45,
      },
      // GPU 2 (a vGPU reporting N/A memory) is left out; GPU 3's used memory is derived from total − free.
      {
        index: 3,
        name: 'NVIDIA A100-SXM4-40GB MIG 1g.5gb',
        memoryTotalMb: 40960,
        memoryUsedMb: 960,
        memoryFreeMb: 40000,
        temperatureC: 33,
      },
    ]);
  });

  test('an error text or garbage is an error, never a device', () => {
    const error = parseNvidiaGpus(fixture('gpu/nvidia-error.txt'));
    assert.equal(error.ok, false);
    assert.equal(parseNvidiaGpus('\u0000\u0001garbage, , ,\n%s%n\n').ok, false);
    assert.equal(parseNvidiaGpus('0, x, 1, 2, 3, 4').ok, false);
    assert.equal(parseNvidiaGpus('-1, x, 1, 2, 3, 4, 5').ok, false);
    assert.equal(parseNvidiaGpus('0, x, 1e400, 2, 3, 4, 5').ok, false);
  });

  test('sixteen GPUs', () => {
    const text = Array.from({ length: 16 }, (_, i) => `${i}, NVIDIA B200, 183359, 0, 182500, 0, 30`).join('\n');
    assert.equal(devices(text).length, 16);
  });
});

describe('nvidia-smi --query-compute-apps', () => {
  test('MiB per PID, summed over GPUs, N/A rows skipped', () => {
    const r = parseNvidiaApps(fixture('gpu/nvidia-apps.csv'));
    assert.ok(r.ok);
    assert.deepEqual(
      [...r.value],
      [
        [4242, 4196],
        [4243, 1024],
        [999, 512],
      ],
    );
  });

  test('no process, and garbage', () => {
    const none = parseNvidiaApps(fixture('gpu/nvidia-apps-none.txt'));
    assert.ok(none.ok);
    assert.equal(none.value.size, 0);
    assert.equal(parseNvidiaApps('pid, used_memory\nx, y\n').ok, false);
  });
});

describe('rocm-smi --showmeminfo vram --json', () => {
  test('VRAM per card, after the warnings some releases print first', () => {
    const r = parseRocmVram(fixture('gpu/rocm-vram.txt'));
    assert.ok(r.ok);
    assert.deepEqual(
      r.value.map((d) => [d.index, d.name, d.memoryTotalMb, d.memoryUsedMb]),
      [
        [0, 'card0', 65520, 10.453125],
        [1, 'card1', 65520, 32760],
      ],
    );
  });

  test('no JSON, malformed JSON, no figures', () => {
    assert.equal(parseRocmVram('ERROR: no GPU').ok, false);
    assert.equal(parseRocmVram('{"card0": ').ok, false);
    assert.equal(parseRocmVram('{"card0": {"VRAM Total Memory (B)": "x"}}').ok, false);
    assert.equal(parseRocmVram('[1, 2]').ok, false);
  });
});
