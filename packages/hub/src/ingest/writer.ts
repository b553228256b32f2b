import { performance } from 'node:perf_hooks';
import type { Db, SqlExecutor } from '../store/db.js';
import { VigilError } from '../errors.js';
import applyJobs, { type JobsInput, type JobsResult } from './apply-jobs.js';
import { committed, type Command, type CommandResult, type Committed, type ResultMap } from './commands.js';

/** Where SQLite's writer thread finds the batch's code (see Db.transactionIn). */
const APPLY_JOBS = new URL('./apply-jobs.js', import.meta.url).href;

export interface WriterOptions {
  /** Most commands waiting at once; beyond it `submit` refuses with 429. */
  capacity: number;
  /** Most commands in one transaction. */
  batchMaxItems: number;
  /** Longest a command waits for others to share its commit. */
  batchMaxDelayMs: number;
  /** Batches handed to SQLite's writer thread at once (default 2); PostgreSQL always takes one. */
  maxInFlight?: number;
  /**
   * Longest a client's job may wait for its commit before it is answered 503 (shorter than the
   * clients' own request timeouts, so they hear an answer rather than time out). A job whose
   * deadline passes before its transaction applies it is dropped; one that passes during its
   * commit may still be stored. Background jobs have no deadline. Absent: no deadline.
   */
  deadlineMs?: number;
  /** Told what each commit stored, after COMMIT and never before (the live bus listens here). */
  onCommitted?: (committed: readonly Committed[]) => void;
  /**
   * Runs last inside each batch's transaction with what it applied (several hubs: the batch's one
   * NOTIFY to the other hubs, delivered at COMMIT and never for a batch that rolled back).
   */
  inTransaction?: (tx: SqlExecutor, committed: readonly Committed[]) => Promise<void>;
  /** Told each batch's size and how long its transaction took, or that it failed (the hub's metrics). */
  onBatch?: (commands: number, seconds: number, ok: boolean) => void;
}

export interface WriterLog {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

interface Job {
  commands: Command[];
  /** Commands this job counts toward the queue's capacity (0 for the hub's own background work). */
  counted: number;
  /** Answered already (committed, refused, or past its deadline); a later outcome is dropped. */
  settled: boolean;
  /** A maintenance step (YIELDING_KINDS) that lets client jobs queued behind it go first, once (takeBatch). */
  yields: boolean;
  /** Its slot in the running batch's shared flags, which tell the writer thread to leave it out. */
  flag: { flags: Int32Array; index: number } | undefined;
  deadline: NodeJS.Timeout | undefined;
  resolve(results: CommandResult[]): void;
  reject(err: unknown): void;
}

/**
 * The hub's maintenance steps: they read and delete by time, so committing one after client writes
 * that arrived behind it changes nothing they do, and they may let those writes go first (takeBatch).
 */
const YIELDING_KINDS: ReadonlySet<Command['kind']> = new Set(['rollup', 'seal', 'purge']);

/** Seconds a client should wait before retrying when the queue is full or the store is down. */
export const RETRY_AFTER_FULL_S = 1;
const RETRY_AFTER_UNAVAILABLE_S = 2;

export interface StoreHealth {
  ok: boolean;
  /** Why the last commit failed, when it did (a code, never SQL or a path). */
  error?: string;
  since?: number;
}

/**
 * The single writer: a bounded queue of jobs (one per request) committed in batches, one
 * transaction per batch (group commit). `submit` resolves only after the transaction holding the
 * job has committed, so the API acknowledges nothing that is not stored.
 */
export class Writer {
  private pending: Job[] = [];
  /** Client commands waiting (what the capacity bounds). */
  private depth = 0;
  /** All commands waiting, background ones included (what fills a batch). */
  private items = 0;
  /** Batches handed to the database and not yet answered. */
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private accepting = true;
  private idleWaiters: (() => void)[] = [];
  health: StoreHealth = { ok: true };

  /**
   * Batches handed to the database at once. SQLite's writer thread takes a batch as one message and
   * runs its messages in order, so a second batch can wait in its queue while the first commits: the
   * thread goes from one commit to the next without waiting for this thread to answer the first and
   * hand over the second. PostgreSQL's batches run here on pooled connections, concurrently if two
   * were started: one at a time there.
   */
  readonly maxInFlight: number;

  constructor(
    private readonly db: Db,
    private readonly options: WriterOptions,
    private readonly log: WriterLog,
    private readonly now: () => number = Date.now,
  ) {
    this.maxInFlight = db.transactionIn ? (options.maxInFlight ?? 2) : 1;
  }

  /** Client commands waiting for a commit (the queue depth reported on /healthz). */
  get queueDepth(): number {
    return this.depth;
  }

  get capacity(): number {
    return this.options.capacity;
  }

