import { freemem, loadavg, totalmem, uptime } from 'node:os';
import { Type } from 'typebox';
import {
  AgentDashboard,
  AgentEventTypeSchema,
  DashboardPage,
  EpochMs,
  EventId,
  Metadata,
  SeedStoredAnswer,
  SeedStoredErrorAnswer,
  SeedSuccess,
} from '@vigil/protocol';
import { VigilError } from '../errors.js';
import { errorFingerprint } from '../ingest/fingerprint.js';
import { getAgent } from '../store/agents.js';
import { loadAgentDashboard, loadDashboard } from '../store/dashboard.js';
import { AgentParams } from './params.js';
import type { Routes } from './context.js';
import { JSON_FIELDS } from './field-limits.js';
import { fitPage, pageLimit, PageQuery } from './paging.js';
import { ErrorParams } from './params.js';
import { accepted } from './refusals.js';
import { REFUSALS } from './responses.js';
import { dashboardAgentView, errorView, eventView, sampleView } from './views.js';
import { writeOneRoute } from './write-one.js';
import { DEFAULT_BUSY_WINDOW_MS } from '../otlp/activity.js';

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
export const monitoringRoutes: Routes = (app, deps) => {
  const { writer, db, clock } = deps;
  app.get(
    '/api/monitoring/dashboard',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Fleet overview (the monitoring API shape)',
        tags: ['monitoring'],
        querystring: Type.Object({ after: Type.Optional(Type.String({ maxLength: 128 })), ...PageQuery }, { additionalProperties: false }),
        response: { 200: DashboardPage, ...REFUSALS },
      },
    },
    async (req) => {
      const d = await loadDashboard(db, { after: req.query.after, limit: pageLimit(req.query.limit) });
      const errorsBy = new Map(d.activeErrors.map((e) => [e.agent_id, e.count]));
      // The byte bound is measured on the stored agents, as the seed extras are small and fixed.
      const page = fitPage(d.agents, d.next, (a) => a.agent_id);
      const agents = page.items.map((a) =>
        dashboardAgentView({
          ...a,
          agentId: a.agent_id,
          metrics: {
            cpuPercent: a.cpu_percent ?? a.resource_metrics.cpu_percent ?? null,
            memoryMb: a.memory_mb,
            messageCount: a.message_count,
            errorCount: errorsBy.get(a.agent_id) ?? 0,
            status: a.status,
          },
        }),
      );
      return {
        agents,
        recentEvents: d.recentEvents.map(eventView),
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
        llm_busy_window_s: (deps.otlp?.busyWindowMs ?? DEFAULT_BUSY_WINDOW_MS) / 1000,
      };
    },
  );

  app.get(
    '/api/monitoring/agents/:agentId',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'One agent: last hour of metrics, events, errors (the monitoring API shape)',
        tags: ['monitoring'],
        params: AgentParams,
        response: { 200: AgentDashboard, ...REFUSALS },
      },
    },
    async (req) => {
      if (!(await getAgent(db, req.params.agentId))) throw new VigilError('VIGIL_AGENT_NOT_FOUND');
      const d = await loadAgentDashboard(db, req.params.agentId, clock.now());
      return { agentId: d.agentId, metrics: d.metrics.map(sampleView), events: d.events.map(eventView), errors: d.errors.map(errorView) };
    },
  );

  writeOneRoute(app, deps, {
    url: '/api/monitoring/agents/:agentId/events',
    summary: 'Record an event (the monitoring API body)',
    tags: ['monitoring'],
    body: SeedEvent,
    response: { 201: SeedStoredAnswer },
    jsonFields: JSON_FIELDS.event,
    write: ({ agentId, body: b, now, allowedPool }) => {
      const event = { event_type: b.eventType, message: b.message, metadata: b.metadata, timestamp: b.timestamp, event_id: b.eventId };
      return writer.submitOne({ kind: 'event', agentId, event, now, allowedPool });
    },
    answer: ({ id, duplicate }) => [201, { success: true as const, id, duplicate }],
  });

  writeOneRoute(app, deps, {
    url: '/api/monitoring/agents/:agentId/errors',
    summary: 'Record an error (the monitoring API body)',
    tags: ['monitoring'],
    body: SeedError,
    response: { 201: SeedStoredErrorAnswer },
    jsonFields: JSON_FIELDS.error,
    write: ({ agentId, body: b, now, allowedPool }) => {
      const error = {
        error_type: b.error.name ?? 'Error',
        message: b.error.message,
        stack_trace: b.error.stack,
        metadata: b.metadata,
        timestamp: b.timestamp,
        event_id: b.eventId,
      };
      const fingerprint = errorFingerprint(error.error_type, error.message, error.stack_trace);
      return writer.submitOne({ kind: 'error', agentId, error, fingerprint, now, allowedPool });
    },
    answer: ({ id, occurrences, duplicate }) => [201, { success: true as const, id, occurrences, duplicate }],
  });

  app.patch(
    '/api/monitoring/errors/:errorId/resolve',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Resolve an error (the monitoring API)',
        tags: ['monitoring'],
        params: ErrorParams,
        response: { 200: SeedSuccess, ...REFUSALS },
      },
    },
    async (req) => {
      accepted(await writer.submitOne({ kind: 'resolve', errorId: req.params.errorId, now: clock.now() }));
      return { success: true as const };
    },
  );
};
