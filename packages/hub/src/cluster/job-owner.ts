import pg from 'pg';

/** The advisory lock whose holder runs the hub's background jobs ('vigj'); the migration lock is another key. */
export const JOB_LOCK_KEY = 0x7669676a;
/** How often a hub that does not own the jobs asks for the lock, and how often the owner checks its connection. */
export const JOB_LOCK_POLL_MS = 500;

export interface JobOwnerHandlers {
  /** This hub now holds the lock: start the jobs. */
  acquired(): Promise<void>;
  /** This hub no longer holds it (its connection is gone, or it is stopping): stop the jobs. */
  lost(): Promise<void>;
  onError(err: unknown, message: string): void;
}

/**
 * One owner per job among several hubs on one PostgreSQL database: liveness sweeps, alert timers,
 * retention and rollups run on the hub holding a session advisory lock, on a connection of its own.
 * The lock lives as long as that connection: when the owning hub dies the server ends its session
 * (at once for a killed process, whose socket the kernel closes; within the TCP keepalive below for a
 * machine that vanished), the lock is free, and the next hub to poll takes it over.
 *
 * The owner checks its connection every poll, and stops the jobs as soon as it is lost, before
 * another hub can have taken the lock (the server releases it only once the session is gone).
 */
export class JobOwner {
  private client: pg.Client | undefined;
  private owner = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> = Promise.resolve();

  constructor(
    private readonly url: string,
    private readonly handlers: JobOwnerHandlers,
    private readonly options: { pollMs?: number; key?: number; hubId?: string } = {},
  ) {}

  get isOwner(): boolean {
    return this.owner;
  }

  /**
   * The id of the hub that holds the job lock, read from the server (the holder's session names its hub
   * in application_name); null when no hub holds it, or this hub has no connection to ask on.
   */
  async holder(): Promise<string | null> {
    if (this.owner) return this.options.hubId ?? null;
    const client = this.client;
    if (!client) return null;
    const key = this.options.key ?? JOB_LOCK_KEY;
    // A bigint advisory key is stored as two 32-bit halves (classid high, objid low) with objsubid 1;
    // pg_locks spans the server, so the hubs of another database on it hold the same key there.
    const { rows } = await client.query<{ name: string }>(
      `SELECT a.application_name AS name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 1
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [Math.floor(key / 2 ** 32), key % 2 ** 32],
    );
    return /^vigil-jobs (\S+)/.exec(rows[0]?.name ?? '')?.[1] ?? null;
  }

  /** Asks once (a lone hub owns the jobs before it listens), then keeps asking or checking every poll. */
  async start(): Promise<void> {
    await this.poll();
    this.timer = setInterval(() => {
      this.polling = this.polling.then(() => this.poll());
    }, this.options.pollMs ?? JOB_LOCK_POLL_MS);
    this.timer.unref();
  }

  /** Stops the jobs if they run here and lets the lock go (ending the connection releases it). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.polling;
    await this.release();
  }

  private async poll(): Promise<void> {
    if (this.stopped) return;
    try {
      const client = await this.connection();
      if (this.owner) {
        await client.query('SELECT 1');
        return;
      }
      const row = (await client.query<{ held: boolean }>('SELECT pg_try_advisory_lock($1) AS held', [this.options.key ?? JOB_LOCK_KEY]))
        .rows[0];
      if (row?.held && !this.stopped) {
        this.owner = true;
        await this.handlers.acquired();
      }
    } catch (err) {
      this.handlers.onError(err, this.owner ? 'lost the job lock connection; stopping the jobs here' : 'cannot ask for the job lock');
      await this.release();
    }
  }

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({
      connectionString: this.url,
      // The client side notices a dead server; the server side (the GUCs below) notices a dead hub
      // whose process could not close its socket (the machine vanished), and then frees the lock.
      keepAlive: true,
      keepAliveInitialDelayMillis: 5000,
      query_timeout: 5000,
      // Operators find the owner in pg_stat_activity by this name, and holder() reads the hub id from
      // it (an application_name is cut at 63 bytes: a UUID and a pid fit).
      application_name: `vigil-jobs ${this.options.hubId ?? '-'} pid=${process.pid}`,
    });
    client.on('error', (err) => {
      if (this.client !== client) return;
      this.handlers.onError(err, 'the job lock connection failed');
      void this.release();
    });
    await client.connect();
    await client.query('SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 3');
    this.client = client;
    return client;
  }

  /** Stops the jobs if this hub ran them and closes the lock's connection. */
  private async release(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    const wasOwner = this.owner;
    this.owner = false;
    if (wasOwner) await this.handlers.lost().catch((err: unknown) => this.handlers.onError(err, 'stopping the jobs failed'));
    await client?.end().catch(() => undefined);
  }
}
