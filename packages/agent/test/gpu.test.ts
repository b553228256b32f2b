import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, describe, test } from 'node:test';
import { Collector, type CollectorOptions, toResources } from '../src/collector/index.js';
import { FakeHost } from './support/fake-host.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-gpu-tools-'));
const host = FakeHost.of('v2-container');
const PID = 4242;
host.process(PID, { ppid: 1 });
after(() => {
  rmSync(dir, { recursive: true, force: true });
  host.dispose();
});

const FIXTURES = new URL('../../test/fixtures/gpu/', import.meta.url).pathname;
const MISSING = join(dir, 'not-installed');
let scripts = 0;

/** A fake GPU tool: a shell script whose body answers the two nvidia-smi queries. */
function tool(body: string): string {
  const path = join(dir, `tool-${++scripts}`);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

function collector(options: CollectorOptions): Collector {
  return new Collector({ rootDir: host.root, nvidiaSmiPath: MISSING, rocmSmiPath: MISSING, ...options });
}

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await f();
  return { value, ms: performance.now() - start };
}

describe('GPU through nvidia-smi, rocm-smi and sysfs', () => {
  test('nvidia-smi with 8 GPUs: per GPU, totals, and the VRAM of the watched PIDs', async () => {
    const argsLog = join(dir, 'args.log');
    const smi = tool(`echo "$@" >> '${argsLog}'
case "$1" in
  --query-gpu=*) cat '${FIXTURES}nvidia-8.csv' ;;
  --query-compute-apps=*) printf '%s, GPU-00000000-3f1e-4c2a-8d7b-9a6e5f4c3b2a, 2048\\n999999, GPU-00000000-3f1e-4c2a-8d7b-9a6e5f4c3b2a, 512\\n%s, GPU-00000003-3f1e-4c2a-8d7b-9a6e5f4c3b2a, 1024\\n' ${PID} ${PID} ;;
  *) exit 2 ;;
esac`);
    const c = collector({ nvidiaSmiPath: smi, pid: PID });
    const s = await c.sample();
    assert.equal(s.gpu.type, 'nvidia');
    assert.equal(s.gpu.devices.length, 8);
    assert.equal(s.gpu.totalMb, 8 * 81559);
    assert.equal(
      s.gpu.freeMb,
      [0, 1, 2, 3, 4, 5, 6, 7].reduce((sum, i) => sum + 81559 - 565 - i * 1000 - 4, 0),
    );
    assert.equal(s.gpu.error, undefined);
    assert.equal(s.process?.gpuMemoryBytes, 3072 * 1024 * 1024);
    assert.deepEqual(
      s.gpu.devices.map((d) => d.processMemoryMb),
      [2048, 0, 0, 1024, 0, 0, 0, 0],
    );
    const r = toResources(s);
    assert.equal(r.gpu_type, 'nvidia');
    assert.equal(r.gpu_vram_total_gb, (8 * 81559) / 1024);
    assert.equal(r.gpus?.length, 8);
    assert.equal(r.gpu_process_vram_gb, 3);
    // A fixed argument vector, never a shell line.
    assert.deepEqual(readFileSync(argsLog, 'utf8').trim().split('\n').sort(), [
      '--query-compute-apps=pid,gpu_uuid,used_memory --format=csv,noheader,nounits',
      '--query-gpu=index,uuid,pci.bus_id,name,memory.total,memory.used,memory.free,utilization.gpu,temperature.gpu,power.draw --format=csv,noheader,nounits',
    ]);
    c.close();
  });

  test('nvidia-smi with 2 GPUs and processes on both: a gpus entry per GPU, with our share of each', async () => {
    const smi = tool(`case "$1" in
  --query-gpu=*) cat '${FIXTURES}nvidia-2.csv' ;;
  --query-compute-apps=*) cat '${FIXTURES}nvidia-apps-2.csv' ;;
esac`);
    const c = collector({ nvidiaSmiPath: smi, pid: PID });
    const s = await c.sample();
    const r = toResources(s);
    assert.deepEqual(r.gpus, [
      {
        index: 0,
        name: 'NVIDIA H200',
        uuid: 'GPU-0f6a2c1e-7b3d-4e8f-9a01-b2c3d4e5f601',
        bus_id: '00000000:17:00.0',
        vram_total_gb: 143771 / 1024,
        vram_used_gb: 101787 / 1024,
        vram_free_gb: 41,
        utilization_percent: 97,
        temperature_c: 71,
        power_w: 612.48,
        process_vram_gb: 60,
      },
      {
        index: 1,
        name: 'NVIDIA H200',
        uuid: 'GPU-9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a502',
        bus_id: '00000000:65:00.0',
        vram_total_gb: 143771 / 1024,
        vram_used_gb: 61851 / 1024,
        vram_free_gb: 80,
        utilization_percent: 35,
        temperature_c: 52,
        power_w: 301.1,
        process_vram_gb: 2,
      },
    ]);
    // Only the watched PID (4242) counts as ours, not 4243 or other users' 7001 and 7002.
    assert.equal(r.gpu_process_vram_gb, 62);
    // The base dict's VRAM scalars stay, as sums (docs/seed-requirements.md).
    assert.equal(r.gpu_vram_available_gb, 121);
    assert.equal(r.gpu_vram_total_gb, (2 * 143771) / 1024);
    c.close();
  });

  test('nvidia-smi with 1 GPU and no compute process of ours: 0 bytes, measured', async () => {
    const smi = tool(`case "$1" in --query-gpu=*) cat '${FIXTURES}nvidia-1.csv' ;; *) cat '${FIXTURES}nvidia-apps-none.txt' ;; esac`);
    const c = collector({ nvidiaSmiPath: smi, pid: PID });
    const s = await c.sample();
    assert.deepEqual(
      s.gpu.devices.map((d) => d.name),
      ['NVIDIA GeForce RTX 4090'],
    );
    assert.equal(s.process?.gpuMemoryBytes, 0);
    c.close();
  });

  test('nvidia-smi finding no GPU (exit 6) is no GPU, not an error', async () => {
    const smi = tool(`cat '${FIXTURES}nvidia-0.txt'; exit 6`);
    const c = collector({ nvidiaSmiPath: smi });
    const s = await c.sample();
    assert.deepEqual(s.gpu, { type: 'none', devices: [], totalMb: 0, freeMb: 0 });
    const r = toResources(s);
    assert.equal(r.gpu_type, 'none');
    // Known to have no GPU: the hub's last GPU figures for the agent are cleared, not kept.
    assert.deepEqual([r.gpu_vram_total_gb, r.gpu_vram_available_gb, r.gpus, r.gpu_process_vram_gb], [null, null, null, null]);
    c.close();
  });

  test('no tool installed: none, quietly, and the missing tool is not spawned again', async () => {
    const later = join(dir, 'installed-later');
    const c = collector({ nvidiaSmiPath: later });
    assert.deepEqual((await c.sample()).gpu, { type: 'none', devices: [], totalMb: 0, freeMb: 0 });
    writeFileSync(later, `#!/bin/sh\ncat '${FIXTURES}nvidia-1.csv'\n`);
    chmodSync(later, 0o755);
    assert.equal((await c.sample()).gpu.type, 'none');
    c.close();
  });

  test('I2: a tool that hangs is killed with its children at the timeout', async () => {
    const pidFile = join(dir, 'sleeper.pid');
    const smi = tool(`sleep 60 & echo $! > '${pidFile}'; wait`);
    const c = collector({ nvidiaSmiPath: smi, gpuTimeoutMs: 1000 });
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const { value: s, ms } = await timed(() => c.sample());
    lag.disable();
    assert.ok(ms < 1500, `sample took ${ms} ms`);
    assert.match(s.gpu.error ?? '', /timed out after 1000 ms/);
    assert.equal(s.gpu.errorCount, 1);
    assert.deepEqual(s.gpu.devices, []);
    assert.ok(lag.percentile(99) / 1e6 < 50, `event loop p99 lag ${lag.percentile(99) / 1e6} ms`);
    const r = toResources(s);
    assert.equal(r.gpu_type, undefined);
    assert.equal(r.gpu_vram_total_gb, undefined);
    // The grandchild holding the pipe died with its group (it may linger as a zombie until reaped).
    const sleeper = readFileSync(pidFile, 'utf8').trim();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const state = existsSync(`/proc/${sleeper}/stat`) ? readFileSync(`/proc/${sleeper}/stat`, 'utf8').split(') ')[1]?.[0] : 'gone';
    assert.ok(state === 'gone' || state === 'Z', `sleep is ${state}`);
    c.close();
  });

  test('I2: a tool printing 10 MB is cut off at the output cap', async () => {
    const smi = tool(`head -c 10000000 /dev/zero | tr '\\0' x`);
    const c = collector({ nvidiaSmiPath: smi });
    const { value: s, ms } = await timed(() => c.sample());
    assert.match(s.gpu.error ?? '', /printed more than 1048576 bytes/);
    assert.ok(ms < 5500, `sample took ${ms} ms`);
    c.close();
  });

  test('I2: a tool exiting 9 with stderr, and one printing garbage: errors, counted', async () => {
    const failing = collector({ nvidiaSmiPath: tool(`cat '${FIXTURES}nvidia-error.txt' >&2; exit 9`) });
    const s1 = await failing.sample();
    assert.equal(s1.gpu.type, 'nvidia');
    assert.match(s1.gpu.error ?? '', /exited with code 9: NVIDIA-SMI has failed/);
    const s2 = await failing.sample();
    assert.equal(s2.gpu.errorCount, 2);
    failing.close();

    const garbage = collector({ nvidiaSmiPath: tool(`printf 'garbage\\001\\377, %%n, \\n[[[\\n'`) });
    const s3 = await garbage.sample();
    assert.match(s3.gpu.error ?? '', /unrecognised/);
    assert.deepEqual(s3.gpu.devices, []);
    garbage.close();
  });

  test('close() kills a tool still running', async () => {
    const c = collector({ nvidiaSmiPath: tool('sleep 60'), gpuTimeoutMs: 30_000 });
    const pending = timed(() => c.sample());
    await new Promise((resolve) => setTimeout(resolve, 100));
    c.close();
    const { value: s, ms } = await pending;
    assert.ok(ms < 1000, `sample took ${ms} ms`);
    assert.match(s.gpu.error ?? '', /cancelled/);
  });

  test('rocm-smi: amd, per card with every figure it prints', async () => {
    const argsLog = join(dir, 'rocm-args.log');
    const c = collector({ rocmSmiPath: tool(`echo "$@" > '${argsLog}'; cat '${FIXTURES}rocm-2.json'`) });
    const r = toResources(await c.sample());
    assert.equal(r.gpu_type, 'amd');
    assert.deepEqual(
      r.gpus?.map((g) => [g.index, g.uuid, g.bus_id, g.name, g.vram_free_gb, g.utilization_percent, g.temperature_c, g.power_w]),
      [
        [0, '0x2f6c1a0be3d94e71', '0000:29:00.0', 'Aldebaran/MI200 [Instinct MI210]', 16368 / 1024, 88, 48, 212],
        [1, '0x8a03d57c61b2f490', '0000:2C:00.0', 'Aldebaran/MI200 [Instinct MI210]', 65509.546875 / 1024, 0, 39, undefined],
      ],
    );
    assert.equal(
      readFileSync(argsLog, 'utf8').trim(),
      '--showmeminfo vram --showuse --showtemp --showpower --showproductname --showbus --showuniqueid --json',
    );
    c.close();
  });

  test('rocm-smi: amd, VRAM per card', async () => {
    const c = collector({ rocmSmiPath: tool(`cat '${FIXTURES}rocm-vram.txt'`) });
    const s = await c.sample();
    assert.equal(s.gpu.type, 'amd');
    assert.equal(s.gpu.totalMb, 2 * 65520);
    assert.equal(toResources(s).gpu_vram_available_gb, (2 * 65520 - 10.453125 - 32760) / 1024);
    c.close();
    const odd = collector({ rocmSmiPath: tool(`echo 'not json'`) });
    const s2 = await odd.sample();
    assert.equal(s2.gpu.type, 'amd');
    assert.match(s2.gpu.error ?? '', /no JSON/);
    odd.close();
  });

  test('an Intel GPU recognised in sysfs by its PCI vendor id', async () => {
    const intel = new FakeHost();
    intel.write('sys/class/drm/card0/device/vendor', '0x8086\n');
    intel.write('sys/class/drm/renderD128/device/vendor', '0x10de\n');
    const c = new Collector({ rootDir: intel.root, nvidiaSmiPath: MISSING, rocmSmiPath: MISSING });
    assert.equal((await c.sample()).gpu.type, 'intel');
    c.close();
    intel.dispose();
  });

  test('gpu: false runs no tool', async () => {
    const marker = join(dir, 'ran');
    const c = collector({ nvidiaSmiPath: tool(`touch '${marker}'`), gpu: false });
    assert.equal((await c.sample()).gpu.type, 'none');
    assert.equal(existsSync(marker), false);
    c.close();
  });
});
