import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { VigilError } from '../src/errors.js';
import type { Command } from '../src/ingest/commands.js';
import { Writer } from '../src/ingest/writer.js';
import type { Db } from '../src/store/db.js';
import { openStore } from '../src/store/open.js';
import { SqliteDb } from '../src/store/sqlite-db.js';
import { SYSTEM_METRICS_COLUMNS, type SystemMetricsRow } from '../src/store/system-metrics.js';
import { tempDir } from './support/stores.js';
import type { Probe } from './support/writer-thread-module.js';

/**
 * Issue 14: SQLite's write connection lives on a worker thread. What crosses the thread boundary
 * (answers, errors, blobs, statement counts) must arrive as it left, and the event loop must stay
 * free while a transaction runs there.
 */

const MODULE = new URL('./support/writer-thread-module.js', import.meta.url).href;

async function withDb(fn: (db: SqliteDb, path: string) => Promise<void>): Promise<void> {
  const dir = tempDir();
  const path = join(dir.path, 'thread.db');
  const db = new SqliteDb(path, { synchronous: 'full' });
  try {
    await db.exec('CREATE TABLE probe (id INTEGER PRIMARY KEY, value TEXT UNIQUE, data BLOB)');
    await fn(db, path);
  } finally {
    await db.close();
    dir.remove();
  }
}

const run = (db: SqliteDb, probe: Probe) => db.transactionIn<unknown>(MODULE, probe);

