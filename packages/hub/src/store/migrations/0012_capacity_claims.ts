import type { Migration } from './types.js';

/**
 * Capacity claims: reservations of an agent's cores, memory and GPUs for a job, held for a lease.
 * `gpus` is the JSON array of the claimed GPUs (`{index, uuid}`; null when the agent reports no `gpus` array
 * and was judged as one GPU, or when no GPU was asked for); `gpu_vram_gb` is reserved on each of them.
 * A claim is active while `released_at` is null and `expires_at` is ahead: leases end by themselves,
 * so nothing has to sweep them. The partial index keeps "active claims of this agent" one index range.
 */
export const capacityClaims: Migration = {
  version: 12,
  name: 'capacity claims',
  statements: (t) => [
    `CREATE TABLE capacity_claims (
      claim_id TEXT PRIMARY KEY,
      agent_id TEXT NOT NULL REFERENCES agents(agent_id),
      pool_name TEXT NOT NULL,
      job TEXT NOT NULL,
      cpu_cores ${t.double} NOT NULL,
      memory_gb ${t.double} NOT NULL,
      gpu_vram_gb ${t.double} NOT NULL,
      gpu_count INTEGER NOT NULL,
      gpus ${t.json},
      claimed_by TEXT NOT NULL,
      created_at ${t.bigint} NOT NULL,
      expires_at ${t.bigint} NOT NULL,
      released_at ${t.bigint}
    )`,
    `CREATE INDEX idx_capacity_claims_active ON capacity_claims (agent_id, expires_at) WHERE released_at IS NULL`,
    `CREATE INDEX idx_capacity_claims_created ON capacity_claims (created_at)`,
  ],
};
