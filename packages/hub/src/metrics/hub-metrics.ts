import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Dialect, SqlExecutor } from '../store/db.js';
import { committedMaxId } from '../store/id-horizon.js';
import { agentFigures, fleetGroups, llmSumsAfter } from '../store/fleet-metrics.js';

/** What the hub's parts report to, so that none of them needs to know about Prometheus. */
export interface MetricsHooks {
  /** The writer committed a batch of `commands` in `seconds` (or failed to, when `ok` is false). */
  batchCommitted(commands: number, seconds: number, ok: boolean): void;
  /** A request was answered with an error code. */
  refused(code: string): void;
  /** A retention batch deleted `rows` rows of `table`. */
  purged(table: string, rows: number): void;
  /** A rollup step wrote `rows` minute rows of `series` (late recomputations included). */
  rolledUp(series: string, rows: number): void;
  /** A retention pass made and dropped daily partitions (PostgreSQL, store/partitions.ts). */
  partitions(created: number, dropped: number): void;
}

/** Figures the hub reads from its own parts when scraped. */
export interface MetricsSources {
  queueDepth(): number;
  queueCapacity(): number;
  liveSockets(): number;
  liveDropped(): number;
}

export interface HubMetricsOptions {
  db: SqlExecutor & { readonly dialect: Dialect };
  sources: MetricsSources;
  /** False leaves out per-agent series (a very large fleet): pools, types and models remain. */
  perAgent: boolean;
  /** How long one read of the fleet answers scrapes (several Prometheus servers, a dashboard). */
  cacheMs?: number;
  now?: () => number;
}

const MB = 1024 * 1024;
const GB = 1024 * MB;

/**
 * The hub's Prometheus metrics on a private registry (several hubs in one process stay apart). Its
 * own counters are fed through `MetricsHooks`; the fleet's gauges are read from the store at scrape
 * time in a few set-based statements, at most once per `cacheMs`. LLM counters are running sums of
 * the llm_traces rows read by id (each read adds the rows stored since the last one), so a
 * retention purge never makes a counter go down.
 */
export class HubMetrics implements MetricsHooks {
  readonly registry = new Registry();
  private readonly cacheMs: number;
  private readonly now: () => number;
  private refreshedAt = -Infinity;
  private refreshing: Promise<void> | undefined;
  private llmAfterId = 0;

  private readonly batchCommands: Histogram;
  private readonly commitSeconds: Histogram;
  private readonly failedBatches: Counter;
  private readonly refusedRequests: Counter;
  private readonly purgedRows: Counter;
  private readonly partitionChanges: Counter;
  private readonly rolledRows: Counter;
  private readonly agents: Gauge;
  private readonly unresolvedErrors: Gauge;
  private readonly firingAlerts: Gauge;
  private readonly agentCpu: Gauge;
  private readonly agentMemory: Gauge;
  private readonly agentVram: Gauge;
  private readonly agentErrors: Gauge;
  private readonly agentAlerts: Gauge;
  private readonly llmCalls: Counter;
  private readonly llmErrors: Counter;
  private readonly llmTokens: Counter;
  private readonly llmCost: Counter;

