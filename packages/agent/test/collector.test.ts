import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { after, describe, test } from 'node:test';
import { Collector, type CollectorOptions, type Sample, toProcessMetrics, toResources } from '../src/collector/index.js';
import { FakeHost, type Layout, fixture } from './support/fake-host.js';

const GB = 1024 ** 3;
const V1_UNLIMITED = '9223372036854771712\n';
const MEMORY_PATH = fixture('hybrid/self-cgroup.txt')
  .split('\n')
  .find((l) => l.split(':')[1] === 'memory')
  ?.split(':')[2];

const hosts: FakeHost[] = [];
after(() => hosts.forEach((h) => h.dispose()));

function fakeHost(layout: Layout): FakeHost {
  const h = FakeHost.of(layout);
  hosts.push(h);
  return h;
}

/** A collector on `host`, with a clock the test moves by hand. */
function collectorOn(host: FakeHost, options: CollectorOptions = {}) {
  const clock = { t: 1_000_000 };
  const c = new Collector({ rootDir: host.root, gpu: false, now: () => clock.t, ...options });
  return {
    c,
    clock,
    next: async (ms = 1000): Promise<Sample> => {
      clock.t += ms;
      return c.sample();
    },
  };
}

function v2Container(cpuMax = '150000 100000\n', memoryMax = '536870912\n'): FakeHost {
  const h = fakeHost('v2-container');
  h.write('sys/fs/cgroup/cpu.max', cpuMax);
  h.write('sys/fs/cgroup/cpu.stat', fixture('v2-container/cpu.stat'));
  h.write('sys/fs/cgroup/memory.max', memoryMax);
  h.write('sys/fs/cgroup/memory.current', fixture('v2-container/memory.current'));
  h.write('sys/fs/cgroup/memory.stat', fixture('v2-container/memory.stat'));
  return h;
}

function hybrid(): FakeHost {
  const h = fakeHost('hybrid');
  h.write('sys/fs/cgroup/cpu/cpu.cfs_quota_us', '-1\n');
  h.write('sys/fs/cgroup/cpu/cpu.cfs_period_us', '100000\n');
  h.write('sys/fs/cgroup/cpuacct/cpuacct.usage', '400430206817\n');
  const leaf = `sys/fs/cgroup/memory${MEMORY_PATH}`;
  h.write(`${leaf}/memory.usage_in_bytes`, '9252864\n');
  h.write(`${leaf}/memory.limit_in_bytes`, V1_UNLIMITED);
  h.write(`${leaf}/memory.stat`, fixture('hybrid/memory.stat.txt'));
  h.write(`${leaf}/../memory.limit_in_bytes`, V1_UNLIMITED);
  h.write('sys/fs/cgroup/memory/memory.limit_in_bytes', V1_UNLIMITED);
  return h;
}

