import { existsSync, statSync } from 'node:fs';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { backoffDelay, type Backoff } from '@vigil/protocol/backoff';
import Database from 'better-sqlite3';
import { tightenFile, type Warn } from '../private-files.js';
import type { Db, Footprint, SqlExecutor, StoreCorruption } from './db.js';
import { sqliteDialect, Statements } from './sqlite-connection.js';
import type { DbstatAnswer } from './sqlite-dbstat-worker.js';
import { reviveError, type Reply, type Request, type SyncRequest, type WriteThreadData } from './sqlite-write-protocol.js';
import { checkVigilTables, corruptionAdvice, isCorruption, StoreCorruptError, StoreFileError } from './sqlite-file.js';

export { sqliteDialect };

export interface SqliteOptions {
  synchronous: 'full' | 'normal';
  /** Told when an existing database file was readable by other users (and was set to 0600). */
  onWarning?: Warn;
}

// Codes (not messages) that mean "cannot commit now": disk full, I/O failure, lock contention, or
// the writer thread gone.
const UNAVAILABLE = /^(SQLITE_(FULL|IOERR|BUSY|LOCKED|READONLY|CANTOPEN|NOMEM|PROTOCOL)|WRITER_THREAD_EXITED)/;

/** Between restarts of a writer thread that ended: soon at first, at most every 30 s while it keeps failing. */
const RESTART_BACKOFF: Backoff = { baseMs: 200, capMs: 30_000, jitter: 0.2 };

/** Longest a synchronous call (opening, `pragma`) waits for the writer thread. */
const SYNC_CALL_MS = 60_000;

/**
 * SQLite through better-sqlite3: one connection for the single writer, on a thread of its own
 * (sqlite-write-thread.ts) so that statements and fsync never hold the event loop, and one
 * read-only connection on this thread for queries, so readers never see a batch that has not
 * committed (WAL gives them a snapshot).
 */