describe('the SQLite writer thread', () => {
  test('a batch runs there in one transaction; its answer comes back after COMMIT and is visible to the read connection', async () => {
    await withDb(async (db) => {
      assert.deepEqual(await run(db, { do: 'insert', value: 'a' }), { dialect: 'sqlite', rows: 1 });
      assert.equal((await db.get<{ n: number }>('SELECT count(*) AS n FROM probe'))?.n, 1);
      const before = db.statementCount;
      await run(db, { do: 'insert', value: 'b' });
      assert.equal(db.statementCount - before, 2, 'statements run on the writer thread are counted');
    });
  });

  test('errors keep what the hub decides on: VigilError code and Retry-After, SQLite codes; a failed batch is rolled back', async () => {
    await withDb(async (db) => {
      const refused = await run(db, { do: 'refuse' }).catch((e: unknown) => e);
      assert.ok(refused instanceof VigilError, 'a VigilError stays a VigilError');
      assert.equal(refused.code, 'VIGIL_INGEST_QUEUE_FULL');
      assert.equal(refused.retryAfterS, 7);
      assert.equal(refused.message, 'refused on the writer thread');

      const failed = await run(db, { do: 'insert-then-fail', value: 'x' }).catch((e: unknown) => e);
      assert.match(String((failed as { code?: unknown }).code), /^SQLITE_CONSTRAINT/);
      assert.equal(db.isUnavailable(failed), false, 'bad data is not an outage');
      assert.equal((await db.get<{ n: number }>('SELECT count(*) AS n FROM probe'))?.n, 0, 'the first insert was rolled back');

      // The same through an ad-hoc transaction, one message per statement.
      const adHoc = await db
        .transaction(async (tx) => {
          await tx.run('INSERT INTO probe (value) VALUES (?)', ['y']);
          await tx.run('INSERT INTO probe (value) VALUES (?)', ['y']);
        })
        .catch((e: unknown) => e);
      assert.match(String((adHoc as { code?: unknown }).code), /^SQLITE_CONSTRAINT/);
      assert.equal((await db.get<{ n: number }>('SELECT count(*) AS n FROM probe'))?.n, 0);
    });
  });

  test('input that cannot cross the thread (a function) fails that call alone; the store goes on', async () => {
    await withDb(async (db) => {
      const err = await db.transactionIn(MODULE, { do: 'insert', value: 'f', extra: () => 1 }).catch((e: unknown) => e);
      assert.equal((err as Error).name, 'DataCloneError');
      assert.deepEqual(await run(db, { do: 'insert', value: 'g' }), { dialect: 'sqlite', rows: 1 });
    });
  });

  test('the event loop runs while a transaction is open on the writer thread', async () => {
    await withDb(async (db) => {
      const flag = new Int32Array(new SharedArrayBuffer(4));
      const answer = run(db, { do: 'wait-for-main', flag });
      // Only this thread's event loop sets the flag; the transaction waits for it.
      setTimeout(() => {
        Atomics.store(flag, 0, 1);
        Atomics.notify(flag, 0);
      }, 20);
      assert.deepEqual(await answer, { seen: true });
    });
  });

  test('blobs and pragmas cross the thread: a Buffer comes back a Buffer, pragma() reads the write connection', async () => {
    await withDb(async (db) => {
      const data = Buffer.from([0, 1, 2, 250, 255]);
      const back = await db.transaction(async (tx) => {
        await tx.run('INSERT INTO probe (value, data) VALUES (?, ?)', ['blob', data]);
        return tx.get<{ data: Buffer }>('SELECT data FROM probe WHERE value = ?', ['blob']);
      });
      assert.ok(Buffer.isBuffer(back?.data));
      assert.deepEqual(back?.data, data);
      assert.equal(db.pragma('synchronous'), 2);
      assert.equal(db.pragma('foreign_keys'), 1, 'the write connection has the hub settings');
      db.pragma('max_page_count = 12345');
      assert.equal(Number(db.pragma('max_page_count')), 12345, 'a pragma set is a pragma of the write connection');
    });
  });

  test('another process holding the write lock: the writer waits, pragma() still answers, the batch commits once the lock is free', async () => {
    await withDb(async (db, path) => {
      const other = new Database(path);
      try {
        other.exec('BEGIN IMMEDIATE');
        const answer = run(db, { do: 'insert', value: 'after-lock' });
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.equal(db.pragma('synchronous'), 2, 'answered between the tries for the lock');
        other.exec('COMMIT');
        assert.deepEqual(await answer, { dialect: 'sqlite', rows: 1 });
      } finally {
        if (other.inTransaction) other.exec('ROLLBACK');
        other.close();
      }
    });
  });

  test('a writer thread that ends mid-transaction: writes are unavailable (503), not a crash, the open transaction is rolled back, and a new thread takes over', async () => {
    const warnings: string[] = [];
    const dir = tempDir();
    const path = join(dir.path, 'thread.db');
    const db = new SqliteDb(path, { synchronous: 'full', onWarning: (_details, message) => warnings.push(message) });
    try {
      await db.exec('CREATE TABLE probe (id INTEGER PRIMARY KEY, value TEXT UNIQUE, data BLOB)');
      await run(db, { do: 'insert', value: 'kept' });
      const flag = new Int32Array(new SharedArrayBuffer(4));
      const killed = run(db, { do: 'insert-then-wait', value: 'never-committed', flag }).catch((e: unknown) => e);
      while (Atomics.load(flag, 0) !== 2) await new Promise((resolve) => setTimeout(resolve, 5));
      await (db as unknown as { thread: { terminate(): Promise<number> } }).thread.terminate();

      const err = await killed;
      assert.equal((err as { code?: unknown }).code, 'WRITER_THREAD_EXITED', 'the batch in flight fails as unavailable');
      assert.equal(db.isUnavailable(err), true);
      const during = await run(db, { do: 'insert', value: 'during' }).catch((e: unknown) => e);
      assert.equal(
        (during as { code?: unknown }).code,
        'WRITER_THREAD_EXITED',
        'a write before the new thread is up is refused, not queued forever',
      );

      // The new thread answers within the first backoff step (200 ms less jitter) and its start.
      const deadline = Date.now() + 10_000;
      let answer: unknown;
      for (;;) {
        answer = await run(db, { do: 'insert', value: 'after' }).catch((e: unknown) => e);
        if (!(answer instanceof Error) || Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.deepEqual(answer, { dialect: 'sqlite', rows: 2 }, 'the uncommitted row of the ended thread is gone; the new write committed');
      const values = (await db.all<{ value: string }>('SELECT value FROM probe ORDER BY id')).map((r) => r.value);
      assert.deepEqual(values, ['kept', 'after']);
      assert.ok(
        warnings.some((w) => /writer thread stopped/.test(w)),
        'the restart is logged',
      );
      // The ended connection let go of the write lock: another connection can write.
      const other = new Database(path);
      try {
        other.exec("INSERT INTO probe (value) VALUES ('other')");
      } finally {
        other.close();
      }
    } finally {
      await db.close();
      dir.remove();
    }
  });

  test('a closed store does not start a new writer thread', async () => {
    const dir = tempDir();
    const db = new SqliteDb(join(dir.path, 'closed.db'), { synchronous: 'full' });
    try {
      await db.close();
      const err = await db.run('SELECT 1').catch((e: unknown) => e);
      assert.equal((err as { code?: unknown }).code, 'WRITER_THREAD_EXITED');
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.equal((db as unknown as { gone: unknown }).gone !== undefined, true, 'still closed after the first restart delay');
    } finally {
      dir.remove();
    }
  });
});

/** Polls `cond` every few milliseconds; fails after `ms`. */
async function until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('batches handed to the writer thread while another runs', () => {
  const hostRow = (host: string): Command => ({
    kind: 'system_metrics',
    row: {
      host,
      received_at: 1,
      ...(Object.fromEntries(SYSTEM_METRICS_COLUMNS.filter((c) => c !== 'host' && c !== 'received_at').map((c) => [c, null])) as Omit<
        SystemMetricsRow,
        'host' | 'received_at'
      >),
    },
  });
  const log = { error: () => undefined, warn: () => undefined };

  async function withStore(fn: (db: Db, path: string) => Promise<void>): Promise<void> {
    const dir = tempDir();
    const path = join(dir.path, 'pipeline.db');
    const { db } = await openStore(path, { sqliteSynchronous: 'full', now: Date.now() });
    try {
      await fn(db, path);
    } finally {
      await db.close();
      dir.remove();
    }
  }

  test('a second batch goes to the thread while the first waits for the lock; each is acknowledged after its own COMMIT, in order', async () => {
    await withStore(async (db, path) => {
      const writer = new Writer(db, { capacity: 100, batchMaxItems: 100, batchMaxDelayMs: 1 }, log);
      assert.equal(writer.maxInFlight, 2);
      const other = new Database(path);
      const answered: string[] = [];
      try {
        other.exec('BEGIN IMMEDIATE');
        const submit = (host: string) => writer.submit([hostRow(host)]).then(() => answered.push(host));
        const a = submit('a');
        await until(() => writer.queueDepth === 0, 'a is in a batch');
        const b = submit('b');
        await until(() => writer.queueDepth === 0, 'b is in a second batch, queued on the thread behind a');
        const c = submit('c');
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(writer.queueDepth, 1, 'c waits here: two batches are handed over at most');
        assert.deepEqual(answered, [], 'nothing is acknowledged before its commit');
        other.exec('ROLLBACK');
        await Promise.all([a, b, c]);
        assert.deepEqual(answered, ['a', 'b', 'c']);
        const stored = await db.all<{ host: string }>('SELECT host FROM system_metrics ORDER BY id');
        assert.deepEqual(
          stored.map((r) => r.host),
          ['a', 'b', 'c'],
        );
      } finally {
        if (other.inTransaction) other.exec('ROLLBACK');
        other.close();
      }
      await writer.drain();
    });
  });

  test('maxInFlight 1 keeps one batch on the thread; PostgreSQL-style one-at-a-time still works on SQLite', async () => {
    await withStore(async (db, path) => {
      const writer = new Writer(db, { capacity: 100, batchMaxItems: 100, batchMaxDelayMs: 1, maxInFlight: 1 }, log);
      const other = new Database(path);
      try {
        other.exec('BEGIN IMMEDIATE');
        const a = writer.submit([hostRow('a')]);
        await until(() => writer.queueDepth === 0, 'a is in a batch');
        const b = writer.submit([hostRow('b')]);
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(writer.queueDepth, 1, 'b waits for a to commit');
        other.exec('ROLLBACK');
        await Promise.all([a, b]);
      } finally {
        if (other.inTransaction) other.exec('ROLLBACK');
        other.close();
      }
      await writer.drain();
    });
  });

  test('a batch submitted while an ad-hoc transaction is open waits for its COMMIT instead of landing inside it', async () => {
    await withDb(async (db) => {
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      const adHoc = db.transaction(async (tx) => {
        await tx.run('INSERT INTO probe (value) VALUES (?)', ['ad-hoc-1']);
        await gate;
        await tx.run('INSERT INTO probe (value) VALUES (?)', ['ad-hoc-2']);
      });
      await new Promise((r) => setTimeout(r, 20));
      const batch = run(db, { do: 'insert', value: 'batch' });
      await new Promise((r) => setTimeout(r, 20));
      open();
      await adHoc;
      assert.deepEqual(await batch, { dialect: 'sqlite', rows: 3 }, 'the batch ran after the transaction, in a transaction of its own');
      const values = await db.all<{ value: string }>('SELECT value FROM probe ORDER BY id');
      assert.deepEqual(
        values.map((r) => r.value),
        ['ad-hoc-1', 'ad-hoc-2', 'batch'],
      );
    });
  });
});
