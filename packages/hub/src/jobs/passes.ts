/**
 * How long one maintenance step (a rollup, seal or purge step) should hold the single writer. A
 * client write that arrives during a step waits for it to end, so this bounds what the jobs add to
 * ingest latency; each job sizes its next step from how long the last one took. 5 ms is about one
 * group commit of single heartbeats; against 25 ms, ingest p99 while a backlog is rolled up and
 * purged went from about 1.5x to 1.2x the same store's p99 without steps (bench/RESULTS.md), and a
 * backlog costs more steps rather than more time.
 */
export const STEP_TARGET_MS = 5;

/**
 * The next step's size (rows it may read or delete), within [min, max] (`max` wins when it is the
 * smaller). A step slower than `targetMs` cuts the next to the size that would have fit, at once,
 * rather than halving over several slow steps; one under a quarter of it doubles the next, but only
 * when it stopped at its size (`full`): a step that ran out of work says nothing about a larger one,
 * and growing on it would make the first step of a backlog many times too long.
 */
export function resizeStep(size: number, ms: number, targetMs: number, min: number, max: number, full: boolean): number {
  let next = size;
  if (ms > targetMs) next = Math.floor((size * targetMs) / ms);
  else if (full && ms < targetMs / 4) next = size * 2;
  return Math.min(max, Math.max(Math.min(min, max), next));
}

/**
 * A job made of passes: one at start, then one every `everyMs`, never two at once (`runOnce` queues
 * behind a pass in progress). `stop` ends the timer and waits for the pass in progress, which checks
 * `stopped` between its steps so it ends soon.
 */
export abstract class PeriodicPasses<R> {
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  protected stopped = false;

  constructor(private readonly schedule: { everyMs: number; onError: (err: unknown) => void }) {}

  protected abstract pass(): Promise<R>;

  /** Starts (or, after `stop`, starts again: the job may move between hubs and back). */
  start(): void {
    this.stopped = false;
    const tick = () => void this.runOnce().catch((err: unknown) => this.stopped || this.schedule.onError(err));
    tick();
    this.timer = setInterval(tick, this.schedule.everyMs);
    this.timer.unref();
  }

  /** Stops the timer; resolves once a pass in progress has ended. */
  stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    return this.chain.then(
      () => undefined,
      () => undefined,
    );
  }

  /** Runs one full pass now (after any pass in progress) and reports what it did. */
  runOnce(): Promise<R> {
    const run = this.chain.then(
      () => this.pass(),
      () => this.pass(),
    );
    this.chain = run.catch(() => undefined);
    return run;
  }
}
