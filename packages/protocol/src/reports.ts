import { Type, type Static } from 'typebox';
import { AgentStatusSchema } from './agent.js';
import { AgentView, ErrorGroupView, EventView, nullable } from './views.js';

/**
 * What the hub answers about the database, LLM spend, metric history and the dashboard pages.
 */

/** One table of the storage report. */
export const TableReport = Type.Object(
  {
    table: Type.String(),
    rows: Type.Number(),
    rows_estimated: Type.Boolean(),
    bytes: nullable(Type.Number({ description: 'Table and indexes; null where the database cannot size one table alone' })),
    retention_days: nullable(Type.Number({ description: 'Days this table keeps (0: forever); null for tables retention does not purge' })),
    rows_per_day: nullable(Type.Number()),
    projected_bytes: nullable(Type.Number({ description: 'The size this table settles at under its retention' })),
    projection: Type.Enum(['measured_rate', 'current_size', 'not_enough_data', 'kept_forever', 'unknown_size']),
  },
  { additionalProperties: false },
);
export type TableReport = Static<typeof TableReport>;

/** One tier of metric history: its bytes per heartbeat (indexes included) and its size once retention is reached. */
export const TierReport = Type.Object(
  {
    tier: Type.Enum(['raw', '1h', 'event_ids']),
    table: Type.String(),
    bytes_per_heartbeat: nullable(Type.Number()),
    heartbeats_per_day: nullable(Type.Number({ description: "Heartbeats arriving a day (the raw tier's rows a day)" })),
    retention_days: nullable(Type.Number()),
    projected_bytes: nullable(Type.Number({ description: 'bytes per heartbeat × heartbeats a day × retention days' })),
  },
  { additionalProperties: false },
);
export type TierReport = Static<typeof TierReport>;

