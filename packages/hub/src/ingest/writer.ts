import { performance } from 'node:perf_hooks';
import type { Db, SqlExecutor } from '../store/db.js';
import { VigilError } from '../errors.js';
import { applyCommand, committed, type Command, type CommandResult, type Committed, type ResultMap } from './commands.js';

export interface WriterOptions {
  /** Most commands waiting at once; beyond it `submit` refuses with 429. */
  capacity: number;
  /** Most commands in one transaction. */
  batchMaxItems: number;
  /** Longest a command waits for others to share its commit. */
  batchMaxDelayMs: number;
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
  deadline: NodeJS.Timeout | undefined;
  resolve(results: CommandResult[]): void;
  reject(err: unknown): void;
}

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
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private accepting = true;
  private idleWaiters: (() => void)[] = [];
  health: StoreHealth = { ok: true };

  constructor(
    private readonly db: Db,
    private readonly options: WriterOptions,
    private readonly log: WriterLog,
    private readonly now: () => number = Date.now,
  ) {}

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
    if (this.running) return; // the running batch reschedules when it ends
    if (this.items >= this.options.batchMaxItems || !this.accepting) {
      clearTimeout(this.timer);
      this.timer = undefined;
      setImmediate(() => void this.flush());
    } else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.options.batchMaxDelayMs);
    }
  }

  private takeBatch(): Job[] {
    const batch: Job[] = [];
    let items = 0;
    while (this.pending.length > 0) {
      const next = this.pending[0] as Job;
      if (batch.length > 0 && items + next.commands.length > this.options.batchMaxItems) break;
      batch.push(this.pending.shift() as Job);
      items += next.commands.length;
      this.depth -= next.counted;
    }
    this.items -= items;
    return batch;
  }

  private async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running || this.pending.length === 0) return this.notifyIdle();
    this.running = true;
    const batch = this.takeBatch();
    try {
      await this.commit(batch);
    } finally {
      this.running = false;
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
   * Each job's results, or undefined for a job left out because it passed its deadline first.
   * Several hubs on one PostgreSQL database write the same agent rows, so a batch applies its
   * commands in a stable order of agent id (each job's results still come back in its order): two
   * batches then lock shared rows in the same order and do not deadlock. A deadlock or serialization
   * failure that happens anyway (PostgreSQL's 40P01, 40001) is retried once before the batch is refused.
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

  private transactionOnce(batch: Job[]): Promise<(CommandResult[] | undefined)[]> {
    return this.db.transaction(async (tx) => {
      const order: { job: number; cmd: number; agent: string }[] = [];
      batch.forEach((job, j) => job.commands.forEach((cmd, c) => order.push({ job: j, cmd: c, agent: agentOf(cmd) })));
      // Array.prototype.sort is stable: one agent's commands keep their order.
      order.sort((a, b) => (a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : 0));
      const results: (CommandResult[] | undefined)[] = batch.map(() => undefined);
      for (const o of order) {
        const job = batch[o.job] as Job;
        let jobResults = results[o.job];
        if (!jobResults) {
          // A job that passed its deadline before the transaction reached it was answered 503: leave it
          // out, so that for it 503 means "not stored". One already begun is applied whole.
          if (job.settled) continue;
          results[o.job] = jobResults = new Array<CommandResult>(job.commands.length);
        }
        jobResults[o.cmd] = await applyCommand(tx, this.db.dialect, job.commands[o.cmd] as Command);
      }
      // A job of no commands has nothing to apply, and is answered like the others.
      batch.forEach((job, j) => {
        if (job.commands.length === 0 && !job.settled) results[j] = [];
      });
      const hook = this.options.inTransaction;
      if (hook) {
        const applied = batch.flatMap((job, j) => (results[j] ? job.commands : []));
        const outcomes = results.flatMap((r) => r ?? []);
        await hook(
          tx,
          applied.map((cmd, i) => committed(cmd, outcomes[i] as CommandResult)),
        );
      }
      return results;
    });
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
    if (this.pending.length > 0 || this.running) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Stops accepting, commits everything already queued, and resolves when the queue is empty. */
  async drain(): Promise<void> {
    this.accepting = false;
    if (this.pending.length === 0 && !this.running) return;
    const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.schedule();
    await idle;
  }
}

/** The agent a command writes, for the batch's lock order; commands of no one agent sort first. */
function agentOf(cmd: Command): string {
  switch (cmd.kind) {
    case 'register':
      return cmd.agent.agent_id;
    case 'otlp':
      return cmd.batch.agentId;
    case 'heartbeat':
    case 'event':
    case 'error':
    case 'trace':
    case 'delete_agent':
    case 'purge_agent_history':
    case 'update_agent':
      return cmd.agentId;
    default:
      return '';
  }
}

/** PostgreSQL's deadlock_detected and serialization_failure: the same batch may well pass a second time. */
function isRetryableConflict(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === '40P01' || code === '40001';
}