export class SqliteDb implements Db {
  readonly dialect = sqliteDialect;
  private thread!: Worker;
  private syncPort!: MessagePort;
  /** Restarts of the writer thread in a row that have not yet answered `open` (for the backoff). */
  private failedStarts = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private closing = false;
  private readonly syncState = new Int32Array(new SharedArrayBuffer(4));
  private reader: Statements | undefined;
  /** Statements the writer thread has run (its last answer says). */
  private written = 0;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(value: unknown): void; reject(err: unknown): void }>();
  /** Why the writer thread is gone, once it is. */
  private gone: Error | undefined;
  private lock: Promise<unknown> = Promise.resolve();
  /** Ad-hoc transactions queued or open (see oneMessage). */
  private adHoc = 0;
  private readonly remote: SqlExecutor;
  /** The write connection's synchronous setting (2 FULL, 1 NORMAL). */
  private synchronous: number;
  corruption: StoreCorruption | undefined;
  /** The writer thread's id in the operating system (Linux only), for per-thread CPU figures (bench:ingest). */
  writerThreadId: number | undefined;

  constructor(
    readonly path: string,
    private readonly options: SqliteOptions,
  ) {
    const existed = existsSync(path);
    // The checks and file-wide settings, on a connection of this thread before the writer thread opens its own.
    const setup = new Database(path);
    try {
      // Before anything is written: a file of another application would get Vigil's tables beside its own.
      checkVigilTables(path, setup.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]);
      // The database holds every agent's data: 0600. SQLite creates the -wal and -shm files with the
      // database file's mode, so setting it before the first statement covers them; files of an
      // existing database that were looser are set to 0600 with a warning.
      for (const file of [path, `${path}-wal`, `${path}-shm`]) {
        const was = tightenFile(file);
        if (was !== undefined && existed) {
          options.onWarning?.({ file, mode: was }, `${file} was readable by other users (mode ${was}); set it to 0600`);
        }
      }
      // Lets retention give purged pages back to the file system (incremental_vacuum). SQLite only
      // honours it on a new, empty database, and only before the switch to WAL writes the header;
      // on a database created without it, it changes nothing (footprint() reports the mode).
      setup.pragma('auto_vacuum = INCREMENTAL');
      setup.pragma('journal_mode = WAL');
    } catch (err) {
      if (isCorruption(err)) throw new StoreFileError(`cannot open ${path}: ${corruptionAdvice(path, (err as { code: string }).code)}`);
      throw err;
    } finally {
      setup.close();
    }

    this.startThread();
    let opened: Reply;
    try {
      opened = this.callSync({ op: 'open' });
    } catch (err) {
      void this.thread.terminate();
      throw err;
    }
    if (!opened.ok) {
      void this.thread.terminate();
      const err = reviveError(opened.error);
      if (isCorruption(err))
        throw new StoreFileError(`cannot open ${path}: ${corruptionAdvice(path, (err as unknown as { code: string }).code)}`);
      throw err;
    }
    this.writerThreadId = (opened.value as { tid: number | undefined }).tid;
    // Read once: /healthz asks for it, and must not wait behind a batch that waits for the write lock.
    this.synchronous = Number(this.pragma('synchronous'));
    this.remote = {
      all: <T>(sql: string, params?: readonly unknown[]) =>
        this.call({ op: 'all', sql, params }).then((rows) => (rows as unknown[]).map(buffers) as T[]),
      get: <T>(sql: string, params?: readonly unknown[]) =>
        this.call({ op: 'get', sql, params }).then((row) => buffers(row) as T | undefined),
      run: (sql: string, params?: readonly unknown[]) => this.call({ op: 'run', sql, params }) as Promise<{ changes: number }>,
    };
  }

  /** The writer thread's event-loop utilisation (time not idle, blocked in fsync included), for profiles. */
  writerUtilization(since?: EventLoopUtilization): EventLoopUtilization {
    return this.thread.performance.eventLoopUtilization(since);
  }

  get statementCount(): number {
    return (this.reader?.count ?? 0) + this.written;
  }

  /** Reads a pragma back from the write connection (tests check the durability setting is real). Blocks until the writer thread answers. */
  pragma(name: string): unknown {
    const value = this.settle(this.callSync({ op: 'pragma', name }));
    if (/^\s*synchronous\s*=/i.test(name)) this.synchronous = Number(this.settle(this.callSync({ op: 'pragma', name: 'synchronous' })));
    return value;
  }

  /** Waits, blocking this thread, for the writer thread's answer to `req`. */
  private callSync(req: SyncRequest): Reply {
    if (this.gone) throw this.gone;
    Atomics.store(this.syncState, 0, 0);
    this.syncPort.postMessage(req);
    const giveUp = performance.now() + SYNC_CALL_MS;
    for (;;) {
      const received = receiveMessageOnPort(this.syncPort);
      if (received) return received.message as Reply;
      const left = giveUp - performance.now();
      if (left <= 0) throw new Error(`the SQLite writer thread did not answer ${req.op} within ${SYNC_CALL_MS} ms`);
      Atomics.wait(this.syncState, 0, 0, left);
    }
  }

  /** One request to the writer thread; the answer comes back in order. */
  private call(req: DistributiveOmit<Request, 'id'>): Promise<unknown> {
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // First: input that cannot be copied (a function) throws here, and rejects this call alone.
      this.thread.postMessage({ ...req, id });
      if (this.waiting.size === 0) this.thread.ref();
      this.waiting.set(id, { resolve, reject });
    });
  }

  private answer(reply: Reply): void {
    const waiter = reply.id === undefined ? undefined : this.waiting.get(reply.id);
    if (!waiter) return;
    this.waiting.delete(reply.id as number);
    if (this.waiting.size === 0) this.thread.unref();
    try {
      waiter.resolve(this.settle(reply));
    } catch (err) {
      waiter.reject(err);
    }
  }

  /**
   * The value of an answer, or its error rethrown here. A damaged file is noted: the first
   * SQLITE_CORRUPT or SQLITE_NOTADB flips readiness (`corruption`) and every such failure is raised
   * as StoreCorruptError, which the API answers as VIGIL_STORE_CORRUPT rather than an unexplained 500.
   */
  private settle(reply: Reply): unknown {
    this.written = reply.statements;
    if (reply.ok) return reply.value;
    throw this.noteCorruption(reviveError(reply.error));
  }

  private noteCorruption(err: unknown): unknown {
    if (!isCorruption(err)) return err;
    const code = (err as { code: string }).code;
    this.corruption ??= { code, since: Date.now(), advice: corruptionAdvice(this.path, code) };
    return new StoreCorruptError(this.path, code, err);
  }

  /** Starts a writer thread (it opens its connection on the first `open` request). */
  private startThread(): void {
    const channel = new MessageChannel();
    this.syncPort = channel.port1;
    this.syncPort.unref();
    const data: WriteThreadData = {
      path: this.path,
      synchronous: this.options.synchronous,
      syncPort: channel.port2,
      syncState: this.syncState,
    };
    const thread = new Worker(new URL('./sqlite-write-thread.js', import.meta.url), { workerData: data, transferList: [channel.port2] });
    // Referenced only while a call waits for it: a store nobody closed does not keep the process alive.
    thread.unref();
    thread.on('message', (reply: Reply) => this.answer(reply));
    thread.on('error', (err) => this.lose(thread, err));
    thread.on('exit', (code) => this.lose(thread, new Error(`the SQLite writer thread exited (code ${code})`)));
    this.thread = thread;
  }

  /**
   * The writer thread ended by itself (a crash in native code, memory exhausted): every call waiting
   * fails as unavailable (503, which clients retry), and a new thread is started after a backoff.
   * Nothing acknowledged is lost: a batch is answered only after its COMMIT, and the connection of a
   * thread that ended is closed with it, which rolls back a transaction it left open.
   */
  private lose(thread: Worker, cause: Error): void {
    if (thread !== this.thread || this.gone) return;
    this.gone = Object.assign(new Error(`the SQLite writer thread is gone: ${cause.message}`, { cause }), {
      code: 'WRITER_THREAD_EXITED',
    });
    for (const waiter of this.waiting.values()) waiter.reject(this.gone);
    this.waiting.clear();
    if (this.closing || this.writerThreadId === undefined) return; // closed, or never opened: the constructor reports it
    const delay = backoffDelay(++this.failedStarts, RESTART_BACKOFF);
    this.options.onWarning?.(
      { cause: cause.message, restart_in_ms: Math.round(delay) },
      'the SQLite writer thread stopped; starting a new one',
    );
    this.restartTimer = setTimeout(() => void this.restart(), delay);
    this.restartTimer.unref();
  }

  private async restart(): Promise<void> {
    if (this.closing) return;
    this.startThread();
    const thread = this.thread;
    this.gone = undefined;
    try {
      const opened = (await this.call({ op: 'open' })) as { tid: number | undefined };
      this.writerThreadId = opened.tid;
      this.failedStarts = 0;
    } catch (err) {
      // Opening failed (the file went away, the disk is full): end this thread and try again later.
      this.lose(thread, err instanceof Error ? err : new Error(String(err)));
      await thread.terminate();
    }
  }

  private readConn(): Statements {
    // Opened lazily so migrations have created the schema before the first read.
    if (!this.reader) {
      const conn = new Database(this.path, { readonly: true });
      conn.pragma('busy_timeout = 5000');
      conn.pragma('cache_size = -32768');
      this.reader = new Statements(conn);
    }
    return this.reader;
  }

  private guard = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      throw this.noteCorruption(err);
    }
  };

  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.readConn().executor(this.guard).all<T>(sql, params);
  }
  get<T>(sql: string, params?: readonly unknown[]): Promise<T | undefined> {
    return this.readConn().executor(this.guard).get<T>(sql, params);
  }
  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }> {
    return this.transaction((tx) => tx.run(sql, params));
  }

  /** Runs `fn` after every call queued before it (an ad-hoc transaction, or a call behind one). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.lock.then(fn);
    this.lock = result.catch(() => undefined);
    return result;
  }

  /**
   * A call that is one message to the writer thread (a batch, exec, reclaim, truncateWal), which
   * handles its messages in order: it goes at once, even while earlier calls run there, unless an
   * ad-hoc transaction is queued or open (its statements are messages of their own, and nothing may
   * come between its BEGIN and COMMIT).
   */
  private oneMessage<T>(fn: () => Promise<T>): Promise<T> {
    if (this.adHoc > 0) return this.serial(fn);
    const result = fn();
    this.lock = result.catch(() => undefined);
    return result;
  }

  /**
   * An ad-hoc transaction (migrations, the CLI, tests): `fn` runs here and each of its statements
   * is one message to the writer thread. The writer's batches use transactionIn instead.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    this.adHoc++;
    const done = this.serial(async () => {
      await this.call({ op: 'begin' });
      try {
        const value = await fn(this.remote);
        await this.call({ op: 'commit' });
        return value;
      } catch (err) {
        await this.call({ op: 'rollback' }).catch(() => undefined);
        throw err;
      }
    });
    const ended = () => {
      this.adHoc--;
    };
    done.then(ended, ended);
    return done;
  }

  /**
   * Runs the default export of `module` (a file URL) as `fn(tx, dialect, input)` in one write
   * transaction on the writer thread, with a synchronous executor, and resolves with its answer
   * once committed. `input` and the answer are copied between threads (structured clone).
   */
  transactionIn<T>(module: string, input: unknown): Promise<T> {
    return this.oneMessage(() => this.call({ op: 'batch', module, input }) as Promise<T>);
  }

  /**
   * Runs `sql` on the write connection; when another process holds the write lock the writer
   * thread waits for it up to 5 s in short slices, then fails with SQLITE_BUSY (503).
   */
  exec(sql: string): Promise<void> {
    return this.oneMessage(() => this.call({ op: 'exec', sql }) as Promise<void>);
  }

  isUnavailable(err: unknown): boolean {
    const code = (err as { code?: unknown } | null)?.code;
    return typeof code === 'string' && UNAVAILABLE.test(code);
  }

  async durability() {
    const sync = this.synchronous;
    // 2 = FULL: a commit is on disk before it is acknowledged. 1 = NORMAL: it survives a crash of
    // the hub but the last commits before a power loss may roll back.
    return sync >= 2
      ? { level: 'full' as const, detail: 'sqlite synchronous=FULL' }
      : { level: 'degraded' as const, detail: 'sqlite synchronous=NORMAL: power loss may lose the last commits' };
  }

  reclaimFreePages(maxPages: number, keepPages: number): Promise<{ freed: number; remaining: number }> {
    return this.oneMessage(() => this.call({ op: 'reclaim', maxPages, keepPages }) as Promise<{ freed: number; remaining: number }>);
  }

  truncateWal(): Promise<boolean> {
    return this.oneMessage(() => this.call({ op: 'truncateWal' }) as Promise<boolean>);
  }

  async footprint(): Promise<Footprint> {
    const size = (file: string) => {
      try {
        return statSync(file).size;
      } catch {
        return 0;
      }
    };
    const pragma = (name: string) => Number(this.readConn().conn.pragma(name, { simple: true }));
    const pageSize = pragma('page_size');
    const totalBytes = pragma('page_count') * pageSize;
    const freeBytes = pragma('freelist_count') * pageSize;
    const autoVacuum = (['none', 'full', 'incremental'] as const)[pragma('auto_vacuum')] ?? 'none';
    const answer = await new Promise<DbstatAnswer>((resolve, reject) => {
      const worker = new Worker(new URL('./sqlite-dbstat-worker.js', import.meta.url), { workerData: { path: this.path } });
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`dbstat worker exited with ${code}`)));
    });
    return {
      ...answer,
      totalBytes,
      sqlite: { fileBytes: size(this.path), walBytes: size(`${this.path}-wal`), freeBytes, autoVacuum },
    };
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.restartTimer);
    await this.lock;
    this.reader?.conn.close();
    if (!this.gone) await this.call({ op: 'close' });
    this.gone ??= Object.assign(new Error('the SQLite store is closed'), { code: 'WRITER_THREAD_EXITED' });
    await this.thread.terminate();
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Blobs come back from the writer thread as Uint8Array; the store's code expects Buffers, as on the read connection. */
function buffers(row: unknown): unknown {
  if (row === null || typeof row !== 'object') return row;
  for (const [key, value] of Object.entries(row)) {
    if (value instanceof Uint8Array && !Buffer.isBuffer(value))
      (row as Record<string, unknown>)[key] = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  return row;
}
