import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { KernelFile, KernelFiles } from './files.js';
import { type PidStat, parsePid, parsePidIo, parsePidStat } from './proc-parse.js';
import type { ProcessSample } from './types.js';

/** USER_HZ: the unit of /proc/<pid>/stat times, fixed at 100 by the Linux ABI on every architecture. */
const TICKS_PER_SECOND = 100;

interface Member {
  stat: KernelFile;
  io: KernelFile;
  startTime: number;
  /** Counters at the previous sample; undefined until one was read. */
  ticks?: number;
  readBytes?: number;
  writeBytes?: number;
}

/**
 * One process, or a process and its descendants, from /proc/<pid>/stat and /proc/<pid>/io.
 *
 * The tree is rebuilt every sample from the ppid fields, but cheaply: a process once seen outside
 * the tree can never join it (only new children join, and they have new PIDs), so after the first
 * scan only new PIDs are read once, and members are re-read through descriptors kept open.
 */
export class ProcessTree {
  private readonly members = new Map<number, Member>();
  private readonly outsiders = new Set<number>();
  private rootStartTime: number | undefined;
  private prevT: number | undefined;
  private exited = false;

  constructor(
    private readonly files: KernelFiles,
    private readonly procRoot: string,
    private readonly pid: number,
    private readonly tree: boolean,
    private readonly pageSize: number,
  ) {}

  /**
   * @param t a monotonic time in ms, for rates.
   * @returns undefined once the process has exited (for good: a later process with its PID is another one).
   */
  sample(t: number): ProcessSample | undefined {
    if (this.exited) return undefined;
    const root = this.member(this.pid);
    const rootText = root.stat.read();
    const rootStat = rootText === undefined ? undefined : parsePidStat(rootText);
    if (!rootStat || (this.rootStartTime !== undefined && rootStat.startTime !== this.rootStartTime)) {
      this.exited = true;
      this.close();
      return undefined;
    }
    this.rootStartTime = rootStat.startTime;
    const stats = new Map<number, PidStat>([[this.pid, rootStat]]);
    if (this.tree) this.addDescendants(stats);
    for (const [pid, m] of this.members) {
      if (stats.has(pid)) continue;
      m.stat.close();
      m.io.close();
      this.members.delete(pid);
    }

    const seconds = this.prevT !== undefined && t > this.prevT ? (t - this.prevT) / 1000 : undefined;
    this.prevT = t;
    let ticks = 0;
    let readBytes = 0;
    let writeBytes = 0;
    let rssPages = 0;
    let rootIo = false;
    for (const [pid, st] of stats) {
      const m = this.member(pid);
      if (m.startTime !== st.startTime) {
        // The PID was reused between two samples: a new process, whose counters start from zero.
        m.startTime = st.startTime;
        m.ticks = m.readBytes = m.writeBytes = undefined;
      }
      rssPages += st.rssPages;
      // A member without a previous reading was born since the last sample, so all of its
      // counters accrued in this interval. Time of children that exited in between is lost.
      ticks += growth(st.ticks, m.ticks);
      m.ticks = st.ticks;
      const ioText = m.io.read();
      const io = ioText === undefined ? undefined : parsePidIo(ioText);
      if (!io) continue;
      if (pid === this.pid) rootIo = true;
      readBytes += growth(io.readBytes, m.readBytes);
      writeBytes += growth(io.writeBytes, m.writeBytes);
      m.readBytes = io.readBytes;
      m.writeBytes = io.writeBytes;
    }

    const s: ProcessSample = { pids: [...stats.keys()].sort((a, b) => a - b), rssBytes: rssPages * this.pageSize };
    if (seconds !== undefined) {
      s.cpuPercent = (100 * ticks) / TICKS_PER_SECOND / seconds;
      // /proc/<pid>/io of another user's process is unreadable: then the rates are not known.
      if (rootIo) {
        s.readBps = readBytes / seconds;
        s.writeBps = writeBytes / seconds;
      }
    }
    return s;
  }

  close(): void {
    for (const m of this.members.values()) {
      m.stat.close();
      m.io.close();
    }
    this.members.clear();
  }

  private member(pid: number): Member {
    let m = this.members.get(pid);
    if (!m) {
      const dir = join(this.procRoot, String(pid));
      m = { stat: this.files.open(join(dir, 'stat')), io: this.files.open(join(dir, 'io')), startTime: -1 };
      this.members.set(pid, m);
    }
    return m;
  }

  private addDescendants(stats: Map<number, PidStat>): void {
    let names: string[];
    try {
      names = readdirSync(this.procRoot);
    } catch {
      return;
    }
    const alive = new Set<number>();
    const children = new Map<number, PidStat[]>();
    for (const name of names) {
      const pid = parsePid(name);
      if (pid === undefined) continue;
      alive.add(pid);
      if (pid === this.pid || this.outsiders.has(pid)) continue;
      const known = this.members.get(pid);
      const text = known ? known.stat.read() : this.files.readOnce(join(this.procRoot, String(pid), 'stat'));
      const st = text === undefined ? undefined : parsePidStat(text);
      if (st?.pid !== pid) continue;
      const siblings = children.get(st.ppid);
      if (siblings) siblings.push(st);
      else children.set(st.ppid, [st]);
    }
    const queue = [this.pid];
    for (let p = queue.pop(); p !== undefined; p = queue.pop()) {
      for (const st of children.get(p) ?? []) {
        stats.set(st.pid, st);
        queue.push(st.pid);
      }
      children.delete(p);
    }
    for (const rest of children.values()) for (const st of rest) this.outsiders.add(st.pid);
    // Forget exited outsiders, so that a new process given one of their PIDs is looked at.
    for (const pid of this.outsiders) if (!alive.has(pid)) this.outsiders.delete(pid);
  }
}

function growth(now: number, before: number | undefined): number {
  if (before === undefined) return now;
  return now >= before ? now - before : 0;
}
