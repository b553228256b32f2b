import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Collector, toResources } from '../src/collector/index.js';

const linux = process.platform === 'linux' && existsSync('/proc/self/stat');
const skip = linux ? false : 'needs Linux /proc';
const MIB = 1024 ** 2;

const meminfoKb = (key: string): number =>
  Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const busy = (ms: number): void => {
  const end = Date.now() + ms;
  while (Date.now() < end);
};

/** This process's memory limit as its own cgroup directory states it (standard mount points), or undefined. */
function ownMemoryLimit(): number | undefined {
  const lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  const v1 = lines.find((l) => l.split(':')[1]?.split(',').includes('memory'))?.split(':')[2];
  const v2 = lines.find((l) => l.startsWith('0::'))?.slice(3);
  const file = v1 !== undefined ? `/sys/fs/cgroup/memory${v1}/memory.limit_in_bytes` : `/sys/fs/cgroup${v2 ?? ''}/memory.max`;
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8').trim();
  return text === 'max' ? undefined : Number(text);
}

describe('live: the Collector on this machine', { skip }, () => {
  test('host figures agree with /proc/meminfo, the cgroup files and os.cpus()', async () => {
    const c = new Collector({ pid: process.pid, diskPaths: ['/'], gpu: false });
    const first = await c.sample();
    assert.equal(first.host.cpuPercent, undefined);
    assert.equal(first.process?.cpuPercent, undefined);
    assert.equal(toResources(first).cpu_percent, undefined);

    const totalBytes = meminfoKb('MemTotal') * 1024;
    const limit = ownMemoryLimit();
    if (limit !== undefined && limit < totalBytes) {
      assert.notEqual(first.host.source, 'host');
      assert.ok(first.host.memoryLimitBytes <= limit);
    } else {
      assert.equal(first.host.memoryLimitBytes, totalBytes);
      const used = totalBytes - meminfoKb('MemAvailable') * 1024;
      assert.ok(Math.abs(first.host.memoryUsedBytes - used) < 256 * MIB, `${first.host.memoryUsedBytes} vs ${used}`);
    }
    const n = cpus().length;
    if (first.host.source === 'host') assert.equal(first.host.cpuLimitCores, n);
    assert.ok(first.host.cpuLimitCores > 0 && first.host.cpuLimitCores <= n);
    assert.ok(first.host.cpuCoresPhysical >= 1 && first.host.cpuCoresPhysical <= n);
    assert.ok(Math.abs(first.host.load1 - (loadavg()[0] ?? 0)) < 1);
    const root = statfsSync('/');
    assert.equal(first.disks[0]?.totalBytes, root.blocks * root.bsize);

    busy(200);
    const second = await c.sample();
    const cpu = second.host.cpuPercent;
    assert.ok(cpu !== undefined && cpu >= 0 && cpu <= 100, `host cpu ${cpu}`);
    assert.ok(second.host.cpuCoresUsed !== undefined && second.host.cpuCoresUsed <= second.host.cpuLimitCores);
    assert.ok((second.process?.cpuPercent ?? 0) > 20, `own cpu ${second.process?.cpuPercent}`);
    // RSS from stat pages times the page size agrees with VmRSS from status.
    const vmRss = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) * 1024;
    assert.ok(Math.abs((second.process?.rssBytes ?? 0) - vmRss) < 0.2 * vmRss, `${second.process?.rssBytes} vs ${vmRss}`);
    c.close();
  });

  test('write rate from /proc/<pid>/io', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-io-'));
    const c = new Collector({ pid: process.pid, gpu: false });
    try {
      await c.sample();
      const fd = openSync(join(dir, 'data'), 'w');
      writeSync(fd, Buffer.alloc(8 * MIB));
      closeSync(fd);
      const s = await c.sample();
      assert.ok(s.process?.writeBps !== undefined && s.process.writeBps > 0, `write ${s.process?.writeBps}`);
      assert.ok(s.process.readBps !== undefined && s.process.readBps >= 0);
    } finally {
      c.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a busy child counts in its parent’s tree, and an exited tree is absent', async () => {
    const script = `const c = require('child_process').spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' });
      console.log(c.pid); setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const childPid = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (b: Buffer) => resolve(b.toString()))));
    const pid = parent.pid ?? 0;
    const tree = new Collector({ pid, tree: true, gpu: false });
    const alone = new Collector({ pid, gpu: false });
    try {
      await tree.sample();
      await alone.sample();
      await sleep(600);
      const t = await tree.sample();
      const a = await alone.sample();
      assert.deepEqual(
        t.process?.pids,
        [pid, childPid].sort((x, y) => x - y),
      );
      assert.deepEqual(a.process?.pids, [pid]);
      assert.ok((t.process?.cpuPercent ?? 0) > 30, `tree cpu ${t.process?.cpuPercent}`);
      assert.ok(
        (t.process?.cpuPercent ?? 0) > (a.process?.cpuPercent ?? 0) + 20,
        `tree ${t.process?.cpuPercent} vs alone ${a.process?.cpuPercent}`,
      );
      assert.ok((t.process?.rssBytes ?? 0) > (a.process?.rssBytes ?? 0));
    } finally {
      process.kill(childPid, 'SIGKILL');
      parent.kill('SIGKILL');
      await new Promise((resolve) => parent.once('exit', resolve));
    }
    // The kept descriptors now fail with ESRCH: the process is gone, not reported as zeros.
    assert.equal((await alone.sample()).process, undefined);
    assert.equal((await tree.sample()).process, undefined);
    tree.close();
    alone.close();
  });
});