describe('Collector on fake hosts: cgroup limits', () => {
  test('cgroup v2 container with a 1.5-core quota and a 512 MiB limit', async () => {
    const h = v2Container();
    const { c, next } = collectorOn(h);
    const first = await next();
    assert.equal(first.host.source, 'cgroup-v2');
    assert.equal(first.host.cpuLimitCores, 1.5);
    assert.equal(first.host.cpuPercent, undefined, 'a rate needs two samples');
    assert.equal(first.host.cpuCoresUsed, undefined);
    // memory.current 300 MiB minus inactive_file 60 MiB.
    assert.equal(first.host.memoryUsedBytes, 314572800 - 62914560);
    assert.equal(first.host.memoryLimitBytes, 536870912);
    assert.equal(toResources(first).cpu_percent, undefined);
    assert.equal(toResources(first).cpu_cores_available, undefined);

    // 0.75 s of CPU in 1 s: 0.75 cores, half of the quota. The host's /proc/stat is not consulted.
    h.write('sys/fs/cgroup/cpu.stat', fixture('v2-container/cpu.stat').replace('usage_usec 8842011', `usage_usec ${8842011 + 750000}`));
    h.cpuTimes(999_999, 0);
    const second = await next(1000);
    assert.equal(second.host.cpuCoresUsed, 0.75);
    assert.equal(second.host.cpuPercent, 50);
    const r = toResources(second);
    assert.equal(r.cpu_percent, 50);
    assert.equal(r.cpu_cores_available, 0.75);
    assert.equal(r.memory_percent, 46.875);
    assert.equal(r.memory_available_gb, (536870912 - 251658240) / GB);
    assert.equal(r.cpu_cores_physical, 2);
    c.close();
  });

  test('a cgroup using more than its quota is reported at the quota, and available cores floor at 0', async () => {
    const h = v2Container();
    const { c, next } = collectorOn(h);
    await next();
    h.write('sys/fs/cgroup/cpu.stat', `usage_usec ${8842011 + 3_000_000}\n`);
    const s = await next(1000);
    assert.equal(s.host.cpuPercent, 100);
    assert.equal(toResources(s).cpu_cores_available, 0);
    c.close();
  });

  test('a limit inherited from a parent cgroup (v2 under systemd)', async () => {
    const h = fakeHost('v2-systemd');
    const unit = 'sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/vigil-agent.service';
    h.write(`${unit}/cpu.max`, 'max 100000\n');
    h.write(`${unit}/cpu.stat`, 'usage_usec 1000\n');
    h.write(`${unit}/memory.max`, 'max\n');
    h.write(`${unit}/memory.current`, '104857600\n');
    h.write(`${unit}/memory.stat`, 'anon 1\ninactive_file 4857600\n');
    h.write(`${unit}/../cpu.max`, '50000 100000\n');
    h.write(`${unit}/../memory.max`, '1073741824\n');
    h.write('sys/fs/cgroup/user.slice/cpu.max', '100000 100000\n');
    const { c, next } = collectorOn(h);
    const s = await next();
    assert.equal(s.host.source, 'cgroup-v2');
    assert.equal(s.host.cpuLimitCores, 0.5);
    assert.equal(s.host.memoryLimitBytes, 1073741824);
    assert.equal(s.host.memoryUsedBytes, 100_000_000);
    c.close();
  });

  test('cgroup v1 in Docker: cfs quota, cpuacct.usage in ns, total_inactive_file', async () => {
    const h = fakeHost('v1-docker');
    h.write('sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us', '50000\n');
    h.write('sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us', '100000\n');
    h.write('sys/fs/cgroup/cpu,cpuacct/cpuacct.usage', '5000000000\n');
    h.write('sys/fs/cgroup/memory/memory.usage_in_bytes', `${GB}\n`);
    h.write('sys/fs/cgroup/memory/memory.limit_in_bytes', `${2 * GB}\n`);
    h.write('sys/fs/cgroup/memory/memory.stat', `cache 1\ninactive_file 1\ntotal_inactive_file ${256 * 1024 ** 2}\n`);
    const { c, next } = collectorOn(h);
    const first = await next();
    assert.equal(first.host.source, 'cgroup-v1');
    assert.equal(first.host.cpuLimitCores, 0.5);
    assert.equal(first.host.memoryUsedBytes, GB - 256 * 1024 ** 2);
    assert.equal(first.host.memoryLimitBytes, 2 * GB);
    h.write('sys/fs/cgroup/cpu,cpuacct/cpuacct.usage', '5250000000\n');
    const second = await next(1000);
    assert.equal(second.host.cpuCoresUsed, 0.25);
    assert.equal(second.host.cpuPercent, 50);
    c.close();
  });

  test('hybrid host without limits (this VM): the host figures from /proc', async () => {
    const h = hybrid();
    h.cpuTimes(1000, 1000);
    const { c, next } = collectorOn(h);
    const first = await next();
    assert.equal(first.host.source, 'host');
    assert.equal(first.host.cpuLimitCores, 2);
    assert.equal(first.host.cpuCoresPhysical, 2);
    assert.equal(first.host.memoryLimitBytes, 24683656 * 1024);
    assert.equal(first.host.memoryUsedBytes, (24683656 - 24074100) * 1024);
    assert.deepEqual([first.host.load1, first.host.load5, first.host.load15], [0.06, 0.28, 0.34]);
    h.cpuTimes(1050, 1150);
    const second = await next(1000);
    assert.equal(second.host.cpuPercent, 25);
    assert.equal(second.host.cpuCoresUsed, 0.5);
    assert.equal(toResources(second).cpu_cores_available, 1.5);
    // A counter that went backwards (a restored snapshot) gives no rate, not a negative one.
    h.cpuTimes(10, 10);
    assert.equal((await next(1000)).host.cpuPercent, undefined);
    c.close();
  });

  test('limits at or above the host (4 cores on 2 CPUs, memory above MemTotal) count as none', async () => {
    const h = v2Container('400000 100000\n', `${64 * GB}\n`);
    const { c, next } = collectorOn(h);
    const s = await next();
    assert.equal(s.host.source, 'host');
    assert.equal(s.host.cpuLimitCores, 2);
    assert.equal(s.host.memoryLimitBytes, 24683656 * 1024);
    c.close();
  });

  test('only a memory limit: CPU from the host, memory from the cgroup', async () => {
    const h = v2Container('max 100000\n');
    const { c, next } = collectorOn(h);
    const s = await next();
    assert.equal(s.host.source, 'cgroup-v2');
    assert.equal(s.host.cpuLimitCores, 2);
    assert.equal(s.host.memoryLimitBytes, 536870912);
    c.close();
  });

  test('a cgroup v2 memory.max of 0 gives no percentage rather than NaN', async () => {
    const h = v2Container('max 100000\n', '0\n');
    const { c, next } = collectorOn(h);
    const r = toResources(await next());
    assert.equal(r.memory_percent, undefined);
    assert.equal(r.memory_available_gb, undefined);
    c.close();
  });

  test('no /proc/self/cgroup and unreadable /proc files: host figures from os, nothing thrown', async () => {
    const h = new FakeHost();
    hosts.push(h);
    const { c, next } = collectorOn(h, { pid: 4242 });
    const s = await next();
    assert.equal(s.host.source, 'host');
    assert.equal(s.host.memoryLimitBytes, totalmem());
    assert.equal(s.host.cpuLimitCores, cpus().length);
    assert.equal(s.process, undefined);
    assert.deepEqual(toProcessMetrics(s), {});
    c.close();
  });
});

