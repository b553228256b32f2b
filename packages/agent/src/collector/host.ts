import { join } from 'node:path';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import type { Cgroup } from './cgroup.js';
import type { KernelFile, KernelFiles } from './files.js';
import { type CpuTimes, type NetDev, parseCpuinfoCores, parseLoadavg, parseMeminfo, parseNetDev, parseProcStat } from './proc-parse.js';
import type { HostSample, LimitSource } from './types.js';

interface CpuPart {
  source: LimitSource;
  limitCores: number;
  percent?: number;
  coresUsed?: number;
}

interface MemoryPart {
  source: LimitSource;
  usedBytes: number;
  limitBytes: number;
}

/**
 * The host as this process sees it on Linux: its cgroup's CPU and memory where a limit is set
 * (tighter than the host itself), otherwise the whole host from /proc.
 */
export class LinuxHost {
  private readonly stat: KernelFile;
  private readonly meminfo: KernelFile;
  private readonly loadavg: KernelFile;
  private readonly netDev: KernelFile;
  private prevNet: { t: number; net: NetDev } | undefined;
  private readonly coresPhysical: number;
  private hostCpus: number;
  private memTotalBytes: number;
  private prevHostCpu: CpuTimes | undefined;
  private prevCgroupCpu: { t: number; seconds: number } | undefined;

  constructor(
    files: KernelFiles,
    procRoot: string,
    private readonly cgroup: Cgroup | undefined,
  ) {
    this.stat = files.open(join(procRoot, 'stat'));
    this.meminfo = files.open(join(procRoot, 'meminfo'));
    this.loadavg = files.open(join(procRoot, 'loadavg'));
    // This process's network namespace: the host's, or the container's when the collector runs in one.
    this.netDev = files.open(join(procRoot, 'net', 'dev'));
    const stat = this.stat.read();
    this.hostCpus = (stat === undefined ? undefined : parseProcStat(stat)?.cpus) || cpus().length || 1;
    const meminfo = this.meminfo.read();
    this.memTotalBytes = (meminfo === undefined ? undefined : parseMeminfo(meminfo)?.totalBytes) ?? totalmem();
    const cpuinfo = files.readOnce(join(procRoot, 'cpuinfo'));
    this.coresPhysical = (cpuinfo === undefined ? undefined : parseCpuinfoCores(cpuinfo)) ?? this.hostCpus;
  }

  /** @param t a monotonic time in ms, for rates. */
  sample(t: number): HostSample {
    const cpu = this.sampleCpu(t);
    const memory = this.sampleMemory();
    const loadText = this.loadavg.read();
    const [load1, load5, load15] = (loadText === undefined ? undefined : parseLoadavg(loadText)) ?? loadavg();
    const s: HostSample = {
      source: cpu.source !== 'host' ? cpu.source : memory.source,
      cpuLimitCores: cpu.limitCores,
      cpuCoresPhysical: this.coresPhysical,
      load1: load1 ?? 0,
      load5: load5 ?? 0,
      load15: load15 ?? 0,
      memoryUsedBytes: memory.usedBytes,
      memoryLimitBytes: memory.limitBytes,
    };
    if (cpu.percent !== undefined) s.cpuPercent = cpu.percent;
    if (cpu.coresUsed !== undefined) s.cpuCoresUsed = cpu.coresUsed;
    const net = this.sampleNet(t);
    if (net) {
      s.netRxBps = net.rx;
      s.netTxBps = net.tx;
    }
    return s;
  }

  close(): void {
    this.stat.close();
    this.meminfo.close();
    this.loadavg.close();
    this.netDev.close();
    this.cgroup?.close();
  }

  private sampleCpu(t: number): CpuPart {
    const cg = this.cgroup?.cpu;
    const limit = cg?.limitCores();
    // A quota at or above the host's CPU count binds nothing: the host view is then the true one.
    if (cg && typeof limit === 'number' && limit < this.hostCpus) {
      const seconds = cg.usageSeconds();
      if (seconds !== undefined) {
        const prev = this.prevCgroupCpu;
        this.prevCgroupCpu = { t, seconds };
        this.prevHostCpu = undefined;
        const part: CpuPart = { source: cg.version, limitCores: limit };
        if (prev && t > prev.t && seconds >= prev.seconds) {
          const coresUsed = Math.min(limit, (seconds - prev.seconds) / ((t - prev.t) / 1000));
          part.coresUsed = coresUsed;
          part.percent = (100 * coresUsed) / limit;
        }
        return part;
      }
    }
    this.prevCgroupCpu = undefined;
    const text = this.stat.read();
    const times = text === undefined ? undefined : parseProcStat(text);
    const prev = this.prevHostCpu;
    this.prevHostCpu = times;
    if (times && times.cpus > 0) this.hostCpus = times.cpus;
    const part: CpuPart = { source: 'host', limitCores: this.hostCpus };
    // Counters that went backwards (a restored VM, a wrapped counter) give no rate rather than a wrong one.
    if (times && prev && times.total > prev.total && times.busy >= prev.busy) {
      const busy = Math.min(1, (times.busy - prev.busy) / (times.total - prev.total));
      part.percent = 100 * busy;
      part.coresUsed = busy * this.hostCpus;
    }
    return part;
  }

  /** Bytes per second since the previous sample; none on the first, or when a counter went back (an interface went away). */
  private sampleNet(t: number): { rx: number; tx: number } | undefined {
    const text = this.netDev.read();
    const net = text === undefined ? undefined : parseNetDev(text);
    const prev = this.prevNet;
    this.prevNet = net && { t, net };
    if (!net || !prev || t <= prev.t || net.rxBytes < prev.net.rxBytes || net.txBytes < prev.net.txBytes) return undefined;
    const seconds = (t - prev.t) / 1000;
    return { rx: (net.rxBytes - prev.net.rxBytes) / seconds, tx: (net.txBytes - prev.net.txBytes) / seconds };
  }

  private sampleMemory(): MemoryPart {
    const cg = this.cgroup?.memory;
    const limit = cg?.limitBytes();
    if (cg && typeof limit === 'number' && limit < this.memTotalBytes) {
      const used = cg.workingSetBytes();
      if (used !== undefined) return { source: cg.version, usedBytes: used, limitBytes: limit };
    }
    const text = this.meminfo.read();
    const m = text === undefined ? undefined : parseMeminfo(text);
    if (m) {
      this.memTotalBytes = m.totalBytes;
      return { source: 'host', usedBytes: m.totalBytes - m.availableBytes, limitBytes: m.totalBytes };
    }
    return { source: 'host', usedBytes: totalmem() - freemem(), limitBytes: totalmem() };
  }
}
