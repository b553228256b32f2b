import pg from 'pg';
import type { LiveMessage } from '../live/messages.js';
import type { SqlExecutor } from '../store/db.js';

/** The channel every hub on one database listens on (docs/several-hubs.md). */
export const CLUSTER_CHANNEL = 'vigil_cluster';
/**
 * PostgreSQL refuses a NOTIFY payload of 8,000 bytes or more; a batch whose messages are larger goes
 * into `live_messages` and the notification names its row instead.
 */
export const NOTIFY_MAX_BYTES = 7900;
/** How long a large batch's row stays for the other hubs to read (they read it within milliseconds). */
const LIVE_ROW_KEEP_MS = 60_000;
/** Reconnect backoff of the listening connection: doubles from the first to the last. */
const RECONNECT_FIRST_MS = 250;
const RECONNECT_MAX_MS = 5000;

/** What one hub tells the others; `h` is the sender, so a hub skips what it sent itself. */
type Notice =
  | { h: string; k: 'm'; m: readonly LiveMessage[] }
  | { h: string; k: 'r'; id: number }
  | { h: string; k: 's'; s: string[] }
  | { h: string; k: 'k' }
  | { h: string; k: 'a' };

export interface ClusterHandlers {
  /** Live messages another hub committed (published on this hub's bus: sockets and the alert engine). */
  onMessages(messages: readonly LiveMessage[]): void;
  /** Sessions another hub ended: close their sockets here. */
  onSessionsEnded(hashes: string[]): void;
  /** Another hub revoked a key: forget cached key lookups. */
  onKeysRevoked(): void;
  /** Another hub changed alert rules, silences or webhooks: the job owner's engine rereads them now. */
  onAlertsChanged(): void;
  /**
   * The listening connection was down, so notifications may have been missed: live sockets must
   * refetch, and state built from the feed must be reloaded.
   */
  onGap(): void;
  onError(err: unknown, message: string): void;
}

/**
 * Several hubs on one PostgreSQL database hear each other's commits through LISTEN/NOTIFY.
 *
 * Sending: each committed batch's live messages go out as one notification from inside the batch's
 * own transaction (`notifyInTransaction`), so it is delivered at COMMIT and never for a batch that
 * rolled back (NOTIFY takes a global lock at commit, hence one per batch, not one per message).
 * Sessions ended and keys revoked are told after their own commits.
 *
 * Listening: a dedicated connection outside the pool (a pooled one would be handed to queries, and
 * a transaction-mode PgBouncer would drop the LISTEN) that reconnects with backoff when lost; after a
 * reconnect `onGap` runs, since notifications sent meanwhile are gone.
 */
export class ClusterLink {
  readonly hubId: string;
  private client: pg.Client | undefined;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  private failures = 0;
  private connectedOnce = false;
  /** Notifications are handled one after another, so a large batch read from its row keeps its place. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly url: string,
    hubId: string,
    private readonly pool: SqlExecutor,
    private readonly handlers: ClusterHandlers,
  ) {
    this.hubId = hubId;
  }

  /** Connects and listens; resolves once listening (or once the first try failed: it goes on retrying). */
  async start(): Promise<void> {
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }

  /** True while the listening connection is up (GET /readyz could report it; tests wait on it). */
  get listening(): boolean {
    return this.client !== undefined;
  }

  /**
   * Queues this batch's messages for the other hubs, inside the batch's transaction: delivered when it
   * commits. Large batches are stored in `live_messages` and announced by row id.
   */
  async notifyInTransaction(tx: SqlExecutor, messages: readonly LiveMessage[], now: number): Promise<void> {
    if (messages.length === 0) return;
    const inline = JSON.stringify({ h: this.hubId, k: 'm', m: messages } satisfies Notice);
    if (Buffer.byteLength(inline) <= NOTIFY_MAX_BYTES) {
      await tx.get('SELECT pg_notify(?, ?)', [CLUSTER_CHANNEL, inline]);
      return;
    }
    await tx.run('DELETE FROM live_messages WHERE created_at < ?', [now - LIVE_ROW_KEEP_MS]);
    const row = await tx.get<{ id: number }>('INSERT INTO live_messages (messages, created_at) VALUES (?, ?) RETURNING id', [
      JSON.stringify(messages),
      now,
    ]);
    await tx.get('SELECT pg_notify(?, ?)', [
      CLUSTER_CHANNEL,
      JSON.stringify({ h: this.hubId, k: 'r', id: Number(row?.id) } satisfies Notice),
    ]);
  }

