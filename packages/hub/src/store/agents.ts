import { KNOWN_RESOURCE_FIELDS } from '@vigil/protocol';
import type { AgentEvent, AgentProcessMetrics, AgentStatus, Heartbeat, RegisterAgent, ResourceReport, Resources } from '@vigil/protocol';
import { jsonColumn, Where, type Dialect, type SqlExecutor } from './db.js';
import { insertHubEvent } from './events.js';
import { newAgentKey, rememberEventId, STATUS_CODE } from './heartbeat-samples.js';
import { fromPreview, jsonPreview, type ListReader, type PreviewColumns, type Truncatable } from './previews.js';
import { mergeReport, RESOURCE_COLUMNS, resourceColumnParams, splitStored, trimStored, UPDATED_AT } from './resource-patch.js';

export interface Agent extends Truncatable {
  agent_id: string;
  name: string;
  agent_type: string;
  pool_name: string;
  capabilities: string[];
  status: AgentStatus;
  /** Why an offline agent is offline: `missed_heartbeats` (a failure) or `stopped` (planned). */
  offline_reason: string | null;
  last_heartbeat_at: number | null;
  performance_score: number;
  resource_metrics: Resources;
  /** When each field of `resource_metrics` was last reported (the hub's receive time, epoch ms). */
  resource_updated_at: Record<string, number>;
  metadata: Record<string, unknown>;
  heartbeat_interval_s: number;
  registered_at: number;
  updated_at: number;
  /** Latest per-agent figures (docs/seed-requirements.md): the process's CPU % (or its host's when that is all it sent). */
  cpu_percent: number | null;
  memory_mb: number | null;
  message_count: number | null;
  /** Monitoring paused: no alert fires for it; its heartbeats are still taken (`vigil agents pause`). */
  paused: boolean;
  /** The hub's time of the agent's last LLM activity seen over OTLP (docs/otlp.md); null if none yet. */
  last_llm_activity_at: number | null;
  /** The hub's time of the agent's last OTLP data of any kind; null if none yet. */
  last_telemetry_at: number | null;
}

export interface AgentRow extends Omit<Agent, 'capabilities' | 'resource_metrics' | 'resource_updated_at' | 'metadata' | 'paused'> {
  capabilities: unknown;
  resource_metrics: unknown;
  metadata: unknown;
  paused: unknown;
}

export const AGENT_COLUMNS =
  'agent_id, name, agent_type, pool_name, capabilities, status, offline_reason, last_heartbeat_at, performance_score, ' +
  'resource_metrics, metadata, heartbeat_interval_s, registered_at, updated_at, cpu_percent, memory_mb, message_count, paused, last_llm_activity_at, last_telemetry_at';

/** Deleted agents keep a tombstone row (store/retire.ts); every reader of the fleet leaves it out. */
export const NOT_DELETED = 'deleted_at IS NULL';

const AGENT_PREVIEW: PreviewColumns = { text: [], json: ['metadata'] };

/** AGENT_COLUMNS for lists: metadata cut to a preview (the agent's own route has it whole). Read with `toListedAgent`. */
export const agentListColumns = (d: Dialect): string =>
  'agent_id, name, agent_type, pool_name, capabilities, status, offline_reason, last_heartbeat_at, performance_score, ' +
  `resource_metrics, ${jsonPreview('metadata', d)}, heartbeat_interval_s, registered_at, updated_at, cpu_percent, memory_mb, message_count, paused, last_llm_activity_at, last_telemetry_at`;

export const toListedAgent = (row: AgentRow): Agent => toAgent(fromPreview(row, AGENT_PREVIEW));

export function toAgent(row: AgentRow): Agent {
  const { resources, updatedAt } = splitStored(jsonColumn<Record<string, unknown>>(row.resource_metrics, {}));
  return {
    ...row,
    capabilities: jsonColumn<string[]>(row.capabilities, []),
    resource_metrics: resources,
    resource_updated_at: updatedAt,
    metadata: jsonColumn<Record<string, unknown>>(row.metadata, {}),
    // SQLite answers 0/1, PostgreSQL a boolean.
    paused: Boolean(row.paused),
  };
}

