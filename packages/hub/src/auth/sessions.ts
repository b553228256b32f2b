import { randomBytes } from 'node:crypto';
import type { Db } from '../store/db.js';
import { hashKey } from './secrets.js';

/** The dashboard's session cookie: a random id, HttpOnly, never readable by the page's scripts. */
export const SESSION_COOKIE = 'vigil_session';
/** Close code sent to the live sockets of a session that ended (sign-out, expiry): "sign in again", not "reconnect". */
export const SESSION_ENDED_CLOSE = 4001;

/** What the session table needs from a WebSocket: a way to close it. */
export interface Closable {
  close(code?: number, reason?: string): void;
}

export interface SessionOptions {
  /** A session nobody used for this long (no request, no open live feed) is gone. */
  idleMs: number;
  /** Most sessions kept; the longest idle is dropped to make room. Bounds the table whatever signs in. */
  max?: number;
  /**
   * Told the hashes of sessions this hub ended (sign-out, eviction), so other hubs on the same
   * database close those sessions' sockets too (live/cluster.ts). Absent with one hub.
   */
  onEnded?: (hashes: string[]) => void;
}

interface Row {
  id_hash: string;
  csrf: string;
  last_seen: number;
}

/**
 * Browser sessions of the admin, in the database: signing in with the admin token makes one, signing
 * out or idling ends it. Stored there, a restart or another hub behind the same address keeps people
 * signed in. Only a SHA-256 of each id is kept, like API keys, so a database dump holds no usable cookie.
 *
 * The live sockets of each session are this hub's own: an open socket counts as use (a wall display
 * stays signed in), so while one is open the hub renews the session's `last_seen` every so often, and
 * ending a session closes them here and, through `onEnded`, on every other hub.
 */
