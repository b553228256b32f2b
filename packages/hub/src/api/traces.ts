import { Type } from 'typebox';
import { AgentId, EpochMs, LlmTrace } from '@vigil/protocol';
import { allowedPool } from '../auth/principal.js';
import { VigilError } from '../errors.js';
import { getTrace, listTraces } from '../store/traces.js';
import { AgentParams } from './agents.js';
import type { Routes } from './context.js';
import { assertJsonFieldsFit, JSON_FIELDS } from './field-limits.js';
import { fitPage, IdCursor, pageLimit, PageQuery } from './paging.js';
import { accepted, assertMayWrite, assertNotFuture } from './refusals.js';
import { refuseWhenQueueFull } from './queue-gate.js';

/** LLM calls made by agents (model, tokens, latency, cost): recording and listing them. */
export const traceRoutes: Routes = (app, { writer, db, clock }) => {
  app.post(
    '/api/v1/agents/:agentId/traces',
    {
      config: { access: 'authenticated' },
      onRequest: refuseWhenQueueFull(writer),
      schema: { summary: 'Record an LLM call', tags: ['traces'], params: AgentParams, body: LlmTrace },
    },
    async (req, reply) => {
      const now = clock.now();
      assertMayWrite(req.principal, req.params.agentId);
      assertNotFuture(req.body.timestamp, now);
      assertJsonFieldsFit(req.body, JSON_FIELDS.trace);
      const { id, duplicate } = accepted(
        await writer.submitOne({
          kind: 'trace',
          agentId: req.params.agentId,
          trace: req.body,
          now,
          allowedPool: allowedPool(req.principal),
        }),
      );
      return reply.status(duplicate ? 200 : 201).send({ id, duplicate });
    },
  );

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
      },
    },
    async (req) => {
      const page = await listTraces(db, { ...req.query, limit: pageLimit(req.query.limit) });
      const { items, next, bytesLimited } = fitPage(page.traces, page.next, (t) => t.id);
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
      },
    },
    async (req) => {
      const trace = await getTrace(db, req.params.traceId);
      if (!trace) throw new VigilError('VIGIL_TRACE_NOT_FOUND');
      return { trace };
    },
  );
};
