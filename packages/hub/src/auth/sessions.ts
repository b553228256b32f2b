import { randomBytes } from 'node:crypto';
import { hashKey } from './secrets.js';

/** The dashboard's session cookie: a random id, HttpOnly, never readable by the page's scripts. */
export const SESSION_COOKIE = 'vigil_session';
/** Close code sent to the live sockets of a session that ended (sign-out, expiry): "sign in again", not "reconnect". */
export const SESSION_ENDED_CLOSE = 4001;

/** What the session table needs from a WebSocket: a way to close it. */
export interface Closable {
  close(code?: number, reason?: string): void;
}

interface Session {
  csrf: string;
  lastSeen: number;
  sockets: Set<Closable>;
}

export interface SessionOptions {
  /** A session nobody used for this long (no request, no open live feed) is gone. */
  idleMs: number;
  /** Most sessions kept; the longest idle is dropped to make room. Bounds memory whatever signs in. */
  max?: number;
}

/**
 * Browser sessions of the admin, in memory: signing in with the admin token makes one, signing out
 * or idling ends it. Only a SHA-256 of each id is kept, like API keys, so a heap dump holds no usable cookie.
 * A hub restart signs everyone out; several hubs behind one address need sticky sessions.
 */
export class Sessions {
  private readonly byHash = new Map<string, Session>();
  private readonly max: number;

  constructor(
    private readonly now: () => number,
    private readonly options: SessionOptions,
  ) {
    this.max = options.max ?? 1000;
  }

  get idleMs(): number {
    return this.options.idleMs;
  }

  get size(): number {
    return this.byHash.size;
  }

  /** A new session: `id` goes in the cookie, `csrf` to the page, which echoes it on every change it asks for. */
  create(): { id: string; csrf: string } {
    this.sweep();
    if (this.byHash.size >= this.max) this.evictLongestIdle();
    const id = randomBytes(32).toString('base64url');
    const csrf = randomBytes(32).toString('base64url');
    this.byHash.set(hashKey(id), { csrf, lastSeen: this.now(), sockets: new Set() });
    return { id, csrf };
  }

  /** The session behind a cookie value, marked as used now; undefined when unknown or idle too long. */
  use(id: string | undefined): { csrf: string } | undefined {
    const found = this.find(id);
    if (!found) return undefined;
    found.session.lastSeen = this.now();
    return found.session;
  }

  /** Ties a live socket to its session: it keeps the session alive while open and is closed when the session ends. */
  attach(id: string | undefined, socket: Closable & { once(event: 'close', listener: () => void): unknown }): boolean {
    const found = this.find(id);
    if (!found) return false;
    found.session.sockets.add(socket);
    socket.once('close', () => {
      found.session.sockets.delete(socket);
      found.session.lastSeen = this.now();
    });
    return true;
  }

  /** Ends a session at once: its cookie stops working and its live sockets are closed. */
  revoke(id: string | undefined): boolean {
    const found = this.find(id);
    if (!found) return false;
    this.end(found.hash, found.session);
    return true;
  }

  /** Ends every session (all browsers must sign in again). */
  revokeAll(): void {
    for (const [hash, session] of [...this.byHash]) this.end(hash, session);
  }

  private find(id: string | undefined): { hash: string; session: Session } | undefined {
    if (id === undefined || !SESSION_ID.test(id)) return undefined;
    const hash = hashKey(id);
    const session = this.byHash.get(hash);
    if (!session) return undefined;
    if (this.expired(session)) {
      this.end(hash, session);
      return undefined;
    }
    return { hash, session };
  }

  // An open live feed is someone watching: it counts as use, so a wall display stays signed in.
  private expired(s: Session): boolean {
    return s.sockets.size === 0 && this.now() - s.lastSeen > this.options.idleMs;
  }

  private end(hash: string, session: Session): void {
    this.byHash.delete(hash);
    for (const socket of session.sockets) socket.close(SESSION_ENDED_CLOSE, 'session ended');
    session.sockets.clear();
  }

  private sweep(): void {
    for (const [hash, session] of [...this.byHash]) if (this.expired(session)) this.end(hash, session);
  }

  private evictLongestIdle(): void {
    let oldest: [string, Session] | undefined;
    for (const entry of this.byHash) if (!oldest || entry[1].lastSeen < oldest[1].lastSeen) oldest = entry;
    if (oldest) this.end(oldest[0], oldest[1]);
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