  /**
   * Queues `commands` as one job. `background` marks the hub's own jobs (purges, rollups, host
   * samples, liveness, alert changes): each runs one at a time, so they are bounded already and
   * neither count toward nor are refused by the ingest capacity, which is the clients' to fill.
   */
  submit(commands: Command[], options: { background?: boolean } = {}): Promise<CommandResult[]> {
    if (!this.accepting) return Promise.reject(new VigilError('VIGIL_SHUTTING_DOWN', undefined, RETRY_AFTER_UNAVAILABLE_S));
    const counted = options.background ? 0 : commands.length;
    // An empty queue takes any one request, so a capacity set below the largest batch cannot refuse that batch forever.
    if (counted > 0 && this.depth > 0 && this.depth + counted > this.options.capacity) {
      return Promise.reject(new VigilError('VIGIL_INGEST_QUEUE_FULL', undefined, RETRY_AFTER_FULL_S));
    }
    return new Promise((resolve, reject) => {
      const job: Job = {
        commands,
        counted,
        settled: false,
        yields: counted === 0 && commands.length > 0 && commands.every((cmd) => YIELDING_KINDS.has(cmd.kind)),
        flag: undefined,
        deadline: undefined,
        resolve: (results) => this.settle(job) && resolve(results),
        reject: (err) => this.settle(job) && reject(err),
      };
      const deadlineMs = this.options.deadlineMs;
      if (!options.background && deadlineMs !== undefined) job.deadline = setTimeout(() => this.expire(job), deadlineMs);
      this.pending.push(job);
      this.depth += counted;
      this.items += commands.length;
      this.schedule();
    });
  }

  /** True when the queue cannot take another client command (the API refuses before reading the body). */
  get full(): boolean {
    return this.depth >= this.options.capacity;
  }

  private settle(job: Job): boolean {
    if (job.settled) return false;
    job.settled = true;
    if (job.flag) Atomics.store(job.flag.flags, job.flag.index, 1);
    clearTimeout(job.deadline);
    return true;
  }

  /** The job's deadline passed: answer 503 now; if it still waits in the queue, it leaves it unstored. */
  private expire(job: Job): void {
    const at = this.pending.indexOf(job);
    if (at >= 0) {
      this.pending.splice(at, 1);
      this.depth -= job.counted;
      this.items -= job.commands.length;
    }
    this.markUnavailable({ code: 'WRITE_DEADLINE' });
    job.reject(
      new VigilError(
        'VIGIL_STORE_UNAVAILABLE',
        'The database did not commit in time; retry after the given delay',
        RETRY_AFTER_UNAVAILABLE_S,
      ),
    );
    if (at >= 0) this.notifyIdle();
  }

  /** Submits one command and resolves with its own result type once it has committed. */
  async submitOne<C extends Command>(command: C, options: { background?: boolean } = {}): Promise<ResultMap[C['kind']]> {
    const [result] = await this.submit([command], options);
    return result as ResultMap[C['kind']];
  }

