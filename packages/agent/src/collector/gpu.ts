import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GpuType } from '@vigil/protocol';
import { parseNvidiaApps, parseNvidiaGpus, parseRocmSmi } from './gpu-parse.js';
import { type RunningTool, type ToolLimits, type ToolResult, runTool } from './tool.js';
import type { GpuDevice, GpuSample } from './types.js';

export interface GpuProbeOptions extends ToolLimits {
  nvidiaSmiPath: string;
  rocmSmiPath: string;
  /** sysfs' DRM class directory, where an Intel GPU is recognised by its PCI vendor id. */
  drmDir: string;
  /** False when this process sees PIDs of a nested namespace, which nvidia-smi's host PIDs cannot match. */
  canMatchPids: boolean;
}

export interface GpuReading {
  gpu: GpuSample;
  /** VRAM held by the given PIDs; undefined when not known (each device then has no `processMemoryMb` either). */
  processBytes?: number;
}

const NVIDIA_GPU_ARGS = [
  '--query-gpu=index,uuid,pci.bus_id,name,memory.total,memory.used,memory.free,utilization.gpu,temperature.gpu,power.draw',
  '--format=csv,noheader,nounits',
] as const;
const NVIDIA_APPS_ARGS = ['--query-compute-apps=pid,gpu_uuid,used_memory', '--format=csv,noheader,nounits'] as const;
const ROCM_ARGS = [
  '--showmeminfo', 'vram', '--showuse', '--showtemp', '--showpower', '--showproductname', '--showbus', '--showuniqueid', '--json',
] as const; // prettier-ignore
const INTEL_VENDOR = '0x8086';
const MIB = 1024 * 1024;

/**
 * GPUs of the host, through the vendors' tools: nvidia-smi first, then rocm-smi, then an Intel
 * device in sysfs. A tool that is not installed is remembered and never spawned again; one that
 * fails, hangs or prints garbage yields no figures and an error, never an exception.
 */
export class GpuProbe {
  private nvidiaMissing = false;
  private rocmMissing = false;
  private intel: boolean | undefined;
  private errorCount = 0;
  private readonly running = new Set<RunningTool>();
  private inFlight: Promise<GpuReading> | undefined;

  constructor(private readonly options: GpuProbeOptions) {}

  /** Concurrent callers share one run of the tools. */
  sample(pids: readonly number[] | undefined): Promise<GpuReading> {
    this.inFlight ??= this.probe(pids).finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  /** Kills any tool still running. */
  close(): void {
    for (const t of this.running) t.cancel();
  }

  private async probe(pids: readonly number[] | undefined): Promise<GpuReading> {
    if (!this.nvidiaMissing) {
      const reading = await this.nvidia(pids);
      if (reading) return reading;
    }
    if (!this.rocmMissing) {
      const reading = await this.rocm();
      if (reading) return reading;
    }
    this.intel ??= this.findIntel();
    return { gpu: this.gpuOf(this.intel ? 'intel' : 'none', []) };
  }

  /** undefined when there is no NVIDIA GPU (no tool, or the tool finds no device). */
  private async nvidia(pids: readonly number[] | undefined): Promise<GpuReading | undefined> {
    const path = this.options.nvidiaSmiPath;
    const wantApps = pids !== undefined && pids.length > 0 && this.options.canMatchPids;
    const [gpus, apps] = await Promise.all([this.run(path, NVIDIA_GPU_ARGS), wantApps ? this.run(path, NVIDIA_APPS_ARGS) : undefined]);
    if (gpus.kind === 'missing') {
      this.nvidiaMissing = true;
      return undefined;
    }
    if (gpus.kind === 'failed') return { gpu: this.failed('nvidia', gpus.error) };
    const parsed = parseNvidiaGpus(gpus.stdout);
    // With no GPU, nvidia-smi says so on stdout and exits 6: output the parser recognises as no
    // device. Any other non-zero exit, or one with nothing on stdout, is a failure.
    const saysNoDevice = parsed.ok && parsed.value.length === 0 && gpus.stdout.trim() !== '';
    if (gpus.code !== 0 && !saysNoDevice) return { gpu: this.failed('nvidia', exitError(path, gpus)) };
    if (!parsed.ok) return { gpu: this.failed('nvidia', parsed.error) };
    if (parsed.value.length === 0) return undefined;
    const reading: GpuReading = { gpu: this.gpuOf('nvidia', parsed.value) };
    const byPid = apps?.kind === 'exited' && apps.code === 0 ? parseNvidiaApps(apps.stdout) : undefined;
    if (byPid?.ok) {
      const ours = new Set(pids);
      const byGpu = new Map<string, number>();
      let mb = 0;
      for (const app of byPid.value) {
        if (!ours.has(app.pid)) continue;
        mb += app.mb;
        if (app.gpuUuid !== undefined) byGpu.set(app.gpuUuid, (byGpu.get(app.gpuUuid) ?? 0) + app.mb);
      }
      reading.processBytes = mb * MIB;
      for (const d of reading.gpu.devices) if (d.uuid !== undefined) d.processMemoryMb = byGpu.get(d.uuid) ?? 0;
    }
    return reading;
  }

  private async rocm(): Promise<GpuReading | undefined> {
    const r = await this.run(this.options.rocmSmiPath, ROCM_ARGS);
    if (r.kind === 'missing') {
      this.rocmMissing = true;
      return undefined;
    }
    if (r.kind === 'failed') return { gpu: this.failed('amd', r.error) };
    if (r.code !== 0) return { gpu: this.failed('amd', exitError(this.options.rocmSmiPath, r)) };
    const parsed = parseRocmSmi(r.stdout);
    return { gpu: parsed.ok ? this.gpuOf('amd', parsed.value) : this.failed('amd', parsed.error) };
  }

  private async run(file: string, args: readonly string[]): Promise<ToolResult> {
    const tool = runTool(file, args, this.options);
    this.running.add(tool);
    try {
      return await tool.result;
    } finally {
      this.running.delete(tool);
    }
  }

  private findIntel(): boolean {
    let cards: string[];
    try {
      cards = readdirSync(this.options.drmDir).filter((c) => /^card[0-9]+$/.test(c));
    } catch {
      return false;
    }
    return cards.some((card) => {
      try {
        return readFileSync(join(this.options.drmDir, card, 'device', 'vendor'), 'latin1').trim() === INTEL_VENDOR;
      } catch {
        return false;
      }
    });
  }

  private gpuOf(type: GpuType, devices: GpuDevice[]): GpuSample {
    let totalMb = 0;
    let freeMb = 0;
    for (const d of devices) {
      totalMb += d.memoryTotalMb;
      freeMb += d.memoryFreeMb;
    }
    const gpu: GpuSample = { type, devices, totalMb, freeMb };
    if (this.errorCount > 0) gpu.errorCount = this.errorCount;
    return gpu;
  }

  private failed(type: GpuType, error: string): GpuSample {
    this.errorCount++;
    return { ...this.gpuOf(type, []), error };
  }
}

function exitError(file: string, r: { code: number; stderr: string; stdout: string }): string {
  // nvidia-smi writes some failures ("Failed to initialize NVML") to stdout.
  const first = (r.stderr.trim() || r.stdout.trim()).split('\n', 1)[0] ?? '';
  return `${file} exited with code ${r.code}${first ? `: ${first.slice(0, 200)}` : ''}`;
}
