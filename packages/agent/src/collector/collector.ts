import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Cgroup, openCgroup } from './cgroup.js';
import { locateCgroup } from './cgroup-parse.js';
import { sampleDisks } from './disks.js';
import { KernelFiles } from './files.js';
import { GpuProbe } from './gpu.js';
import { LinuxHost } from './host.js';
import { OsHost, OsSelfProcess } from './os-fallback.js';
import { ProcessTree } from './proc.js';
import { parseAuxvPageSize, parseInNestedPidNamespace, parsePid } from './proc-parse.js';
import type { HostSample, ProcessSample, Sample } from './types.js';

export interface CollectorOptions {
  /** The process to watch; default: none (host figures only). Must match `^[1-9][0-9]{0,9}$`. */
  pid?: number;
  /** Sum the watched process with all its descendants. */
  tree?: boolean;
  /** Paths whose file systems' usage is reported. */
  diskPaths?: string[];
  /** Query nvidia-smi / rocm-smi; default true. */
  gpu?: boolean;
  /** Epoch ms, for `Sample.at` and for rates; default: `Date.now` for `at` and a monotonic clock for rates. */
  now?: () => number;
  /** Where /proc, /sys and the cgroup mount points named by mountinfo are found; default `/`. Tests point it at a fake tree. */
  rootDir?: string;
  /** Default `process.platform`: anything but `linux` gets the `os`-only figures. */
  platform?: NodeJS.Platform;
  /** Default `nvidia-smi`, looked up on PATH. */
  nvidiaSmiPath?: string;
  /** Default `rocm-smi`, looked up on PATH. */
  rocmSmiPath?: string;
  /** How long a GPU tool may run before it is killed; default 5000 ms (docs/reliability.md I2). */
  gpuTimeoutMs?: number;
  /** How much a GPU tool may print before it is killed; default 1 MiB, a hundred times what 16 GPUs print. */
  gpuMaxOutputBytes?: number;
}

interface HostSampler {
  sample(t: number): HostSample;
  close(): void;
}

interface ProcessSampler {
  sample(t: number): ProcessSample | undefined;
  close(): void;
}

const DEFAULT_PAGE_SIZE = 4096;

/**
 * Samples the host (through its cgroup's limits), a process or process tree, disks and GPUs.
 * Everything but the GPU tools is read synchronously from kernel files kept open between
 * samples; the GPU tools run asynchronously, bounded in time and output.
 *
 * @example
 * const collector = new Collector({ pid: process.pid, diskPaths: ['/'] });
 * const first = await collector.sample(); // no CPU percent yet: a rate needs two samples
 * const second = await collector.sample();
 * collector.close();
 */
export class Collector {
  private readonly at: () => number;
  private readonly mono: () => number;
  private readonly host: HostSampler;
  private readonly process: ProcessSampler | undefined;
  private readonly gpu: GpuProbe | undefined;
  private readonly diskPaths: readonly string[];

  constructor(options: CollectorOptions = {}) {
    const pid = options.pid === undefined ? undefined : parsePid(options.pid);
    if (options.pid !== undefined && pid === undefined) throw new RangeError(`not a PID: ${String(options.pid)}`);
    this.at = options.now ?? Date.now;
    // The wall clock can jump; rates come from a monotonic one unless a test drives time.
    this.mono = options.now ?? (() => performance.now());
    this.diskPaths = [...(options.diskPaths ?? [])];
    const rootDir = options.rootDir ?? '/';
    const procRoot = join(rootDir, 'proc');

    let canMatchPids = true;
    if ((options.platform ?? process.platform) === 'linux') {
      const files = new KernelFiles();
      this.host = new LinuxHost(files, procRoot, findCgroup(files, rootDir, procRoot));
      this.process = pid === undefined ? undefined : new ProcessTree(files, procRoot, pid, options.tree ?? false, pageSize(procRoot));
      canMatchPids = !parseInNestedPidNamespace(readText(join(procRoot, 'self', 'status')) ?? '');
    } else {
      const host = new OsHost();
      this.host = { sample: () => host.sample(), close: () => undefined };
      const self = new OsSelfProcess();
      this.process = pid === process.pid ? { sample: (t) => self.sample(t), close: () => undefined } : undefined;
    }
    if (options.gpu ?? true) {
      this.gpu = new GpuProbe({
        nvidiaSmiPath: options.nvidiaSmiPath ?? 'nvidia-smi',
        rocmSmiPath: options.rocmSmiPath ?? 'rocm-smi',
        drmDir: join(rootDir, 'sys', 'class', 'drm'),
        timeoutMs: options.gpuTimeoutMs ?? 5000,
        maxBytes: options.gpuMaxOutputBytes ?? 1024 * 1024,
        canMatchPids,
      });
    }
  }

  async sample(): Promise<Sample> {
    const at = this.at();
    const t = this.mono();
    const host = this.host.sample(t);
    const proc = this.process?.sample(t);
    const disks = sampleDisks(this.diskPaths);
    const s: Sample = { at, host, disks, gpu: { type: 'none', devices: [], totalMb: 0, freeMb: 0 } };
    if (proc) s.process = proc;
    if (this.gpu) {
      const reading = await this.gpu.sample(proc?.pids);
      s.gpu = reading.gpu;
      if (proc && reading.processBytes !== undefined) proc.gpuMemoryBytes = reading.processBytes;
    }
    return s;
  }

  /** Closes the kept file descriptors and kills a GPU tool still running. */
  close(): void {
    this.host.close();
    this.process?.close();
    this.gpu?.close();
  }
}

function findCgroup(files: KernelFiles, rootDir: string, procRoot: string): Cgroup | undefined {
  const procCgroup = readText(join(procRoot, 'self', 'cgroup'));
  const mountinfo = readText(join(procRoot, 'self', 'mountinfo'));
  if (procCgroup === undefined || mountinfo === undefined) return undefined;
  return openCgroup(files, rootDir, locateCgroup(procCgroup, mountinfo));
}

function pageSize(procRoot: string): number {
  let auxv: Buffer;
  try {
    auxv = readFileSync(join(procRoot, 'self', 'auxv'));
  } catch {
    return DEFAULT_PAGE_SIZE;
  }
  const wordBytes = process.arch.endsWith('64') ? 8 : 4;
  return parseAuxvPageSize(auxv, wordBytes, endianness() === 'LE') ?? DEFAULT_PAGE_SIZE;
}

/** Read once at start; UTF-8 because cgroup paths and mount points may hold any name. */
function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
