import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '@vigil/protocol/backoff';
import { isPostgresUrl } from './db-target.js';
import type { Db } from './db.js';
import { openStore, type OpenOptions } from './open.js';

export interface WaitLog {
  warn(obj: object, msg: string): void;
}

export interface WaitOptions {
  /** Called before each wait (awaited): the hub starts answering health probes on the first. */
  onWaiting?: (attempt: number) => Promise<void> | void;
  /** First pause between attempts; each later one doubles, up to `maxDelayMs`. */
  firstDelayMs?: number;
  maxDelayMs?: number;
}

// Errors that mean "the server is not there (yet)", not "it refused us": a supervisor starting the
// hub beside its database, or a database restarting, should see the hub wait rather than crash-loop.
// A wrong password, a missing database or a failing migration still stops the start at once.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

/** True when `err` says the database could not be reached, rather than that it answered no. */
export function isUnreachable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    // SQLSTATE 08… is a connection exception; 57P01-57P03 a server shutting down or still starting.
    return NETWORK_CODES.has(code) || code.startsWith('08') || /^57P0[123]$/.test(code);
  }
  // pg reports a connection dropped or not made in time with a message and no code.
  return err instanceof Error && /Connection terminated|timeout exceeded when trying to connect/i.test(err.message);
}

/** host:port of a postgres:// URL, never its credentials. */
export function databaseAddress(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}`;
  } catch {
    return 'the configured address';
  }
}

/**
 * openStore, but a PostgreSQL server that cannot be reached is waited for, with backoff and a log
 * line per attempt, instead of failing the start: the first connection and the migrations are both
 * retried whole. SQLite (a local file) opens or fails at once.
 */
export async function openStoreWhenReachable(
  target: string,
  options: OpenOptions,
  log: WaitLog,
  wait: WaitOptions = {},
): Promise<{ db: Db; applied: number[] }> {
  if (!isPostgresUrl(target)) return openStore(target, options);
  // No jitter: one hub waiting for its database has no fleet to spread, and its log reads 0.5, 1, 2, 4, 5 s.
  const backoff = { baseMs: wait.firstDelayMs ?? 500, capMs: wait.maxDelayMs ?? 5000, jitter: 0 };
  for (let attempt = 1; ; attempt++) {
    const delay = backoffDelay(attempt, backoff);
    try {
      return await openStore(target, options);
    } catch (err) {
      if (!isUnreachable(err)) throw err;
      const reason = (err as Error).message;
      const next = (delay / 1000).toFixed(1);
      log.warn(
        { attempt, next_in_s: Number(next) },
        `waiting for the database at ${databaseAddress(target)} (attempt ${attempt}, next in ${next}s): ${reason}`,
      );
      await wait.onWaiting?.(attempt);
      await sleep(delay);
    }
  }
}
