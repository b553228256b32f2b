import { isWindowedMetric, poolAlertKey, type Alert, type AlertRule } from '@vigil/protocol';
import type { Clock } from '../clock.js';
import { VigilError } from '../errors.js';
import type { Writer } from '../ingest/writer.js';
import type { Bus } from '../live/bus.js';
import type { LiveMessage } from '../live/messages.js';
import { listRules } from '../store/alert-rules.js';
import {
  agentPlacements,
  latestSamples,
  listOpenAlerts,
  listSilences,
  mutedAgents,
  unresolvedErrorIds,
  type AlertWrite,
  type LatestSample,
  type RuleSnapshot,
  type Silence,
} from '../store/alerts.js';
import type { SqlExecutor } from '../store/db.js';
import { errorCountsSince, secondOf } from '../store/error-counts.js';
import { spendByAgent, type AgentSpend } from '../store/llm-spend.js';
import type { QueuedDelivery } from '../store/webhooks.js';
import { submitAlertAction } from './submit.js';
import {
  addSpend,
  ERROR_RATE_WINDOW_MS,
  ErrorRate,
  inScope,
  metricSource,
  NO_SPEND,
  offlineFlags,
  sampleValue,
  spendValue,
  type AgentPlacement,
} from './metrics.js';
import { defaultMargin, OK, step, type AlertState, type Condition } from './state.js';

/** What the engine hands the deliveries an alert change logged to, once it has committed (the webhook notifier). */
export interface Notifier {
  send(deliveries: readonly QueuedDelivery[]): void;
  /** Sends what the outbox holds that this hub has not started sending (logged by other commands). */
  resume(): Promise<void>;
}

export interface AlertEngineOptions {
  /** How often the timer evaluates durations, error rates and repeats, and rereads rules and silences. */
  everyMs: number;
  /** Repeat a firing, unacknowledged alert's notification this often; 0 never repeats. */
  renotifyMs: number;
  /** Liveness's missed heartbeats: a heartbeat older than this many intervals is not evaluated at start. */
  missedHeartbeats: number;
  onError: (err: unknown) => void;
}

interface Tracked {
  state: Exclude<AlertState, { phase: 'ok' }>;
  notifiedAt: number | null;
  acknowledged: boolean;
  /** The value or peak moved since the store last heard of it. */
  dirty: boolean;
}

interface AgentView extends AgentPlacement {
  /** 1 while liveness holds the agent offline for missed heartbeats (a planned stop is 0). */
  offline: 0 | 1;
  /** 1 while the agent is offline because it crashed or its command could not start. */
  crashed: 0 | 1;
}

/** Most alert writes in one command; a burst (a whole pool going offline) commits in a few transactions. */
const MAX_WRITES_PER_COMMAND = 500;

const key = (ruleId: number, agentId: string) => `${ruleId}\u0000${agentId}`;

function condition(rule: AlertRule): Condition {
  return {
    op: rule.op,
    threshold: rule.threshold,
    forMs: rule.for_seconds * 1000,
    margin: rule.hysteresis ?? defaultMargin(rule.threshold),
  };
}

function snapshot(rule: AlertRule): RuleSnapshot {
  return { ruleId: rule.id, ruleName: rule.name, severity: rule.severity, metric: rule.metric, op: rule.op, threshold: rule.threshold };
}

/** A change to a rule that makes its open alerts meaningless: they end, and evaluation starts over. */
function conditionChanged(a: AlertRule, b: AlertRule): boolean {
  return (
    a.metric !== b.metric ||
    a.op !== b.op ||
    a.threshold !== b.threshold ||
    a.window_seconds !== b.window_seconds ||
    a.group_by !== b.group_by ||
    JSON.stringify(a.scope) !== JSON.stringify(b.scope)
  );
}

/**
 * Evaluates alert rules against what each commit stored. It listens to the bus (heartbeats, errors,
 * liveness), keeps every (rule, agent) state in memory, and writes each state change through the
 * single writer, so an alert commits after the data that raised it; the writer then announces it on
 * the live feed, and the engine hands the deliveries logged with it to the notifier. A timer covers what
 * time alone decides: durations, error rates that decay, repeats, silences that end.
 *
 * State survives a restart: open (pending and firing) alerts are read back from the `alerts` table,
 * and the last minute of error reports from `error_counts`, so a restart changes no alert by itself.
 * A change and the webhook deliveries it owes commit together (see `outbox.ts`).
 */