  private schedule(): void {
    if (this.inFlight >= this.maxInFlight) return; // a batch that ends reschedules
    if (this.items >= this.options.batchMaxItems || !this.accepting) {
      clearTimeout(this.timer);
      this.timer = undefined;
      setImmediate(() => void this.flush());
    } else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.options.batchMaxDelayMs);
    }
  }

  /**
   * The next batch, in order of arrival, except that a maintenance step (a rollup, seal or purge
   * step) that would share a transaction with client jobs queued behind it lets them go first, once:
   * it would otherwise hold their acknowledgement for as long as its own work takes. Passed over once,
   * it goes in the next batch whatever waits, so steady ingest cannot starve it. Other background
   * jobs (alert changes, liveness) keep their place: what they write must commit in the order it was
   * decided, before a later client write (a delete) changes what it applies to.
   */
  private takeBatch(): Job[] {
    const batch: Job[] = [];
    const left: Job[] = [];
    let items = 0;
    let full = false;
    const clientsWaiting = this.depth > 0;
    for (const job of this.pending) {
      if (!full && job.yields && clientsWaiting) {
        job.yields = false;
        left.push(job);
        continue;
      }
      if (full || (batch.length > 0 && items + job.commands.length > this.options.batchMaxItems)) {
        full = true;
        left.push(job);
        continue;
      }
      batch.push(job);
      items += job.commands.length;
      this.depth -= job.counted;
    }
    this.pending = left;
    this.items -= items;
    return batch;
  }

  private async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.inFlight >= this.maxInFlight || this.pending.length === 0) return this.notifyIdle();
    this.inFlight++;
    const batch = this.takeBatch();
    try {
      await this.commit(batch);
    } finally {
      this.inFlight--;
    }
    // Whatever arrived during the commit has waited long enough: commit it right away.
    if (this.pending.length > 0) setImmediate(() => void this.flush());
    else this.notifyIdle();
  }

  private async commit(batch: Job[]): Promise<void> {
    const started = performance.now();
    try {
      const results = await this.transaction(batch);
      this.observe(
        batch.reduce((n, job) => n + job.commands.length, 0),
        started,
        true,
      );
      const applied = batch.filter((_job, i) => results[i] !== undefined);
      batch.forEach((job, i) => {
        const jobResults = results[i];
        if (jobResults) job.resolve(jobResults);
      });
      this.announce(
        applied,
        results.filter((r) => r !== undefined),
      );
      if (!this.health.ok) {
        this.log.warn({ down_ms: this.now() - (this.health.since ?? this.now()) }, 'store commits again');
        this.health = { ok: true };
      }
    } catch (err) {
      this.observe(0, started, false);
      if (this.db.isUnavailable(err)) {
        this.markUnavailable(err);
        const refusal = new VigilError('VIGIL_STORE_UNAVAILABLE', undefined, RETRY_AFTER_UNAVAILABLE_S);
        for (const job of batch) job.reject(refusal);
      } else if (batch.length > 1) {
        // An unexpected failure of one job must not fail the others: commit each on its own.
        for (const job of batch) await this.commit([job]);
      } else {
        this.log.error({ err }, 'write failed');
        batch[0]?.reject(err);
      }
    }
  }

  /**
   * Each job's results, or undefined for a job left out because it passed its deadline first. On
   * SQLite the batch runs on the writer thread; a job answered meanwhile is flagged in shared memory.
   * Several hubs on one PostgreSQL database write the same agent rows, so a batch applies its
   * commands in a stable order of agent id (apply-jobs.ts): two batches then lock shared rows in the
   * same order and do not deadlock. A deadlock or serialization failure that happens anyway
   * (PostgreSQL's 40P01, 40001) is retried once before the batch is refused.
   */
  private async transaction(batch: Job[]): Promise<(CommandResult[] | undefined)[]> {
    try {
      return await this.transactionOnce(batch);
    } catch (err) {
      if (!isRetryableConflict(err)) throw err;
      this.log.warn({ code: (err as { code: string }).code }, 'batch met a concurrent writer; retrying once');
      return this.transactionOnce(batch);
    }
  }

  private async transactionOnce(batch: Job[]): Promise<(CommandResult[] | undefined)[]> {
    const input: JobsInput = {
      jobs: batch.map((job) => job.commands),
      settled: new Int32Array(new SharedArrayBuffer(4 * batch.length)),
    };
    batch.forEach((job, index) => {
      job.flag = { flags: input.settled, index };
      if (job.settled) Atomics.store(input.settled, index, 1);
    });
    try {
      // The in-transaction hook is PostgreSQL's (several hubs); SQLite's writer thread runs no hub code.
      const hook = this.options.inTransaction;
      const results: JobsResult = this.db.transactionIn
        ? await this.db.transactionIn<JobsResult>(APPLY_JOBS, input)
        : await this.db.transaction(async (tx) => {
            const applied = await applyJobs(tx, this.db.dialect, input);
            if (hook) await hook(tx, committedOf(batch, applied));
            return applied;
          });
      return results.map((r) => r ?? undefined);
    } finally {
      for (const job of batch) job.flag = undefined;
    }
  }

  /** Tells the metrics hook; a hook that throws must not turn a committed batch into a refused one. */
  private observe(commands: number, started: number, ok: boolean): void {
    try {
      this.options.onBatch?.(commands, (performance.now() - started) / 1000, ok);
    } catch (err) {
      this.log.error({ err }, 'the batch metrics hook failed');
    }
  }

  private announce(batch: Job[], results: CommandResult[][]): void {
    const listener = this.options.onCommitted;
    if (!listener) return;
    try {
      const outcomes = results.flat();
      listener(batch.flatMap((job) => job.commands).map((cmd, i) => committed(cmd, outcomes[i] as CommandResult)));
    } catch (err) {
      this.log.error({ err }, 'a commit listener failed');
    }
  }

  private markUnavailable(err: unknown): void {
    const code = String((err as { code?: unknown })?.code ?? (err as Error)?.name ?? 'unknown');
    if (this.health.ok || this.health.error !== code) {
      this.log.warn({ code }, 'store cannot commit; answering 503 until it recovers');
      this.health = { ok: false, error: code, since: this.now() };
    }
  }

  private notifyIdle(): void {
    if (this.pending.length > 0 || this.inFlight > 0) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Stops accepting, commits everything already queued, and resolves when the queue is empty. */
  async drain(): Promise<void> {
    this.accepting = false;
    if (this.pending.length === 0 && this.inFlight === 0) return;
    const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.schedule();
    await idle;
  }
}

/** PostgreSQL's deadlock_detected and serialization_failure: the same batch may well pass a second time. */
function isRetryableConflict(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === '40P01' || code === '40001';
}

/** What a batch applied, paired with its results (the jobs left out contribute nothing). */
function committedOf(batch: readonly Job[], results: JobsResult): Committed[] {
  return batch.flatMap((job, j) => {
    const r = results[j];
    return r ? job.commands.map((cmd, i) => committed(cmd, r[i] as CommandResult)) : [];
  });
}
