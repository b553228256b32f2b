import type { Clock } from '../clock.js';
import { PeriodicPasses, resizeStep, STEP_TARGET_MS } from './passes.js';
import type { Writer } from '../ingest/writer.js';
import { cutoffFor, type Retention } from '../store/retention.js';
import { floorTo, HOUR_MS, type SeriesName } from '../store/rollups.js';
import { SEAL_AFTER_MS } from '../store/sealing.js';

export interface RollupOptions {
  everyMs: number;
  retention: Retention;
  onError: (err: unknown) => void;
  /** Told the hour rows each step wrote (the hub's metrics). */
  onRolled?: (series: SeriesName, rows: number) => void;
  /**
   * How long after a minute ends before it is rolled. Rows are stamped when their request arrives
   * and committed a moment later; another hub sharing PostgreSQL may commit a few seconds later.
   */
  settleMs?: number;
  /** Most raw rows one step reads at first; each step is one writer command, so ingest interleaves. */
  budget?: number;
  /** How long one step should take: the next budget is sized from the last step (resizeStep: a slow disk, a big fleet). */
  targetStepMs?: number;
  /** How long samples stay rows before their hour is sealed into a block (store/sealing.ts); 0 never seals. */
  sealAfterMs?: number;
}

export interface RollupReport {
  steps: number;
  /** Hour buckets recomputed because rows arrived late into them. */
  late: number;
  /** Where each series is rolled to (minutes before it are done). */
  marks: Record<SeriesName, number>;
  /** Samples sealed into blocks by this pass. */
  sealed: number;
}

const SERIES: SeriesName[] = ['agent', 'host'];
const MIN_BUDGET = 250;
const MAX_BUDGET = 10_000;
// About 5 ms of folding at a few microseconds a row: a first step near the target, then sized by time.
export const START_BUDGET = 1_000;
// Sealing reads one agent's rows, which sit one to a page among the fleet's: far fewer rows per
// millisecond than a set-based rollup, so it has a budget of its own, sized the same way.
const MIN_SEAL_BUDGET = 200;
const MAX_SEAL_BUDGET = 20_000;

/** The next rollup step's budget of raw rows (resizeStep within this job's bounds). */
export const resizeBudget = (budget: number, step: { ms: number; full: boolean }, target: number): number =>
  resizeStep(budget, step.ms, target, MIN_BUDGET, MAX_BUDGET, step.full);

/**
 * Writes the per-hour rollups (folded straight from raw rows, minute by minute) through the single writer, in bounded steps, every
 * `everyMs` and once at start. Passes never overlap: `runOnce` queues behind a running one.
 */
export class RollupJob extends PeriodicPasses<RollupReport> {
  private budget: number;
  private sealBudget = MIN_SEAL_BUDGET * 5;

  constructor(
    private readonly writer: Writer,
    private readonly clock: Clock,
    private readonly options: RollupOptions,
  ) {
    super(options);
    this.budget = options.budget ?? START_BUDGET;
  }

  protected async pass(): Promise<RollupReport> {
    const now = this.clock.now();
    const settle = this.options.settleMs ?? 5_000;
    const target = this.options.targetStepMs ?? STEP_TARGET_MS;
    // A late row is recomputed only while all of its hour's raw rows are still kept; the two hours
    // of margin keep it clear of a purge cutting through that hour.
    const floors = [cutoffFor('agent_metrics', this.options.retention, now)];
    // Nor once its hour may be sealed into a block: the recomputation reads rows.
    const sealAfter = this.options.sealAfterMs ?? SEAL_AFTER_MS;
    if (sealAfter > 0) floors.push(now - sealAfter - 2 * HOUR_MS);
    const lateFloor = Math.max(0, ...floors.map((c) => (c === undefined ? 0 : floorTo(c, HOUR_MS) + 2 * HOUR_MS)));
    const report: RollupReport = { steps: 0, late: 0, marks: { agent: 0, host: 0 }, sealed: 0 };
    for (const series of SERIES) {
      for (;;) {
        if (this.stopped) return report;
        const step = { series, until: now - settle, budget: this.budget, lateFloor, now };
        const r = await this.writer.submitOne({ kind: 'rollup', step }, { background: true });
        this.budget = resizeBudget(this.budget, r, target);
        report.steps++;
        report.late += r.late;
        this.options.onRolled?.(series, r.rolled + r.late);
        report.marks[series] = r.minuteMark;
        if (r.done) break;
      }
    }
    if (sealAfter <= 0) return report;
    // Whole hours that are rolled up and past the recent window become one block per agent.
    const horizon = floorTo(Math.min(now - sealAfter, report.marks.agent), HOUR_MS);
    for (;;) {
      if (this.stopped) return report;
      const r = await this.writer.submitOne({ kind: 'seal', step: { horizon, budget: this.sealBudget } }, { background: true });
      this.sealBudget = resizeStep(this.sealBudget, r.ms, target, MIN_SEAL_BUDGET, MAX_SEAL_BUDGET, !r.done);
      report.steps++;
      report.sealed += r.sealed;
      if (r.done) break;
    }
    return report;
  }
}
