import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  keyedValue,
  parseAuxvPageSize,
  parseCpuinfoCores,
  parseInNestedPidNamespace,
  parseLoadavg,
  parseMeminfo,
  parseNetDev,
  parsePid,
  parsePidIo,
  parsePidStat,
  parseProcStat,
} from '../src/collector/proc-parse.js';
import { fixture } from './support/fake-host.js';

describe('proc parsers on recorded files', () => {
  test('/proc/stat: busy and total jiffies and the online CPUs', () => {
    // `cpu  38324 0 5518 143655 652 0 270 15 0 0` on this VM, then cpu0 and cpu1.
    const busy = 38324 + 5518 + 270 + 15;
    assert.deepEqual(parseProcStat(fixture('proc/stat.txt')), { busy, total: busy + 143655 + 652, cpus: 2 });
  });

  test('/proc/meminfo: total and available bytes', () => {
    assert.deepEqual(parseMeminfo(fixture('proc/meminfo.txt')), { totalBytes: 24683656 * 1024, availableBytes: 24074100 * 1024 });
  });

  test('/proc/meminfo of a kernel without MemAvailable: free + buffers + cached', () => {
    assert.deepEqual(parseMeminfo('MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 20 kB\nCached: 300 kB\n'), {
      totalBytes: 1000 * 1024,
      availableBytes: 420 * 1024,
    });
  });

  test('/proc/loadavg', () => {
    assert.deepEqual(parseLoadavg(fixture('proc/loadavg.txt')), [0.06, 0.28, 0.34]);
  });

  test('/proc/cpuinfo: distinct physical cores, or processors where core ids are absent', () => {
    assert.equal(parseCpuinfoCores(fixture('proc/cpuinfo.txt')), 2);
    const hyperthreaded = [0, 1, 2, 3].map((p) => `processor\t: ${p}\nphysical id\t: 0\ncore id\t\t: ${p % 2}\n`).join('\n');
    assert.equal(parseCpuinfoCores(hyperthreaded), 2);
    assert.equal(parseCpuinfoCores('processor\t: 0\nBogoMIPS\t: 50.00\n\nprocessor\t: 1\nBogoMIPS\t: 50.00\n'), 2);
    assert.equal(parseCpuinfoCores(''), undefined);
  });

  test('/proc/<pid>/stat, including a name holding spaces and parentheses', () => {
    const recorded = parsePidStat(fixture('proc/pid-stat.txt'));
    assert.deepEqual(recorded, { pid: 11262, ppid: 11249, ticks: 0, startTime: 94844, rssPages: 389 });
    const odd = '42 (a) b (c)) R 7 42 42 0 -1 0 0 0 0 0 150 25 0 0 20 0 1 0 5000 100 321 0 0';
    assert.deepEqual(parsePidStat(odd), { pid: 42, ppid: 7, ticks: 175, startTime: 5000, rssPages: 321 });
    assert.equal(parsePidStat('1 (init) S 0 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 1 1 1')?.ppid, 0);
  });

  test('/proc/<pid>/io and keyed files', () => {
    assert.deepEqual(parsePidIo(fixture('proc/pid-io.txt')), { readBytes: 0, writeBytes: 0 });
    assert.deepEqual(parsePidIo('read_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 12\n'), { readBytes: 4096, writeBytes: 8192 });
    const memoryStat = fixture('hybrid/memory.stat.txt');
    assert.notEqual(keyedValue(memoryStat, 'total_inactive_file'), undefined);
    // inactive_file must be its own line, not the tail of total_inactive_file.
    assert.equal(keyedValue('total_inactive_file 5\ninactive_file 3\n', 'inactive_file'), 3);
    assert.equal(keyedValue('total_inactive_file 5\n', 'inactive_file'), undefined);
    assert.equal(keyedValue('usage_usec 12\nuser_usec 7', 'user_usec'), 7);
  });

  test('NSpid tells a nested PID namespace', () => {
    assert.equal(parseInNestedPidNamespace(fixture('proc/pid-status.txt')), false);
    assert.equal(parseInNestedPidNamespace('Name:\tnode\nNSpid:\t81234\t1\n'), true);
  });

  test('the page size from auxv', () => {
    const auxv = Buffer.alloc(64);
    auxv.writeBigUInt64LE(33n, 0); // AT_SYSINFO_EHDR
    auxv.writeBigUInt64LE(0x7ffd0000n, 8);
    auxv.writeBigUInt64LE(6n, 16); // AT_PAGESZ
    auxv.writeBigUInt64LE(65536n, 24);
    assert.equal(parseAuxvPageSize(auxv, 8, true), 65536);
    assert.equal(parseAuxvPageSize(Buffer.alloc(32), 8, true), undefined);
    auxv.writeBigUInt64LE(12345n, 24);
    assert.equal(parseAuxvPageSize(auxv, 8, true), undefined);
  });
});

