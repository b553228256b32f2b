import type { Migration } from './types.js';

// Times are epoch milliseconds (UTC). `timestamp` is what the agent said, `received_at` the hub's
// clock when the request arrived; liveness and retention use the hub's clock only.
export const initialSchema: Migration = {
  version: 1,
  name: 'initial schema',
  statements: (t) => [
    `CREATE TABLE agents (
      agent_id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      agent_type TEXT NOT NULL,
      pool_name TEXT NOT NULL DEFAULT 'default',
      capabilities ${t.json} NOT NULL DEFAULT '[]',
      status TEXT NOT NULL,
      offline_reason TEXT,
      last_heartbeat_at ${t.bigint},
      performance_score ${t.double} NOT NULL DEFAULT 1.0,
      resource_metrics ${t.json} NOT NULL DEFAULT '{}',
      metadata ${t.json} NOT NULL DEFAULT '{}',
      heartbeat_interval_s INTEGER NOT NULL DEFAULT 15,
      registered_at ${t.bigint} NOT NULL,
      updated_at ${t.bigint} NOT NULL,
      cpu_cores_available ${t.double},
      memory_available_gb ${t.double},
      gpu_vram_available_gb ${t.double},
      gpu_type TEXT,
      cpu_percent ${t.double},
      memory_mb ${t.double},
      message_count ${t.bigint}
    )`,
    `CREATE INDEX idx_agents_status_pool ON agents (status, pool_name)`,
    `CREATE INDEX idx_agents_pool ON agents (pool_name)`,
    t.postgresOnly(`CREATE INDEX idx_agents_resource_metrics ON agents USING GIN (resource_metrics)`),

    // The hot table stays numeric: JSON lives in the agent's latest-state row, not in every sample.
    `CREATE TABLE agent_metrics (
      id ${t.id},
      agent_id TEXT NOT NULL REFERENCES agents (agent_id),
      event_id TEXT,
      timestamp ${t.bigint},
      received_at ${t.bigint} NOT NULL,
      status TEXT NOT NULL,
      cpu_percent ${t.double},
      memory_mb ${t.double},
      message_count ${t.bigint},
      error_count ${t.bigint},
      io_read_bps ${t.double},
      io_write_bps ${t.double},
      host_cpu_percent ${t.double},
      cpu_cores_physical INTEGER,
      cpu_cores_available ${t.double},
      cpu_load_1min ${t.double},
      cpu_load_5min ${t.double},
      memory_percent ${t.double},
      memory_available_gb ${t.double},
      gpu_vram_total_gb ${t.double},
      gpu_vram_available_gb ${t.double},
      gpu_type TEXT
    )`,
    `CREATE INDEX idx_agent_metrics_agent_time ON agent_metrics (agent_id, received_at)`,
    `CREATE UNIQUE INDEX idx_agent_metrics_event_id ON agent_metrics (agent_id, event_id)`,

    `CREATE TABLE system_metrics (
      id ${t.id},
      host TEXT NOT NULL,
      received_at ${t.bigint} NOT NULL,
      cpu_percent ${t.double},
      cpu_cores ${t.double},
      cpu_load_1min ${t.double},
      cpu_load_5min ${t.double},
      cpu_load_15min ${t.double},
      memory_used_bytes ${t.bigint},
      memory_limit_bytes ${t.bigint},
      memory_percent ${t.double},
      disk_used_bytes ${t.bigint},
      disk_total_bytes ${t.bigint},
      io_read_bps ${t.double},
      io_write_bps ${t.double}
    )`,
    `CREATE INDEX idx_system_metrics_time ON system_metrics (received_at)`,

    `CREATE TABLE agent_events (
      id ${t.id},
      agent_id TEXT NOT NULL REFERENCES agents (agent_id),
      event_id TEXT,
      event_type TEXT NOT NULL,
      message TEXT,
      metadata ${t.json} NOT NULL DEFAULT '{}',
      timestamp ${t.bigint} NOT NULL,
      received_at ${t.bigint} NOT NULL
    )`,
    `CREATE INDEX idx_agent_events_agent_type ON agent_events (agent_id, event_type)`,
    `CREATE INDEX idx_agent_events_agent_id ON agent_events (agent_id, id)`,
    `CREATE INDEX idx_agent_events_received ON agent_events (received_at)`,
    `CREATE UNIQUE INDEX idx_agent_events_event_id ON agent_events (agent_id, event_id)`,

    // One row per unresolved (agent, fingerprint): a loop of the same failure counts up.
    `CREATE TABLE error_logs (
      id ${t.id},
      agent_id TEXT NOT NULL REFERENCES agents (agent_id),
      error_type TEXT NOT NULL,
      message TEXT NOT NULL,
      stack_trace TEXT,
      metadata ${t.json} NOT NULL DEFAULT '{}',
      fingerprint TEXT NOT NULL,
      occurrences ${t.bigint} NOT NULL DEFAULT 1,
      timestamp ${t.bigint} NOT NULL,
      first_seen_at ${t.bigint} NOT NULL,
      last_seen_at ${t.bigint} NOT NULL,
      resolved ${t.bool} NOT NULL DEFAULT FALSE,
      resolved_at ${t.bigint}
    )`,
    `CREATE INDEX idx_error_logs_agent_resolved ON error_logs (agent_id, resolved)`,
    `CREATE INDEX idx_error_logs_resolved_seen ON error_logs (resolved, last_seen_at)`,
    `CREATE UNIQUE INDEX idx_error_logs_open_fingerprint ON error_logs (agent_id, fingerprint) WHERE resolved = FALSE`,
    // Idempotency for grouped errors: an occurrence's event_id is remembered even though it has no row.
    `CREATE TABLE error_event_ids (
      agent_id TEXT NOT NULL,
      event_id TEXT NOT NULL,
      error_id ${t.bigint} NOT NULL,
      received_at ${t.bigint} NOT NULL,
      PRIMARY KEY (agent_id, event_id)
    )`,

    `CREATE TABLE llm_traces (
      id ${t.id},
      agent_id TEXT NOT NULL REFERENCES agents (agent_id),
      event_id TEXT,
      trace_id TEXT,
      span_id TEXT,
      model TEXT,
      provider TEXT,
      input_tokens ${t.bigint},
      output_tokens ${t.bigint},
      cost_usd ${t.double},
      latency_ms ${t.double},
      status TEXT,
      error TEXT,
      attributes ${t.json} NOT NULL DEFAULT '{}',
      timestamp ${t.bigint} NOT NULL,
      received_at ${t.bigint} NOT NULL
    )`,
    `CREATE INDEX idx_llm_traces_agent_time ON llm_traces (agent_id, received_at)`,
    `CREATE UNIQUE INDEX idx_llm_traces_event_id ON llm_traces (agent_id, event_id)`,

    // Keys are stored as a SHA-256 of a 256-bit random secret, never in the clear.
    `CREATE TABLE api_keys (
      key_id TEXT PRIMARY KEY,
      prefix TEXT NOT NULL,
      key_hash TEXT NOT NULL UNIQUE,
      scope TEXT NOT NULL,
      scope_value TEXT NOT NULL,
      name TEXT,
      created_at ${t.bigint} NOT NULL,
      revoked_at ${t.bigint}
    )`,
  ],
};