describe('Collector on fake hosts: process tree', () => {
  function tree(): FakeHost {
    const h = v2Container();
    h.process(100, { ppid: 1, ticks: 1000, rssPages: 1000, io: { read: 0, write: 0 } });
    h.process(101, { ppid: 100, ticks: 500, rssPages: 200, io: { read: 0, write: 0 } });
    h.process(102, { ppid: 101, ticks: 0, rssPages: 300, io: { read: 0, write: 0 }, comm: 'py (worker) x' });
    h.process(200, { ppid: 1, ticks: 9999, rssPages: 5000, io: { read: 0, write: 0 } });
    h.write('proc/self/stat', 'not a pid dir: ignored by the scan');
    return h;
  }

  test('a process tree summed: CPU, RSS and I/O rates over the descendants', async () => {
    const h = tree();
    const { c, next } = collectorOn(h, { pid: 100, tree: true });
    const first = await next();
    assert.deepEqual(first.process, { pids: [100, 101, 102], rssBytes: 1500 * 4096 });
    assert.deepEqual(toProcessMetrics(first), { memory_mb: (1500 * 4096) / 1024 ** 2 });

    // In 2 s: 100 uses 0.5 s, 102 uses 1 s; 101 exits and 102 is re-parented to 100 (a subreaper);
    // 103 is born under 100 and has used 0.2 s; 200, outside the tree, burns CPU that must not count.
    h.process(100, { ppid: 1, ticks: 1050, rssPages: 1000, io: { read: 4096, write: 0 } });
    h.remove('proc/101');
    h.process(102, { ppid: 100, ticks: 100, rssPages: 300, io: { read: 0, write: 8192 }, comm: 'py (worker) x' });
    h.process(103, { ppid: 100, ticks: 20, rssPages: 50, io: { read: 4096, write: 0 }, startTime: 2000 });
    h.process(200, { ppid: 1, ticks: 99999, rssPages: 5000, io: { read: 1e9, write: 1e9 } });
    const second = await next(2000);
    assert.deepEqual(second.process, { pids: [100, 102, 103], rssBytes: 1350 * 4096, cpuPercent: 85, readBps: 4096, writeBps: 4096 });
    assert.deepEqual(toProcessMetrics(second), {
      memory_mb: (1350 * 4096) / 1024 ** 2,
      cpu_percent: 85,
      io_read_bps: 4096,
      io_write_bps: 4096,
    });
    c.close();
  });

  test('without tree, only the process itself', async () => {
    const h = tree();
    const { c, next } = collectorOn(h, { pid: 100 });
    assert.deepEqual((await next()).process?.pids, [100]);
    h.process(100, { ppid: 1, ticks: 1100, rssPages: 1000, io: { read: 0, write: 0 } });
    h.process(101, { ppid: 100, ticks: 900, rssPages: 200, io: { read: 0, write: 0 } });
    const s = await next(1000);
    assert.equal(s.process?.cpuPercent, 100);
    assert.equal(s.process?.rssBytes, 1000 * 4096);
    c.close();
  });

  test('an unreadable /proc/<pid>/io leaves the I/O rates absent, CPU still measured', async () => {
    const h = v2Container();
    h.process(300, { ppid: 1, ticks: 10 });
    const { c, next } = collectorOn(h, { pid: 300 });
    await next();
    h.process(300, { ppid: 1, ticks: 60 });
    const s = await next(1000);
    assert.equal(s.process?.cpuPercent, 50);
    assert.equal(s.process?.readBps, undefined);
    assert.equal(toProcessMetrics(s).io_read_bps, undefined);
    c.close();
  });

  test('a process that exits is absent from then on, even when its PID is reused', async () => {
    const h = v2Container();
    h.process(400, { ppid: 1, ticks: 10, startTime: 5000 });
    const { c, next } = collectorOn(h, { pid: 400 });
    assert.ok((await next()).process);
    h.process(400, { ppid: 1, ticks: 0, startTime: 9000 });
    assert.equal((await next()).process, undefined);
    h.process(400, { ppid: 1, ticks: 10, startTime: 5000 });
    assert.equal((await next()).process, undefined);
    c.close();

    const gone = v2Container();
    gone.process(401, { ppid: 1 });
    const g = collectorOn(gone, { pid: 401 });
    assert.ok((await g.next()).process);
    // The kernel fails reads of an exited process's open /proc files (ESRCH; the live test sees that);
    // a regular file stays readable after unlink, so the fake empties it instead.
    gone.write('proc/401/stat', '');
    assert.equal((await g.next()).process, undefined);
    g.c.close();
  });

  test('I1: a PID that is not a plain decimal is refused before any path is built', () => {
    const h = v2Container();
    const bad: unknown[] = [
      '1; touch /tmp/pwned',
      '$(touch /tmp/pwned)',
      '`touch /tmp/pwned`',
      '1 && touch /tmp/pwned',
      -1,
      '--help',
      '1/../../self',
      '0x1f',
      '',
      2 ** 53,
      0,
      1.5,
    ];
    for (const pid of bad) {
      assert.throws(() => new Collector({ rootDir: h.root, gpu: false, pid: pid as number }), RangeError, String(pid));
    }
    assert.equal(existsSync('/tmp/pwned'), false);
  });
});

