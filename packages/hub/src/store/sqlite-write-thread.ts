/**
 * The SQLite write connection, on a thread of its own: statements, WAL writes and fsync take
 * most of an ingest request's time, and on the event loop they would stall every HTTP request
 * meanwhile. SqliteDb (on the main thread) sends one message per transaction for the writer's
 * batches (run here by a module's function with a synchronous executor: no message per
 * statement), one per statement for the rare ad-hoc transaction, and calls `pragma` synchronously
 * on a port of its own. Calls arrive one at a time: SqliteDb queues them in order.
 */
import { readlinkSync } from 'node:fs';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { Dialect, SqlExecutor } from './db.js';
import { BUSY_SLICE_MS, LOCK_WAIT_MS, openWriteConnection, sqliteDialect, Statements } from './sqlite-connection.js';
import { serializeError, type Reply, type Request, type SyncRequest, type WriteThreadData } from './sqlite-write-protocol.js';

/** What a batch module exports as default: it runs inside one write transaction and must not commit. */
type ThreadTransaction = (tx: SqlExecutor, dialect: Dialect, input: unknown) => Promise<unknown>;

const data = workerData as WriteThreadData;
const port = parentPort as MessagePort;
let conn: Database.Database | undefined;
let statements: Statements | undefined;
let tx: SqlExecutor | undefined;
const modules = new Map<string, Promise<ThreadTransaction>>();

function open(): Database.Database {
  if (!conn) throw new Error('the write connection is not open');
  return conn;
}

/** Opens the write connection (once) and answers this thread's id, for per-thread CPU figures. */
function openConnection(): { tid: number | undefined } {
  conn ??= openWriteConnection(data.path, data.synchronous);
  statements = new Statements(conn);
  tx = statements.executor();
  return { tid: threadId() };
}

/**
 * Runs `sql` on the write connection, waiting up to LOCK_WAIT_MS for another process's write lock
 * in short slices, with this thread free between them, then failing with SQLITE_BUSY (503).
 */
async function whenUnlocked(sql: string): Promise<void> {
  const giveUp = performance.now() + LOCK_WAIT_MS;
  for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
    try {
      open().exec(sql);
      return;
    } catch (err) {
      if (!String((err as { code?: unknown }).code).startsWith('SQLITE_BUSY') || performance.now() + pause > giveUp) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

function rollback(): void {
  if (conn?.inTransaction) conn.exec('ROLLBACK');
}

function commit(): void {
  try {
    open().exec('COMMIT');
  } catch (err) {
    rollback();
    throw err;
  }
}

function load(module: string): Promise<ThreadTransaction> {
  let fn = modules.get(module);
  if (!fn) {
    fn = import(module).then((m: { default: ThreadTransaction }) => m.default);
    modules.set(module, fn);
  }
  return fn;
}

/** This thread's id in the operating system (Linux), so a profile can tell its CPU time from the event loop's. */
function threadId(): number | undefined {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').pop()) || undefined;
  } catch {
    return undefined;
  }
}

function pragma(name: string): unknown {
  return open().pragma(name, { simple: true });
}

async function handle(req: Request): Promise<unknown> {
  switch (req.op) {
    case 'batch': {
      const fn = await load(req.module);
      await whenUnlocked('BEGIN IMMEDIATE');
      try {
        const value = await fn(tx as SqlExecutor, sqliteDialect, req.input);
        commit();
        return value;
      } catch (err) {
        rollback();
        throw err;
      }
    }
    case 'open':
      return openConnection();
    case 'begin':
      return whenUnlocked('BEGIN IMMEDIATE');
    case 'commit':
      return commit();
    case 'rollback':
      return rollback();
    case 'all':
      return statements?.all(req.sql, req.params);
    case 'get':
      return statements?.get(req.sql, req.params);
    case 'run':
      return statements?.run(req.sql, req.params);
    case 'exec':
      return whenUnlocked(req.sql);
    case 'pragma':
      return pragma(req.name);
    case 'reclaim': {
      const db = open();
      const free = () => Number(db.pragma('freelist_count', { simple: true }));
      const before = free();
      const pages = Math.min(Math.floor(req.maxPages), before - req.keepPages);
      if (pages <= 0 || Number(db.pragma('auto_vacuum', { simple: true })) !== 2) return { freed: 0, remaining: before };
      db.exec(`PRAGMA incremental_vacuum(${pages})`);
      const after = free();
      return { freed: before - after, remaining: after };
    }
    case 'truncateWal': {
      const db = open();
      // Never wait: a reader elsewhere (a backup, `vigil storage`) must not stall the writer.
      db.pragma('busy_timeout = 0');
      try {
        const [r] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
        return r?.busy === 0;
      } finally {
        db.pragma(`busy_timeout = ${BUSY_SLICE_MS}`);
      }
    }
    case 'close':
      rollback();
      conn?.close();
      conn = undefined;
      return undefined;
  }
}

function reply(id: number | undefined, outcome: { value: unknown } | { error: unknown }): Reply {
  const count = statements?.count ?? 0;
  return 'error' in outcome
    ? { id, ok: false, error: serializeError(outcome.error), statements: count }
    : { id, ok: true, value: outcome.value, statements: count };
}

// Requests are handled one after another, even when one waits for the lock.
let queue: Promise<void> = Promise.resolve();
port.on('message', (req: Request) => {
  queue = queue.then(async () => {
    let outcome: { value: unknown } | { error: unknown };
    try {
      outcome = { value: await handle(req) };
    } catch (error) {
      outcome = { error };
    }
    port.postMessage(reply(req.id, outcome));
  });
});

// Synchronous calls: the main thread waits on `syncState` until the answer is on `syncPort`.
const { syncPort, syncState } = data;
syncPort.on('message', (req: SyncRequest) => {
  let outcome: { value: unknown } | { error: unknown };
  try {
    if (req.op === 'open') {
      outcome = { value: openConnection() };
    } else {
      outcome = { value: pragma(req.name) };
    }
  } catch (error) {
    outcome = { error };
  }
  syncPort.postMessage(reply(undefined, outcome));
  Atomics.store(syncState, 0, 1);
  Atomics.notify(syncState, 0);
});
