import type { Claim } from '@vigil/protocol';
import {
  activeHolds,
  ACTIVE_CLAIM,
  findCapacity,
  unreservedGpus,
  type ActiveHold,
  type CapacityMatch,
  type CapacityQuery,
} from './capacity.js';
import { agentListColumns, toListedAgent, type Agent, type AgentRow } from './agents.js';
import { jsonColumn, Where, type Dialect, type SqlExecutor } from './db.js';

/** What a claim asks for: the capacity query's filters, the job's name and how long to hold it. */
export interface ClaimRequest {
  query: Omit<CapacityQuery, 'limit'>;
  job: string;
  leaseMs: number;
  /** Who asked (`admin` or `pool:<name>`), kept with the claim for the operator. */
  claimedBy: string;
  now: number;
  /** Chosen by the caller, so a transaction tried again keeps the same id. */
  claimId: string;
}

/** Claims are answered in the wire contract's shape (times in epoch milliseconds). */
export type { Claim };
export type ClaimStatus = Claim['status'];
export type ClaimedGpu = NonNullable<Claim['gpus']>[number];

interface ClaimRow {
  claim_id: string;
  agent_id: string;
  pool_name: string;
  job: string;
  cpu_cores: number;
  memory_gb: number;
  gpu_vram_gb: number;
  gpu_count: number | string;
  gpus: unknown;
  claimed_by: string;
  created_at: number | string;
  expires_at: number | string;
  released_at: number | string | null;
}

const CLAIM_COLUMNS =
  'claim_id, agent_id, pool_name, job, cpu_cores, memory_gb, gpu_vram_gb, gpu_count, gpus, claimed_by, created_at, expires_at, released_at';

/** Agents a claim tries, best fit first, before it answers that nothing fits. */
const CANDIDATES = 100;

function toClaim(row: ClaimRow, now: number): Claim {
  const released = row.released_at === null ? null : Number(row.released_at);
  const expires = Number(row.expires_at);
  return {
    claim_id: row.claim_id,
    agent_id: row.agent_id,
    pool_name: row.pool_name,
    job: row.job,
    status: released !== null ? 'released' : expires <= now ? 'expired' : 'active',
    cpu_cores: Number(row.cpu_cores),
    memory_gb: Number(row.memory_gb),
    gpu_vram_gb: Number(row.gpu_vram_gb),
    gpu_count: Number(row.gpu_count),
    gpus: jsonColumn<ClaimedGpu[] | null>(row.gpus, null),
    claimed_by: row.claimed_by,
    created_at: Number(row.created_at),
    expires_at: expires,
    released_at: released,
  };
}

/** Runs `fn` in a transaction of its own (PostgreSQL), or inside the one already open (SQLite's writer). */
export type InTransaction = <T>(fn: (tx: SqlExecutor) => Promise<T>) => Promise<T>;

/**
 * Picks the best-fitting agent (and GPUs) for the request and records the reservation, or answers
 * undefined when nothing fits. Candidates come from the capacity query, then transactions of their own
 * lock an agent's row and only then read its active claims, in a second statement: under READ
 * COMMITTED that statement sees every claim committed by whoever held the lock before, so two hubs
 * never hand out the same capacity (one statement that locked and summed would read the claims from
 * its own older snapshot). Each transaction locks the best candidate no other claim holds (SKIP
 * LOCKED, in one statement: concurrent claims walk the same best-fit order, and a transaction for
 * each row passed over cost 28 transactions a claim at 50 clients, bench:claims); rows passed over
 * are tried again, waiting, before the answer is "no capacity". On SQLite the single writer runs the
 * whole claim in its transaction, so nothing can come between the read and the insert.
 */
export async function claimCapacity(
  read: SqlExecutor,
  dialect: Dialect,
  inTransaction: InTransaction,
  req: ClaimRequest,
): Promise<Claim | undefined> {
  let remaining: CapacityMatch[] = await findCapacity(read, dialect, { ...req.query, limit: CANDIDATES }, req.now);
  let passedOver: CapacityMatch[] = [];
  while (remaining.length > 0) {
    const ids = remaining.map((c) => c.agent_id);
    const outcome = await inTransaction((tx) => tryClaim(tx, dialect, ids, req, true));
    if (outcome === 'locked') {
      passedOver.push(...remaining);
      break;
    }
    if (outcome.claim) return outcome.claim;
    const at = ids.indexOf(outcome.agentId);
    passedOver.push(...remaining.slice(0, at));
    // A claim committed since the candidates were read took this agent's room. Under contention the
    // rest of the list is stale the same way, so it is judged again against the claims committed now,
    // in one read instead of a locking transaction each; the locked judgment still decides.
    remaining = await stillFitting(read, remaining.slice(at + 1), req);
  }
  passedOver = await stillFitting(read, passedOver, req);
  for (const { agent_id } of passedOver) {
    const outcome = await inTransaction((tx) => tryClaim(tx, dialect, [agent_id], req, false));
    if (outcome !== 'locked' && outcome.claim) return outcome.claim;
  }
  return undefined;
}

