import { performance } from 'node:perf_hooks';
import type { Clock } from '../clock.js';
import { PeriodicPasses, resizeStep, STEP_TARGET_MS } from './passes.js';
import type { Writer } from '../ingest/writer.js';
import type { Db } from '../store/db.js';
import { ensurePartitionsAhead, dropPartitionsBefore, PARTITIONED, PARTITION_LOCK_TIMEOUT_MS } from '../store/partitions.js';
import { cutoffFor, PURGE_TARGETS, rolledUpTo, type PurgeTarget, type Retention } from '../store/retention.js';
import { pendingHistoryPurges } from '../store/retire.js';

export interface RetentionOptions {
  everyMs: number;
  retention: Retention;
  onError: (err: unknown) => void;
  /** Told the rows each batch deleted (the hub's metrics). */
  onPurged?: (table: PurgeTarget, rows: number) => void;
  /** Most rows one batch deletes; each batch is its own writer command, so ingest interleaves. */
  batchRows?: number;
  /** How long one batch should take: the next is sized from the last (resizeStep: a slow disk, wide rows). */
  targetBatchMs?: number;
  /** Most free pages one incremental-vacuum step gives back (each step runs between transactions). */
  vacuumPages?: number;
  /** Free pages kept for new rows to reuse rather than given back and grown into again. */
  keepFreePages?: number;
  /** PostgreSQL: how long partition DDL waits for its lock before this pass gives it up (store/partitions.ts). */
  lockTimeoutMs?: number;
  /** Told the partitions a pass made and dropped (the hub's metrics). */
  onPartitions?: (created: number, dropped: number) => void;
}

export interface PurgeReport {
  /** Rows deleted per table. */
  deleted: Partial<Record<PurgeTarget, number>>;
  batches: number;
  /** The slowest batch's DELETE, in ms: how long one purge batch held the writer. */
  maxBatchMs: number;
  /**
   * The slowest step of the pass from submit to answer, in ms: a batch with its commit, one
   * incremental-vacuum step, the checkpoint or one partition's DETACH and DROP, including any wait
   * for the writer's turn (or the partition's lock).
   */
  maxStepMs: number;
  /** Pages given back to the file system (SQLite). */
  freedPages: number;
  /** Whether the WAL was checkpointed and truncated at the end of the pass. */
  walTruncated: boolean;
  /**
   * PostgreSQL's daily partitions (store/partitions.ts): made ahead by the hub's clock, dropped whole
   * once past retention (their rows count in `deleted`), and those whose DDL gave up waiting for its
   * lock, tried again next pass. Empty on SQLite.
   */
  partitions: { created: string[]; dropped: string[]; locked: string[] };
}

/** Most rows one purge batch deletes by default (`batchRows`); the first batch of a table and the fewest a slow one is cut to follow. */
export const PURGE_BATCH_ROWS = 5_000;
// About 5 ms of deleting on a plain disk (bench/RESULTS.md): a first batch near the target, then sized by time.
export const PURGE_START_ROWS = 1_000;
const MIN_PURGE_ROWS = 100;

/** The next purge batch's size (resizeStep within this job's bounds). */
export const resizePurge = (limit: number, batch: { ms: number; deleted: number }, targetMs: number, maxRows = PURGE_BATCH_ROWS): number =>
  resizeStep(limit, batch.ms, targetMs, MIN_PURGE_ROWS, maxRows, batch.deleted >= limit);

/**
 * Removes a deleted agent's history as the writer's background steps, each sized like a purge batch
 * (resizePurge), so ingest commits between them however long the history; ends when it is all gone
 * or when `stopped` says so between steps.
 */
export async function purgeHistoryInSteps(
  writer: Writer,
  agentId: string,
  options: {
    stopped?: () => boolean;
    targetMs?: number;
    maxRows?: number;
    /** Told after each step: its own time in the transaction, and from submit to answer. */
    onStep?: (stepMs: number, answeredMs: number) => void;
  } = {},
): Promise<{ deleted: number; steps: number }> {
  const { stopped = () => false, targetMs = STEP_TARGET_MS, maxRows = PURGE_BATCH_ROWS } = options;
  let limit = Math.min(PURGE_START_ROWS, maxRows);
  let deleted = 0;
  let steps = 0;
  while (!stopped()) {
    const submitted = performance.now();
    const r = await writer.submitOne({ kind: 'purge_agent_history', agentId, limit }, { background: true });
    options.onStep?.(r.ms, performance.now() - submitted);
    steps++;
    deleted += r.deleted;
    if (r.done) break;
    limit = resizePurge(limit, r, targetMs, maxRows);
  }
  return { deleted, steps };
}

export function retentionFromConfig(c: {
  retentionMetricsDays: number;
  retentionEventsDays: number;
  retentionErrorsDays: number;
  retentionTracesDays: number;
  retentionRollup1hDays: number;
}): Retention {
  return Object.freeze({
    metricsDays: c.retentionMetricsDays,
    eventsDays: c.retentionEventsDays,
    errorsDays: c.retentionErrorsDays,
    tracesDays: c.retentionTracesDays,
    rollup1hDays: c.retentionRollup1hDays,
  });
}

