import { hostname } from 'node:os';
import { Collector, type Sample } from '@vigil/agent';
import type { Clock } from '../clock.js';
import type { Writer } from '../ingest/writer.js';
import type { SystemMetricsRow } from '../store/system-metrics.js';

export interface HostMetricsOptions {
  everyMs: number;
  /** Whose file system's usage is reported: the hub's data directory. */
  diskPath: string;
  onError: (err: unknown) => void;
  collector?: Collector;
}

/**
 * Samples the hub's own host (docs/seed-requirements.md, host metrics) and stores it in `system_metrics` through the single
 * writer, so these rows commit in order with everything else and never add a second writer.
 */
export class HostMetricsJob {
  private timer: NodeJS.Timeout | undefined;
  private readonly collector: Collector;
  private readonly host = hostname();

  constructor(
    private readonly writer: Writer,
    private readonly clock: Clock,
    private readonly options: HostMetricsOptions,
  ) {
    // The hub's own process stands for "process I/O": it is what the hub does to the disk.
    this.collector = options.collector ?? new Collector({ pid: process.pid, diskPaths: [options.diskPath], gpu: false });
  }

  start(): void {
    const tick = () => void this.sampleOnce().catch(this.options.onError);
    tick();
    this.timer = setInterval(tick, this.options.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.collector.close();
  }

  /** Takes one sample and commits it; the first has no CPU figure (a rate needs two samples). */
  async sampleOnce(): Promise<SystemMetricsRow> {
    const row = toSystemRow(this.host, this.clock.now(), await this.collector.sample());
    await this.writer.submitOne({ kind: 'system_metrics', row }, { background: true });
    return row;
  }
}

export function toSystemRow(host: string, receivedAt: number, s: Sample): SystemMetricsRow {
  const disk = s.disks[0];
  const { memoryUsedBytes: used, memoryLimitBytes: limit } = s.host;
  return {
    host,
    received_at: receivedAt,
    cpu_percent: s.host.cpuPercent ?? null,
    cpu_cores: s.host.cpuLimitCores,
    cpu_load_1min: s.host.load1,
    cpu_load_5min: s.host.load5,
    cpu_load_15min: s.host.load15,
    memory_used_bytes: used,
    memory_limit_bytes: limit,
    memory_percent: limit > 0 ? (100 * used) / limit : null,
    disk_used_bytes: disk?.usedBytes ?? null,
    disk_total_bytes: disk?.totalBytes ?? null,
    io_read_bps: s.process?.readBps ?? null,
    io_write_bps: s.process?.writeBps ?? null,
  };
}
