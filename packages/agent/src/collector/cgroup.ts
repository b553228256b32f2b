import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  type CgroupDirs,
  type CgroupLayout,
  type CgroupVersion,
  type Limit,
  parseCfsQuota,
  parseCpuMax,
  parseMemoryLimit,
  tightest,
} from './cgroup-parse.js';
import type { KernelFile, KernelFiles } from './files.js';
import { keyedValue, parseUint } from './proc-parse.js';

/** The CPU files of one cgroup: its usage counter and the limits of it and every ancestor. */
export interface CgroupCpu {
  version: CgroupVersion;
  /** The tightest quota on the chain, in cores; `'max'` when none; undefined when unreadable. */
  limitCores(): Limit | undefined;
  /** CPU time used by the cgroup since it was created, in seconds. */
  usageSeconds(): number | undefined;
}

/** The memory files of one cgroup. */
export interface CgroupMemory {
  version: CgroupVersion;
  /** The tightest limit on the chain, in bytes. */
  limitBytes(): Limit | undefined;
  /** Usage minus inactive file cache, as cAdvisor's working set; undefined when unreadable. */
  workingSetBytes(): number | undefined;
}

export interface Cgroup {
  cpu?: CgroupCpu;
  memory?: CgroupMemory;
  close(): void;
}

/**
 * Opens the files of a located cgroup under `rootDir`. A part whose files are missing (the
 * controller is not enabled for this cgroup) is left out, and the host figures stand in for it.
 */
export function openCgroup(files: KernelFiles, rootDir: string, layout: CgroupLayout): Cgroup {
  const opened: KernelFile[] = [];
  const open = (dir: string, name: string): KernelFile | undefined => {
    const path = join(dir, name);
    if (!existsSync(path)) return undefined;
    const f = files.open(path);
    opened.push(f);
    return f;
  };
  const chainOf = (dirs: CgroupDirs): string[] => {
    const chain = dirs.chain.map((d) => join(rootDir, d));
    // Without a cgroup namespace a container may not see its own directory: the nearest
    // existing ancestor (at worst the mount point) is the best view it has.
    const first = chain.findIndex((d) => existsSync(d));
    return first < 0 ? [] : chain.slice(first);
  };
  const cg: Cgroup = {
    close: () => {
      for (const f of opened) f.close();
    },
  };
  const cpu =
    layout.cpu &&
    (layout.cpu.version === 'cgroup-v2'
      ? cpuV2(chainOf(layout.cpu), open)
      : cpuV1(chainOf(layout.cpu), layout.cpuacct && chainOf(layout.cpuacct), open));
  if (cpu) cg.cpu = cpu;
  const memory = layout.memory && memoryOf(layout.memory.version, chainOf(layout.memory), open);
  if (memory) cg.memory = memory;
  return cg;
}

type Open = (dir: string, name: string) => KernelFile | undefined;

const defined = <T>(v: T | undefined): v is T => v !== undefined;

function cpuV2(chain: string[], open: Open): CgroupCpu | undefined {
  const [leaf] = chain;
  const stat = leaf === undefined ? undefined : open(leaf, 'cpu.stat');
  const limits = chain.map((d) => open(d, 'cpu.max')).filter(defined);
  if (!stat || limits.length === 0) return undefined;
  return {
    version: 'cgroup-v2',
    limitCores: () => tightest(limits.map((f) => parse(f, parseCpuMax))),
    usageSeconds: () => {
      const text = stat.read();
      const usec = text === undefined ? undefined : keyedValue(text, 'usage_usec');
      return usec === undefined ? undefined : usec / 1e6;
    },
  };
}

function cpuV1(chain: string[], acctChain: string[] | undefined, open: Open): CgroupCpu | undefined {
  const acctLeaf = acctChain?.[0];
  const usage = acctLeaf === undefined ? undefined : open(acctLeaf, 'cpuacct.usage');
  const limits = chain
    .map((d) => {
      const quota = open(d, 'cpu.cfs_quota_us');
      const period = open(d, 'cpu.cfs_period_us');
      return quota && period ? { quota, period } : undefined;
    })
    .filter(defined);
  if (!usage || limits.length === 0) return undefined;
  return {
    version: 'cgroup-v1',
    limitCores: () =>
      tightest(
        limits.map(({ quota, period }) => {
          const q = quota.read();
          const p = period.read();
          return q === undefined || p === undefined ? undefined : parseCfsQuota(q, p);
        }),
      ),
    usageSeconds: () => {
      const ns = parse(usage, (t) => parseUint(t.trim()));
      return ns === undefined ? undefined : ns / 1e9;
    },
  };
}

function memoryOf(version: CgroupVersion, chain: string[], open: Open): CgroupMemory | undefined {
  const v2 = version === 'cgroup-v2';
  const [leaf] = chain;
  if (leaf === undefined) return undefined;
  const usage = open(leaf, v2 ? 'memory.current' : 'memory.usage_in_bytes');
  const stat = open(leaf, 'memory.stat');
  const limits = chain.map((d) => open(d, v2 ? 'memory.max' : 'memory.limit_in_bytes')).filter(defined);
  // v1's total_ figures include child cgroups, as usage_in_bytes does.
  const inactiveKey = v2 ? 'inactive_file' : 'total_inactive_file';
  if (!usage || limits.length === 0) return undefined;
  return {
    version,
    limitBytes: () => tightest(limits.map((f) => parse(f, parseMemoryLimit))),
    workingSetBytes: () => {
      const used = parse(usage, (t) => parseUint(t.trim()));
      if (used === undefined) return undefined;
      const statText = stat?.read();
      const inactive = statText === undefined ? undefined : keyedValue(statText, inactiveKey);
      return Math.max(0, used - (inactive ?? 0));
    },
  };
}

function parse<T>(file: KernelFile, parser: (text: string) => T | undefined): T | undefined {
  const text = file.read();
  return text === undefined ? undefined : parser(text);
}
