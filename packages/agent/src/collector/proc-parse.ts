/**
 * Pure parsers of /proc files. Each returns a typed value, or undefined when the text is not what
 * the kernel writes; none throws, and none returns NaN or Infinity.
 */

const PID = /^[1-9][0-9]{0,9}$/;
// Twenty digits cover every 64-bit counter and keep Number() finite.
const UINT = /^[0-9]{1,20}$/;

/** A PID usable in a /proc path, or undefined (docs/reliability.md I1: `1/../self`, `-1`, `0x1f`, 2^53 are refused). */
export function parsePid(value: unknown): number | undefined {
  if (typeof value !== 'number' && typeof value !== 'string') return undefined;
  const s = String(value);
  return PID.test(s) ? Number(s) : undefined;
}

/** A non-negative integer, or undefined. */
export function parseUint(text: string): number | undefined {
  return UINT.test(text) ? Number(text) : undefined;
}

/**
 * The value of `key` in a flat keyed file: `key value` (cpu.stat, memory.stat), `key: value`
 * (/proc/<pid>/io) or `Key:   value kB` (/proc/meminfo, returned in kB as written).
 * Searching for the one line wanted is cheaper than splitting a 40-line memory.stat every sample.
 */
export function keyedValue(text: string, key: string): number | undefined {
  for (let i = text.indexOf(key); i >= 0; i = text.indexOf(key, i + 1)) {
    // The key must start a line and end at its separator: `inactive_file` is not `total_inactive_file`.
    if (i > 0 && text.charCodeAt(i - 1) !== 0x0a) continue;
    const sep = text.charCodeAt(i + key.length);
    if (sep !== 0x20 && sep !== 0x3a && sep !== 0x09) continue;
    const end = text.indexOf('\n', i);
    const value = text
      .slice(i + key.length, end < 0 ? undefined : end)
      .replace(/^:?[ \t]+/, '')
      .replace(/[ \t]+kB$/, '')
      .trimEnd();
    return parseUint(value);
  }
  return undefined;
}

export interface CpuTimes {
  /** Jiffies spent busy (user, nice, system, irq, softirq, steal) over all CPUs. */
  busy: number;
  /** Busy plus idle and iowait jiffies. */
  total: number;
  /** `cpuN` lines: the online CPUs. */
  cpus: number;
}

/** /proc/stat: the aggregate `cpu` line and the count of per-CPU lines. */
export function parseProcStat(text: string): CpuTimes | undefined {
  const nl = text.indexOf('\n');
  const first = nl < 0 ? text : text.slice(0, nl);
  const f = first.trim().split(/\s+/);
  if (f[0] !== 'cpu' || f.length < 5) return undefined;
  const n: number[] = [];
  // guest and guest_nice (fields 9 and 10) are already counted in user and nice.
  for (const s of f.slice(1, 9)) {
    const v = parseUint(s);
    if (v === undefined) return undefined;
    n.push(v);
  }
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = n;
  const busy = user + nice + system + irq + softirq + steal;
  let cpus = 0;
  for (let i = text.indexOf('\ncpu'); i >= 0; i = text.indexOf('\ncpu', i + 4)) {
    const c = text.charCodeAt(i + 4);
    if (c >= 0x30 && c <= 0x39) cpus++;
  }
  return { busy, total: busy + idle + iowait, cpus };
}

/** /proc/loadavg: the 1, 5 and 15 minute load averages. */
export function parseLoadavg(text: string): [number, number, number] | undefined {
  const f = text.trim().split(/\s+/, 3);
  const out: number[] = [];
  for (const s of f) {
    if (!/^[0-9]{1,6}(\.[0-9]{1,6})?$/.test(s)) return undefined;
    out.push(Number(s));
  }
  const [a, b, c] = out;
  return a === undefined || b === undefined || c === undefined ? undefined : [a, b, c];
}

export interface Meminfo {
  totalBytes: number;
  availableBytes: number;
}

/** /proc/meminfo. Kernels before 3.14 have no MemAvailable: free + buffers + cached stands in. */
export function parseMeminfo(text: string): Meminfo | undefined {
  const total = keyedValue(text, 'MemTotal');
  if (total === undefined || total === 0) return undefined;
  let available = keyedValue(text, 'MemAvailable');
  if (available === undefined) {
    const free = keyedValue(text, 'MemFree');
    if (free === undefined) return undefined;
    available = free + (keyedValue(text, 'Buffers') ?? 0) + (keyedValue(text, 'Cached') ?? 0);
  }
  return { totalBytes: total * 1024, availableBytes: Math.min(total, available) * 1024 };
}

export interface PidStat {
  pid: number;
  ppid: number;
  /** utime + stime, in clock ticks. */
  ticks: number;
  /** Clock ticks after boot when the process started: tells a reused PID from the original. */
  startTime: number;
  rssPages: number;
}