/** What a write may find when it looks up its agent inside the transaction. */
export type AgentGuard =
  | {
      ok: true;
      status: AgentStatus;
      pool: string;
      /** The agent's integer key for its samples; null until its first heartbeat makes one. */
      agentKey: number | null;
    }
  | { ok: false; code: 'VIGIL_AGENT_NOT_FOUND' | 'VIGIL_FORBIDDEN' };

/**
 * Locks and reads the agent a write targets. `allowedPool` is set for pool keys: an agent outside
 * the pool, or one that does not exist, is the same 403, so the answer reveals nothing.
 */
export async function guardAgent(tx: SqlExecutor, dialect: Dialect, agentId: string, allowedPool: string | undefined): Promise<AgentGuard> {
  return checkGuard(await tx.get<GuardRow>(guardSql(dialect, false), [agentId]), allowedPool);
}

interface GuardRow {
  status: AgentStatus;
  pool_name: string;
  deleted_at: number | null;
  agent_key: number | null;
  /** Read only by a heartbeat that carries resources (it merges them into this). */
  resource_metrics?: unknown;
}

// Built once per dialect and shape: the same string object each time keeps the statement cache's lookup cheap.
const GUARD_SQL = new Map<Dialect, [string, string]>();
function guardSql(dialect: Dialect, withResources: boolean): string {
  let built = GUARD_SQL.get(dialect);
  if (!built) {
    const sql = (extra: string) =>
      `SELECT status, pool_name, deleted_at, (SELECT agent_key FROM agent_keys k WHERE k.agent_id = agents.agent_id) AS agent_key${extra}
       FROM agents WHERE agent_id = ?${dialect.forUpdate}`;
    built = [sql(''), sql(', resource_metrics')];
    GUARD_SQL.set(dialect, built);
  }
  return built[withResources ? 1 : 0];
}

function checkGuard(row: GuardRow | undefined, allowedPool: string | undefined): AgentGuard {
  if (allowedPool !== undefined && row?.pool_name !== allowedPool) return { ok: false, code: 'VIGIL_FORBIDDEN' };
  // A deleted agent is unknown to writes: the SDK then registers again, which decides whether it may come back.
  if (!row || row.deleted_at !== null) return { ok: false, code: 'VIGIL_AGENT_NOT_FOUND' };
  return { ok: true, status: row.status, pool: row.pool_name, agentKey: row.agent_key === null ? null : Number(row.agent_key) };
}

export interface RegisterResult {
  ok: true;
  created: boolean;
  agent: Agent;
}

/** Registers a new agent or updates one; a registration is a sign of life, so it is online. */
export async function registerAgent(
  tx: SqlExecutor,
  dialect: Dialect,
  input: RegisterAgent & { agent_id: string },
  now: number,
  allowedPool: string | undefined,
  mayMovePool: boolean,
  mayRevive = true,
): Promise<
  | RegisterResult
  | { ok: false; code: 'VIGIL_FORBIDDEN' | 'VIGIL_AGENT_DELETED' }
  | { ok: false; code: 'VIGIL_POOL_CHANGE_FORBIDDEN'; message: string }