/** The candidates the request still fits once the claims committed by now are subtracted (without locks: a hint, not a decision). */
async function stillFitting(read: SqlExecutor, candidates: CapacityMatch[], req: ClaimRequest): Promise<CapacityMatch[]> {
  if (candidates.length === 0) return candidates;
  const holds = await activeHolds(
    read,
    candidates.map((c) => c.agent_id),
    req.now,
  );
  return candidates.filter((c) => judge(c, holds.get(c.agent_id) ?? [], req.query) !== 'no_fit');
}

interface Fit {
  cpu: number;
  memory: number;
  vram: number;
  gpuCount: number;
  gpus: ClaimedGpu[] | null;
}

/** What the request would reserve on this agent, whose active claims are `holds`, or `no_fit`. */
function judge(agent: Pick<Agent, 'resource_metrics'>, holds: readonly ActiveHold[], q: ClaimRequest['query']): Fit | 'no_fit' {
  const r = agent.resource_metrics;
  const held = (pick: (h: ActiveHold) => number) => holds.reduce((sum, h) => sum + pick(h), 0);
  const cpu = q.min_cpu_cores ?? 0;
  const memory = q.min_memory_gb ?? 0;
  if (q.min_cpu_cores !== undefined && (r.cpu_cores_available ?? 0) - held((h) => h.cpu_cores) < cpu) return 'no_fit';
  if (q.min_memory_gb !== undefined && (r.memory_available_gb ?? 0) - held((h) => h.memory_gb) < memory) return 'no_fit';
  const wantsGpu = q.min_gpu_vram_gb !== undefined || q.gpu_count !== undefined;
  const vram = q.min_gpu_vram_gb ?? 0;
  const gpuCount = wantsGpu ? (q.gpu_count ?? 1) : 0;
  let gpus: ClaimedGpu[] | null = null;
  if (wantsGpu) {
    const fitting = unreservedGpus(agent, holds, vram);
    if (fitting === null) {
      // Judged as one GPU by the scalar the agent reports.
      if (gpuCount > 1 || (r.gpu_vram_available_gb ?? 0) - held((h) => h.gpu_vram_gb * h.gpu_count) < vram) return 'no_fit';
    } else {
      if (fitting.length < gpuCount) return 'no_fit';
      gpus = fitting.slice(0, gpuCount).map(({ index, uuid }) => (uuid === undefined ? { index } : { index, uuid }));
    }
  }
  return { cpu, memory, vram, gpuCount, gpus };
}

/**
 * Locks the first of `agentIds` (in that order) that is still online and, under SKIP LOCKED, that no
 * other transaction holds; judges the request against its measured capacity less its active claims,
 * and records the claim if it fits. `locked`: no row could be locked (held by others, or gone).
 */
async function tryClaim(
  tx: SqlExecutor,
  dialect: Dialect,
  agentIds: readonly string[],
  req: ClaimRequest,
  skipLocked: boolean,
): Promise<{ agentId: string; claim?: Claim } | 'locked'> {
  const q = req.query;
  const w = new Where()
    .add(`agent_id IN (${agentIds.map(() => '?').join(', ')})`, ...agentIds)
    .add("status = 'online'")
    .add('deleted_at IS NULL');
  // The pool is checked again under the lock: it is what a pool key's claim is authorized by.
  if (q.pool !== undefined) w.add('pool_name = ?', q.pool);
  // The candidates' order, as literal positions (a bound THEN would be typed text on PostgreSQL and sort '10' before '2').
  const order = `CASE agent_id ${agentIds.map((_, i) => `WHEN ? THEN ${i}`).join(' ')} END`;
  const row = await tx.get<AgentRow>(
    `SELECT ${agentListColumns(dialect)} FROM agents ${w.sql()} ORDER BY ${order} LIMIT 1${skipLocked ? dialect.forUpdateSkipLocked : dialect.forUpdate}`,
    [...w.params, ...agentIds],
  );
  if (!row) return 'locked';
  const agentId = row.agent_id;
  const agent = toListedAgent(row);
  // The second statement: it reads the claims committed by whoever held this row's lock before.
  const holds = (await activeHolds(tx, [agentId], req.now)).get(agentId) ?? [];
  const fit = judge(agent, holds, req.query);
  if (fit === 'no_fit') return { agentId };
  const { cpu, memory, vram, gpuCount, gpus } = fit;
  const claim: ClaimRow = {
    claim_id: req.claimId,
    agent_id: agentId,
    pool_name: agent.pool_name,
    job: req.job,
    cpu_cores: cpu,
    memory_gb: memory,
    gpu_vram_gb: vram,
    gpu_count: gpuCount,
    gpus: gpus === null ? null : JSON.stringify(gpus),
    claimed_by: req.claimedBy,
    created_at: req.now,
    expires_at: req.now + req.leaseMs,
    released_at: null,
  };
  await tx.run(
    `INSERT INTO capacity_claims (${CLAIM_COLUMNS}) VALUES (${CLAIM_COLUMNS.split(',')
      .map(() => '?')
      .join(', ')})`,
    [
      claim.claim_id,
      claim.agent_id,
      claim.pool_name,
      claim.job,
      claim.cpu_cores,
      claim.memory_gb,
      claim.gpu_vram_gb,
      claim.gpu_count,
      claim.gpus,
      claim.claimed_by,
      claim.created_at,
      claim.expires_at,
      claim.released_at,
    ],
  );
  return { agentId, claim: { ...toClaim(claim, req.now), gpus } };
}