/** /proc/<pid>/stat. The command name sits in parentheses and may itself hold spaces and `)`. */
export function parsePidStat(text: string): PidStat | undefined {
  const open = text.indexOf(' (');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const pid = parsePid(text.slice(0, open));
  // Field n of proc(5) is f[n - 3] once the pid and the name are cut off.
  const f = text
    .slice(close + 1)
    .trim()
    .split(' ', 22);
  const ppid = f[1] === '0' ? 0 : parsePid(f[1]);
  const utime = parseUint(f[11] ?? '');
  const stime = parseUint(f[12] ?? '');
  const startTime = parseUint(f[19] ?? '');
  const rssPages = parseUint(f[21] ?? '');
  if (pid === undefined || ppid === undefined || utime === undefined || stime === undefined) return undefined;
  if (startTime === undefined || rssPages === undefined) return undefined;
  return { pid, ppid, ticks: utime + stime, startTime, rssPages };
}

export interface PidIo {
  readBytes: number;
  writeBytes: number;
}

/** /proc/<pid>/io: bytes this process caused to be fetched from or sent to storage. */
export function parsePidIo(text: string): PidIo | undefined {
  const readBytes = keyedValue(text, 'read_bytes');
  const writeBytes = keyedValue(text, 'write_bytes');
  return readBytes === undefined || writeBytes === undefined ? undefined : { readBytes, writeBytes };
}

/** /proc/cpuinfo: distinct (physical id, core id) pairs; the processor count where those are absent (arm64). */
export function parseCpuinfoCores(text: string): number | undefined {
  const cores = new Set<string>();
  let processors = 0;
  let physical = '';
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (key === 'processor') {
      processors++;
      physical = '';
    } else if (key === 'physical id') physical = value;
    else if (key === 'core id') cores.add(`${physical}/${value}`);
  }
  if (cores.size > 0) return cores.size;
  return processors > 0 ? processors : undefined;
}

const AT_NULL = 0;
const AT_PAGESZ = 6;

/** The page size from /proc/self/auxv (pairs of machine words), so RSS pages convert right on 16 KiB and 64 KiB kernels. */
export function parseAuxvPageSize(auxv: Uint8Array, wordBytes: 4 | 8, littleEndian: boolean): number | undefined {
  const view = new DataView(auxv.buffer, auxv.byteOffset, auxv.byteLength);
  const word = (at: number): number => (wordBytes === 8 ? Number(view.getBigUint64(at, littleEndian)) : view.getUint32(at, littleEndian));
  for (let at = 0; at + 2 * wordBytes <= auxv.byteLength; at += 2 * wordBytes) {
    const type = word(at);
    if (type === AT_NULL) return undefined;
    if (type === AT_PAGESZ) {
      const size = word(at + wordBytes);
      // A page is a power of two between 4 KiB and 1 MiB on every Linux architecture.
      return size >= 4096 && size <= 1 << 20 && (size & (size - 1)) === 0 ? size : undefined;
    }
  }
  return undefined;
}

/** True when /proc/self/status's NSpid has more than one entry: this process sees PIDs of a nested namespace. */
export function parseInNestedPidNamespace(status: string): boolean {
  const i = status.indexOf('\nNSpid:');
  if (i < 0) return false;
  const end = status.indexOf('\n', i + 1);
  return (
    status
      .slice(i + 7, end < 0 ? undefined : end)
      .trim()
      .split(/\s+/).length > 1
  );
}

export interface NetDev {
  /** Bytes received and sent since boot, summed over the interfaces but loopback. */
  rxBytes: number;
  txBytes: number;
  interfaces: number;
}

/**
 * /proc/net/dev (of a network namespace): two header lines, then `name: rx_bytes packets errs drop
 * fifo frame compressed multicast tx_bytes …` per interface. Loopback is left out: traffic a host
 * sends itself is not network I/O. Undefined when no line can be read.
 */
export function parseNetDev(text: string): NetDev | undefined {
  let rxBytes = 0;
  let txBytes = 0;
  let interfaces = 0;
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    // Header lines carry `|`, not a colon; a name is what `ip link` allows (no spaces, at most 15 bytes).
    if (!/^[^\s/:]{1,15}$/.test(name)) continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    if (f.length < 16) continue;
    const rx = parseUint(f[0] ?? '');
    const tx = parseUint(f[8] ?? '');
    if (rx === undefined || tx === undefined) continue;
    if (name === 'lo') continue;
    rxBytes += rx;
    txBytes += tx;
    interfaces++;
  }
  return interfaces === 0 && !/\blo:/.test(text) ? undefined : { rxBytes, txBytes, interfaces };
}