/** `GET /api/v1/storage`: what the database holds, and the size it settles at under retention. */
export const StorageReport = Type.Object(
  {
    dialect: Type.Enum(['sqlite', 'postgres']),
    method: Type.Enum(['dbstat', 'page_count', 'pg_total_relation_size']),
    at: Type.Number(),
    total_bytes: Type.Number(),
    sqlite: Type.Optional(
      Type.Object(
        {
          file_bytes: Type.Number(),
          wal_bytes: Type.Number(),
          free_bytes: Type.Number(),
          auto_vacuum: Type.Enum(['none', 'full', 'incremental']),
        },
        { additionalProperties: false },
      ),
    ),
    retention: Type.Object(
      {
        metrics_days: Type.Number(),
        events_days: Type.Number(),
        errors_days: Type.Number(),
        traces_days: Type.Number(),
        rollup_1h_days: Type.Number(),
      },
      { additionalProperties: false },
    ),
    tables: Type.Array(TableReport),
    tiers: Type.Array(TierReport),
    projected_total_bytes: nullable(Type.Number()),
    unprojected_tables: Type.Array(Type.String()),
    projection: Type.Object(
      {
        status: Type.Enum(['projected', 'partial', 'not_enough_data']),
        method: Type.String(),
        not_enough_data: Type.Array(Type.String()),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type StorageReport = Static<typeof StorageReport>;

export const USAGE_GROUPS = ['agent', 'model', 'pool'] as const;

/** LLM usage of one agent, model or pool over a range. */
export const UsageRow = Type.Object(
  {
    key: Type.String(),
    calls: Type.Number(),
    errors: Type.Number(),
    error_rate: Type.Number(),
    input_tokens: Type.Number(),
    output_tokens: Type.Number(),
    cache_read_tokens: Type.Number(),
    cache_creation_tokens: Type.Number(),
    cost_usd: Type.Number(),
    p50_latency_ms: nullable(Type.Number()),
    p95_latency_ms: nullable(Type.Number()),
  },
  { additionalProperties: false },
);
export type UsageRow = Static<typeof UsageRow>;

/** `GET /api/v1/llm/usage`. */
export const LlmUsage = Type.Object(
  { group_by: Type.Enum(USAGE_GROUPS), from: Type.Number(), to: Type.Number(), groups: Type.Array(UsageRow) },
  { additionalProperties: false },
);
export type LlmUsage = Static<typeof LlmUsage>;

/**
 * A range's resolution: raw samples, or buckets of a minute (from raw samples), an hour or a day
 * (from the hourly rollup). Longer ranges take coarser buckets so a chart stays about as many
 * points as it has pixels.
 */
export const RESOLUTIONS = ['raw', '1m', '1h', '1d'] as const;

/** min, max, average and latest value of one figure over a bucket. */
export const FigureStats = Type.Object(
  { min: Type.Number(), max: Type.Number(), avg: Type.Number(), last: nullable(Type.Number()) },
  { additionalProperties: false },
);

/** `{t, samples, <figure>: {min, max, avg, last} | null, …}`: one chart point. */
export const MetricPoint = Type.Object(
  { t: Type.Number({ description: "The bucket's start (a raw sample's receive time)" }), samples: Type.Number() },
  { additionalProperties: nullable(FigureStats), description: 'Each asked figure; null when no sample in the bucket had it' },
);
export type MetricPoint = Static<typeof MetricPoint> & Record<string, unknown>;

const rangeFields = {
  since: Type.Number(),
  until: Type.Number(),
  resolution: Type.Enum(RESOLUTIONS),
  bucket_ms: nullable(Type.Number({ description: 'Width of a bucket; null for raw samples' })),
  fields: Type.Array(Type.String()),
};

/** `GET /api/v1/agents/:agentId/metrics`. */
export const AgentMetricRange = Type.Object(
  { agent_id: Type.String(), ...rangeFields, points: Type.Array(MetricPoint) },
  { additionalProperties: false },
);
export type AgentMetricRange = Static<typeof AgentMetricRange>;

/** A figure over the fleet in one bucket. */
export const FleetFigureStats = Type.Object(
  {
    min: Type.Number(),
    max: Type.Number(),
    avg: Type.Number({ description: 'Every sample of every agent in the bucket, averaged' }),
    total: Type.Number({
      description: "Each agent's average over an hour, summed: the fleet's total (for a day, averaged over its hours)",
    }),
  },
  { additionalProperties: false },
);

/** `{t, agents, samples, <figure>: {min, max, avg, total} | null, …}`: one fleet chart point. */
export const FleetMetricPoint = Type.Object(
  {
    t: Type.Number({ description: "The bucket's start" }),
    agents: Type.Number({ description: "Agents with a sample in the bucket's busiest hour" }),
    samples: Type.Number(),
  },
  { additionalProperties: nullable(FleetFigureStats), description: 'Each asked figure; null when no sample in the bucket had it' },
);
export type FleetMetricPoint = Static<typeof FleetMetricPoint> & Record<string, unknown>;

/** `GET /api/v1/fleet/metrics`. */
export const FleetMetricRange = Type.Object(
  {
    since: Type.Number(),
    until: Type.Number(),
    resolution: Type.Enum(['1h', '1d']),
    bucket_ms: Type.Number({ description: 'Width of a bucket' }),
    fields: Type.Array(Type.String()),
    points: Type.Array(FleetMetricPoint),
  },
  { additionalProperties: false },
);
export type FleetMetricRange = Static<typeof FleetMetricRange>;

/** `GET /api/v1/system/metrics/range`. */
export const HostMetricRange = Type.Object(
  {
    ...rangeFields,
    hosts: Type.Array(Type.Object({ host: Type.String(), points: Type.Array(MetricPoint) }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);
export type HostMetricRange = Static<typeof HostMetricRange>;

const numOrNull = nullable(Type.Number());

/** One sample of a hub host (docs/seed-requirements.md, host metrics). */
export const SystemSample = Type.Object(
  {
    host: Type.String(),
    received_at: Type.Number(),
    cpu_percent: numOrNull,
    cpu_cores: numOrNull,
    cpu_load_1min: numOrNull,
    cpu_load_5min: numOrNull,
    cpu_load_15min: numOrNull,
    memory_used_bytes: numOrNull,
    memory_limit_bytes: numOrNull,
    memory_percent: numOrNull,
    disk_used_bytes: numOrNull,
    disk_total_bytes: numOrNull,
    io_read_bps: numOrNull,
    io_write_bps: numOrNull,
  },
  { additionalProperties: false },
);
export type SystemSample = Static<typeof SystemSample>;

/** One stored heartbeat sample of an agent (the monitoring API agent page, docs/seed-requirements.md). */
export const MetricSample = Type.Object(
  {
    id: Type.Integer(),
    agent_id: Type.String(),
    timestamp: numOrNull,
    received_at: Type.Number(),
    status: Type.String(),
    cpu_percent: numOrNull,
    memory_mb: numOrNull,
    message_count: numOrNull,
    error_count: numOrNull,
    io_read_bps: numOrNull,
    io_write_bps: numOrNull,
    host_cpu_percent: numOrNull,
    cpu_cores_physical: numOrNull,
    cpu_cores_available: numOrNull,
    cpu_load_1min: numOrNull,
    cpu_load_5min: numOrNull,
    memory_percent: numOrNull,
    memory_available_gb: numOrNull,
    gpu_vram_total_gb: numOrNull,
    gpu_vram_available_gb: numOrNull,
    gpu_type: nullable(Type.String()),
  },
  { additionalProperties: false },
);
export type MetricSample = Static<typeof MetricSample>;

/** Counts over the whole fleet. */
export const FleetSummary = Type.Object(
  {
    agents_total: Type.Number(),
    agents_online: Type.Number(),
    agents_busy: Type.Number(),
    agents_offline: Type.Number(),
    errors_active: Type.Number(),
  },
  { additionalProperties: false },
);
export type FleetSummary = Static<typeof FleetSummary>;

/** An agent on the fleet overview: the stored agent plus the monitoring API camelCase extras (docs/seed-requirements.md). */
export const DashboardAgent = Type.Object(
  {
    ...AgentView.properties,
    agentId: Type.String(),
    metrics: Type.Object(
      {
        cpuPercent: numOrNull,
        memoryMb: numOrNull,
        messageCount: numOrNull,
        errorCount: Type.Number(),
        status: AgentStatusSchema,
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type DashboardAgent = Static<typeof DashboardAgent>;

/** `GET /api/monitoring/dashboard`: the fleet overview (the monitoring API shape of docs/seed-requirements.md, paged by agent id). */
export const DashboardPage = Type.Object(
  {
    agents: Type.Array(DashboardAgent),
    recentEvents: Type.Array(EventView),
    activeErrors: Type.Array(Type.Object({ agent_id: Type.String(), count: Type.Number() }, { additionalProperties: false })),
    systemMetrics: Type.Object(
      { cpuUsage: Type.Number(), totalMemory: Type.Number(), freeMemory: Type.Number(), uptime: Type.Number() },
      { additionalProperties: false, description: "The hub's own host: load average, MB, seconds" },
    ),
    summary: FleetSummary,
    next_cursor: nullable(Type.String()),
    bytes_limited: Type.Boolean(),
    llm_busy_window_s: Type.Number({
      minimum: 0,
      description: "The hub's --llm-busy-window: an agent whose last LLM activity is this recent counts as busy",
    }),
  },
  { additionalProperties: false },
);
export type DashboardPage = Static<typeof DashboardPage>;

/** `GET /api/monitoring/agents/:agentId`: the last hour of samples, 50 events and 20 error groups. */
export const AgentDashboard = Type.Object(
  { agentId: Type.String(), metrics: Type.Array(MetricSample), events: Type.Array(EventView), errors: Type.Array(ErrorGroupView) },
  { additionalProperties: false },
);
export type AgentDashboard = Static<typeof AgentDashboard>;

/** `GET /healthz`. */
export const Health = Type.Object(
  {
    status: Type.Enum(['ok', 'degraded']),
    uptime_s: Type.Number(),
    hub_id: Type.String({ description: "This hub's id among several on one PostgreSQL database ('local' for a hub alone)" }),
    jobs: Type.Object(
      {
        runs_here: Type.Boolean({ description: 'This hub runs liveness, alert timers, retention and rollups' }),
        owner: nullable(
          Type.String({
            description: 'The id of the hub that runs them; null while none holds the job lock (a handover) or it could not be asked',
          }),
        ),
      },
      { additionalProperties: false },
    ),
    store: Type.Object(
      {
        dialect: Type.Enum(['sqlite', 'postgres']),
        ok: Type.Boolean({ description: 'The last commit succeeded' }),
        error: Type.Optional(Type.String({ description: 'Why the last commit failed (a code)' })),
        since: Type.Optional(Type.Number()),
        durability: Type.Object(
          { level: Type.Enum(['full', 'degraded', 'unknown']), detail: Type.String() },
          { additionalProperties: false },
        ),
        corruption: Type.Optional(
          Type.Object({ code: Type.String(), since: Type.Number(), advice: Type.String() }, { additionalProperties: false }),
        ),
      },
      { additionalProperties: false },
    ),
    queue: Type.Object({ depth: Type.Number(), capacity: Type.Number() }, { additionalProperties: false }),
  },
  { additionalProperties: false },
);
export type Health = Static<typeof Health>;