> {
  const found = await tx.get<{ status: AgentStatus; pool_name: string; deleted_at: number | null }>(
    `SELECT status, pool_name, deleted_at FROM agents WHERE agent_id = ?${dialect.forUpdate}`,
    [input.agent_id],
  );
  if (found && found.deleted_at !== null) {
    if (!mayRevive) return { ok: false, code: 'VIGIL_AGENT_DELETED' };
    // Comes back as new, in whatever pool the registration names (the old id is free).
    return { ok: true, created: true, agent: await reviveAgent(tx, input, now) };
  }
  const existing = found;
  // A pool key may not take over an agent of another pool by registering its id.
  if (existing && allowedPool !== undefined && existing.pool_name !== allowedPool) return { ok: false, code: 'VIGIL_FORBIDDEN' };
  // An agent's own key may not move it into another pool: that takes it out of its pool key's
  // control and into the other pool's capacity answers. Checked here, under the row lock, so a
  // concurrent move by the admin cannot slip between the check and the write.
  if (existing && !mayMovePool && input.pool_name !== undefined && input.pool_name !== existing.pool_name) {
    return {
      ok: false,
      code: 'VIGIL_POOL_CHANGE_FORBIDDEN',
      message:
        `Agent ${JSON.stringify(input.agent_id)} is in pool ${JSON.stringify(existing.pool_name)}; ` +
        `only the admin token moves it to pool ${JSON.stringify(input.pool_name)}`,
    };
  }

  let row: AgentRow | undefined;
  if (!existing) {
    row = await tx.get<AgentRow>(
      `INSERT INTO agents (agent_id, name, agent_type, pool_name, capabilities, status, last_heartbeat_at, metadata,
         heartbeat_interval_s, registered_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'online', ?, ?, ?, ?, ?) RETURNING ${AGENT_COLUMNS}`,
      [
        input.agent_id,
        input.name,
        input.agent_type,
        input.pool_name ?? 'default',
        JSON.stringify(input.capabilities ?? []),
        now,
        JSON.stringify(input.metadata ?? {}),
        input.heartbeat_interval_s ?? 15,
        now,
        now,
      ],
    );
    await newAgentKey(tx, input.agent_id);
    await insertHubEvent(tx, input.agent_id, 'registered', `Agent ${input.name} registered`, {}, now);
  } else {
    row = await tx.get<AgentRow>(
      `UPDATE agents SET name = ?, agent_type = ?, pool_name = COALESCE(?, pool_name),
         capabilities = COALESCE(?, capabilities), metadata = COALESCE(?, metadata),
         heartbeat_interval_s = COALESCE(?, heartbeat_interval_s),
         status = 'online', offline_reason = NULL, last_heartbeat_at = ?, updated_at = ?
       WHERE agent_id = ? RETURNING ${AGENT_COLUMNS}`,
      [
        input.name,
        input.agent_type,
        input.pool_name ?? null,
        input.capabilities ? JSON.stringify(input.capabilities) : null,
        input.metadata ? JSON.stringify(input.metadata) : null,
        input.heartbeat_interval_s ?? null,
        now,
        now,
        input.agent_id,
      ],
    );
    if (existing.status === 'offline') {
      await insertHubEvent(tx, input.agent_id, 'online', 'Agent re-registered', {}, now);
    }
  }
  if (!row) throw new Error('agent row missing after write');
  return { ok: true, created: !existing, agent: toAgent(row) };
}

/**
 * A deleted agent registered again by a key that may register it: it comes back as a new agent, with
 * nothing of its old state (history kept on request stays until retention takes it).
 */
async function reviveAgent(tx: SqlExecutor, input: RegisterAgent & { agent_id: string }, now: number): Promise<Agent> {
  const row = await tx.get<AgentRow>(
    `UPDATE agents SET name = ?, agent_type = ?, pool_name = ?, capabilities = ?, metadata = ?, heartbeat_interval_s = ?,
       status = 'online', offline_reason = NULL, last_heartbeat_at = ?, performance_score = 1.0, resource_metrics = '{}',
       registered_at = ?, updated_at = ?, cpu_cores_available = NULL, memory_available_gb = NULL, gpu_vram_available_gb = NULL,
       gpu_type = NULL, cpu_percent = NULL, memory_mb = NULL, message_count = NULL, paused = FALSE, deleted_at = NULL
     WHERE agent_id = ? RETURNING ${AGENT_COLUMNS}`,
    [
      input.name,
      input.agent_type,
      input.pool_name ?? 'default',
      JSON.stringify(input.capabilities ?? []),
      JSON.stringify(input.metadata ?? {}),
      input.heartbeat_interval_s ?? 15,
      now,
      now,
      now,
      input.agent_id,
    ],
  );
  if (!row) throw new Error('agent row missing after revival');
  await insertHubEvent(tx, input.agent_id, 'registered', `Agent ${input.name} registered again after it was deleted`, {}, now);
  return toAgent(row);
}

