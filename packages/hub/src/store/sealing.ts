import { performance } from 'node:perf_hooks';
import type { Dialect, SqlExecutor } from './db.js';
import { decodeBlock, encodeBlock, type BlockSample } from './metric-blocks.js';

const HOUR_MS = 3_600_000;

/**
 * Samples stay rows for this long (and until they are rolled up), then each agent's hour is sealed
 * into one compressed block (metric-blocks.ts). The recent window is what changes: the agent view's
 * last hour, the alert engine's latest sample, late rows still to roll up, retries. Older history
 * is read by whole hours or not at all, and a block costs a fraction of its rows (bench/RESULTS.md,
 * "Compact metrics").
 */
export const SEAL_AFTER_MS = 2 * HOUR_MS;

/** The figures a block holds, in its order: the numeric columns of `agent_metrics`. */
export const BLOCK_FIGURES = [
  'cpu_percent', 'memory_mb', 'message_count', 'io_read_bps', 'io_write_bps',
  'host_cpu_percent', 'cpu_cores_physical', 'cpu_cores_available', 'cpu_load_1min', 'cpu_load_5min',
  'memory_percent', 'memory_available_gb', 'gpu_vram_total_gb', 'gpu_vram_available_gb',
] as const; // prettier-ignore

const ROW_COLUMNS = `id, received_at, timestamp, status, ${BLOCK_FIGURES.join(', ')}`;

export interface SealStep {
  /** Hours that end at or before this are sealed (a whole hour, rolled up and past the recent window). */
  horizon: number;
  /** Most rows one step reads. */
  budget: number;
}

export interface SealResult {
  ok: true;
  /** Rows moved into blocks. */
  sealed: number;
  blocks: number;
  /** False while rows before the horizon remain. */
  done: boolean;
  ms: number;
}

type Row = Record<string, number | null>;
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function toSample(r: Row): BlockSample {
  return {
    received_at: Number(r.received_at),
    timestamp: num(r.timestamp),
    status: Number(r.status),
    values: BLOCK_FIGURES.map((f) => num(r[f])),
  };
}

/** Writes one agent's block for the hour starting at `hour`, merged with a block already there. */
async function writeBlock(tx: SqlExecutor, agentKey: number, hour: number, samples: BlockSample[]): Promise<void> {
  const existing = await tx.all<{ start_at: number; data: Uint8Array }>(
    'SELECT start_at, data FROM agent_metric_blocks WHERE agent_key = ? AND start_at >= ? AND start_at < ?',
    [agentKey, hour, hour + HOUR_MS],
  );
  let all = samples;
  if (existing.length > 0) {
    // A row stamped inside an hour already sealed (it sat in a queue, or a straggler of a step cut
    // short by its budget): the hour's block is rewritten with it, so an hour stays one block.
    all = [...existing.flatMap((b) => decodeBlock(b.data)), ...samples].sort((a, b) => a.received_at - b.received_at);
    await tx.run('DELETE FROM agent_metric_blocks WHERE agent_key = ? AND start_at >= ? AND start_at < ?', [
      agentKey,
      hour,
      hour + HOUR_MS,
    ]);
  }
  const first = all[0] as BlockSample;
  const last = all.at(-1) as BlockSample;
  await tx.run('INSERT INTO agent_metric_blocks (agent_key, start_at, end_at, samples, data) VALUES (?, ?, ?, ?, ?)', [
    agentKey,
    first.received_at,
    last.received_at,
    all.length,
    encodeBlock(all, BLOCK_FIGURES.length),
  ]);
}

/**
 * One bounded step inside the writer's transaction: the agent with the oldest row before the horizon
 * has its rows before it packed into one block per hour and deleted, then the next such agent, until
 * `budget` rows were read. Rows are taken in (receive time, id) order, so a step cut short by its
 * budget leaves exactly the later rows of that hour, which the next step merges into its block.
 */
