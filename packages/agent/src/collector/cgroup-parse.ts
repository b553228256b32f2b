/**
 * Pure parsers of cgroup files, and the pure half of locating a process's cgroup: from the text of
 * /proc/self/cgroup and /proc/self/mountinfo to the directories that hold its CPU and memory files.
 */
import { parseUint } from './proc-parse.js';

export type CgroupVersion = 'cgroup-v1' | 'cgroup-v2';

/** A limit in the file's unit, or `'max'` where none is set. */
export type Limit = number | 'max';

export interface CgroupMembership {
  /** 0 for the v2 unified hierarchy. */
  hierarchy: number;
  /** v1 controllers of the hierarchy (`cpu`, `cpuacct`, `name=systemd`); empty for v2. */
  controllers: string[];
  path: string;
}

/** /proc/<pid>/cgroup: `hierarchy-ID:controller-list:path` per line. The path itself may hold colons. */
export function parseProcCgroup(text: string): CgroupMembership[] {
  const out: CgroupMembership[] = [];
  for (const line of text.split('\n')) {
    const a = line.indexOf(':');
    const b = line.indexOf(':', a + 1);
    if (a < 0 || b < 0) continue;
    const hierarchy = parseUint(line.slice(0, a));
    const path = line.slice(b + 1);
    if (hierarchy === undefined || !path.startsWith('/')) continue;
    const list = line.slice(a + 1, b);
    out.push({ hierarchy, controllers: list === '' ? [] : list.split(','), path });
  }
  return out;
}

export interface CgroupMount {
  /** The directory of the hierarchy that is mounted: `/` unless the mount shows only a subtree. */
  root: string;
  mountPoint: string;
  version: CgroupVersion;
  /** v1: the controllers the hierarchy carries (from the super options). */
  controllers: string[];
}

// mountinfo escapes space, tab, newline and backslash as three octal digits.
const unescapeOctal = (s: string): string => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));

/** The cgroup and cgroup2 mounts of /proc/<pid>/mountinfo (proc(5)); other file systems are skipped. */
export function parseCgroupMounts(text: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const pre = line.slice(0, dash).split(' ');
    const post = line.slice(dash + 3).split(' ');
    const root = pre[3];
    const mountPoint = pre[4];
    const fsType = post[0];
    if (root === undefined || mountPoint === undefined || !root.startsWith('/') || !mountPoint.startsWith('/')) continue;
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    const options = (post[2] ?? '').split(',');
    out.push({
      root: unescapeOctal(root),
      mountPoint: unescapeOctal(mountPoint),
      version: fsType === 'cgroup2' ? 'cgroup-v2' : 'cgroup-v1',
      controllers: fsType === 'cgroup' ? options.filter((o) => o !== 'rw' && o !== 'ro') : [],
    });
  }
  return out;
}

export interface CgroupDirs {
  version: CgroupVersion;
  /** The process's cgroup directory first, then each parent up to the mount point, whose limits also apply. */
  chain: string[];
}

export interface CgroupLayout {
  /** v2: the one directory chain; v1: the `cpu` hierarchy's (quota and period). */
  cpu?: CgroupDirs;
  /** v1 only: the `cpuacct` hierarchy's chain, whose first entry holds `cpuacct.usage`. */
  cpuacct?: CgroupDirs;
  memory?: CgroupDirs;
}

/**
 * Where the process's CPU and memory files are. A v1 controller (v1-only or hybrid hosts) wins over
 * the v2 hierarchy, because on a hybrid host the unified mount carries no controllers.
 */
export function locateCgroup(procCgroup: string, mountinfo: string): CgroupLayout {
  const members = parseProcCgroup(procCgroup);
  const mounts = parseCgroupMounts(mountinfo);
  const v1 = (controller: string): CgroupDirs | undefined => {
    const member = members.find((m) => m.hierarchy > 0 && m.controllers.includes(controller));
    if (!member) return undefined;
    const candidates = mounts.filter((m) => m.version === 'cgroup-v1' && m.controllers.includes(controller));
    return dirsOf('cgroup-v1', member.path, candidates);
  };
  const unified = members.find((m) => m.hierarchy === 0);
  const v2 = unified
    ? dirsOf(
        'cgroup-v2',
        unified.path,
        mounts.filter((m) => m.version === 'cgroup-v2'),
      )
    : undefined;
  const layout: CgroupLayout = {};
  const cpu = v1('cpu');
  const cpuacct = v1('cpuacct');
  if (cpu && cpuacct) {
    layout.cpu = cpu;
    layout.cpuacct = cpuacct;
  } else if (v2) layout.cpu = v2;
  const memory = v1('memory') ?? v2;
  if (memory) layout.memory = memory;
  return layout;
}

function dirsOf(version: CgroupVersion, path: string, mounts: CgroupMount[]): CgroupDirs | undefined {
  // Prefer a mount whose root contains our path; a container without its own cgroup namespace
  // sees a host path under a mount of just its own subtree, and then the mount point is its cgroup.
  const mount = mounts.find((m) => m.root === '/' || path === m.root || path.startsWith(m.root + '/')) ?? mounts[0];
  if (!mount) return undefined;
  let rel = '';
  if (mount.root === '/') rel = path;
  else if (path.startsWith(mount.root + '/')) rel = path.slice(mount.root.length);
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.' && p !== '..');
  const base = mount.mountPoint.replace(/\/+$/, '');
  const chain: string[] = [];
  for (let n = parts.length; n > 0; n--) chain.push(`${base}/${parts.slice(0, n).join('/')}`);
  chain.push(mount.mountPoint);
  return { version, chain };
}

/** v2 `cpu.max`: `$MAX $PERIOD` in microseconds; `max` means no quota. Returns cores. */
export function parseCpuMax(text: string): Limit | undefined {
  const [quota, period = '100000', extra] = text.trim().split(/\s+/);
  if (extra !== undefined) return undefined;
  const p = parseUint(period);
  if (p === undefined || p === 0) return undefined;
  if (quota === 'max') return 'max';
  const q = parseUint(quota ?? '');
  return q === undefined || q === 0 ? undefined : q / p;
}

/** v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us`; a quota of -1 means none. Returns cores. */
export function parseCfsQuota(quotaText: string, periodText: string): Limit | undefined {
  const quota = quotaText.trim();
  if (quota === '-1') return 'max';
  const q = parseUint(quota);
  const p = parseUint(periodText.trim());
  return q === undefined || p === undefined || q === 0 || p === 0 ? undefined : q / p;
}

// v1 writes "no limit" as the largest page-aligned signed 64-bit value (9223372036854771712).
const V1_UNLIMITED = 2 ** 62;

/** v2 `memory.max` (`max` or bytes) or v1 `memory.limit_in_bytes` (a huge value for none). */
export function parseMemoryLimit(text: string): Limit | undefined {
  const t = text.trim();
  if (t === 'max') return 'max';
  const v = parseUint(t);
  if (v === undefined) return undefined;
  return v >= V1_UNLIMITED ? 'max' : v;
}

/** The tightest of several limits (a cgroup is bound by every ancestor's); undefined when none could be read. */
export function tightest(limits: readonly (Limit | undefined)[]): Limit | undefined {
  let out: Limit | undefined;
  for (const l of limits) {
    if (l === undefined) continue;
    if (out === undefined || out === 'max') out = l;
    else if (l !== 'max') out = Math.min(out, l);
  }
  return out;
}