// Numbers only: the agent's text id, the event id and `gpu_type` live elsewhere (heartbeat-samples.ts).
export const METRIC_COLUMNS = [
  'agent_key', 'timestamp', 'received_at', 'status',
  'cpu_percent', 'memory_mb', 'message_count', 'io_read_bps', 'io_write_bps',
  'host_cpu_percent', 'cpu_cores_physical', 'cpu_cores_available', 'cpu_load_1min', 'cpu_load_5min',
  'memory_percent', 'memory_available_gb', 'gpu_vram_total_gb', 'gpu_vram_available_gb',
] as const; // prettier-ignore

const INSERT_METRIC = `INSERT INTO agent_metrics (${METRIC_COLUMNS.join(', ')}) VALUES (${METRIC_COLUMNS.map(() => '?').join(', ')})`;

function metricRow(agentKey: number, hb: Heartbeat, status: AgentStatus, now: number): unknown[] {
  const r: ResourceReport = hb.resources ?? {};
  const m: AgentProcessMetrics = hb.metrics ?? {};
  return [
    agentKey, hb.timestamp, now, STATUS_CODE[status],
    m.cpu_percent, m.memory_mb, m.message_count, m.io_read_bps, m.io_write_bps,
    r.cpu_percent, r.cpu_cores_physical, r.cpu_cores_available, r.cpu_load_1min, r.cpu_load_5min,
    r.memory_percent, r.memory_available_gb, r.gpu_vram_total_gb, r.gpu_vram_available_gb,
  ]; // prettier-ignore
}

/**
 * The agent row keeps the latest state; which columns a heartbeat changes depends on what it carried.
 * Resources come merged already (the whole dict, see `mergeReport`).
 */
function heartbeatUpdateSql(hasResources: boolean, hasMetrics: boolean): string {
  const sets = ['status = ?', 'offline_reason = NULL', 'last_heartbeat_at = ?', 'updated_at = ?'];
  if (hasResources) {
    sets.push('resource_metrics = ?');
    for (const column of RESOURCE_COLUMNS) sets.push(`${column} = CASE WHEN ? = 1 THEN ? ELSE ${column} END`);
  }
  if (hasMetrics) sets.push('memory_mb = COALESCE(?, memory_mb)', 'message_count = COALESCE(?, message_count)');
  if (hasResources || hasMetrics) sets.push('cpu_percent = COALESCE(?, cpu_percent)');
  return `UPDATE agents SET ${sets.join(', ')} WHERE agent_id = ?`;
}

// The four statements, built once: the same string object each time keeps the statement cache's lookup cheap.
const HEARTBEAT_UPDATE = [false, true].flatMap((r) => [false, true].map((m) => heartbeatUpdateSql(r, m)));

/**
 * The last resource dicts this thread wrote, by agent, with their text: a heartbeat reads its agent's
 * dict as text and, when it is the text this thread wrote last, takes the parse from here instead of
 * parsing it again. Keyed by the text itself, so a dict changed elsewhere (another path, another
 * process, another database with the same agent id) is simply parsed. The cached objects are frozen:
 * they are shared with the next merge. Bounded; the least recently written agent goes first.
 */
const parsedDicts = new Map<string, { text: string; dict: Readonly<Record<string, unknown>> }>();
const PARSED_DICTS_MAX = 4096;

function storedDict(agentId: string, column: unknown): Readonly<Record<string, unknown>> {
  // PostgreSQL answers jsonb parsed already; SQLite answers the text.
  if (typeof column !== 'string') return jsonColumn<Record<string, unknown>>(column, {});
  const hit = parsedDicts.get(agentId);
  return hit?.text === column ? hit.dict : jsonColumn<Record<string, unknown>>(column, {});
}

function rememberDict(agentId: string, text: string, dict: Record<string, unknown>): void {
  Object.freeze(dict[UPDATED_AT]);
  parsedDicts.delete(agentId);
  if (parsedDicts.size >= PARSED_DICTS_MAX) parsedDicts.delete(parsedDicts.keys().next().value as string);
  parsedDicts.set(agentId, { text, dict: Object.freeze(dict) });
}

const KNOWN_FIELDS: ReadonlySet<string> = new Set(KNOWN_RESOURCE_FIELDS);

