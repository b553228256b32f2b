import type { Clock } from '../clock.js';
import type { Writer } from '../ingest/writer.js';

export interface LivenessOptions {
  /** How many heartbeat intervals an agent may miss before it is marked offline. */
  missed: number;
  /** How often to sweep. */
  everyMs: number;
  /** When this hub process started: agents get one interval of grace after it (a restart is not their fault). */
  bootedAt: number;
  onError: (err: unknown) => void;
}

/**
 * Marks agents offline by the hub's own clock. The sweep is one set-based UPDATE through the
 * single writer, so it orders with heartbeats instead of racing them.
 */
export class LivenessJob {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly writer: Writer,
    private readonly clock: Clock,
    private readonly options: LivenessOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sweep().catch(this.options.onError), this.options.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Runs one sweep now; returns the agents it took offline. */
  async sweep(): Promise<string[]> {
    const result = await this.writer.submitOne(
      { kind: 'mark_stale', now: this.clock.now(), bootedAt: this.options.bootedAt, missed: this.options.missed },
      { background: true },
    );
    return result.offline;
  }
}
