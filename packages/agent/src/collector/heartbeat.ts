import { MAX_GPUS, type AgentProcessMetrics, type GpuDevice, type ResourceReport } from '@vigil/protocol';
import type { GpuDevice as CollectedGpu, Sample } from './types.js';

const GB = 1024 ** 3;
const MB = 1024 ** 2;

/**
 * The base `resources` dict (docs/seed-requirements.md) of a heartbeat, computed from one sample. Unmeasured figures are
 * absent, never 0: the hub then keeps their last value. Figures known to be gone (a host whose GPU
 * tool answered that it has no GPU) are `null`, which clears them on the hub.
 */
export function toResources(s: Sample): ResourceReport {
  const r: ResourceReport = {
    cpu_cores_physical: s.host.cpuCoresPhysical,
    cpu_load_1min: s.host.load1,
    cpu_load_5min: s.host.load5,
  };
  // A memory.max of 0 is a legal cgroup setting; a percentage of it is not a number.
  if (s.host.memoryLimitBytes > 0) {
    r.memory_percent = Math.min(100, (100 * s.host.memoryUsedBytes) / s.host.memoryLimitBytes);
    r.memory_available_gb = Math.max(0, s.host.memoryLimitBytes - s.host.memoryUsedBytes) / GB;
  }
  if (s.host.cpuPercent !== undefined) r.cpu_percent = s.host.cpuPercent;
  if (s.host.netRxBps !== undefined) r.net_rx_bps = s.host.netRxBps;
  if (s.host.netTxBps !== undefined) r.net_tx_bps = s.host.netTxBps;
  if (s.host.cpuCoresUsed !== undefined) r.cpu_cores_available = Math.max(0, s.host.cpuLimitCores - s.host.cpuCoresUsed);
  // A GPU tool that failed says nothing about the GPUs, not even whether there are any.
  if (s.gpu.error === undefined) r.gpu_type = s.gpu.type;
  if (s.gpu.type !== 'none' && s.gpu.devices.length > 0) {
    r.gpu_vram_total_gb = s.gpu.totalMb / 1024;
    r.gpu_vram_available_gb = s.gpu.freeMb / 1024;
    r.gpus = s.gpu.devices.slice(0, MAX_GPUS).map(toGpu);
  } else if (s.gpu.type === 'none' && s.gpu.error === undefined) {
    // The tools said there is no GPU (one may have been removed): the last GPU figures no longer hold.
    r.gpu_vram_total_gb = null;
    r.gpu_vram_available_gb = null;
    r.gpus = null;
    r.gpu_process_vram_gb = null;
  }
  if (s.process?.gpuMemoryBytes !== undefined) r.gpu_process_vram_gb = s.process.gpuMemoryBytes / GB;
  return r;
}

/** One GPU as a heartbeat carries it: the tool's MiB in GB, figures it did not give left out. */
function toGpu(d: CollectedGpu): GpuDevice {
  const g: GpuDevice = {
    index: d.index,
    name: d.name,
    vram_total_gb: d.memoryTotalMb / 1024,
    vram_used_gb: d.memoryUsedMb / 1024,
    vram_free_gb: d.memoryFreeMb / 1024,
  };
  if (d.uuid !== undefined) g.uuid = d.uuid;
  if (d.busId !== undefined) g.bus_id = d.busId;
  if (d.utilizationPercent !== undefined) g.utilization_percent = d.utilizationPercent;
  if (d.temperatureC !== undefined) g.temperature_c = d.temperatureC;
  if (d.powerW !== undefined) g.power_w = d.powerW;
  if (d.processMemoryMb !== undefined) g.process_vram_gb = d.processMemoryMb / 1024;
  return g;
}

/** The monitoring API's per-agent figures (docs/seed-requirements.md) of a heartbeat (the watched process tree's own usage). */
export function toProcessMetrics(s: Sample): AgentProcessMetrics {
  const p = s.process;
  if (!p) return {};
  const m: AgentProcessMetrics = { memory_mb: p.rssBytes / MB };
  if (p.cpuPercent !== undefined) m.cpu_percent = p.cpuPercent;
  if (p.readBps !== undefined) m.io_read_bps = p.readBps;
  if (p.writeBps !== undefined) m.io_write_bps = p.writeBps;
  return m;
}