  /** Tells the other hubs that these sessions ended (after the commit that ended them). */
  sessionsEnded(hashes: string[]): void {
    // A sign-out is one hash; eviction a few. Chunked so each notification stays under the limit.
    for (let i = 0; i < hashes.length; i += 100) this.send({ h: this.hubId, k: 's', s: hashes.slice(i, i + 100) });
  }

  /** Tells the other hubs that a key was revoked, so their cached lookups go at once. */
  keysRevoked(): void {
    this.send({ h: this.hubId, k: 'k' });
  }

  /** Tells the other hubs that alert rules or silences changed (after the commit), so the owner applies them at once. */
  alertsChanged(): void {
    this.send({ h: this.hubId, k: 'a' });
  }

  private send(notice: Notice): void {
    this.pool
      .get('SELECT pg_notify(?, ?)', [CLUSTER_CHANNEL, JSON.stringify(notice)])
      .catch((err) => this.handlers.onError(err, 'cluster notify failed'));
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({
      connectionString: this.url,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      application_name: `vigil-listen pid=${process.pid}`,
    });
    const lost = (err?: Error) => {
      if (this.client !== client) return;
      this.client = undefined;
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      if (!this.stopped) {
        this.handlers.onError(err ?? new Error('connection ended'), 'cluster listener lost; reconnecting');
        this.scheduleReconnect();
      }
    };
    client.on('error', (err) => lost(err));
    client.on('end', () => lost());
    client.on('notification', (n) => this.receive(n.payload));
    try {
      await client.connect();
      await client.query(`LISTEN ${CLUSTER_CHANNEL}`);
    } catch (err) {
      client.removeAllListeners();
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
      this.handlers.onError(err, 'cluster listener cannot connect; retrying');
      this.scheduleReconnect();
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.failures = 0;
    // Whatever was sent while no connection listened is lost: the first connection has nothing to catch up on.
    if (this.connectedOnce) this.handlers.onGap();
    this.connectedOnce = true;
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.retry) return;
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_FIRST_MS * 2 ** this.failures);
    this.failures++;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.connect();
    }, delay);
    this.retry.unref();
  }

  private receive(payload: string | undefined): void {
    let notice: Notice;
    try {
      notice = JSON.parse(payload ?? '') as Notice;
    } catch {
      return;
    }
    // This hub's own commits reached its sockets through its bus already.
    if (notice.h === this.hubId) return;
    this.chain = this.chain.then(() => this.handle(notice)).catch((err) => this.handlers.onError(err, 'a cluster notification failed'));
  }

  private async handle(notice: Notice): Promise<void> {
    switch (notice.k) {
      case 'm':
        this.handlers.onMessages(notice.m);
        break;
      case 'r': {
        let row: { messages: unknown } | undefined;
        try {
          row = await this.pool.get<{ messages: unknown }>('SELECT messages FROM live_messages WHERE id = ?', [notice.id]);
        } catch (err) {
          this.handlers.onError(err, 'reading a large live batch failed');
        }
        // Unreadable or gone (older than a minute): a gap, rather than a partial picture.
        if (!row) return this.handlers.onGap();
        const m = row.messages;
        this.handlers.onMessages((typeof m === 'string' ? JSON.parse(m) : m) as LiveMessage[]);
        break;
      }
      case 's':
        this.handlers.onSessionsEnded(notice.s);
        break;
      case 'k':
        this.handlers.onKeysRevoked();
        break;
      case 'a':
        this.handlers.onAlertsChanged();
        break;
    }
  }
}
