import { IngestAnswer, IngestBatch, MAX_BATCH_ITEMS } from '@vigil/protocol';
import { allowedPool, type Principal } from '../auth/principal.js';
import { ERRORS, VigilError, type ErrorCode } from '../errors.js';
import type { Command } from '../ingest/commands.js';
import { errorFingerprint } from '../ingest/fingerprint.js';
import { poolsOf } from '../store/agents.js';
import type { SqlExecutor } from '../store/db.js';
import type { Routes } from './context.js';
import { JSON_FIELDS, oversizedJsonField } from './field-limits.js';
import { assertMayWrite, MAX_FUTURE_MS } from './refusals.js';
import { refuseWhenQueueFull } from './queue-gate.js';
import { REFUSALS } from './responses.js';

type Kind = 'heartbeats' | 'events' | 'errors' | 'traces';
interface Rejection {
  kind: Kind;
  index: number;
  code: ErrorCode;
  message: string;
}

/**
 * A batch of many agents' heartbeats, events, errors and LLM traces, committed together. Each item's fate is
 * reported: accepted, duplicate (a retry), or rejected with a code. A batch touching an agent the
 * key may not write is refused whole (403), so a key cannot probe which of its items went through.
 */
export const ingestRoutes: Routes = (app, { writer, db, clock, bodyLimitBytes }) => {
  app.post(
    '/api/v1/ingest',
    {
      config: { access: 'authenticated' },
      onRequest: refuseWhenQueueFull(writer),
      bodyLimit: bodyLimitBytes * 4,
      schema: {
        summary: 'Batch of heartbeats, events, errors and LLM traces for many agents',
        tags: ['ingest'],
        body: IngestBatch,
        // 207: some items were rejected (each named in `rejected`); the others are stored.
        response: { 200: IngestAnswer, 207: IngestAnswer, ...REFUSALS },
      },
    },
    async (req, reply) => {
      const now = clock.now();
      const b = req.body;
      const items: { kind: Kind; index: number; agentId: string; timestamp: number | undefined }[] = [];
      for (const kind of ['heartbeats', 'events', 'errors', 'traces'] as const) {
        (b[kind] ?? []).forEach((item, index) => items.push({ kind, index, agentId: item.agent_id, timestamp: item.timestamp }));
      }
      if (items.length > MAX_BATCH_ITEMS) {
        throw new VigilError('VIGIL_VALIDATION', `A batch may carry at most ${MAX_BATCH_ITEMS} items; this one has ${items.length}`);
      }
      await authorizeBatch(
        req.principal,
        items.map((i) => i.agentId),
        db,
      );

      const pool = allowedPool(req.principal);
      const rejected: Rejection[] = [];
      const commands: Command[] = [];
      const origin: { kind: Kind; index: number }[] = [];
      const reject = (kind: Kind, index: number, code: ErrorCode, message: string = ERRORS[code].message) =>
        rejected.push({ kind, index, code, message });
      const tooLate = (ts: number | undefined) => ts !== undefined && ts > now + MAX_FUTURE_MS;
      // An oversized item is refused alone, so one bad report does not cost its batch-mates.
      const tooBig = (kind: Kind, index: number, item: object, fields: readonly string[]) => {
        const problem = oversizedJsonField(item, fields, `body.${kind}[${index}]`);
        if (problem) reject(kind, index, problem.code, problem.message);
        return problem !== undefined;
      };

      (b.heartbeats ?? []).forEach(({ agent_id, ...heartbeat }, index) => {
        if (tooLate(heartbeat.timestamp)) return reject('heartbeats', index, 'VIGIL_TIMESTAMP_IN_FUTURE');
        commands.push({ kind: 'heartbeat', agentId: agent_id, heartbeat, now, allowedPool: pool });
        origin.push({ kind: 'heartbeats', index });
      });
      (b.events ?? []).forEach(({ agent_id, ...event }, index) => {
        if (tooLate(event.timestamp)) return reject('events', index, 'VIGIL_TIMESTAMP_IN_FUTURE');
        if (tooBig('events', index, event, JSON_FIELDS.event)) return;
        commands.push({ kind: 'event', agentId: agent_id, event, now, allowedPool: pool });
        origin.push({ kind: 'events', index });
      });
      (b.errors ?? []).forEach(({ agent_id, ...error }, index) => {
        if (tooLate(error.timestamp)) return reject('errors', index, 'VIGIL_TIMESTAMP_IN_FUTURE');
        if (tooBig('errors', index, error, JSON_FIELDS.error)) return;
        const fingerprint = errorFingerprint(error.error_type, error.message, error.stack_trace);
        commands.push({ kind: 'error', agentId: agent_id, error, fingerprint, now, allowedPool: pool });
        origin.push({ kind: 'errors', index });
      });
      (b.traces ?? []).forEach(({ agent_id, ...trace }, index) => {
        if (tooLate(trace.timestamp)) return reject('traces', index, 'VIGIL_TIMESTAMP_IN_FUTURE');
        if (tooBig('traces', index, trace, JSON_FIELDS.trace)) return;
        commands.push({ kind: 'trace', agentId: agent_id, trace, now, allowedPool: pool });
        origin.push({ kind: 'traces', index });
      });

      const results = commands.length > 0 ? await writer.submit(commands) : [];
      const accepted = { heartbeats: 0, events: 0, errors: 0, traces: 0 };
      let duplicates = 0;
      results.forEach((result, i) => {
        const { kind, index } = origin[i] as { kind: Kind; index: number };
        if (!result.ok) return reject(kind, index, result.code, 'message' in result ? result.message : undefined);
        if ('duplicate' in result && result.duplicate) duplicates++;
        else accepted[kind]++;
      });
      rejected.sort((x, y) => x.kind.localeCompare(y.kind) || x.index - y.index);
      return reply.status(rejected.length > 0 ? 207 : 200).send({ accepted, duplicates, rejected, received_at: now });
    },
  );
};

async function authorizeBatch(p: Principal, agentIds: string[], db: SqlExecutor): Promise<void> {
  if (p.kind !== 'pool') {
    for (const id of agentIds) assertMayWrite(p, id);
    return;
  }
  // Pool keys: every agent must exist in the key's pool (checked again inside the transaction).
  const unique = [...new Set(agentIds)];
  const pools = await poolsOf(db, unique);
  if (unique.some((id) => pools.get(id) !== p.pool)) throw new VigilError('VIGIL_FORBIDDEN');
}
