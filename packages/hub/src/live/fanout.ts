import { performance } from 'node:perf_hooks';
import type { LiveMessage } from './messages.js';

/** Close code for a socket that had more unsent than allowed: it missed messages, so it must refetch. */
export const LIVE_TOO_SLOW_CLOSE = 4008;
/**
 * Close code for every socket when this hub may have missed other hubs' commits (its listening
 * connection to PostgreSQL was down): the dashboard reconnects and refetches, as after 4008.
 */
export const LIVE_MISSED_CLOSE = 4012;
/** Close code for a socket over the hub's or its client's socket cap (4000 + HTTP's 429). */
export const LIVE_TOO_MANY_CLOSE = 4029;

/**
 * At most one frame per socket per tick: messages published meanwhile go out together. 100 ms is
 * about what a person notices on a dashboard, and it bounds the sends however fast the fleet reports.
 */
export const LIVE_TICK_MS = 100;
/**
 * The share of the event loop that sending frames may take. Each send is a system call (about
 * 10-20 µs on loopback), so 2,000 sockets take tens of milliseconds per frame; after a frame, the
 * next one waits long enough that sending stays under this share, and requests keep the rest. On a
 * busy or slow machine frames come less often and carry more messages; none is lost.
 */
export const LIVE_SEND_SHARE = 0.2;
/** However long sending takes, a frame waits at most this long after the last one, so the feed stays live. */
export const LIVE_MAX_WAIT_MS = 1000;

/** The part of a `ws` WebSocket the fan-out uses. */
export interface LiveSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Buffer, options: { binary: boolean }): void;
  close(code: number, reason: string): void;
  once(event: 'close', listener: () => void): unknown;
}

export interface LiveLimits {
  /** Most sockets open at once. */
  maxSockets: number;
  /** Most sockets of one client (a sign-in session or a token). */
  maxSocketsPerClient: number;
  /** Unsent bytes a socket may hold before it is closed with LIVE_TOO_SLOW_CLOSE. */
  maxBufferedBytes: number;
}

export interface LiveStats {
  sockets: number;
  /** Largest unsent amount of any open socket, in bytes. */
  maxBuffered: number;
  /** Unsent bytes of all open sockets together (frames are shared, so memory is less than this). */
  totalBuffered: number;
  /** Sockets closed for not reading, since start. */
  dropped: number;
  /** Sockets refused by a cap, since start. */
  refused: number;
  /** Frames sent (one per socket per tick that had messages), since start. */
  frames: number;
}

const OPEN = 1;
/** How long one turn of the event loop may spend sending before requests get their turn. */
const SLICE_MS = 4;

/**
 * The live feed's sockets and what goes to them. Each message is serialized once when published;
 * a tick's messages are joined into one frame (a JSON array, in publish order) that every socket
 * gets as the same buffer, so the cost of a message does not grow with the number of sockets and a
 * slow socket's backlog shares the bytes of the others'. A socket whose unsent bytes pass the bound
 * is closed rather than buffered for: the dashboard reconnects and refetches what it missed.
 */
export class LiveFanout {
  /** Each open socket and the client it counts against. */
  private readonly sockets = new Map<LiveSocket, string>();
  private readonly perClient = new Map<string, number>();
  private pending: string[] = [];
  private pendingChars = 0;
  private timer: NodeJS.Timeout | undefined;
  /** A frame is still going out, slice by slice. */
  private sending = false;
  /** When the next frame may start: a tick after the last one began, and late enough to keep LIVE_SEND_SHARE. */
  private nextFlushAt = -Infinity;
  private stopped = false;
  private readonly counts = { dropped: 0, refused: 0, frames: 0 };

  constructor(private readonly limits: LiveLimits) {}

  /**
   * Adds a socket for `client`, or closes it with LIVE_TOO_MANY_CLOSE and returns false when a cap
   * is reached. The socket leaves by itself when it closes.
   */
  admit(socket: LiveSocket, client: string): boolean {
    const mine = this.perClient.get(client) ?? 0;
    const refusal =
      this.sockets.size >= this.limits.maxSockets
        ? `too many live sockets on this hub (limit ${this.limits.maxSockets})`
        : mine >= this.limits.maxSocketsPerClient
          ? `too many live sockets for this session or token (limit ${this.limits.maxSocketsPerClient})`
          : undefined;
    if (refusal !== undefined) {
      this.counts.refused++;
      socket.close(LIVE_TOO_MANY_CLOSE, refusal);
      return false;
    }
    this.sockets.set(socket, client);
    this.perClient.set(client, mine + 1);
    socket.once('close', () => this.remove(socket));
    return true;
  }