describe('Collector elsewhere', () => {
  test('disk usage of configured paths; a missing path is left out', async () => {
    const h = v2Container();
    const { c, next } = collectorOn(h, { diskPaths: [h.root, `${h.root}/no/such/dir`] });
    const s = await next();
    assert.equal(s.disks.length, 1);
    const d = s.disks[0];
    assert.ok(d && d.path === h.root && d.totalBytes > 0 && d.usedBytes > 0 && d.usedBytes <= d.totalBytes);
    assert.ok(d.availableBytes !== undefined && d.availableBytes <= d.totalBytes - d.usedBytes);
    c.close();
  });

  test('a platform without /proc degrades to os: host figures, and only this process', async () => {
    const { c, next } = collectorOn(v2Container(), { platform: 'darwin', pid: process.pid });
    const first = await next();
    assert.equal(first.host.source, 'host');
    assert.equal(first.host.cpuLimitCores, cpus().length);
    assert.equal(first.host.memoryLimitBytes, totalmem());
    assert.equal(first.host.cpuPercent, undefined);
    assert.deepEqual(first.process?.pids, [process.pid]);
    const end = Date.now() + 30;
    while (Date.now() < end);
    const second = await next(30);
    assert.ok(second.host.cpuPercent !== undefined && second.host.cpuPercent >= 0 && second.host.cpuPercent <= 100);
    assert.ok(second.process?.cpuPercent !== undefined && second.process.cpuPercent > 0);
    c.close();
    const other = collectorOn(v2Container(), { platform: 'darwin', pid: 1 });
    assert.equal((await other.next()).process, undefined);
  });
});

