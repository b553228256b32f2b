import type { Dialect, SqlExecutor } from '../../src/store/db.js';
import { VigilError } from '../../src/errors.js';

/**
 * A batch module for SqliteDb.transactionIn in tests (sqlite-writer-thread.test.ts): what it does
 * is chosen by its input, and it runs on the writer thread as the writer's own batches do.
 */
export type Probe =
  | { do: 'insert'; value: string }
  | { do: 'refuse' }
  | { do: 'insert-then-fail'; value: string }
  | { do: 'wait-for-main'; flag: Int32Array }
  | { do: 'insert-then-wait'; value: string; flag: Int32Array };

export default async function probe(tx: SqlExecutor, dialect: Dialect, input: unknown) {
  const p = input as Probe;
  switch (p.do) {
    case 'insert':
      await tx.run('INSERT INTO probe (value) VALUES (?)', [p.value]);
      return { dialect: dialect.name, rows: (await tx.get<{ n: number }>('SELECT count(*) AS n FROM probe'))?.n };
    case 'refuse':
      throw new VigilError('VIGIL_INGEST_QUEUE_FULL', 'refused on the writer thread', 7);
    case 'insert-then-fail':
      await tx.run('INSERT INTO probe (value) VALUES (?)', [p.value]);
      await tx.run('INSERT INTO probe (value) VALUES (?)', [p.value]); // UNIQUE: fails
      return undefined;
    case 'wait-for-main': {
      // Holds the transaction open until the main thread's event loop has run a timer and set the flag;
      // on a writer that ran on the event loop this could never happen (the wait would time out).
      const seen = Atomics.wait(p.flag, 0, 0, 10_000) !== 'timed-out';
      return { seen };
    }
    case 'insert-then-wait':
      // Holds a written, uncommitted row and the write lock until the flag is set (or the thread is ended).
      await tx.run('INSERT INTO probe (value) VALUES (?)', [p.value]);
      Atomics.store(p.flag, 0, 2);
      Atomics.wait(p.flag, 0, 2, 10_000);
      return undefined;
  }
}