export class Sessions {
  private readonly max: number;
  /** Live sockets on this hub, by session hash. */
  private readonly sockets = new Map<string, Set<Closable>>();
  /** How stale `last_seen` may get before a use writes it again (a write per request would be waste). */
  private readonly touchEveryMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Pick<Db, 'get' | 'all' | 'transaction'>,
    private readonly now: () => number,
    private readonly options: SessionOptions,
  ) {
    this.max = options.max ?? 1000;
    this.touchEveryMs = Math.min(60_000, Math.floor(options.idleMs / 4));
  }

  get idleMs(): number {
    return this.options.idleMs;
  }

  /** Sessions stored (expired ones not yet swept included). */
  async count(): Promise<number> {
    return Number((await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM sessions'))?.n ?? 0);
  }

  /** A new session: `id` goes in the cookie, `csrf` to the page, which echoes it on every change it asks for. */
  async create(): Promise<{ id: string; csrf: string }> {
    const id = randomBytes(32).toString('base64url');
    const csrf = randomBytes(32).toString('base64url');
    const now = this.now();
    const evicted = await this.db.transaction(async (tx) => {
      await tx.run('DELETE FROM sessions WHERE last_seen < ?', [now - this.options.idleMs]);
      const n = Number((await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM sessions'))?.n ?? 0);
      const gone: string[] = [];
      if (n >= this.max) {
        const oldest = await tx.all<{ id_hash: string }>('SELECT id_hash FROM sessions ORDER BY last_seen, id_hash LIMIT ?', [
          n - this.max + 1,
        ]);
        for (const o of oldest) {
          await tx.run('DELETE FROM sessions WHERE id_hash = ?', [o.id_hash]);
          gone.push(o.id_hash);
        }
      }
      await tx.run('INSERT INTO sessions (id_hash, csrf, created_at, last_seen) VALUES (?, ?, ?, ?)', [hashKey(id), csrf, now, now]);
      return gone;
    });
    this.ended(evicted);
    return { id, csrf };
  }

  /** The session behind a cookie value, marked as used now; undefined when unknown or idle too long. */
  async use(id: string | undefined): Promise<{ csrf: string } | undefined> {
    const found = await this.find(id);
    if (!found) return undefined;
    if (this.now() - Number(found.last_seen) >= this.touchEveryMs) await this.touch([found.id_hash]);
    return { csrf: found.csrf };
  }

  /**
   * Ties a live socket to its session (already checked by the request's authentication): it keeps the
   * session alive while open and is closed when the session ends, on whichever hub it ends.
   */
  attach(id: string | undefined, socket: Closable & { once(event: 'close', listener: () => void): unknown }): boolean {
    if (id === undefined || !SESSION_ID.test(id)) return false;
    const hash = hashKey(id);
    let set = this.sockets.get(hash);
    if (!set) this.sockets.set(hash, (set = new Set()));
    set.add(socket);
    socket.once('close', () => {
      const mine = this.sockets.get(hash);
      if (!mine?.delete(socket)) return;
      if (mine.size === 0) this.sockets.delete(hash);
      // Idle time counts from the socket closing.
      void this.touch([hash]).catch(() => undefined);
    });
    return true;
  }

  /** Ends a session at once: its cookie stops working and its live sockets (on every hub) are closed. */
  async revoke(id: string | undefined): Promise<boolean> {
    if (id === undefined || !SESSION_ID.test(id)) return false;
    const hash = hashKey(id);
    const removed = await this.db.transaction((tx) => tx.run('DELETE FROM sessions WHERE id_hash = ?', [hash]));
    this.ended([hash]);
    return removed.changes > 0;
  }

  /** Ends every session (all browsers must sign in again). */
  async revokeAll(): Promise<void> {
    const rows = await this.db.transaction((tx) => tx.all<{ id_hash: string }>('DELETE FROM sessions RETURNING id_hash'));
    this.ended([...new Set([...rows.map((r) => r.id_hash), ...this.sockets.keys()])]);
  }

  /** Closes this hub's sockets of sessions that ended (here or, told through the database, on another hub). */
  closeSockets(hashes: readonly string[]): void {
    for (const hash of hashes) {
      const set = this.sockets.get(hash);
      if (!set) continue;
      this.sockets.delete(hash);
      for (const socket of set) socket.close(SESSION_ENDED_CLOSE, 'session ended');
    }
  }

  /** Renews the sessions watched on this hub every so often, so an open dashboard keeps them alive on every hub. */
  start(): void {
    this.timer = setInterval(() => void this.touch([...this.sockets.keys()]).catch(() => undefined), this.touchEveryMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async find(id: string | undefined): Promise<Row | undefined> {
    if (id === undefined || !SESSION_ID.test(id)) return undefined;
    const hash = hashKey(id);
    const row = await this.db.get<Row>('SELECT id_hash, csrf, last_seen FROM sessions WHERE id_hash = ?', [hash]);
    if (!row) return undefined;
    // An open live feed on this hub is someone watching: the session is in use whatever its stored time says.
    if (!this.sockets.has(hash) && this.now() - Number(row.last_seen) > this.options.idleMs) {
      await this.db.transaction((tx) => tx.run('DELETE FROM sessions WHERE id_hash = ? AND last_seen = ?', [hash, row.last_seen]));
      return undefined;
    }
    return row;
  }

  private async touch(hashes: readonly string[]): Promise<void> {
    if (hashes.length === 0) return;
    const now = this.now();
    await this.db.transaction(async (tx) => {
      // Sorted, so two hubs renewing overlapping sessions lock their rows in the same order.
      for (const hash of [...hashes].sort())
        await tx.run('UPDATE sessions SET last_seen = ? WHERE id_hash = ? AND last_seen < ?', [now, hash, now]);
    });
  }

  private ended(hashes: string[]): void {
    if (hashes.length === 0) return;
    this.closeSockets(hashes);
    this.options.onEnded?.(hashes);
  }
}

/** 32 random bytes in base64url: anything else is not one of ours and is not even hashed. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/** The value of one cookie in a `Cookie` header (RFC 6265 section 5.4), or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The `Set-Cookie` value for a session. HttpOnly keeps it from scripts; SameSite=Strict keeps other
 * sites' pages from sending it; Secure whenever the hub is reached over TLS. No Max-Age: it lasts
 * as long as the browser and the server-side session both do.
 */
export function sessionCookie(id: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
}
