import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseNvidiaApps, parseNvidiaGpus, parseRocmSmi } from '../src/collector/gpu-parse.js';
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
        uuid: 'GPU-5c6b6b3e-8f8a-4a39-9d33-0c1a0b6f2a11',
        busId: '00000000:01:00.0',
        memoryTotalMb: 24564,
        memoryUsedMb: 1536,
        memoryFreeMb: 22620,
        utilizationPercent: 7,
        temperatureC: 41,
        powerW: 68.23,
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
    assert.equal(d[7]?.uuid, 'GPU-00000007-3f1e-4c2a-8d7b-9a6e5f4c3b2a');
    assert.equal(d[7]?.busId, '00000000:88:00.0');
    assert.equal(d[7]?.powerW, 210.7);
  });

  test('two GPUs, each with its own figures (written from the documented format)', () => {
    assert.deepEqual(
      devices(fixture('gpu/nvidia-2.csv')).map((g) => [
        g.index,
        g.uuid,
        g.busId,
        g.name,
        g.memoryFreeMb,
        g.utilizationPercent,
        g.temperatureC,
        g.powerW,
      ]),
      [
        [0, 'GPU-0f6a2c1e-7b3d-4e8f-9a01-b2c3d4e5f601', '00000000:17:00.0', 'NVIDIA H200', 41984, 97, 71, 612.48],
        [1, 'GPU-9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a502', '00000000:65:00.0', 'NVIDIA H200', 81920, 35, 52, 301.1],
      ],
    );
  });

  test('no GPU: "No devices were found" is zero devices, not an error', () => {
    assert.deepEqual(devices(fixture('gpu/nvidia-0.txt')), []);
    assert.deepEqual(devices(''), []);
  });

  test('N/A, [Not Supported], commas and unicode in names, extra whitespace', () => {
    const d = devices(fixture('gpu/nvidia-odd.csv'));
    assert.deepEqual(d, [
      {
        index: 0,
        name: 'Tesla K80',
        uuid: 'GPU-1d2c3b4a-0000-1111-2222-333344445555',
        busId: '00000000:04:00.0',
        memoryTotalMb: 11441,
        memoryUsedMb: 0,
        memoryFreeMb: 11441,
      },
      {
        index: 1,
        name: 'NVIDIA RTX A6000, Ü edition, röntgen',
        uuid: 'GPU-aa00bb11-cc22-dd33-ee44-ff5500660077',
        busId: '00000000:05:00.0',
        memoryTotalMb: 49140,
        memoryUsedMb: 100,
        memoryFreeMb: 48540,
        temperatureC: 45,
      },
      // GPU 2 (a vGPU reporting N/A memory) is left out; GPU 3's used memory is derived from total − free.
      {
        index: 3,
        name: 'NVIDIA A100-SXM4-40GB MIG 1g.5gb',
        uuid: 'MIG-7a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d',
        busId: '00000000:B1:00.0',
        memoryTotalMb: 40960,
        memoryUsedMb: 960,
        memoryFreeMb: 40000,
        temperatureC: 33,
        powerW: 61.5,
      },
    ]);
  });

  test('an error text or garbage is an error, never a device', () => {
    const error = parseNvidiaGpus(fixture('gpu/nvidia-error.txt'));
    assert.equal(error.ok, false);
    assert.equal(parseNvidiaGpus('\u0000\u0001garbage, , ,\n%s%n\n').ok, false);
    assert.equal(parseNvidiaGpus('0, u, b, x, 1, 2, 3, 4, 5').ok, false);
    assert.equal(parseNvidiaGpus('-1, u, b, x, 1, 2, 3, 4, 5, 6').ok, false);
    assert.equal(parseNvidiaGpus('0, u, b, x, 1e400, 2, 3, 4, 5, 6').ok, false);
    // The format of an older Vigil query (no uuid, bus id or power) is not misread as this one.
    assert.equal(parseNvidiaGpus('0, NVIDIA GeForce RTX 4090, 24564, 1536, 22620, 7, 41').ok, false);
  });

  test('sixteen GPUs', () => {
    const text = Array.from(
      { length: 16 },
      (_, i) => `${i}, GPU-${i}, 00000000:${10 + i}:00.0, NVIDIA B200, 183359, 0, 182500, 0, 30, 120`,
    ).join('\n');
    assert.equal(devices(text).length, 16);
  });
});

describe('nvidia-smi --query-compute-apps', () => {
  test('MiB per process and GPU, N/A rows skipped', () => {
    const r = parseNvidiaApps(fixture('gpu/nvidia-apps.csv'));
    assert.ok(r.ok);
    assert.deepEqual(
      r.value.map((a) => [a.pid, a.gpuUuid?.slice(0, 12), a.mb]),
      [
        [4242, 'GPU-00000000', 4096],
        [4243, 'GPU-00000000', 1024],
        [999, 'GPU-00000001', 512],
        [4242, 'GPU-00000001', 100],
      ],
    );
  });

  test('no process, and garbage', () => {
    const none = parseNvidiaApps(fixture('gpu/nvidia-apps-none.txt'));
    assert.ok(none.ok);
    assert.equal(none.value.length, 0);
    assert.equal(parseNvidiaApps('pid, used_memory\nx, y\n').ok, false);
  });
});

describe('rocm-smi --showmeminfo vram --json', () => {
  test('VRAM per card, after the warnings some releases print first', () => {
    const r = parseRocmSmi(fixture('gpu/rocm-vram.txt'));
    assert.ok(r.ok);
    assert.deepEqual(
      r.value.map((d) => [d.index, d.name, d.memoryTotalMb, d.memoryUsedMb]),
      [
        [0, 'card0', 65520, 10.453125],
        [1, 'card1', 65520, 32760],
      ],
    );
  });

  test('two cards with use, temperature, power, model, bus and unique id (written from the documented JSON)', () => {
    const r = parseRocmSmi(fixture('gpu/rocm-2.json'));
    assert.ok(r.ok);
    assert.deepEqual(r.value, [
      {
        index: 0,
        name: 'Aldebaran/MI200 [Instinct MI210]',
        uuid: '0x2f6c1a0be3d94e71',
        busId: '0000:29:00.0',
        memoryTotalMb: 65520,
        memoryUsedMb: 49152,
        memoryFreeMb: 16368,
        utilizationPercent: 88,
        temperatureC: 48,
        powerW: 212,
      },
      {
        index: 1,
        name: 'Aldebaran/MI200 [Instinct MI210]',
        uuid: '0x8a03d57c61b2f490',
        busId: '0000:2C:00.0',
        memoryTotalMb: 65520,
        memoryUsedMb: 10.453125,
        memoryFreeMb: 65509.546875,
        utilizationPercent: 0,
        temperatureC: 39,
      },
    ]);
  });

  test('no JSON, malformed JSON, no figures', () => {
    assert.equal(parseRocmSmi('ERROR: no GPU').ok, false);
    assert.equal(parseRocmSmi('{"card0": ').ok, false);
    assert.equal(parseRocmSmi('{"card0": {"VRAM Total Memory (B)": "x"}}').ok, false);
    assert.equal(parseRocmSmi('[1, 2]').ok, false);
  });
});
