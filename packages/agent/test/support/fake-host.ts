import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

// tsc does not copy the recorded files: they are read from the package's own test/ folder.
const FIXTURES = new URL('../../../test/fixtures/', import.meta.url);

/** A recorded file under packages/agent/test/fixtures/. */
export function fixture(name: string): string {
  return readFileSync(new URL(name, FIXTURES), 'utf8');
}

export interface FakeProcess {
  ppid: number;
  /** utime; stime is left 0. */
  ticks?: number;
  rssPages?: number;
  startTime?: number;
  comm?: string;
  /** Written to /proc/<pid>/io when given; otherwise there is no io file. */
  io?: { read: number; write: number };
}

/** The cgroup layouts recorded or written under fixtures/, each with its /proc/self/cgroup and mountinfo. */
export type Layout = 'hybrid' | 'v1-docker' | 'v2-systemd' | 'v2-container';

/**
 * A fake root (proc/, sys/) in a temp dir for the Collector's `rootDir`. Files are rewritten in
 * place, so descriptors the collector keeps open see the new content, as with the kernel's files.
 */
export class FakeHost {
  readonly root = mkdtempSync(join(tmpdir(), 'vigil-fake-host-'));

  /** A host with the recorded /proc/stat (2 CPUs), meminfo, loadavg and cpuinfo, and `layout`'s cgroup files. */
  static of(layout: Layout): FakeHost {
    const h = new FakeHost();
    h.write('proc/stat', fixture('proc/stat.txt'));
    h.write('proc/meminfo', fixture('proc/meminfo.txt'));
    h.write('proc/loadavg', fixture('proc/loadavg.txt'));
    h.write('proc/cpuinfo', fixture('proc/cpuinfo.txt'));
    h.write('proc/self/cgroup', fixture(`${layout}/self-cgroup.txt`));
    h.write('proc/self/mountinfo', fixture(`${layout}/mountinfo.txt`));
    return h;
  }

  write(path: string, content: string): void {
    const full = join(this.root, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }

  remove(path: string): void {
    rmSync(join(this.root, path), { recursive: true, force: true });
  }

  /** /proc/stat whose aggregate line has the given busy and idle jiffies, over `cpus` CPUs. */
  cpuTimes(busy: number, idle: number, cpus = 2): void {
    const lines = [`cpu  ${busy} 0 0 ${idle} 0 0 0 0 0 0`];
    for (let i = 0; i < cpus; i++) lines.push(`cpu${i} 0 0 0 0 0 0 0 0 0 0`);
    this.write('proc/stat', `${lines.join('\n')}\nintr 0\nctxt 0\n`);
  }

  process(pid: number, p: FakeProcess): void {
    const comm = p.comm ?? 'agent';
    const rest = `S ${p.ppid} ${pid} ${pid} 0 -1 4194304 100 0 0 0 ${p.ticks ?? 0} 0 0 0 20 0 1 0 ${p.startTime ?? 1000} 10000000 ${p.rssPages ?? 0} 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0`;
    this.write(`proc/${pid}/stat`, `${pid} (${comm}) ${rest}\n`);
    if (p.io) {
      const io = p.io;
      this.write(
        `proc/${pid}/io`,
        `rchar: 0\nwchar: 0\nsyscr: 0\nsyscw: 0\nread_bytes: ${io.read}\nwrite_bytes: ${io.write}\ncancelled_write_bytes: 0\n`,
      );
    }
  }

  dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
