import type { Api } from '../api/client.js';
import type { Alert } from '../api/types.js';
import type { LiveFeed } from '../live/feed.js';
import { applyToFiring } from './alert-list.js';

/**
 * The fleet's firing alerts, for the header badge and the overview card: fetched once, then kept
 * current by the live feed's `alert` messages, and fetched again after a reconnect (what changed
 * while the socket was down was not sent).
 */
export class FiringAlerts {
  private firing = new Map<number, Alert>();
  private version = 0;
  private readonly listeners = new Set<() => void>();
  private offs: (() => void)[] = [];
  /** Changes that arrived while a fetch was out: applied on top of its answer, which may predate them. */
  private duringLoad: Alert[] | null = null;

  constructor(
    private readonly api: Pick<Api, 'get'>,
    private readonly feed: Pick<LiveFeed, 'onMessage' | 'onReconnect'>,
  ) {}

  start(): void {
    this.offs = [
      this.feed.onMessage((m) => {
        if (m.type !== 'alert') return;
        this.duringLoad?.push(m.alert);
        this.set(applyToFiring(this.firing, m.alert));
      }),
      this.feed.onReconnect(() => void this.load()),
    ];
    void this.load();
  }

  stop(): void {
    for (const off of this.offs) off();
    this.offs = [];
  }

  get count(): number {
    return this.firing.size;
  }

  forAgent(agentId: string): number {
    let n = 0;
    for (const a of this.firing.values()) if (a.agent_id === agentId) n++;
    return n;
  }

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getVersion = (): number => this.version;

  private async load(): Promise<void> {
    const seen: Alert[] = [];
    this.duringLoad = seen;
    try {
      const r = await this.api.get<{ alerts: Alert[] }>('/api/v1/alerts?state=firing&limit=500');
      let next = new Map(r.alerts.map((a) => [a.id, a]));
      for (const a of seen) next = applyToFiring(next, a);
      this.set(next);
    } catch {
      // The badge is a hint; the Alerts page shows the failure. The next reconnect tries again.
    } finally {
      if (this.duringLoad === seen) this.duringLoad = null;
    }
  }

  private set(next: Map<number, Alert>): void {
    this.firing = next;
    this.version++;
    for (const fn of this.listeners) fn();
  }
}