export type ClaimChange = { ok: true; claim: Claim } | { ok: false; code: 'VIGIL_CLAIM_NOT_FOUND' | 'VIGIL_CLAIM_ENDED' };

/**
 * Ends a claim now. Releasing a claim that has ended already answers it as it is (a retried release
 * is not an error); a pool key's `allowedPool` sees other pools' claims as missing.
 */
export async function releaseClaim(tx: SqlExecutor, claimId: string, now: number, allowedPool: string | undefined): Promise<ClaimChange> {
  const found = await getClaimRow(tx, claimId, allowedPool);
  if (!found) return { ok: false, code: 'VIGIL_CLAIM_NOT_FOUND' };
  if (found.released_at === null && Number(found.expires_at) > now) {
    await tx.run('UPDATE capacity_claims SET released_at = ? WHERE claim_id = ? AND released_at IS NULL', [now, claimId]);
    found.released_at = now;
  }
  return { ok: true, claim: toClaim(found, now) };
}

/** Extends an active claim's lease to `leaseMs` from now; a claim that has ended cannot come back (its capacity may be taken). */
export async function renewClaim(
  tx: SqlExecutor,
  claimId: string,
  leaseMs: number,
  now: number,
  allowedPool: string | undefined,
): Promise<ClaimChange> {
  const found = await getClaimRow(tx, claimId, allowedPool);
  if (!found) return { ok: false, code: 'VIGIL_CLAIM_NOT_FOUND' };
  const changed = await tx.run(`UPDATE capacity_claims SET expires_at = ? WHERE claim_id = ? AND ${ACTIVE_CLAIM}`, [
    now + leaseMs,
    claimId,
    now,
  ]);
  if (changed.changes === 0) return { ok: false, code: 'VIGIL_CLAIM_ENDED' };
  return { ok: true, claim: toClaim({ ...found, expires_at: now + leaseMs }, now) };
}

async function getClaimRow(db: SqlExecutor, claimId: string, allowedPool: string | undefined): Promise<ClaimRow | undefined> {
  const w = new Where().add('claim_id = ?', claimId);
  if (allowedPool !== undefined) w.add('pool_name = ?', allowedPool);
  return db.get<ClaimRow>(`SELECT ${CLAIM_COLUMNS} FROM capacity_claims ${w.sql()}`, w.params);
}

export async function getClaim(db: SqlExecutor, claimId: string, now: number, allowedPool: string | undefined): Promise<Claim | undefined> {
  const row = await getClaimRow(db, claimId, allowedPool);
  return row && toClaim(row, now);
}

export interface ClaimFilter {
  status?: ClaimStatus | 'all' | undefined;
  agentId?: string | undefined;
  pool?: string | undefined;
  /** Claims created before this (created_at, claim_id) pair: the next page. */
  before?: { createdAt: number; claimId: string } | undefined;
  limit: number;
}

/** Claims newest first; `limit + 1` rows are read so the caller knows whether another page follows. */
export async function listClaims(db: SqlExecutor, f: ClaimFilter, now: number): Promise<Claim[]> {
  const w = new Where();
  if (f.status === 'active' || f.status === undefined) w.add(ACTIVE_CLAIM, now);
  else if (f.status === 'released') w.add('released_at IS NOT NULL');
  else if (f.status === 'expired') w.add('released_at IS NULL AND expires_at <= ?', now);
  if (f.agentId !== undefined) w.add('agent_id = ?', f.agentId);
  if (f.pool !== undefined) w.add('pool_name = ?', f.pool);
  if (f.before) w.add('(created_at < ? OR (created_at = ? AND claim_id < ?))', f.before.createdAt, f.before.createdAt, f.before.claimId);
  const rows = await db.all<ClaimRow>(
    `SELECT ${CLAIM_COLUMNS} FROM capacity_claims ${w.sql()} ORDER BY created_at DESC, claim_id DESC LIMIT ?`,
    [...w.params, f.limit + 1],
  );
  return rows.map((r) => toClaim(r, now));
}