export type HeartbeatResult =
  | {
      ok: true;
      duplicate: boolean;
      status: AgentStatus;
      cameOnline: boolean;
      /** The agent's resources after this heartbeat's were merged in; absent when it carried none (or was a duplicate). */
      resources?: Resources;
      resourceUpdatedAt?: Record<string, number>;
    }
  | Exclude<AgentGuard, { ok: true }>;

/**
 * What a heartbeat changes in its agent's row, folded over the heartbeats of one run (HeartbeatRuns):
 * the last one's status and time; a resource column or figure the last one to carry it set; the
 * merged resource dict as it stands after the last. The same UPDATE, run once, leaves the row as
 * running it after each heartbeat would.
 */
interface RowChange {
  status: AgentStatus;
  now: number;
  /** The merged resource dict, when any heartbeat carried resources (serialized once, when written). */
  resources: Record<string, unknown> | undefined;
  /** RESOURCE_COLUMNS' (touched, value) pairs (resourceColumnParams), folded. */
  columns: unknown[] | undefined;
  hasMetrics: boolean;
  memoryMb: unknown;
  messageCount: unknown;
  /** Set (COALESCE) whenever resources or metrics were carried: the process's CPU %, else the host's. */
  cpuPercent: unknown;
}

function foldChange(into: RowChange | undefined, next: RowChange): RowChange {
  if (!into) return next;
  // COALESCE(?, column): a null leaves what an earlier heartbeat of the run set.
  const latest = (a: unknown, b: unknown) => (b === null || b === undefined ? a : b);
  let columns = into.columns ?? next.columns;
  if (into.columns && next.columns) {
    columns = into.columns.slice();
    for (let i = 0; i < columns.length; i += 2) {
      if (next.columns[i] === 1) [columns[i], columns[i + 1]] = [1, next.columns[i + 1]];
    }
  }
  return {
    status: next.status,
    now: next.now,
    resources: next.resources ?? into.resources,
    columns,
    hasMetrics: into.hasMetrics || next.hasMetrics,
    memoryMb: latest(into.memoryMb, next.memoryMb),
    messageCount: latest(into.messageCount, next.messageCount),
    cpuPercent: latest(into.cpuPercent, next.cpuPercent),
  };
}

async function writeChange(tx: SqlExecutor, dialect: Dialect, agentId: string, c: RowChange): Promise<void> {
  const hasResources = c.resources !== undefined;
  const params: unknown[] = [c.status, c.now, c.now];
  if (c.resources) {
    const text = JSON.stringify(c.resources);
    // SQLite answers the text next time: its parse is then taken from here (PostgreSQL answers jsonb parsed).
    if (dialect.name === 'sqlite') rememberDict(agentId, text, c.resources);
    params.push(text, ...(c.columns ?? []));
  }
  if (c.hasMetrics) params.push(c.memoryMb, c.messageCount);
  if (hasResources || c.hasMetrics) params.push(c.cpuPercent);
  params.push(agentId);
  await tx.run(HEARTBEAT_UPDATE[(hasResources ? 2 : 0) + (c.hasMetrics ? 1 : 0)] as string, params);
}

/**
 * A batch's heartbeats, one agent's run at a time (apply-jobs.ts applies a batch in agent order):
 * the agent's row is read once per run and its UPDATE written once, when the run ends (`flush`),
 * instead of once per heartbeat. Between heartbeats the row's state (status, merged resources, key)
 * is carried here, so each heartbeat is answered as if applied alone. A run ends when another
 * agent's starts; the batch flushes it before any other command and at its end, so nothing else in
 * the transaction reads the row while its UPDATE is pending.
 */
export class HeartbeatRuns {
  private run: { agentId: string; row: GuardRow; change: RowChange | undefined } | undefined;

  constructor(private readonly dialect: Dialect) {}

  async flush(tx: SqlExecutor): Promise<void> {
    const run = this.run;
    this.run = undefined;
    if (run?.change) await writeChange(tx, this.dialect, run.agentId, run.change);
  }

  /** The row as the run left it, when `agentId`'s run is open. */
  rowOf(agentId: string): GuardRow | undefined {
    return this.run?.agentId === agentId ? this.run.row : undefined;
  }

