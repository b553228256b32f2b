import type { Api } from '../api/client.js';
import type { Agent, AgentsPage, DashboardPage, LiveMessage, StoredEvent } from '../api/types.js';
import type { LiveFeed } from '../live/feed.js';
import { FleetState } from './fleet-state.js';

/** The API's page cap: 10,000 agents load in 20 requests. */
const PAGE = 500;
/** Recent events kept for the overview's feed. */
const RECENT_EVENTS = 50;
/** More unknown agents than this at once (a fleet restarting) refetch everything rather than one by one. */
const MAX_SINGLE_FETCHES = 20;

export type LoadState = { kind: 'loading' } | { kind: 'ready'; at: number } | { kind: 'error'; message: string };

/**
 * The overview's data: loads the fleet a page at a time, applies the live feed, refetches after a
 * reconnect, and tells React at most once per frame (or four times a second for big fleets), so a
 * burst of heartbeats costs one render.
 */
export class FleetStore {
  readonly state = new FleetState();
  recentEvents: StoredEvent[] = [];
  /** The hub's --llm-busy-window (ms): an agent with LLM activity this recent shows as busy. */
  llmBusyMs = 120_000;
  load: LoadState = { kind: 'loading' };
  private version = 0;
  private readonly listeners = new Set<() => void>();
  private scheduled = false;
  private loading: Promise<void> | undefined;
  /** Agents announced while a load was running: fetched after it, if the load did not bring them. */
  private readonly pendingUnknown = new Set<string>();
  private unknownTimer: ReturnType<typeof setTimeout> | undefined;
  private recountTimer: ReturnType<typeof setTimeout> | undefined;
  private unsubscribe: (() => void)[] = [];

  constructor(
    private readonly api: Api,
    private readonly feed: LiveFeed,
  ) {}

  /** Listens to the feed and loads the fleet; `stop` undoes it. */
  start(): void {
    this.stop();
    this.unsubscribe = [this.feed.onMessage((m) => this.onLive(m)), this.feed.onReconnect(() => void this.reload())];
    void this.reload();
  }

  stop(): void {
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    clearTimeout(this.unknownTimer);
    clearTimeout(this.recountTimer);
  }

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getVersion = (): number => this.version;

  /** Loads (or reloads, after a reconnect) the whole fleet, page by page; rows appear as pages arrive. */
  reload(): Promise<void> {
    this.loading ??= this.fetchAll().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async fetchAll(): Promise<void> {
    try {
      const first = await this.api.get<DashboardPage>(`/api/monitoring/dashboard?limit=${PAGE}`);
      const errorCounts = new Map(first.activeErrors.map((e) => [e.agent_id, e.count]));
      this.state.setErrorCounts(errorCounts);
      this.state.mergeSnapshot(first.agents, errorCounts);
      this.recentEvents = mergeEvents(first.recentEvents, this.recentEvents);
      this.llmBusyMs = first.llm_busy_window_s * 1000;
      this.changed();
      let next = first.next_cursor;
      while (next !== null) {
        const page: AgentsPage = await this.api.get<AgentsPage>(`/api/v1/agents?limit=${PAGE}&after=${encodeURIComponent(next)}`);
        this.state.mergeSnapshot(page.agents, errorCounts);
        this.changed();
        next = page.next_cursor;
      }
      this.load = { kind: 'ready', at: Date.now() };
      this.changed();
      if (this.pendingUnknown.size > 0) this.fetchUnknownSoon();
    } catch (err) {
      this.load = { kind: 'error', message: err instanceof Error ? err.message : String(err) };
      this.changed();
    }
  }

  private onLive(m: LiveMessage): void {
    if (m.type === 'event') {
      this.recentEvents = mergeEvents([{ ...m, event_id: null, timestamp: m.received_at }], this.recentEvents);
      this.changed();
      return;
    }
    const effect = this.state.apply(m);
    switch (effect.kind) {
      case 'changed':
        this.changed();
        break;
      case 'unknown-agent':
        this.pendingUnknown.add(effect.agentId);
        this.changed();
        if (!this.loading) this.fetchUnknownSoon();
        break;
      case 'recount-errors':
        clearTimeout(this.recountTimer);
        this.recountTimer = setTimeout(() => void this.recountErrors(), 100);
        break;
      case 'ignored':
        break;
    }
  }

  private fetchUnknownSoon(): void {
    clearTimeout(this.unknownTimer);
    this.unknownTimer = setTimeout(() => void this.fetchUnknown(), 50);
  }

  private async fetchUnknown(): Promise<void> {
    const ids = [...this.pendingUnknown];
    this.pendingUnknown.clear();
    if (ids.length > MAX_SINGLE_FETCHES) return this.reload();
    const counts = new Map([...this.state.agents].map(([id, a]) => [id, a.error_count]));
    const found = await Promise.all(
      ids.map((id) =>
        this.api.get<{ agent: Agent }>(`/api/v1/agents/${encodeURIComponent(id)}`).then(
          (r) => r.agent,
          () => undefined,
        ),
      ),
    );
    const agents = found.filter((a): a is Agent => a !== undefined);
    this.state.mergeSnapshot(agents, counts);
    this.changed();
  }

  private async recountErrors(): Promise<void> {
    try {
      const d = await this.api.get<DashboardPage>('/api/monitoring/dashboard?limit=1');
      this.state.setErrorCounts(new Map(d.activeErrors.map((e) => [e.agent_id, e.count])));
      this.changed();
    } catch {
      // The next reconnect or reload recounts; a stale count is better than an error banner here.
    }
  }

  private changed(): void {
    this.version++;
    if (this.scheduled) return;
    this.scheduled = true;
    const flush = () => {
      this.scheduled = false;
      for (const fn of this.listeners) fn();
    };
    if (this.state.agents.size > 2000) setTimeout(() => requestAnimationFrame(flush), 250);
    else requestAnimationFrame(flush);
  }
}

/** Newest first, without duplicates (a reload returns events the feed already delivered). */
function mergeEvents(incoming: readonly StoredEvent[], known: readonly StoredEvent[]): StoredEvent[] {
  const seen = new Set<number>();
  const out: StoredEvent[] = [];
  for (const e of [...incoming, ...known].sort((a, b) => b.received_at - a.received_at || b.id - a.id)) {
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    out.push(e);
    if (out.length === RECENT_EVENTS) break;
  }
  return out;
}