  publish(messages: readonly LiveMessage[]): void {
    if (this.stopped || this.sockets.size === 0) return;
    for (const m of messages) {
      const json = JSON.stringify(m);
      this.pending.push(json);
      this.pendingChars += json.length;
      // A burst of large messages goes out at once rather than growing one frame past what a socket may hold.
      if (this.pendingChars >= this.limits.maxBufferedBytes) this.flush();
    }
    if (this.pending.length > 0) this.schedule();
  }

  /** The first message after a quiet tick goes out at once (in the next turn, with its batch); later ones wait for the tick. */
  private schedule(): void {
    this.timer ??= setTimeout(() => this.flush(), Math.max(0, this.nextFlushAt - performance.now()));
  }

  /**
   * Sends what is pending as one frame. The sockets get it a slice at a time, each slice in its own
   * turn of the event loop, so requests are served between slices rather than after all of them;
   * the next frame waits until this one has gone to every socket, which keeps frames in order.
   */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.sending || this.pending.length === 0) return;
    const frame = Buffer.from(`[${this.pending.join(',')}]`);
    const startedAt = performance.now();
    let busyMs = 0;
    this.pending = [];
    this.pendingChars = 0;
    this.sending = true;
    const targets = [...this.sockets.keys()];
    const sendSlice = (from: number) => {
      const t = performance.now();
      let to = from;
      while (to < targets.length && (to === from || performance.now() - t < SLICE_MS)) this.sendTo(targets[to++] as LiveSocket, frame);
      busyMs += performance.now() - t;
      if (to < targets.length) {
        setImmediate(sendSlice, to);
        return;
      }
      this.sending = false;
      const wait = Math.min(LIVE_MAX_WAIT_MS, (busyMs * (1 - LIVE_SEND_SHARE)) / LIVE_SEND_SHARE);
      this.nextFlushAt = Math.max(startedAt + LIVE_TICK_MS, performance.now() + wait);
      if (this.stopped) return;
      if (this.pendingChars >= this.limits.maxBufferedBytes) this.flush();
      else if (this.pending.length > 0) this.schedule();
    };
    sendSlice(0);
  }

  private sendTo(socket: LiveSocket, frame: Buffer): void {
    // Closed or dropped since the frame started.
    if (socket.readyState !== OPEN || !this.sockets.has(socket)) return;
    if (socket.bufferedAmount >= this.limits.maxBufferedBytes) {
      this.drop(socket);
      return;
    }
    socket.send(frame, { binary: false });
    this.counts.frames++;
  }

  stats(): LiveStats {
    let maxBuffered = 0;
    let totalBuffered = 0;
    for (const socket of this.sockets.keys()) {
      maxBuffered = Math.max(maxBuffered, socket.bufferedAmount);
      totalBuffered += socket.bufferedAmount;
    }
    return { sockets: this.sockets.size, maxBuffered, totalBuffered, ...this.counts };
  }

  /** Closes every socket with `code`: they reconnect and refetch what they show. */
  closeAll(code: number, reason: string): void {
    for (const socket of [...this.sockets.keys()]) {
      this.remove(socket);
      socket.close(code, reason);
    }
  }

  /** Stops the tick; pending messages are dropped (the hub is stopping and its sockets are closing). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = [];
    this.pendingChars = 0;
  }

  /**
   * Stops sending to a socket that is not reading. Its close frame waits behind what is already
   * queued; a client that never reads again is cut off by ws's own close timeout.
   */
  private drop(socket: LiveSocket): void {
    this.counts.dropped++;
    this.remove(socket);
    socket.close(LIVE_TOO_SLOW_CLOSE, 'fell behind the live feed; reconnect and refetch');
  }

  private remove(socket: LiveSocket): void {
    const client = this.sockets.get(socket);
    if (client === undefined) return;
    this.sockets.delete(socket);
    const left = (this.perClient.get(client) ?? 1) - 1;
    if (left === 0) this.perClient.delete(client);
    else this.perClient.set(client, left);
  }
}