export class AlertEngine {
  private rules = new Map<number, AlertRule>();
  private silences: Silence[] = [];
  private readonly agents = new Map<string, AgentView>();
  private readonly tracked = new Map<string, Tracked>();
  private readonly unresolved = new Map<string, Set<number>>();
  private errorRate = new ErrorRate();
  /** The oldest second `error_counts` may still hold; the timer deletes what falls out of the window. */
  private oldestErrorCount: number | undefined;
  /** Agents whose alerts are off: paused or deleted. The store ended their alerts; nothing new opens. */
  private muted = new Set<string>();
  private outbox: AlertWrite[] = [];
  private pumping: Promise<void> | undefined;
  /** Set when the store refused a write; the timer retries, so a down store is not hammered. */
  private waitForTimer = false;
  private ticking: Promise<void> = Promise.resolve();
  /** A spend evaluation is queued behind the current tick (new LLM calls committed). */
  private spendQueued = false;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  /**
   * Between `start` and `stop`. With several hubs only the job owner's engine runs (cluster/job-owner.ts);
   * elsewhere `tick` does nothing, and the owner's timer applies rule changes within one period.
   */
  private running = false;

  constructor(
    private readonly deps: { db: SqlExecutor; writer: Writer; bus: Bus; clock: Clock; notifier: Notifier },
    private readonly options: AlertEngineOptions,
  ) {}

  /** Loads rules, agents, open alerts, unresolved errors and silences (one statement each), then listens. */
  async start(): Promise<void> {
    const { db } = this.deps;
    const now = this.deps.clock.now();
    // A start after a stop (the jobs came back to this hub) begins from the store, not from what this hub last knew.
    this.agents.clear();
    this.tracked.clear();
    this.unresolved.clear();
    this.errorRate = new ErrorRate();
    this.outbox = [];
    this.waitForTimer = false;
    const [rules, agents, open, errors, silences, counts, samples, muted] = await Promise.all([
      listRules(db),
      agentPlacements(db),
      listOpenAlerts(db),
      unresolvedErrorIds(db),
      listSilences(db, { activeAt: now, limit: 10_000 }),
      errorCountsSince(db, 0),
      latestSamples(db, now, this.options.missedHeartbeats),
      mutedAgents(db),
    ]);
    this.muted = muted;
    this.silences = silences;
    // The last minute of error reports as stored, so `error_rate` goes on where it was before the restart.
    for (const c of counts) this.errorRate.add(c.agent_id, c.at_second, c.reports, now);
    this.oldestErrorCount = counts.reduce<number | undefined>((min, c) => Math.min(min ?? c.at_second, c.at_second), undefined);
    for (const a of agents) {
      this.agents.set(a.agent_id, { pool: a.pool_name, type: a.agent_type, ...offlineFlags(a.status, a.offline_reason) });
    }
    for (const e of errors) this.unresolvedOf(e.agent_id).add(Number(e.id));
    const snapshots = new Map<number, AlertRule>();
    for (const a of open) {
      const state: Tracked['state'] =
        a.state === 'firing'
          ? {
              phase: 'firing',
              since: a.pending_since,
              startedAt: a.started_at ?? a.pending_since,
              valueAtFire: a.value ?? 0,
              value: a.last_value ?? a.value ?? 0,
              peak: a.peak_value ?? a.value ?? 0,
            }
          : { phase: 'pending', since: a.pending_since, value: a.last_value ?? 0, peak: a.peak_value ?? a.last_value ?? 0 };
      this.tracked.set(key(a.rule_id, a.agent_id), {
        state,
        notifiedAt: a.notified_at,
        acknowledged: a.acknowledged_at !== null,
        dirty: false,
      });
      // What the rule was when the alert began, so a rule edited while the hub was down ends it.
      const rule = rules.find((r) => r.id === a.rule_id);
      if (rule) snapshots.set(a.rule_id, { ...rule, metric: a.metric, op: a.op, threshold: a.threshold });
    }
    this.rules = snapshots;
    this.unsubscribe = this.deps.bus.subscribe((messages) => this.onMessages(messages));
    this.applyRules(rules, now);
    this.evaluateLatest(samples);
    this.evaluateStanding(now);
    // Spend is summed from the stored calls, so a firing spend alert is still firing after a restart.
    await this.evaluateSpend(now);
    this.kick();
    await this.idle();
    this.timer = setInterval(() => void this.tick().catch(this.options.onError), this.options.everyMs);
    this.timer.unref();
    this.running = true;
  }

