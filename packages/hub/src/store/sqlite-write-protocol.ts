import type { MessagePort } from 'node:worker_threads';
import { VigilError, type ErrorCode } from '../errors.js';

/** The messages between SqliteDb (main thread) and its writer thread (sqlite-write-thread.ts). */

export interface WriteThreadData {
  path: string;
  synchronous: 'full' | 'normal';
  /** Where synchronous calls go; the answer is posted back on it once `syncState[0]` turns 1. */
  syncPort: MessagePort;
  syncState: Int32Array;
}

export type Request = { id: number } & (
  | { op: 'batch'; module: string; input: unknown }
  // `open` is also a synchronous call (the first start); a restarted thread is opened asynchronously.
  | { op: 'open' | 'begin' | 'commit' | 'rollback' | 'truncateWal' | 'close' }
  | { op: 'all' | 'get' | 'run'; sql: string; params: readonly unknown[] | undefined }
  | { op: 'exec'; sql: string }
  | { op: 'pragma'; name: string }
  | { op: 'reclaim'; maxPages: number; keepPages: number }
);

export type SyncRequest = { op: 'open' } | { op: 'pragma'; name: string };

/** `statements`: how many the write connection has run so far (SqliteDb.statementCount adds them). */
export type Reply = { id: number | undefined; statements: number } & ({ ok: true; value: unknown } | { ok: false; error: SerializedError });

/** An error as it crosses the thread: what the hub decides on (its code, VigilError's fields) survives. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string | undefined;
  code?: unknown;
  vigil?: { code: ErrorCode; retryAfterS: number | undefined };
}

export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const out: SerializedError = { name: err.name, message: err.message, stack: err.stack };
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') out.code = code;
  if (err instanceof VigilError) out.vigil = { code: err.code, retryAfterS: err.retryAfterS };
  return out;
}

export function reviveError(e: SerializedError): Error {
  const err = e.vigil ? new VigilError(e.vigil.code, e.message, e.vigil.retryAfterS) : new Error(e.message);
  if (!e.vigil) err.name = e.name;
  if (e.code !== undefined && !e.vigil) (err as { code?: unknown }).code = e.code;
  err.stack = `${e.stack ?? `${e.name}: ${e.message}`}\n    (on the SQLite writer thread)`;
  return err;
}