/**
 * Deletes what is past retention (by the hub's clock) in small batches through the single writer,
 * then gives space back: SQLite frees the excess free pages in steps and truncates its WAL, both
 * between transactions; PostgreSQL relies on autovacuum. Runs at start and every `everyMs`.
 */
export class RetentionJob extends PeriodicPasses<PurgeReport> {
  /** Rows per batch, per table, adapted to how long the last batch took. */
  private readonly limits = new Map<PurgeTarget, number>();

  constructor(
    private readonly writer: Writer,
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly options: RetentionOptions,
  ) {
    super(options);
  }

  protected async pass(): Promise<PurgeReport> {
    const now = this.clock.now();
    const maxRows = this.options.batchRows ?? PURGE_BATCH_ROWS;
    const targetMs = this.options.targetBatchMs ?? STEP_TARGET_MS;
    const report: PurgeReport = {
      deleted: {},
      batches: 0,
      maxBatchMs: 0,
      maxStepMs: 0,
      freedPages: 0,
      walTruncated: false,
      partitions: { created: [], dropped: [], locked: [] },
    };
    const timed = async <T>(step: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      try {
        return await step();
      } finally {
        report.maxStepMs = Math.max(report.maxStepMs, performance.now() - started);
      }
    };
    let total = 0;
    const postgres = this.db.dialect.name === 'postgres';
    const lockTimeoutMs = this.options.lockTimeoutMs ?? PARTITION_LOCK_TIMEOUT_MS;
    if (postgres) {
      // The job owner keeps today's partitions and the next days' made, so no day's first row waits for DDL.
      const made = await timed(() => ensurePartitionsAhead(this.db, now, lockTimeoutMs));
      report.partitions.created.push(...made.created);
      report.partitions.locked.push(...made.locked);
      this.options.onPartitions?.(made.created.length, 0);
    }
    for (const target of PURGE_TARGETS) {
      const cutoff = cutoffFor(target, this.options.retention, now);
      if (cutoff === undefined) continue;
      if (postgres && target in PARTITIONED) {
        // Whole days past retention (and, for raw metrics, rolled up) go as partitions; the batched
        // DELETE below then takes what is left before the cutoff: at most the day straddling it.
        const table = target as keyof typeof PARTITIONED;
        const before = Math.min(cutoff, await rolledUpTo(this.db, target));
        // Each partition is a step of its own (writers go on between them), timed by the call.
        const r = await dropPartitionsBefore(this.db, table, before, lockTimeoutMs);
        report.maxStepMs = Math.max(report.maxStepMs, r.slowestMs);
        report.partitions.dropped.push(...r.dropped);
        report.partitions.locked.push(...r.locked);
        this.options.onPartitions?.(0, r.dropped.length);
        report.deleted[target] = (report.deleted[target] ?? 0) + r.rows;
        this.options.onPurged?.(target, r.rows);
        total += r.rows;
      }
      for (;;) {
        if (this.stopped) return report;
        const limit = this.limits.get(target) ?? Math.min(PURGE_START_ROWS, maxRows);
        const r = await timed(() => this.writer.submitOne({ kind: 'purge', target, cutoff, limit }, { background: true }));
        report.batches++;
        report.maxBatchMs = Math.max(report.maxBatchMs, r.ms);
        report.deleted[target] = (report.deleted[target] ?? 0) + r.deleted;
        this.options.onPurged?.(target, r.deleted);
        total += r.deleted;
        this.limits.set(target, resizePurge(limit, r, targetMs, maxRows));
        if (r.deleted < limit) break;
      }
    }
    // Deleted agents whose history removal was cut short (the hub stopped mid-way) are finished here.
    for (const agentId of await pendingHistoryPurges(this.db)) {
      const r = await purgeHistoryInSteps(this.writer, agentId, {
        stopped: () => this.stopped,
        targetMs,
        maxRows,
        onStep: (stepMs, answeredMs) => {
          report.maxBatchMs = Math.max(report.maxBatchMs, stepMs);
          report.maxStepMs = Math.max(report.maxStepMs, answeredMs);
        },
      });
      report.batches += r.steps;
      total += r.deleted;
      if (this.stopped) return report;
    }
    if (total > 0) {
      const step = this.options.vacuumPages ?? 2_048;
      const keep = this.options.keepFreePages ?? 4_096;
      for (;;) {
        if (this.stopped) return report;
        const { freed, remaining } = await timed(() => this.db.reclaimFreePages(step, keep));
        report.freedPages += freed;
        if (freed === 0 || remaining <= keep) break;
      }
    }
    if (!this.stopped) report.walTruncated = await timed(() => this.db.truncateWal());
    return report;
  }
}