  /** Opens `agentId`'s run with the row just read, writing the run it ends first. */
  async start(tx: SqlExecutor, agentId: string, row: GuardRow): Promise<void> {
    await this.flush(tx);
    this.run = { agentId, row, change: undefined };
  }

  fold(agentId: string, change: RowChange): void {
    if (this.run?.agentId !== agentId) throw new Error(`heartbeat run of ${agentId} is not open`);
    this.run.change = foldChange(this.run.change, change);
  }
}

/**
 * Appends the sample and updates the agent's latest state; an offline agent comes back online.
 * Within a batch, `runs` carries the agent's row from one heartbeat to the next and writes its
 * UPDATE once per run (HeartbeatRuns); without it the row is read and written here.
 */
export async function recordHeartbeat(
  tx: SqlExecutor,
  dialect: Dialect,
  agentId: string,
  hb: Heartbeat,
  now: number,
  allowedPool: string | undefined,
  runs?: HeartbeatRuns,
): Promise<HeartbeatResult> {
  const r = hb.resources;
  let row = runs?.rowOf(agentId);
  if (!row) {
    // In a run, a later heartbeat may carry resources when this one does not: read them once now.
    row = await tx.get<GuardRow>(guardSql(dialect, runs !== undefined || r !== undefined), [agentId]);
    if (runs && row) await runs.start(tx, agentId, row);
  }
  const guard = checkGuard(row, allowedPool);
  if (!guard.ok) return guard;
  // checkGuard refuses a missing row: here there is one.
  const agentRow = row as GuardRow;
  const status: AgentStatus = hb.status ?? (guard.status === 'busy' ? 'busy' : 'online');
  const key = guard.agentKey ?? (await newAgentKey(tx, agentId));
  agentRow.agent_key = key;
  // A retry of a heartbeat already stored (its acknowledgement was lost) is recognised by its event id.
  if (hb.event_id !== undefined && !(await rememberEventId(tx, key, hb.event_id, now))) {
    return { ok: true, duplicate: true, status: guard.status, cameOnline: false };
  }
  await tx.run(INSERT_METRIC, metricRow(key, hb, status, now));

  const result: HeartbeatResult = { ok: true, duplicate: false, status, cameOnline: guard.status === 'offline' };
  const change: RowChange = {
    status,
    now,
    resources: undefined,
    columns: undefined,
    hasMetrics: hb.metrics !== undefined,
    memoryMb: hb.metrics?.memory_mb,
    messageCount: hb.metrics?.message_count,
    cpuPercent: hb.metrics?.cpu_percent ?? r?.cpu_percent,
  };
  if (r) {
    // Merged here, inside the transaction that read the row (locked FOR UPDATE on PostgreSQL, the
    // single writer on SQLite), so no concurrent heartbeat's fields are lost.
    let merged = mergeReport(storedDict(agentId, agentRow.resource_metrics), r, now);
    merged = trimStored(merged, KNOWN_FIELDS) ?? merged;
    change.resources = merged;
    change.columns = resourceColumnParams(r);
    const { resources, updatedAt } = splitStored(merged);
    result.resources = resources;
    result.resourceUpdatedAt = updatedAt;
    // What the next heartbeat of a run merges into: the object itself (mergeReport copies it).
    agentRow.resource_metrics = merged;
  }
  agentRow.status = status;
  if (runs) runs.fold(agentId, change);
  else await writeChange(tx, dialect, agentId, change);

  if (result.cameOnline) await insertHubEvent(tx, agentId, 'online', 'Heartbeat received; agent is back online', {}, now);
  return result;
}

/**
 * Marks agents offline whose last heartbeat (by the hub's clock) is older than `missed` intervals.
 * After a hub restart each agent gets one interval of grace from boot, so the fleet is neither
 * dropped at once nor left online when it is dead.
 */
