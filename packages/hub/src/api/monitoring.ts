import { freemem, loadavg, totalmem, uptime } from 'node:os';
import { Type } from 'typebox';
import { AgentEventTypeSchema, EpochMs, EventId, Metadata } from '@vigil/protocol';
import { allowedPool } from '../auth/principal.js';
import { VigilError } from '../errors.js';
import { errorFingerprint } from '../ingest/fingerprint.js';
import { getAgent } from '../store/agents.js';
import { loadAgentDashboard, loadDashboard } from '../store/dashboard.js';
import { AgentParams } from './agents.js';
import type { Routes } from './context.js';
import { assertJsonFieldsFit, JSON_FIELDS } from './field-limits.js';
import { fitPage, pageLimit, PageQuery } from './paging.js';
import { ErrorParams } from './records.js';
import { accepted, assertMayWrite, assertNotFuture } from './refusals.js';
import { refuseWhenQueueFull } from './queue-gate.js';

/** The monitoring API's event body (docs/seed-requirements.md): camelCase, as its agents send it. */
const SeedEvent = Type.Object(
  {
    eventType: AgentEventTypeSchema,
    message: Type.Optional(Type.String({ maxLength: 8192 })),
    metadata: Type.Optional(Metadata),
    timestamp: Type.Optional(EpochMs),
    eventId: Type.Optional(EventId),
  },
  { additionalProperties: false },
);

/** The monitoring API's error body: a serialised JavaScript Error under `error`. */
const SeedError = Type.Object(
  {
    error: Type.Object(
      {
        name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
        message: Type.String({ maxLength: 8192 }),
        stack: Type.Optional(Type.String({ maxLength: 65536 })),
      },
      { additionalProperties: false },
    ),
    metadata: Type.Optional(Metadata),
    timestamp: Type.Optional(EpochMs),
    eventId: Type.Optional(EventId),
  },
  { additionalProperties: false },
);

/**
 * The monitoring API's routes (docs/seed-requirements.md) with the response shapes its dashboard reads (`agentId`, `metrics.cpuPercent`,
 * `systemMetrics.cpuUsage`, …). Each answer comes from a fixed number of set-based queries.
 */
export const monitoringRoutes: Routes = (app, { writer, db, clock }) => {
  app.get(
    '/api/monitoring/dashboard',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Fleet overview (seed 002 shape)',
        tags: ['monitoring'],
        querystring: Type.Object({ after: Type.Optional(Type.String({ maxLength: 128 })), ...PageQuery }, { additionalProperties: false }),
      },
    },
    async (req) => {
      const d = await loadDashboard(db, { after: req.query.after, limit: pageLimit(req.query.limit) });
      const page = fitPage(d.agents, d.next, (a) => a.agent_id);
      const errorsBy = new Map(d.activeErrors.map((e) => [e.agent_id, e.count]));
      return {
        agents: page.items.map((a) => ({
          ...a,
          agentId: a.agent_id,
          metrics: {
            cpuPercent: a.cpu_percent ?? a.resource_metrics.cpu_percent ?? null,
            memoryMb: a.memory_mb,
            messageCount: a.message_count,
            errorCount: errorsBy.get(a.agent_id) ?? 0,
            status: a.status,
          },
        })),
        recentEvents: d.recentEvents,
        activeErrors: d.activeErrors,
        // The hub's own host, as docs/seed-requirements.md reports it (load average, MB, seconds).
        systemMetrics: {
          cpuUsage: loadavg()[0] ?? 0,
          totalMemory: Math.round(totalmem() / 1048576),
          freeMemory: Math.round(freemem() / 1048576),
          uptime: uptime(),
        },
        summary: d.summary,
        next_cursor: page.next,
        bytes_limited: page.bytesLimited,
      };
    },
  );

  app.get(
    '/api/monitoring/agents/:agentId',
    {
      config: { access: 'admin' },
      schema: { summary: 'One agent: last hour of metrics, events, errors (seed 002 shape)', tags: ['monitoring'], params: AgentParams },
    },
    async (req) => {
      if (!(await getAgent(db, req.params.agentId))) throw new VigilError('VIGIL_AGENT_NOT_FOUND');
      return loadAgentDashboard(db, req.params.agentId, clock.now());
    },
  );

  app.post(
    '/api/monitoring/agents/:agentId/events',
    {
      config: { access: 'authenticated' },
      onRequest: refuseWhenQueueFull(writer),
      schema: { summary: 'Record an event (seed 002 body)', tags: ['monitoring'], params: AgentParams, body: SeedEvent },
    },
    async (req, reply) => {
      const now = clock.now();
      const b = req.body;
      assertMayWrite(req.principal, req.params.agentId);
      assertNotFuture(b.timestamp, now);
      assertJsonFieldsFit(b, JSON_FIELDS.event);
      const event = { event_type: b.eventType, message: b.message, metadata: b.metadata, timestamp: b.timestamp, event_id: b.eventId };
      const { id, duplicate } = accepted(
        await writer.submitOne({ kind: 'event', agentId: req.params.agentId, event, now, allowedPool: allowedPool(req.principal) }),
      );
      return reply.status(201).send({ success: true, id, duplicate });
    },
  );

  app.post(
    '/api/monitoring/agents/:agentId/errors',
    {
      config: { access: 'authenticated' },
      onRequest: refuseWhenQueueFull(writer),
      schema: { summary: 'Record an error (seed 002 body)', tags: ['monitoring'], params: AgentParams, body: SeedError },
    },
    async (req, reply) => {
      const now = clock.now();
      const b = req.body;
      assertMayWrite(req.principal, req.params.agentId);
      assertNotFuture(b.timestamp, now);
      assertJsonFieldsFit(b, JSON_FIELDS.error);
      const error = {
        error_type: b.error.name ?? 'Error',
        message: b.error.message,
        stack_trace: b.error.stack,
        metadata: b.metadata,
        timestamp: b.timestamp,
        event_id: b.eventId,
      };
      const fingerprint = errorFingerprint(error.error_type, error.message, error.stack_trace);
      const { id, occurrences, duplicate } = accepted(
        await writer.submitOne({
          kind: 'error',
          agentId: req.params.agentId,
          error,
          fingerprint,
          now,
          allowedPool: allowedPool(req.principal),
        }),
      );
      return reply.status(201).send({ success: true, id, occurrences, duplicate });
    },
  );

  app.patch(
    '/api/monitoring/errors/:errorId/resolve',
    { config: { access: 'admin' }, schema: { summary: 'Resolve an error (seed 002)', tags: ['monitoring'], params: ErrorParams } },
    async (req) => {
      accepted(await writer.submitOne({ kind: 'resolve', errorId: req.params.errorId, now: clock.now() }));
      return { success: true };
    },
  );
};
