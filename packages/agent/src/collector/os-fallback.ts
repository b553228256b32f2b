import { cpus, freemem, loadavg, totalmem } from 'node:os';
import type { HostSample, ProcessSample } from './types.js';

/** The host from `os` alone, where there is no /proc (macOS, Windows): no cgroups, no physical core count. */
export class OsHost {
  private prev: { busy: number; total: number } | undefined;

  sample(): HostSample {
    const all = cpus();
    let busy = 0;
    let total = 0;
    for (const { times } of all) {
      busy += times.user + times.nice + times.sys + times.irq;
      total += times.user + times.nice + times.sys + times.irq + times.idle;
    }
    const n = all.length || 1;
    const [load1 = 0, load5 = 0, load15 = 0] = loadavg();
    const s: HostSample = {
      source: 'host',
      cpuLimitCores: n,
      cpuCoresPhysical: n,
      load1,
      load5,
      load15,
      memoryUsedBytes: totalmem() - freemem(),
      memoryLimitBytes: totalmem(),
    };
    const prev = this.prev;
    this.prev = { busy, total };
    if (prev && total > prev.total && busy >= prev.busy) {
      const fraction = Math.min(1, (busy - prev.busy) / (total - prev.total));
      s.cpuPercent = 100 * fraction;
      s.cpuCoresUsed = fraction * n;
    }
    return s;
  }
}

/** Without /proc only this very process can be measured: the SDK watching itself still gets CPU and RSS. */
export class OsSelfProcess {
  private prev: { t: number; micros: number } | undefined;

  sample(t: number): ProcessSample {
    const { user, system } = process.cpuUsage();
    const s: ProcessSample = { pids: [process.pid], rssBytes: process.memoryUsage.rss() };
    const prev = this.prev;
    this.prev = { t, micros: user + system };
    if (prev && t > prev.t) s.cpuPercent = Math.max(0, (100 * (user + system - prev.micros)) / 1000 / (t - prev.t));
    return s;
  }
}
