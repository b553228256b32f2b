import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  locateCgroup,
  parseCfsQuota,
  parseCgroupMounts,
  parseCpuMax,
  parseMemoryLimit,
  parseProcCgroup,
  tightest,
} from '../src/collector/cgroup-parse.js';
import { fixture } from './support/fake-host.js';

const layout = (name: string) => locateCgroup(fixture(`${name}/self-cgroup.txt`), fixture(`${name}/mountinfo.txt`));
const DOCKER = '/docker/3f2a9c1e7b5d4f60a8e2c9d1b7f4e3a2c6d8b0e1f9a7c5d3b1e2f4a6c8d0e2f4';

describe('locating the cgroup', () => {
  test('hybrid host (this VM): v1 controllers win over the controller-less unified mount', () => {
    const memoryPath = parseProcCgroup(fixture('hybrid/self-cgroup.txt')).find((m) => m.controllers.includes('memory'))?.path ?? '';
    const parent = memoryPath.slice(0, memoryPath.lastIndexOf('/'));
    assert.deepEqual(layout('hybrid'), {
      cpu: { version: 'cgroup-v1', chain: ['/sys/fs/cgroup/cpu'] },
      cpuacct: { version: 'cgroup-v1', chain: ['/sys/fs/cgroup/cpuacct'] },
      memory: {
        version: 'cgroup-v1',
        chain: [`/sys/fs/cgroup/memory${memoryPath}`, `/sys/fs/cgroup/memory${parent}`, '/sys/fs/cgroup/memory'],
      },
    });
  });

  test('cgroup v1 in Docker without a cgroup namespace: the mount shows only the container subtree', () => {
    assert.deepEqual(layout('v1-docker'), {
      cpu: { version: 'cgroup-v1', chain: ['/sys/fs/cgroup/cpu,cpuacct'] },
      cpuacct: { version: 'cgroup-v1', chain: ['/sys/fs/cgroup/cpu,cpuacct'] },
      memory: { version: 'cgroup-v1', chain: ['/sys/fs/cgroup/memory'] },
    });
  });

  test('cgroup v2 under systemd: the unit and every ancestor up to the mount', () => {
    const base = '/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service';
    const chain = [
      `${base}/app.slice/vigil-agent.service`,
      `${base}/app.slice`,
      base,
      '/sys/fs/cgroup/user.slice/user-1000.slice',
      '/sys/fs/cgroup/user.slice',
      '/sys/fs/cgroup',
    ];
    assert.deepEqual(layout('v2-systemd'), { cpu: { version: 'cgroup-v2', chain }, memory: { version: 'cgroup-v2', chain } });
  });

  test('cgroup v2 in a container with its own cgroup namespace: the mount point is the cgroup', () => {
    const dirs = { version: 'cgroup-v2', chain: ['/sys/fs/cgroup'] };
    assert.deepEqual(layout('v2-container'), { cpu: dirs, memory: dirs });
  });

  test('no cgroup mounts, or no /proc/self/cgroup lines: nothing located', () => {
    assert.deepEqual(locateCgroup(fixture('hybrid/self-cgroup.txt'), ''), {});
    assert.deepEqual(locateCgroup('', fixture('hybrid/mountinfo.txt')), {});
  });

  test('mountinfo escapes and colons in cgroup paths', () => {
    const mounts = parseCgroupMounts(
      '40 31 0:37 / /sys/fs/cgroup/my\\040dir rw,relatime - cgroup2 cgroup2 rw\n41 1 0:1 / / rw - ext4 /dev/x rw\n',
    );
    assert.deepEqual(mounts, [{ root: '/', mountPoint: '/sys/fs/cgroup/my dir', version: 'cgroup-v2', controllers: [] }]);
    assert.deepEqual(parseProcCgroup('0::/a:b/c\n3:cpu,cpuacct:/x\nbad line\n'), [
      { hierarchy: 0, controllers: [], path: '/a:b/c' },
      { hierarchy: 3, controllers: ['cpu', 'cpuacct'], path: '/x' },
    ]);
    assert.equal(parseCgroupMounts(`1 0 0:1 ${DOCKER} /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory`)[0]?.root, DOCKER);
  });
});

describe('cgroup limit files', () => {
  test('v2 cpu.max', () => {
    assert.equal(parseCpuMax('150000 100000\n'), 1.5);
    assert.equal(parseCpuMax('max 100000\n'), 'max');
    assert.equal(parseCpuMax('max'), 'max');
    assert.equal(parseCpuMax('50000 0'), undefined);
    assert.equal(parseCpuMax('-1 100000'), undefined);
    assert.equal(parseCpuMax(''), undefined);
    assert.equal(parseCpuMax('1 2 3'), undefined);
  });

  test('v1 cfs quota and period', () => {
    assert.equal(parseCfsQuota('-1\n', '100000\n'), 'max');
    assert.equal(parseCfsQuota('200000\n', '100000\n'), 2);
    assert.equal(parseCfsQuota('200000', ''), undefined);
    assert.equal(parseCfsQuota('-5', '100000'), undefined);
  });

  test('memory limits: v2 max, v1 huge value, bytes', () => {
    assert.equal(parseMemoryLimit('max\n'), 'max');
    assert.equal(parseMemoryLimit('9223372036854771712\n'), 'max');
    assert.equal(parseMemoryLimit('536870912\n'), 536870912);
    assert.equal(parseMemoryLimit('-1'), undefined);
    assert.equal(parseMemoryLimit(''), undefined);
  });

  test('the tightest limit of a chain', () => {
    assert.equal(tightest(['max', 1.5, undefined, 4]), 1.5);
    assert.equal(tightest(['max', undefined]), 'max');
    assert.equal(tightest([undefined]), undefined);
    assert.equal(tightest([]), undefined);
  });
});