export async function markStaleAgents(tx: SqlExecutor, now: number, bootedAt: number, missed: number): Promise<string[]> {
  const rows = await tx.all<{ agent_id: string }>(
    `UPDATE agents SET status = 'offline', offline_reason = 'missed_heartbeats', updated_at = ?
     WHERE status <> 'offline'
       AND COALESCE(last_heartbeat_at, registered_at) + CAST(? AS BIGINT) * heartbeat_interval_s * 1000 < CAST(? AS BIGINT)
       AND CAST(? AS BIGINT) + heartbeat_interval_s * 1000 <= CAST(? AS BIGINT)
     RETURNING agent_id`,
    [now, missed, now, bootedAt, now],
  );
  for (const { agent_id } of rows) {
    await insertHubEvent(tx, agent_id, 'offline', `No heartbeat for ${missed} intervals`, { reason: 'missed_heartbeats' }, now);
  }
  return rows.map((r) => r.agent_id);
}

/**
 * Why an agent went offline: it stopped as planned, it crashed (or its command could not start),
 * or it fell silent (liveness, `missed_heartbeats`).
 */
export type ExitReason = 'stopped' | 'crashed' | 'failed_to_start';

/** The offline reason an agent's own event reports: a planned stop, a crash, or a command that never started. */
export function exitReason(event: Pick<AgentEvent, 'event_type' | 'metadata'>): ExitReason | undefined {
  if (event.event_type === 'stopped') return 'stopped';
  if (event.event_type !== 'crashed') return undefined;
  return event.metadata?.phase === 'start' ? 'failed_to_start' : 'crashed';
}

/**
 * The agent reported its own end: it goes offline at once with that reason. A crash overrides a
 * silence already recorded (the report explains it); a stop leaves an agent already offline as it is.
 */
export async function markExited(tx: SqlExecutor, agentId: string, reason: ExitReason, now: number): Promise<boolean> {
  const r = await tx.run(
    reason === 'stopped'
      ? `UPDATE agents SET status = 'offline', offline_reason = ?, updated_at = ? WHERE agent_id = ? AND status <> 'offline'`
      : `UPDATE agents SET status = 'offline', offline_reason = ?, updated_at = ? WHERE agent_id = ?
           AND (status <> 'offline' OR offline_reason = 'missed_heartbeats')`,
    [reason, now, agentId],
  );
  return r.changes > 0;
}

export async function getAgent(db: SqlExecutor, agentId: string): Promise<Agent | undefined> {
  const row = await db.get<AgentRow>(`SELECT ${AGENT_COLUMNS} FROM agents WHERE agent_id = ? AND ${NOT_DELETED}`, [agentId]);
  return row && toAgent(row);
}

export interface AgentFilter {
  status?: AgentStatus | undefined;
  pool?: string | undefined;
  type?: string | undefined;
  /** Keyset cursor: the last agent_id of the previous page. */
  after?: string | undefined;
  limit: number;
}

/** One page of agents in agent_id order, plus the cursor of the next page. */
export async function listAgents(db: ListReader, f: AgentFilter): Promise<{ agents: Agent[]; next: string | null }> {
  const w = new Where().add(NOT_DELETED);
  if (f.status) w.add('status = ?', f.status);
  if (f.pool) w.add('pool_name = ?', f.pool);
  if (f.type) w.add('agent_type = ?', f.type);
  if (f.after) w.add('agent_id > ?', f.after);
  const rows = await db.all<AgentRow>(`SELECT ${agentListColumns(db.dialect)} FROM agents ${w.sql()} ORDER BY agent_id LIMIT ?`, [
    ...w.params,
    f.limit + 1,
  ]);
  const page = rows.slice(0, f.limit).map(toListedAgent);
  return { agents: page, next: rows.length > f.limit ? (page.at(-1)?.agent_id ?? null) : null };
}

/** Pools of the given agents, in one query (batch authorization for pool keys). */
export async function poolsOf(db: SqlExecutor, agentIds: readonly string[]): Promise<Map<string, string>> {
  if (agentIds.length === 0) return new Map();
  const rows = await db.all<{ agent_id: string; pool_name: string }>(
    `SELECT agent_id, pool_name FROM agents WHERE agent_id IN (${agentIds.map(() => '?').join(', ')})`,
    agentIds,
  );
  return new Map(rows.map((r) => [r.agent_id, r.pool_name]));
}
