import { Type } from 'typebox';
import { AgentError, AgentEvent, AgentId, EpochMs } from '@vigil/protocol';
import { allowedPool } from '../auth/principal.js';
import { VigilError } from '../errors.js';
import { errorFingerprint } from '../ingest/fingerprint.js';
import { getError, listErrors } from '../store/errors.js';
import { getEvent, listEvents } from '../store/events.js';
import { AgentParams } from './agents.js';
import type { Routes } from './context.js';
import { assertJsonFieldsFit, JSON_FIELDS } from './field-limits.js';
import { fitPage, IdCursor, pageLimit, PageQuery } from './paging.js';
import { accepted, assertMayWrite, assertNotFuture } from './refusals.js';
import { refuseWhenQueueFull } from './queue-gate.js';

/** Widest window one events query may span; wider asks are refused rather than scanning everything. */
export const MAX_RANGE_MS = 31 * 24 * 3_600_000;

export const ErrorParams = Type.Object({ errorId: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) });
const EventParams = Type.Object({ eventId: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) });

/** Lifecycle events and error logs: writing them, listing them, resolving and reopening errors. */
export const recordRoutes: Routes = (app, { writer, db, clock }) => {
  app.post(
    '/api/v1/agents/:agentId/events',
    {
      config: { access: 'authenticated' },
      onRequest: refuseWhenQueueFull(writer),
      schema: { summary: 'Record a lifecycle event', tags: ['events'], params: AgentParams, body: AgentEvent },
    },
    async (req, reply) => {
      const now = clock.now();
      assertMayWrite(req.principal, req.params.agentId);
      assertNotFuture(req.body.timestamp, now);
      assertJsonFieldsFit(req.body, JSON_FIELDS.event);
      const { id, duplicate } = accepted(
        await writer.submitOne({
          kind: 'event',
          agentId: req.params.agentId,
          event: req.body,
          now,
          allowedPool: allowedPool(req.principal),
        }),
      );
      return reply.status(duplicate ? 200 : 201).send({ id, duplicate });
    },
  );

  app.post(
    '/api/v1/agents/:agentId/errors',
    {
      config: { access: 'authenticated' },
      onRequest: refuseWhenQueueFull(writer),
      schema: { summary: 'Record an error; repeats of one failure count up', tags: ['errors'], params: AgentParams, body: AgentError },
    },
    async (req, reply) => {
      const now = clock.now();
      const e = req.body;
      assertMayWrite(req.principal, req.params.agentId);
      assertNotFuture(e.timestamp, now);
      assertJsonFieldsFit(e, JSON_FIELDS.error);
      const fingerprint = errorFingerprint(e.error_type, e.message, e.stack_trace);
      const result = accepted(
        await writer.submitOne({
          kind: 'error',
          agentId: req.params.agentId,
          error: e,
          fingerprint,
          now,
          allowedPool: allowedPool(req.principal),
        }),
      );
      return reply
        .status(result.duplicate ? 200 : 201)
        .send({ id: result.id, occurrences: result.occurrences, duplicate: result.duplicate, fingerprint });
    },
  );

  app.get(
    '/api/v1/events',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Events, newest first; long messages and metadata cut (listed in `truncated`), pages bounded in bytes',
        tags: ['events'],
        querystring: Type.Object(
          {
            agent_id: Type.Optional(AgentId),
            event_type: Type.Optional(Type.String({ maxLength: 50 })),
            since: Type.Optional(EpochMs),
            until: Type.Optional(EpochMs),
            before: Type.Optional(IdCursor),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      const q = req.query;
      if (q.since !== undefined && (q.until ?? clock.now()) - q.since > MAX_RANGE_MS) {
        throw new VigilError('VIGIL_RANGE_TOO_WIDE', `since..until may span at most ${MAX_RANGE_MS / 86_400_000} days`);
      }
      const page = await listEvents(db, { ...q, limit: pageLimit(q.limit) });
      const { items, next, bytesLimited } = fitPage(page.events, page.next, (e) => e.id);
      return { events: items, next_cursor: next, bytes_limited: bytesLimited };
    },
  );

  app.get(
    '/api/v1/events/:eventId',
    { config: { access: 'admin' }, schema: { summary: 'One event, whole', tags: ['events'], params: EventParams } },
    async (req) => {
      const event = await getEvent(db, req.params.eventId);
      if (!event) throw new VigilError('VIGIL_EVENT_NOT_FOUND');
      return { event };
    },
  );

  app.get(
    '/api/v1/errors',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Error groups, newest first; long messages, stack traces and metadata cut (listed in `truncated`), pages bounded in bytes',
        tags: ['errors'],
        querystring: Type.Object(
          {
            agent_id: Type.Optional(AgentId),
            resolved: Type.Optional(Type.Boolean()),
            before: Type.Optional(IdCursor),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      const q = req.query;
      const page = await listErrors(db, { ...q, limit: pageLimit(q.limit) });
      const { items, next, bytesLimited } = fitPage(page.errors, page.next, (e) => e.id);
      return { errors: items, next_cursor: next, bytes_limited: bytesLimited };
    },
  );

  app.get(
    '/api/v1/errors/:errorId',
    { config: { access: 'admin' }, schema: { summary: 'One error group, whole', tags: ['errors'], params: ErrorParams } },
    async (req) => {
      const error = await getError(db, req.params.errorId);
      if (!error) throw new VigilError('VIGIL_ERROR_NOT_FOUND');
      return { error };
    },
  );

  app.post(
    '/api/v1/errors/:errorId/resolve',
    { config: { access: 'admin' }, schema: { summary: 'Resolve an error group (idempotent)', tags: ['errors'], params: ErrorParams } },
    async (req) => {
      const { error } = accepted(await writer.submitOne({ kind: 'resolve', errorId: req.params.errorId, now: clock.now() }));
      return { error };
    },
  );

  app.post(
    '/api/v1/errors/:errorId/unresolve',
    {
      config: { access: 'admin' },
      schema: {
        summary:
          'Reopen a resolved error group (idempotent). When a repeat already opened a group with the same fingerprint on that agent, ' +
          'the reopened one is merged into it (occurrences summed) and deleted: the answer is the open group, and removed_id the deleted id',
        tags: ['errors'],
        params: ErrorParams,
      },
    },
    async (req) => {
      const { error, removedId } = accepted(await writer.submitOne({ kind: 'unresolve', errorId: req.params.errorId, now: clock.now() }));
      return { error, removed_id: removedId };
    },
  );
};