export async function sealStep(tx: SqlExecutor, dialect: Dialect, step: SealStep): Promise<SealResult> {
  const started = performance.now();
  // Hubs sharing PostgreSQL take turns, as rollup steps do: the second reads what the first left.
  await tx.get(`SELECT minute_mark FROM rollup_state WHERE series = 'agent'${dialect.forUpdate}`);
  let sealed = 0;
  let blocks = 0;
  while (sealed < step.budget) {
    // An agent's newest sample stays a row whatever its age: the alert engine reads it back after a
    // restart (alerts.ts, latestSamples), and an agent with a long interval may be that quiet.
    const oldest = await tx.get<{ agent_key: number }>(
      'SELECT agent_key FROM agent_metrics m WHERE received_at < ? ' +
        'AND received_at < (SELECT MAX(received_at) FROM agent_metrics n WHERE n.agent_key = m.agent_key) ORDER BY received_at LIMIT 1',
      [step.horizon],
    );
    if (!oldest) return { ok: true, sealed, blocks, done: true, ms: performance.now() - started };
    const key = Number(oldest.agent_key);
    const rows = await tx.all<Row>(
      `SELECT ${ROW_COLUMNS} FROM agent_metrics WHERE agent_key = ? AND received_at < ? ` +
        'AND received_at < (SELECT MAX(received_at) FROM agent_metrics WHERE agent_key = ?) ORDER BY received_at, id LIMIT ?',
      [key, step.horizon, key, step.budget - sealed],
    );
    let i = 0;
    while (i < rows.length) {
      const hour = Math.floor(Number((rows[i] as Row).received_at) / HOUR_MS) * HOUR_MS;
      let j = i;
      while (j < rows.length && Number((rows[j] as Row).received_at) < hour + HOUR_MS) j++;
      const group = rows.slice(i, j);
      const last = group.at(-1) as Row;
      await writeBlock(tx, key, hour, group.map(toSample));
      // Exactly the rows read: the hour's rows up to the last one, by (receive time, id).
      await tx.run(
        'DELETE FROM agent_metrics WHERE agent_key = ? AND received_at >= ? AND (received_at < ? OR (received_at = ? AND id <= ?))',
        [key, hour, last.received_at, last.received_at, last.id],
      );
      blocks++;
      i = j;
    }
    sealed += rows.length;
  }
  return { ok: true, sealed, blocks, done: false, ms: performance.now() - started };
}

/** A sealed sample as the readers use it: its agent's key, receive time and figures by name. */
export interface SealedSample {
  agentKey: number;
  received_at: number;
  timestamp: number | null;
  status: number;
  figures: Record<string, number | null>;
}

/**
 * Calls `each` with every sealed sample in [since, until) of one agent (its text id) or of every
 * agent, oldest first per agent, as decoded: figures by their index in BLOCK_FIGURES (only those in
 * `only`, when given; the others null), no object built per sample (a day's chart folds thousands).
 */
export async function eachSealed(
  db: SqlExecutor,
  agentId: string | undefined,
  since: number,
  until: number,
  each: (agentId: string, sample: BlockSample) => void,
  only?: readonly number[],
): Promise<void> {
  const blocks = await db.all<{ agent_id: string; data: Uint8Array }>(
    'SELECT k.agent_id, b.data FROM agent_metric_blocks b JOIN agent_keys k ON k.agent_key = b.agent_key ' +
      `WHERE ${agentId === undefined ? '' : 'k.agent_id = ? AND '}b.end_at >= ? AND b.start_at < ? ORDER BY b.agent_key, b.start_at`,
    [...(agentId === undefined ? [] : [agentId]), since, until],
  );
  for (const b of blocks) {
    for (const sample of decodeBlock(b.data, only)) {
      if (sample.received_at >= since && sample.received_at < until) each(b.agent_id, sample);
    }
  }
}

/**
 * Sealed samples in [since, until) of one agent (its text id) or of every agent, oldest first per
 * agent, at most `limit` (reading stops at the block that reaches it).
 */
export async function readSealed(
  db: SqlExecutor,
  agentId: string | undefined,
  since: number,
  until: number,
  limit: number,
): Promise<{ agentId: string; sample: SealedSample }[]> {
  const blocks = await db.all<{ agent_id: string; agent_key: number; data: Uint8Array }>(
    'SELECT k.agent_id, b.agent_key, b.data FROM agent_metric_blocks b JOIN agent_keys k ON k.agent_key = b.agent_key ' +
      `WHERE ${agentId === undefined ? '' : 'k.agent_id = ? AND '}b.end_at >= ? AND b.start_at < ? ORDER BY b.agent_key, b.start_at`,
    [...(agentId === undefined ? [] : [agentId]), since, until],
  );
  const out: { agentId: string; sample: SealedSample }[] = [];
  for (const b of blocks) {
    for (const s of decodeBlock(b.data)) {
      if (s.received_at < since || s.received_at >= until) continue;
      const figures: Record<string, number | null> = {};
      BLOCK_FIGURES.forEach((f, i) => (figures[f] = s.values[i] ?? null));
      out.push({
        agentId: b.agent_id,
        sample: { agentKey: Number(b.agent_key), received_at: s.received_at, timestamp: s.timestamp, status: s.status, figures },
      });
    }
    if (out.length > limit) break;
  }
  return out;
}