describe('Collector: network I/O from /proc/net/dev', () => {
  const netDev = (rx: number, tx: number) =>
    'Inter-|   Receive |  Transmit\n face |bytes packets|bytes packets\n' +
    `    lo: 999999 1 0 0 0 0 0 0 999999 1 0 0 0 0 0 0\n  eth0: ${rx} 10 0 0 0 0 0 0 ${tx} 10 0 0 0 0 0 0\n`;

  test('bytes per second received and sent since the previous sample, in the heartbeat as net_rx_bps / net_tx_bps', async () => {
    const h = v2Container();
    h.write('proc/net/dev', fixture('proc/net-dev.txt'));
    const { c, next } = collectorOn(h);
    const first = await next();
    assert.equal(first.host.netRxBps, undefined, 'a rate needs two samples');
    assert.equal(toResources(first).net_rx_bps, undefined);
    h.write(
      'proc/net/dev',
      fixture('proc/net-dev.txt')
        .replace('426365368', String(426365368 + 4_000_000))
        .replace('2963396', String(2963396 + 1_000_000)),
    );
    const second = await next(2000);
    assert.equal(second.host.netRxBps, 2_000_000);
    assert.equal(second.host.netTxBps, 500_000);
    assert.equal(toResources(second).net_rx_bps, 2_000_000);
    assert.equal(toResources(second).net_tx_bps, 500_000);
    c.close();
  });

  test('a counter that went back (an interface removed) gives no rate rather than a negative one; no file gives none', async () => {
    const h = v2Container();
    h.write('proc/net/dev', netDev(10_000, 10_000));
    const { c, next } = collectorOn(h);
    await next();
    h.write('proc/net/dev', netDev(5_000, 20_000));
    assert.equal((await next()).host.netRxBps, undefined);
    h.write('proc/net/dev', netDev(6_000, 21_000));
    assert.equal((await next()).host.netRxBps, 1_000);
    c.close();
    const bare = collectorOn(v2Container());
    await bare.next();
    assert.equal((await bare.next()).host.netRxBps, undefined);
  });
});
