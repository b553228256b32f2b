import type { LiveMessage } from '../api/types.js';
import { reconnectDelay } from './backoff.js';

export type ConnectionState =
  | { kind: 'connecting' }
  | { kind: 'live' }
  | { kind: 'reconnecting'; attempt: number; retryAt: number }
  | { kind: 'signed-out' }
  | { kind: 'stopped' };

/** The part of a browser WebSocket the feed uses; tests pass a fake through `LiveFeedDeps.open`. */
export interface SocketLike {
  onopen: ((ev: Event) => void) | null;
  onmessage: ((ev: MessageEvent) => void) | null;
  onclose: ((ev: CloseEvent) => void) | null;
  onerror: ((ev: Event) => void) | null;
  close(): void;
}

export interface LiveFeedDeps {
  url: string;
  open(url: string): SocketLike;
  /** Asked after a connection fails or drops: false when the session is gone, so the feed stops instead of retrying. */
  stillSignedIn(): Promise<boolean>;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  now(): number;
  random?: () => number;
}

/** Close code the hub sends when the session of this socket ended (packages/hub/src/auth/sessions.ts). */
export const SESSION_ENDED = 4001;
/*
 * Other closes reconnect with backoff and refetch, which is what they ask for: 4008 (this page fell
 * behind the feed and missed messages), 4012 (the hub may have missed another hub's changes) and 4029
 * (too many live sockets on the hub or for this session).
 */

/** Every message type the hub sends; a type not listed here (a newer hub) is ignored rather than misread. */
const TYPES: Record<LiveMessage['type'], true> = {
  metrics_update: true,
  event: true,
  error: true,
  error_resolved: true,
  error_reopened: true,
  agent_status: true,
  agent_updated: true,
  agent_removed: true,
  llm_activity: true,
  alert: true,
};

/**
 * The hub's live feed (`/api/v1/live`) with reconnection: exponential backoff with jitter, and a
 * `reconnected` signal so the pages refetch what they missed while the socket was down.
 */
export class LiveFeed {
  private socket: SocketLike | undefined;
  private timer: unknown;
  private attempt = 0;
  private everOpened = false;
  private stopped = false;
  private current: ConnectionState = { kind: 'connecting' };
  private readonly messageListeners = new Set<(m: LiveMessage) => void>();
  private readonly stateListeners = new Set<(s: ConnectionState) => void>();
  private readonly reconnectListeners = new Set<() => void>();

  constructor(private readonly deps: LiveFeedDeps) {}

  get state(): ConnectionState {
    return this.current;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.deps.clearTimer(this.timer);
    this.detach()?.close();
    this.setState({ kind: 'stopped' });
  }

  /** Skips the rest of a backoff wait (the "reconnect now" button). */
  retryNow(): void {
    if (this.current.kind !== 'reconnecting') return;
    this.deps.clearTimer(this.timer);
    this.connect();
  }

  onMessage(fn: (m: LiveMessage) => void): () => void {
    this.messageListeners.add(fn);
    return () => this.messageListeners.delete(fn);
  }

  onState(fn: (s: ConnectionState) => void): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  /** Called each time the feed is back after a drop: whatever happened meanwhile was not sent, so refetch. */
  onReconnect(fn: () => void): () => void {
    this.reconnectListeners.add(fn);
    return () => this.reconnectListeners.delete(fn);
  }

  private connect(): void {
    if (this.stopped) return;
    this.setState(
      this.everOpened || this.attempt > 0
        ? { kind: 'reconnecting', attempt: this.attempt, retryAt: this.deps.now() }
        : { kind: 'connecting' },
    );
    const socket = this.deps.open(this.deps.url);
    this.socket = socket;
    socket.onopen = () => {
      const wasReconnect = this.everOpened || this.attempt > 0;
      this.everOpened = true;
      this.attempt = 0;
      this.setState({ kind: 'live' });
      if (wasReconnect) for (const fn of this.reconnectListeners) fn();
    };
    socket.onmessage = (ev) => {
      let m: unknown;
      try {
        m = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      // A frame holds one tick's messages as an array, in commit order; `hello` (ignored) is a single object.
      for (const one of Array.isArray(m) ? (m as unknown[]) : [m]) {
        const type = (one as { type?: unknown } | null)?.type;
        if (typeof type !== 'string' || !Object.hasOwn(TYPES, type)) continue;
        for (const fn of this.messageListeners) fn(one as LiveMessage);
      }
    };
    socket.onerror = () => undefined;
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      if (this.stopped) return;
      if (ev.code === SESSION_ENDED) {
        this.setState({ kind: 'signed-out' });
        return;
      }
      void this.scheduleRetry();
    };
  }

  private async scheduleRetry(): Promise<void> {
    // A refused handshake looks like any other drop from a page; the session check tells them apart.
    const signedIn = await this.deps.stillSignedIn().catch(() => true);
    if (this.stopped) return;
    if (!signedIn) {
      this.setState({ kind: 'signed-out' });
      return;
    }
    const delay = reconnectDelay(this.attempt, this.deps.random);
    this.attempt++;
    this.setState({ kind: 'reconnecting', attempt: this.attempt, retryAt: this.deps.now() + delay });
    this.timer = this.deps.setTimer(() => this.connect(), delay);
  }

  private detach(): SocketLike | undefined {
    const s = this.socket;
    this.socket = undefined;
    if (s) s.onclose = s.onmessage = s.onopen = null;
    return s;
  }

  private setState(s: ConnectionState): void {
    this.current = s;
    for (const fn of this.stateListeners) fn(s);
  }
}