  constructor(private readonly options: HubMetricsOptions) {
    this.cacheMs = options.cacheMs ?? 5_000;
    this.now = options.now ?? Date.now;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'vigil_' });
    // Gauges whose names end in _total, which Prometheus reserves for counters (promtool refuses
    // them); their per-type companions (vigil_nodejs_active_handles{type}) stay.
    for (const kind of ['handles', 'requests', 'resources']) this.registry.removeSingleMetric(`vigil_nodejs_active_${kind}_total`);
    const { sources } = options;
    const agentLabels = options.perAgent ? ['pool', 'agent_id', 'model'] : ['pool', 'model'];

    new Gauge({
      name: 'vigil_ingest_queue_depth',
      help: 'Client commands waiting for a commit',
      registers,
      collect() {
        this.set(sources.queueDepth());
      },
    });
    new Gauge({
      name: 'vigil_ingest_queue_capacity',
      help: 'Most client commands that may wait at once (--queue-capacity)',
      registers,
      collect() {
        this.set(sources.queueCapacity());
      },
    });
    this.batchCommands = new Histogram({
      name: 'vigil_writer_batch_commands',
      help: 'Commands per committed transaction (group commit)',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers,
    });
    this.commitSeconds = new Histogram({
      name: 'vigil_writer_commit_seconds',
      help: 'Time from BEGIN to COMMIT of one batch',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.failedBatches = new Counter({ name: 'vigil_writer_failed_batches_total', help: 'Batches that did not commit', registers });
    this.refusedRequests = new Counter({
      name: 'vigil_http_refused_requests_total',
      help: 'Requests answered with an error, by its code (docs/errors.md)',
      labelNames: ['code'],
      registers,
    });
    new Gauge({
      name: 'vigil_live_clients',
      help: 'Open live-feed WebSockets',
      registers,
      collect() {
        this.set(sources.liveSockets());
      },
    });
    new Counter({
      name: 'vigil_live_dropped_clients_total',
      help: 'Live-feed WebSockets closed for not reading',
      registers,
      collect() {
        this.reset();
        this.inc(sources.liveDropped());
      },
    });
    this.purgedRows = new Counter({
      name: 'vigil_retention_purged_rows_total',
      help: 'Rows deleted for being past retention, by table',
      labelNames: ['table'],
      registers,
    });
    this.partitionChanges = new Counter({
      name: 'vigil_partitions_total',
      help: 'Daily partitions made ahead and dropped past retention (PostgreSQL), by action',
      labelNames: ['action'],
      registers,
    });
    this.rolledRows = new Counter({
      name: 'vigil_rollup_hour_rows_total',
      help: 'Hourly rollup rows written (raw minutes folded in, or recomputed for late rows), by series',
      labelNames: ['series'],
      registers,
    });

    this.agents = new Gauge({
      name: 'vigil_agents',
      help: 'Agents by status, pool and type',
      labelNames: ['status', 'pool', 'type'],
      registers,
    });
    this.unresolvedErrors = new Gauge({
      name: 'vigil_unresolved_errors',
      help: 'Unresolved error groups, by pool',
      labelNames: ['pool'],
      registers,
    });
    this.firingAlerts = new Gauge({ name: 'vigil_firing_alerts', help: 'Firing alerts, by pool', labelNames: ['pool'], registers });
    const perAgentGauge = (name: string, help: string) =>
      new Gauge({ name, help, labelNames: ['pool', 'agent_id'], registers: options.perAgent ? registers : [] });
    this.agentCpu = perAgentGauge('vigil_agent_cpu_percent', "The agent's last reported CPU use, percent of one core");
    this.agentMemory = perAgentGauge('vigil_agent_memory_bytes', "The agent's last reported memory use");
    this.agentVram = perAgentGauge('vigil_agent_gpu_vram_available_bytes', 'GPU memory the agent last reported available');
    this.agentErrors = perAgentGauge('vigil_agent_unresolved_errors', "The agent's unresolved error groups");
    this.agentAlerts = perAgentGauge('vigil_agent_firing_alerts', "The agent's firing alerts");
    this.llmCalls = new Counter({ name: 'vigil_llm_calls_total', help: 'LLM calls stored', labelNames: agentLabels, registers });
    this.llmErrors = new Counter({
      name: 'vigil_llm_errors_total',
      help: 'LLM calls stored with status error',
      labelNames: agentLabels,
      registers,
    });
    this.llmTokens = new Counter({
      name: 'vigil_llm_tokens_total',
      help: 'LLM tokens, by type (input, output, cache_read, cache_creation)',
      labelNames: [...agentLabels, 'type'],
      registers,
    });
    this.llmCost = new Counter({ name: 'vigil_llm_cost_usd_total', help: 'LLM cost in US dollars', labelNames: agentLabels, registers });
  }

  batchCommitted(commands: number, seconds: number, ok: boolean): void {
    if (!ok) {
      this.failedBatches.inc();
      return;
    }
    this.batchCommands.observe(commands);
    this.commitSeconds.observe(seconds);
  }

  refused(code: string): void {
    this.refusedRequests.inc({ code });
  }

  purged(table: string, rows: number): void {
    if (rows > 0) this.purgedRows.inc({ table }, rows);
  }

  rolledUp(series: string, rows: number): void {
    if (rows > 0) this.rolledRows.inc({ series }, rows);
  }

  partitions(created: number, dropped: number): void {
    if (created > 0) this.partitionChanges.inc({ action: 'created' }, created);
    if (dropped > 0) this.partitionChanges.inc({ action: 'dropped' }, dropped);
  }

  /** The exposition text and its content type; the fleet is read again when the last read is older than `cacheMs`. */
  async render(): Promise<{ contentType: string; text: string }> {
    if (this.now() - this.refreshedAt >= this.cacheMs) {
      // Concurrent scrapes share one read.
      this.refreshing ??= this.refresh().finally(() => (this.refreshing = undefined));
      await this.refreshing;
    }
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }

  private async refresh(): Promise<void> {
    const { db, perAgent } = this.options;
    const [groups, agents, llm] = await Promise.all([
      fleetGroups(db),
      perAgent ? agentFigures(db) : Promise.resolve([]),
      committedMaxId(db, db.dialect, 'llm_traces', this.llmAfterId).then((upTo) => llmSumsAfter(db, this.llmAfterId, upTo, perAgent)),
    ]);
    this.agents.reset();
    this.unresolvedErrors.reset();
    this.firingAlerts.reset();
    const errorsByPool = new Map<string, number>();
    const alertsByPool = new Map<string, number>();
    for (const g of groups) {
      this.agents.inc({ status: g.status, pool: g.pool, type: g.type }, g.agents);
      errorsByPool.set(g.pool, (errorsByPool.get(g.pool) ?? 0) + g.unresolvedErrors);
      alertsByPool.set(g.pool, (alertsByPool.get(g.pool) ?? 0) + g.firingAlerts);
    }
    for (const [pool, n] of errorsByPool) this.unresolvedErrors.set({ pool }, n);
    for (const [pool, n] of alertsByPool) this.firingAlerts.set({ pool }, n);

    for (const gauge of [this.agentCpu, this.agentMemory, this.agentVram, this.agentErrors, this.agentAlerts]) gauge.reset();
    for (const a of agents) {
      const labels = { pool: a.pool, agent_id: a.agentId };
      if (a.cpuPercent !== null) this.agentCpu.set(labels, a.cpuPercent);
      if (a.memoryMb !== null) this.agentMemory.set(labels, a.memoryMb * MB);
      if (a.gpuVramAvailableGb !== null) this.agentVram.set(labels, a.gpuVramAvailableGb * GB);
      this.agentErrors.set(labels, a.unresolvedErrors);
      this.agentAlerts.set(labels, a.firingAlerts);
    }

    // Counters only go up: each read adds what was stored since the last one to its series.
    for (const row of llm) {
      const labels: Record<string, string> = { pool: row.pool, model: row.model };
      if (row.agentId !== null) labels['agent_id'] = row.agentId;
      this.llmCalls.inc(labels, row.calls);
      this.llmErrors.inc(labels, row.errors);
      this.llmTokens.inc({ ...labels, type: 'input' }, row.inputTokens);
      this.llmTokens.inc({ ...labels, type: 'output' }, row.outputTokens);
      this.llmTokens.inc({ ...labels, type: 'cache_read' }, row.cacheReadTokens);
      this.llmTokens.inc({ ...labels, type: 'cache_creation' }, row.cacheCreationTokens);
      this.llmCost.inc(labels, row.costUsd);
      this.llmAfterId = Math.max(this.llmAfterId, row.maxId);
    }
    this.refreshedAt = this.now();
  }
}
