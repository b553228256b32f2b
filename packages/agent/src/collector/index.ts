import { cpus, freemem, loadavg, totalmem } from 'node:os';
import type { AgentProcessMetrics, Resources } from '@vigil/protocol';
import type { Sample } from './types.js';

export type * from './types.js';

export interface CollectorOptions {
  /** The process to watch; default: none (host figures only). */
  pid?: number;
  /** Sum the watched process with all its descendants. */
  tree?: boolean;
  /** Paths whose file systems' usage is reported. */
  diskPaths?: string[];
  /** Query nvidia-smi / rocm-smi; default true. */
  gpu?: boolean;
  now?: () => number;
}

/**
 * Samples the host, the process's cgroup, a process tree, disks and GPUs.
 * PLACEHOLDER: host figures from `os` only, until the Linux collector lands.
 */
export class Collector {
  constructor(private readonly options: CollectorOptions = {}) {}

  async sample(): Promise<Sample> {
    const n = cpus().length;
    const [load1 = 0, load5 = 0, load15 = 0] = loadavg();
    return {
      at: (this.options.now ?? Date.now)(),
      host: {
        source: 'host',
        cpuLimitCores: n,
        cpuCoresPhysical: n,
        load1,
        load5,
        load15,
        memoryUsedBytes: totalmem() - freemem(),
        memoryLimitBytes: totalmem(),
      },
      disks: [],
      gpu: { type: 'none', devices: [], totalMb: 0, freeMb: 0 },
    };
  }

  close(): void {}
}

/** The seed 001 `resources` dict of a heartbeat, computed from one sample. */
export function toResources(s: Sample): Resources {
  const GB = 1024 ** 3;
  const r: Resources = {
    cpu_cores_physical: s.host.cpuCoresPhysical,
    cpu_load_1min: s.host.load1,
    cpu_load_5min: s.host.load5,
    memory_percent: (100 * s.host.memoryUsedBytes) / s.host.memoryLimitBytes,
    memory_available_gb: Math.max(0, s.host.memoryLimitBytes - s.host.memoryUsedBytes) / GB,
    gpu_type: s.gpu.type,
  };
  if (s.host.cpuPercent !== undefined) r.cpu_percent = s.host.cpuPercent;
  if (s.host.cpuCoresUsed !== undefined) r.cpu_cores_available = Math.max(0, s.host.cpuLimitCores - s.host.cpuCoresUsed);
  if (s.gpu.type !== 'none' && s.gpu.devices.length > 0) {
    r.gpu_vram_total_gb = s.gpu.totalMb / 1024;
    r.gpu_vram_available_gb = s.gpu.freeMb / 1024;
  }
  return r;
}

/** The seed 002 per-agent figures of a heartbeat (the watched process tree's own usage). */
export function toProcessMetrics(s: Sample): AgentProcessMetrics {
  const p = s.process;
  if (!p) return {};
  const m: AgentProcessMetrics = { memory_mb: p.rssBytes / 1024 ** 2 };
  if (p.cpuPercent !== undefined) m.cpu_percent = p.cpuPercent;
  if (p.readBps !== undefined) m.io_read_bps = p.readBps;
  if (p.writeBps !== undefined) m.io_write_bps = p.writeBps;
  return m;
}
