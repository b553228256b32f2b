import { Type } from 'typebox';
import { AgentId, EpochMs, LlmTrace, StoredAnswer, TraceAnswer, TracesPage } from '@vigil/protocol';
import { VigilError } from '../errors.js';
import { getTrace, listTraces } from '../store/traces.js';
import type { Routes } from './context.js';
import { JSON_FIELDS } from './field-limits.js';
import { fitPage, IdCursor, pageLimit, PageQuery } from './paging.js';
import { REFUSALS } from './responses.js';
import { traceView } from './views.js';
import { writeOneRoute } from './write-one.js';

/** LLM calls made by agents (model, tokens, latency, cost): recording and listing them. */
export const traceRoutes: Routes = (app, deps) => {
  const { writer, db } = deps;
  writeOneRoute(app, deps, {
    url: '/api/v1/agents/:agentId/traces',
    summary: 'Record an LLM call',
    tags: ['traces'],
    body: LlmTrace,
    response: { 200: StoredAnswer, 201: StoredAnswer },
    jsonFields: JSON_FIELDS.trace,
    write: ({ agentId, body, now, allowedPool }) => writer.submitOne({ kind: 'trace', agentId, trace: body, now, allowedPool }),
    answer: ({ id, duplicate }) => [duplicate ? 200 : 201, { id, duplicate }],
  });

  app.get(
    '/api/v1/traces',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'LLM calls, newest first; long error texts and attributes cut (listed in `truncated`), pages bounded in bytes',
        tags: ['traces'],
        querystring: Type.Object(
          {
            agent_id: Type.Optional(AgentId),
            model: Type.Optional(Type.String({ maxLength: 200 })),
            since: Type.Optional(EpochMs),
            before: Type.Optional(IdCursor),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: TracesPage, ...REFUSALS },
      },
    },
    async (req) => {
      const page = await listTraces(db, { ...req.query, limit: pageLimit(req.query.limit) });
      const { items, next, bytesLimited } = fitPage(page.traces.map(traceView), page.next, (t) => t.id);
      return { traces: items, next_cursor: next, bytes_limited: bytesLimited };
    },
  );

  app.get(
    '/api/v1/traces/:traceId',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'One LLM call, whole',
        tags: ['traces'],
        params: Type.Object({ traceId: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) }),
        response: { 200: TraceAnswer, ...REFUSALS },
      },
    },
    async (req) => {
      const trace = await getTrace(db, req.params.traceId);
      if (!trace) throw new VigilError('VIGIL_TRACE_NOT_FOUND');
      return { trace: traceView(trace) };
    },
  );
};
