import type { GpuType } from '@vigil/protocol';

/** Where CPU and memory limits came from: the process's cgroup, or the whole host when it has none. */
export type LimitSource = 'cgroup-v2' | 'cgroup-v1' | 'host';

/** CPU and memory of the host as this process sees it (its cgroup's limits when it has any). */
export interface HostSample {
  /** The cgroup version when its CPU or memory limit (either) is the one reported, else `host`. */
  source: LimitSource;
  /** Busy percent of the CPU limit since the previous sample; absent on the first sample. */
  cpuPercent?: number;
  /** Cores in use since the previous sample (busy fraction × limit); absent on the first sample. */
  cpuCoresUsed?: number;
  /** The CPU limit in cores: the cgroup quota, or the host's online CPUs. */
  cpuLimitCores: number;
  /** Physical cores of the host (distinct core ids), or logical CPUs where topology is unknown. */
  cpuCoresPhysical: number;
  load1: number;
  load5: number;
  load15: number;
  /** Working set: usage minus inactive file cache (as cAdvisor), or MemTotal − MemAvailable on the host. */
  memoryUsedBytes: number;
  memoryLimitBytes: number;
  /**
   * Bytes per second received and sent over the network interfaces (loopback left out) of this
   * process's network namespace (/proc/net/dev), since the previous sample; absent on the first.
   */
  netRxBps?: number;
  netTxBps?: number;
}

export interface DiskSample {
  path: string;
  usedBytes: number;
  totalBytes: number;
  /** What an unprivileged writer can still use: less than total − used by the blocks reserved for root. */
  availableBytes?: number;
}

/** One process, or a process tree summed. */
export interface ProcessSample {
  /** The root PID and its descendants that were counted. */
  pids: number[];
  /** Percent of one core (200 = two cores busy) since the previous sample; absent on the first. */
  cpuPercent?: number;
  rssBytes: number;
  /** Bytes per second read from / written to storage since the previous sample; absent on the first. */
  readBps?: number;
  writeBps?: number;
  /** VRAM held by these PIDs, from nvidia-smi's compute apps; absent when unknown. */
  gpuMemoryBytes?: number;
}

export interface GpuDevice {
  index: number;
  /** The model, as the tool names it. */
  name: string;
  /** Stable device id (nvidia-smi's `GPU-…` uuid, rocm-smi's unique id) and PCI bus id, where the tool gives them. */
  uuid?: string;
  busId?: string;
  memoryTotalMb: number;
  memoryUsedMb: number;
  memoryFreeMb: number;
  /** Absent where the tool says N/A or [Not Supported]. */
  utilizationPercent?: number;
  temperatureC?: number;
  powerW?: number;
  /** VRAM the watched PIDs hold on this GPU (nvidia-smi's compute apps); absent when unknown. */
  processMemoryMb?: number;
}

export interface GpuSample {
  type: GpuType;
  devices: GpuDevice[];
  totalMb: number;
  freeMb: number;
  /** Why GPU figures are missing (tool failed, timed out, printed garbage); absent when fine. */
  error?: string;
  /** GPU tool runs that failed since the collector was created; absent until one has. */
  errorCount?: number;
}

export interface Sample {
  /** Epoch ms when the sample was taken. */
  at: number;
  host: HostSample;
  disks: DiskSample[];
  /** The watched process (tree); absent when no PID is watched or it has exited. */
  process?: ProcessSample;
  gpu: GpuSample;
}
