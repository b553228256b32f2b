import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { basename } from 'node:path';

/**
 * What the hub refuses to open as its SQLite database, and what it says when a database turns out
 * damaged. SQLite itself takes a zero-length file for a new, empty database, so a file truncated
 * by a failed copy or a full disk would start as an empty hub and the data would seem gone; a
 * file of another application would get Vigil's tables added to it.
 */

/** The first 16 bytes of every SQLite 3 database file. */
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/** The database cannot be used as it is; the message says why and what to do. */
export class StoreFileError extends Error {}

/**
 * Checks the file before SQLite opens it: absent is a new database; zero bytes only when
 * `initEmpty` (`--sqlite-init-empty true`) asks for one; otherwise it must start with SQLite's header.
 */
export function checkSqliteFile(path: string, initEmpty: boolean): void {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (size === 0) {
    if (initEmpty) return;
    throw new StoreFileError(
      `${path} is an empty file, not a Vigil database. If it should hold the hub's data, it was truncated: ` +
        'restore it from a backup. To start a new, empty database in it, start once with --sqlite-init-empty true ' +
        '(VIGIL_SQLITE_INIT_EMPTY=true), or delete the file.',
    );
  }
  const header = Buffer.alloc(SQLITE_HEADER.length);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, header, 0, header.length, 0);
  } finally {
    closeSync(fd);
  }
  if (!header.equals(SQLITE_HEADER)) {
    throw new StoreFileError(
      `${path} is not an SQLite database (it does not start with SQLite's header). Point --db at the Vigil ` +
        'database, or restore it from a backup.',
    );
  }
}

/** Refuses an SQLite database that holds tables but not Vigil's schema_migrations: another application's. */
export function checkVigilTables(path: string, tables: readonly string[]): void {
  if (tables.length > 0 && !tables.includes('schema_migrations')) {
    const some = tables.slice(0, 3).join(', ');
    throw new StoreFileError(
      `${path} is not a Vigil database: it holds other tables (${some}${tables.length > 3 ? ', …' : ''}) and no ` +
        'schema_migrations. Point --db at the Vigil database, or at a new file.',
    );
  }
}

/** SQLite's codes for a damaged file: a page that does not parse, a header that is not SQLite's. */
const CORRUPT = /^SQLITE_(CORRUPT|NOTADB)/;

export function isCorruption(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CORRUPT.test(code);
}

/** The way out of a damaged database, for the log, /readyz and the start refusal. */
export function corruptionAdvice(path: string, code: string): string {
  const file = basename(path);
  return (
    `the SQLite database ${file} is damaged (${code}). Stop the hub, then restore ${file} from a backup, ` +
    `or salvage what is readable: sqlite3 ${file} ".recover" | sqlite3 recovered.db, and start the hub with ` +
    '--db recovered.db (the -wal file, if any, must stay beside the damaged file while recovering)'
  );
}

/** Raised by the SQLite store when a statement meets a damaged page; the API answers VIGIL_STORE_CORRUPT. */
export class StoreCorruptError extends Error {
  constructor(
    readonly path: string,
    readonly sqliteCode: string,
    cause: unknown,
  ) {
    super(`${corruptionAdvice(path, sqliteCode)} [${path}]`, { cause });
  }
}
