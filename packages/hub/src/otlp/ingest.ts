import type { Principal } from '../auth/principal.js';
import { allowedPool } from '../auth/principal.js';
import { VigilError } from '../errors.js';
import type { Command } from '../ingest/commands.js';
import type { Writer } from '../ingest/writer.js';
import { poolsOf } from '../store/agents.js';
import type { SqlExecutor } from '../store/db.js';
import { OtlpMalformed } from './attributes.js';
import { decodeRequest, type Signal } from './decode.js';
import { mapExport } from './map.js';

export interface OtlpIngestDeps {
  writer: Writer;
  db: SqlExecutor;
  now: () => number;
  /** Most metric series one agent may have; points of new series past it are dropped and counted. */
  maxSeriesPerAgent: number;
}

/** What an export answers when it was stored: how many records were refused, and why. */
export interface ExportOutcome {
  rejected: number;
  message: string;
}

/**
 * One OTLP export, whatever the transport: decode, map to per-agent batches, and commit them in one
 * writer job (all or nothing), so the answer comes after COMMIT. Malformed bodies throw
 * VIGIL_VALIDATION; data naming an agent the key may not write throws VIGIL_FORBIDDEN (as any other
 * write); a full queue or an unavailable store throws the writer's own 429/503.
 */
export async function ingestExport(
  deps: OtlpIngestDeps,
  signal: Signal,
  format: 'protobuf' | 'json',
  body: Buffer,
  principal: Principal,
): Promise<ExportOutcome> {
  const now = deps.now();
  let decoded;
  try {
    decoded = decodeRequest(signal, format, body);
  } catch (err) {
    if (err instanceof OtlpMalformed) throw new VigilError('VIGIL_VALIDATION', err.message);
    throw err;
  }
  const mapped = mapExport(decoded, principal, now);
  if (mapped.forbidden)
    throw new VigilError('VIGIL_FORBIDDEN', 'An agent key may send data only for its own agent (vigil.agent_id names another)');
  const pool = allowedPool(principal);
  // Checked before anything is queued, so a refused export stores nothing (and again in the transaction).
  if (pool !== undefined) {
    const pools = await poolsOf(
      deps.db,
      mapped.batches.map((b) => b.agentId),
    );
    if ([...pools.values()].some((p) => p !== pool)) throw new VigilError('VIGIL_FORBIDDEN');
  }
  const commands: Command[] = mapped.batches.map((batch) => ({
    kind: 'otlp',
    batch,
    now,
    allowedPool: pool,
    maxSeries: deps.maxSeriesPerAgent,
    mayRevive: principal.kind !== 'agent',
  }));
  const notes = [...mapped.notes];
  let rejected = mapped.rejected;
  if (commands.length > 0) {
    const results = await deps.writer.submit(commands);
    for (const [i, result] of results.entries()) {
      // A pool key writing an agent of another pool: the same 403 as any other write.
      if (!result.ok) throw new VigilError(result.code === 'VIGIL_AGENT_DELETED' ? 'VIGIL_AGENT_DELETED' : 'VIGIL_FORBIDDEN');
      if ('points' in result && result.points.dropped > 0) {
        rejected += result.points.dropped;
        notes.push(
          `${result.points.dropped} points of agent ${mapped.batches[i]?.agentId} were dropped: it has reached its metric series limit`,
        );
      }
    }
  }
  return { rejected, message: notes.join('; ') };
}