describe('refusals', () => {
  test('I1: only plain decimal PIDs are accepted', () => {
    for (const bad of [
      '1; touch /tmp/pwned',
      '$(touch /tmp/pwned)',
      '`touch /tmp/pwned`',
      '1 && touch /tmp/pwned',
      '-1',
      '--help',
      '1/../../self',
      '0x1f',
      '',
      2 ** 53,
      0,
      1.5,
      NaN,
      null,
      {},
    ]) {
      assert.equal(parsePid(bad), undefined, String(bad));
    }
    assert.equal(parsePid(1), 1);
    assert.equal(parsePid('4194304'), 4194304);
  });

  test('truncated and odd files give undefined, not a partial value', () => {
    assert.equal(parseProcStat('cpu  1 2 3'), undefined);
    assert.equal(parseProcStat('cpu  1 2 -3 4'), undefined);
    assert.equal(parseProcStat('intr 1 2 3 4 5'), undefined);
    assert.equal(parseLoadavg('0.1 0.2'), undefined);
    assert.equal(parseLoadavg('0.1 -0.2 0.3'), undefined);
    assert.equal(parseMeminfo('MemTotal: 0 kB\nMemAvailable: 0 kB\n'), undefined);
    assert.equal(parsePidStat('12 (trunc'), undefined);
    assert.equal(parsePidStat('12 (x) S 1 2 3'), undefined);
    assert.equal(parsePidIo('read_bytes: 12\n'), undefined);
    assert.equal(parsePidIo('read_bytes: -1\nwrite_bytes: 3\n'), undefined);
  });
});

describe('parseNetDev', () => {
  test('a recorded /proc/net/dev: loopback left out, the other interfaces summed', () => {
    // Recorded on a VM: lo, two idle ifb devices and eth0.
    assert.deepEqual(parseNetDev(fixture('proc/net-dev.txt')), { rxBytes: 426365368, txBytes: 2963396, interfaces: 3 });
  });

  test('a container with a veth pair and counters past 2^32', () => {
    const text =
      'Inter-|   Receive                                                |  Transmit\n' +
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n' +
      '    lo:  1000  10 0 0 0 0 0 0  1000  10 0 0 0 0 0 0\n' +
      'eth0@if12: 5000000000 4000 0 0 0 0 0 0 7000 60 0 0 0 0 0 0\n'.replace('@if12', '') +
      '  wg0: 100 1 0 0 0 0 0 0 200 2 0 0 0 0 0 0\n';
    assert.deepEqual(parseNetDev(text), { rxBytes: 5000000100, txBytes: 7200, interfaces: 2 });
  });

  test('only loopback is zero traffic; garbage and truncated lines are not figures', () => {
    assert.deepEqual(parseNetDev('h|\nh|\n    lo: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n'), { rxBytes: 0, txBytes: 0, interfaces: 0 });
    assert.equal(parseNetDev(''), undefined);
    assert.equal(parseNetDev('eth0: 12 34\n'), undefined);
    assert.equal(parseNetDev('eth0: -1 0 0 0 0 0 0 0 x 0 0 0 0 0 0 0\n'), undefined);
  });
});
