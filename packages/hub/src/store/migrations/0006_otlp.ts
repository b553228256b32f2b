import type { Migration } from './types.js';

/**
 * OpenTelemetry ingest (docs/otlp.md). LLM calls keep the four token counts apart (Anthropic's input
 * count excludes cached tokens), their operation and where they came from; agents get the time of
 * their last LLM activity (busy/idle). Other OTLP metrics land in a narrow series dictionary plus
 * points; a series keeps its cumulative state (start time, last value) so a cumulative point becomes
 * a correct increase, and a point is stored once per (series, time in nanoseconds).
 */
export const otlpSchema: Migration = {
  version: 6,
  name: 'OTLP ingest: LLM call columns, LLM activity, metric series and points',
  statements: (t) => [
    `ALTER TABLE llm_traces ADD COLUMN cache_read_tokens ${t.bigint}`,
    `ALTER TABLE llm_traces ADD COLUMN cache_creation_tokens ${t.bigint}`,
    `ALTER TABLE llm_traces ADD COLUMN operation TEXT`,
    `ALTER TABLE llm_traces ADD COLUMN source TEXT`,
    // The usage aggregate reads calls by their own time across the fleet.
    `CREATE INDEX idx_llm_traces_time ON llm_traces (timestamp)`,
    `ALTER TABLE agents ADD COLUMN last_llm_activity_at ${t.bigint}`,
    // Any OTLP data at all, for the "telemetry silent" flag of agents expected to send some.
    `ALTER TABLE agents ADD COLUMN last_telemetry_at ${t.bigint}`,
    `CREATE TABLE otlp_series (
      id ${t.id},
      agent_id TEXT NOT NULL REFERENCES agents (agent_id),
      name TEXT NOT NULL,
      unit TEXT NOT NULL,
      kind TEXT NOT NULL,
      temporality INTEGER NOT NULL,
      attributes ${t.json} NOT NULL,
      attributes_hash TEXT NOT NULL,
      start_ns ${t.bigint},
      last_time_ns ${t.bigint},
      last_value ${t.double},
      created_at ${t.bigint} NOT NULL
    )`,
    `CREATE UNIQUE INDEX idx_otlp_series_key ON otlp_series (agent_id, name, attributes_hash)`,
    `CREATE TABLE otlp_points (
      id ${t.id},
      series_id ${t.bigint} NOT NULL REFERENCES otlp_series (id),
      time_ns ${t.bigint} NOT NULL,
      timestamp ${t.bigint} NOT NULL,
      value ${t.double} NOT NULL,
      increase ${t.double},
      received_at ${t.bigint} NOT NULL
    )`,
    `CREATE UNIQUE INDEX idx_otlp_points_key ON otlp_points (series_id, time_ns)`,
    `CREATE INDEX idx_otlp_points_received ON otlp_points (received_at)`,
  ],
};