  /** Stops the timer and listening, then commits the alert writes already decided. */
  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.ticking.catch(() => undefined);
    await this.idle();
  }

  /**
   * Rereads rules and silences, then evaluates what time decides. Runs on the timer; the API calls
   * it after changing rules or silences, and tests call it after moving their clock.
   */
  tick(): Promise<void> {
    if (!this.running) return Promise.resolve();
    // One tick at a time; a failed tick (the store was down) must not stop the ones after it.
    this.ticking = this.ticking.catch(() => undefined).then(() => this.runTick());
    return this.ticking;
  }

  /** Resolves when every alert write decided so far has committed (or is waiting for the store to return). */
  async idle(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  private async runTick(): Promise<void> {
    const now = this.deps.clock.now();
    const [rules, silences, muted] = await Promise.all([
      listRules(this.deps.db),
      listSilences(this.deps.db, { activeAt: now, limit: 10_000 }),
      mutedAgents(this.deps.db),
    ]);
    this.silences = silences;
    // Pauses and deletions made elsewhere (the CLI, another hub) take effect here within a tick.
    for (const id of muted) if (!this.muted.has(id)) this.mute(id);
    for (const id of [...this.muted]) if (!muted.has(id)) this.unmute(id, now);
    this.applyRules(rules, now);
    this.evaluateStanding(now);
    await this.evaluateSpend(now);
    for (const [k, t] of [...this.tracked]) {
      const [ruleId, agentId] = splitKey(k);
      const rule = this.rules.get(ruleId);
      if (!rule || metricSource(rule.metric) !== 'sample') continue;
      if (!inScope(rule.scope, agentId, this.agents.get(agentId))) this.observe(rule, agentId, null, now);
      // No new sample: the latest value stands, and a breach that has now lasted long enough fires.
      else this.observe(rule, agentId, t.state.value, now);
    }
    this.notifications(now);
    this.flushValues(now);
    this.waitForTimer = false;
    this.kick();
    await this.idle();
    await this.forgetOldErrorCounts(now);
  }

  /** Deletes stored error counts that have left the `error_rate` window, at most once per tick and only when there are some. */
  private async forgetOldErrorCounts(now: number): Promise<void> {
    const cutoff = secondOf(now - ERROR_RATE_WINDOW_MS);
    if (this.oldestErrorCount === undefined || this.oldestErrorCount > cutoff) return;
    await submitAlertAction(this.deps.writer, { type: 'forget_error_counts', beforeSecond: cutoff + 1 });
    // Reports may have arrived since; the oldest that can remain is just inside the window.
    this.oldestErrorCount = this.errorRate.active(now) ? cutoff + 1 : undefined;
  }

  private onMessages(messages: readonly LiveMessage[]): void {
    for (const m of messages) {
      switch (m.type) {
        case 'metrics_update': {
          this.agentView(m.agent_id);
          for (const rule of this.rules.values()) {
            if (!rule.enabled || metricSource(rule.metric) !== 'sample') continue;
            if (!inScope(rule.scope, m.agent_id, this.agents.get(m.agent_id))) continue;
            const value = sampleValue(rule.metric, m.resources, m.metrics);
            if (value !== undefined) this.observe(rule, m.agent_id, value, m.received_at);
          }
          break;
        }
        case 'error':
          this.agentView(m.agent_id);
          // A report that opened a new group (its first occurrence) adds one unresolved error.
          if (m.occurrences === 1) this.unresolvedOf(m.agent_id).add(m.id);
          this.errorRate.record(m.agent_id, m.received_at);
          this.oldestErrorCount ??= secondOf(m.received_at);
          this.evaluateAgent(m.agent_id, m.received_at, ['unresolved_errors', 'error_rate']);
          break;
        case 'error_resolved':
          this.unresolved.get(m.agent_id)?.delete(m.id);
          this.evaluateAgent(m.agent_id, m.resolved_at, ['unresolved_errors']);
          break;
        case 'error_reopened':
          this.agentView(m.agent_id);
          // A merged row is gone; the open group it joined counts once, whether or not it was counted already.
          if (m.removed_id !== null) this.unresolved.get(m.agent_id)?.delete(m.removed_id);
          this.unresolvedOf(m.agent_id).add(m.error.id);
          this.evaluateAgent(m.agent_id, m.reopened_at, ['unresolved_errors']);
          break;
        case 'agent_status': {
          const view = this.agentView(m.agent_id);
          if (m.pool_name !== undefined) view.pool = m.pool_name;
          if (m.agent_type !== undefined) view.type = m.agent_type;
          Object.assign(view, offlineFlags(m.status, m.reason));
          if (m.status === 'offline') {
            // An agent that stopped reporting supports no CPU or memory alert any more.
            for (const rule of this.rules.values()) {
              if (metricSource(rule.metric) === 'sample' && this.tracked.has(key(rule.id, m.agent_id)))
                this.observe(rule, m.agent_id, null, m.at);
            }
          }
          this.evaluateAgent(m.agent_id, m.at, ['offline', 'crashed']);
          break;
        }
        case 'agent_updated':
          if (m.paused) this.mute(m.agent_id);
          else this.unmute(m.agent_id, m.at);
          break;
        case 'agent_removed':
          this.mute(m.agent_id);
          this.agents.delete(m.agent_id);
          this.unresolved.delete(m.agent_id);
          break;
        case 'alert':
          // Ended by a pause or a deletion, in the store: whoever heard it fire hears it end.
          // The retirement's own transaction logged those notifications in the outbox; send them now.
          if (m.change === 'resolved' && retired(m.alert) && m.alert.notified_at !== null) void this.deps.notifier.resume();
          // Only an open alert's acknowledgement counts: acknowledging an old, resolved one says nothing of today's.
          if (m.change === 'acknowledged' && m.alert.state !== 'resolved') {
            const t = this.tracked.get(key(m.alert.rule_id, m.alert.agent_id));
            if (t) t.acknowledged = true;
          }
          break;
        case 'llm_activity':
          this.spendSoon();
          break;
        case 'event':
          break;
        default:
          return unhandled(m);
      }
    }
    this.kick();
  }

  /** Forgets an agent's alert states (the store ended them) and drops its writes not yet sent. */
  private mute(agentId: string): void {
    this.muted.add(agentId);
    for (const k of [...this.tracked.keys()]) if (splitKey(k)[1] === agentId) this.tracked.delete(k);
    this.outbox = this.outbox.filter((w) => w.agentId !== agentId);
  }

  /** Monitoring resumed (or a deleted agent came back): what stands now is evaluated at once. */
  private unmute(agentId: string, at: number): void {
    if (!this.muted.delete(agentId)) return;
    this.evaluateAgent(agentId, at, ['unresolved_errors', 'error_rate', 'offline', 'crashed']);
  }

  private agentView(agentId: string): AgentView {
    let view = this.agents.get(agentId);
    if (!view) this.agents.set(agentId, (view = { pool: undefined, type: undefined, offline: 0, crashed: 0 }));
    return view;
  }

  private unresolvedOf(agentId: string): Set<number> {
    let set = this.unresolved.get(agentId);
    if (!set) this.unresolved.set(agentId, (set = new Set()));
    return set;
  }

  /** The current value of a metric the hub itself knows (errors, liveness). */
  private standingValue(rule: AlertRule, agentId: string, now: number): number | undefined {
    switch (metricSource(rule.metric)) {
      case 'unresolved_errors':
        return this.unresolved.get(agentId)?.size ?? 0;
      case 'error_rate':
        return this.errorRate.rate(agentId, now);
      case 'offline':
        return this.agents.get(agentId)?.offline ?? 0;
      case 'crashed':
        return this.agents.get(agentId)?.crashed ?? 0;
      case 'sample':
      case 'spend':
        return undefined;
    }
  }

  private evaluateAgent(agentId: string, at: number, sources: readonly string[]): void {
    for (const rule of this.rules.values()) {
      if (!rule.enabled || !sources.includes(metricSource(rule.metric))) continue;
      if (!inScope(rule.scope, agentId, this.agents.get(agentId))) continue;
      const value = this.standingValue(rule, agentId, at);
      if (value !== undefined) this.observe(rule, agentId, value, at);
    }
  }

  /**
   * Each agent's last stored heartbeat against the rules it has no open alert for: a hub killed
   * between committing a heartbeat and committing the alert it raised decides that alert now, as it
   * would have then (same value, same time). What was already decided is open and tracked, or was
   * ended by a later heartbeat, so this changes nothing else.
   */
  private evaluateLatest(samples: readonly LatestSample[]): void {
    for (const s of samples) {
      for (const rule of this.rules.values()) {
        if (!rule.enabled || metricSource(rule.metric) !== 'sample' || this.tracked.has(key(rule.id, s.agent_id))) continue;
        if (!inScope(rule.scope, s.agent_id, this.agents.get(s.agent_id))) continue;
        const value = sampleValue(rule.metric, s.resources, s.metrics);
        if (value !== undefined) this.observe(rule, s.agent_id, value, s.received_at);
      }
    }
  }

  /** Every agent against every rule on a standing metric: in memory, no statement per agent. */
  private evaluateStanding(now: number): void {
    for (const agentId of this.agents.keys()) this.evaluateAgent(agentId, now, ['unresolved_errors', 'error_rate', 'offline', 'crashed']);
  }

  /**
   * Every spend rule against the LLM calls stored in its window: one GROUP BY statement per window
   * length (not per agent, not per rule), then per agent or per pool in memory. A pool's alert is
   * keyed `pool:<name>` and sums the pool's agents in the rule's scope. What no longer has anything
   * in scope (an agent moved, a pool emptied) ends with `no_data`.
   */
  private async evaluateSpend(now: number): Promise<void> {
    const rules = [...this.rules.values()].filter((r) => r.enabled && isWindowedMetric(r.metric) && r.window_seconds !== null);
    if (rules.length === 0) return;
    const sums = new Map<number, Map<string, AgentSpend>>();
    for (const w of new Set(rules.map((r) => r.window_seconds as number))) {
      const rows = await spendByAgent(this.deps.db, now - w * 1000, now);
      sums.set(w, new Map(rows.map((r) => [r.agent_id, r])));
    }
    for (const rule of rules) {
      // The rule set may have been replaced while the statements ran; the newer set is evaluated on its own.
      if (this.rules.get(rule.id) !== rule || !isWindowedMetric(rule.metric)) continue;
      const metric = rule.metric;
      const byAgent = sums.get(rule.window_seconds as number) ?? new Map<string, AgentSpend>();
      const values = new Map<string, number>();
      if (rule.group_by === 'pool') {
        const pools = new Map<string, Omit<AgentSpend, 'agent_id'>>();
        for (const [agentId, view] of this.agents) {
          // A paused agent's calls still cost the pool money: pausing mutes the agent's own alerts only.
          if (view.pool === undefined || !inScope(rule.scope, agentId, view)) continue;
          pools.set(view.pool, addSpend(pools.get(view.pool) ?? NO_SPEND, byAgent.get(agentId) ?? NO_SPEND));
        }
        for (const [pool, spend] of pools) values.set(poolAlertKey(pool), spendValue(metric, spend));
      } else {
        for (const [agentId, view] of this.agents) {
          if (inScope(rule.scope, agentId, view)) values.set(agentId, spendValue(metric, byAgent.get(agentId) ?? NO_SPEND));
        }
      }
      for (const [subject, value] of values) this.observe(rule, subject, value, now);
      for (const k of [...this.tracked.keys()]) {
        const [ruleId, subject] = splitKey(k);
        if (ruleId === rule.id && !values.has(subject)) this.observe(rule, subject, null, now);
      }
    }
  }

  /** New LLM calls committed: evaluates spend after the current tick, once however many arrive meanwhile. */
  private spendSoon(): void {
    if (this.spendQueued || !this.timer) return;
    this.spendQueued = true;
    this.ticking = this.ticking
      .catch(() => undefined)
      .then(async () => {
        this.spendQueued = false;
        await this.evaluateSpend(this.deps.clock.now());
        this.kick();
      })
      .catch(this.options.onError);
  }

  /** Takes the new rule set; open alerts of a rule that went away, was disabled or changed its condition end. */
  private applyRules(rules: readonly AlertRule[], now: number): void {
    const next = new Map(rules.map((r) => [r.id, r]));
    for (const [k, t] of [...this.tracked]) {
      const [ruleId, agentId] = splitKey(k);
      const before = this.rules.get(ruleId);
      const after = next.get(ruleId);
      if (!after) this.end(ruleId, agentId, t, 'rule_deleted', now);
      else if (!after.enabled || !before || conditionChanged(before, after)) this.end(ruleId, agentId, t, 'rule_changed', now);
    }
    this.rules = next;
  }

  private end(ruleId: number, agentId: string, t: Tracked, reason: 'rule_deleted' | 'rule_changed', now: number): void {
    this.tracked.delete(key(ruleId, agentId));
    if (t.state.phase === 'pending') this.outbox.push({ change: 'cancelled', ruleId, agentId });
    else this.outbox.push({ change: 'resolved', ruleId, agentId, at: now, value: t.state.value, peak: t.state.peak, reason });
  }

  private silenced(ruleId: number, agentId: string, at: number): boolean {
    return this.silences.some(
      (s) => s.until > at && (s.rule_id === null || s.rule_id === ruleId) && (s.agent_id === null || s.agent_id === agentId),
    );
  }

  /** Feeds one observation to the (rule, agent) state machine and queues the write its change needs. */
  private observe(rule: AlertRule, agentId: string, value: number | null, at: number): void {
    if (this.muted.has(agentId)) return;
    const k = key(rule.id, agentId);
    const t = this.tracked.get(k);
    const prev: AlertState = t?.state ?? OK;
    const { state, change } = step(condition(rule), prev, value, at);
    if (state.phase === 'ok') this.tracked.delete(k);
    switch (change) {
      case null:
        if (t && state.phase !== 'ok' && (state.value !== t.state.value || state.peak !== t.state.peak)) {
          t.state = state;
          t.dirty = true;
        }
        return;
      case 'pending':
        if (state.phase !== 'pending') return;
        this.tracked.set(k, { state, notifiedAt: null, acknowledged: false, dirty: false });
        this.outbox.push({ change: 'pending', rule: snapshot(rule), agentId, at, value: state.value });
        return;
      case 'cancelled':
        this.outbox.push({ change: 'cancelled', ruleId: rule.id, agentId });
        return;
      case 'firing': {
        if (state.phase !== 'firing') return;
        const notify = !this.silenced(rule.id, agentId, at);
        // Acknowledged while pending: the firing is still news, its repeats are not.
        this.tracked.set(k, { state, notifiedAt: notify ? at : null, acknowledged: t?.acknowledged ?? false, dirty: false });
        this.outbox.push({
          change: 'firing',
          rule: snapshot(rule),
          agentId,
          at,
          pendingSince: state.since,
          value: state.valueAtFire,
          peak: state.peak,
          notify,
        });
        return;
      }
      case 'resolved': {
        if (prev.phase !== 'firing') return;
        const reason = value === null ? 'no_data' : 'recovered';
        this.outbox.push({ change: 'resolved', ruleId: rule.id, agentId, at, value, peak: prev.peak, reason });
        return;
      }
    }
  }

  /** Tells people about firing alerts a silence held back, and repeats unacknowledged ones. */
  private notifications(now: number): void {
    for (const [k, t] of this.tracked) {
      if (t.state.phase !== 'firing' || t.acknowledged) continue;
      const [ruleId, agentId] = splitKey(k);
      const due = t.notifiedAt === null || (this.options.renotifyMs > 0 && now - t.notifiedAt >= this.options.renotifyMs);
      if (!due || this.silenced(ruleId, agentId, now)) continue;
      this.outbox.push({ change: 'notified', ruleId, agentId, at: now, repeat: t.notifiedAt !== null });
      t.notifiedAt = now;
    }
  }

  /** Stores moved values and peaks once per tick rather than once per heartbeat. */
  private flushValues(now: number): void {
    for (const [k, t] of this.tracked) {
      if (!t.dirty) continue;
      const [ruleId, agentId] = splitKey(k);
      this.outbox.push({ change: 'values', ruleId, agentId, at: now, value: t.state.value, peak: t.state.peak });
      t.dirty = false;
    }
  }

  private kick(): void {
    if (this.pumping || this.waitForTimer || this.outbox.length === 0) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      this.kick();
    });
  }

  private async pump(): Promise<void> {
    while (this.outbox.length > 0) {
      const writes = this.outbox.splice(0, MAX_WRITES_PER_COMMAND);
      let deliveries;
      try {
        ({ deliveries } = await submitAlertAction(this.deps.writer, { type: 'write_alerts', writes }));
      } catch (err) {
        if (err instanceof VigilError && (err.code === 'VIGIL_STORE_UNAVAILABLE' || err.code === 'VIGIL_INGEST_QUEUE_FULL')) {
          // Kept in order and retried by the timer: alert history must not lose a firing or a resolve.
          this.outbox.unshift(...writes);
          this.waitForTimer = true;
          return;
        }
        this.options.onError(err);
        continue;
      }
      if (deliveries.length > 0) this.deps.notifier.send(deliveries);
    }
  }
}

const retired = (alert: Alert): boolean => alert.resolve_reason === 'agent_deleted' || alert.resolve_reason === 'agent_paused';

function splitKey(k: string): [number, string] {
  const i = k.indexOf('\u0000');
  return [Number(k.slice(0, i)), k.slice(i + 1)];
}

function unhandled(m: never): never {
  throw new Error(`unhandled live message ${JSON.stringify(m)}`);
}
