import { Type } from 'typebox';
import {
  AgentError,
  AgentEvent,
  AgentId,
  EpochMs,
  ErrorAnswer,
  ErrorsPage,
  EventAnswer,
  EventsPage,
  ReopenedErrorAnswer,
  StoredAnswer,
  StoredErrorAnswer,
} from '@vigil/protocol';
import { VigilError } from '../errors.js';
import { errorFingerprint } from '../ingest/fingerprint.js';
import { getError, listErrors } from '../store/errors.js';
import { getEvent, listEvents } from '../store/events.js';
import type { Routes } from './context.js';
import { JSON_FIELDS } from './field-limits.js';
import { fitPage, IdCursor, pageLimit, PageQuery } from './paging.js';
import { ErrorParams } from './params.js';
import { accepted } from './refusals.js';
import { REFUSALS } from './responses.js';
import { errorView, eventView } from './views.js';
import { writeOneRoute } from './write-one.js';

/** Widest window one events query may span; wider asks are refused rather than scanning everything. */
export const MAX_RANGE_MS = 31 * 24 * 3_600_000;

const EventParams = Type.Object({ eventId: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) });

/** Lifecycle events and error logs: writing them, listing them, resolving and reopening errors. */
export const recordRoutes: Routes = (app, deps) => {
  const { writer, db, clock } = deps;
  writeOneRoute(app, deps, {
    url: '/api/v1/agents/:agentId/events',
    summary: 'Record a lifecycle event',
    tags: ['events'],
    body: AgentEvent,
    response: { 200: StoredAnswer, 201: StoredAnswer },
    jsonFields: JSON_FIELDS.event,
    write: ({ agentId, body, now, allowedPool }) => writer.submitOne({ kind: 'event', agentId, event: body, now, allowedPool }),
    answer: ({ id, duplicate }) => [duplicate ? 200 : 201, { id, duplicate }],
  });

  writeOneRoute(app, deps, {
    url: '/api/v1/agents/:agentId/errors',
    summary: 'Record an error; repeats of one failure count up',
    tags: ['errors'],
    body: AgentError,
    response: { 200: StoredErrorAnswer, 201: StoredErrorAnswer },
    jsonFields: JSON_FIELDS.error,
    write: async ({ agentId, body: error, now, allowedPool }) => {
      const fingerprint = errorFingerprint(error.error_type, error.message, error.stack_trace);
      const result = await writer.submitOne({ kind: 'error', agentId, error, fingerprint, now, allowedPool });
      return result.ok ? { ...result, fingerprint } : result;
    },
    answer: ({ id, occurrences, duplicate, fingerprint }) => [duplicate ? 200 : 201, { id, occurrences, duplicate, fingerprint }],
  });

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
        response: { 200: EventsPage, ...REFUSALS },
      },
    },
    async (req) => {
      const q = req.query;
      if (q.since !== undefined && (q.until ?? clock.now()) - q.since > MAX_RANGE_MS) {
        throw new VigilError('VIGIL_RANGE_TOO_WIDE', `since..until may span at most ${MAX_RANGE_MS / 86_400_000} days`);
      }
      const page = await listEvents(db, { ...q, limit: pageLimit(q.limit) });
      const { items, next, bytesLimited } = fitPage(page.events.map(eventView), page.next, (e) => e.id);
      return { events: items, next_cursor: next, bytes_limited: bytesLimited };
    },
  );

  app.get(
    '/api/v1/events/:eventId',
    {
      config: { access: 'admin' },
      schema: { summary: 'One event, whole', tags: ['events'], params: EventParams, response: { 200: EventAnswer, ...REFUSALS } },
    },
    async (req) => {
      const event = await getEvent(db, req.params.eventId);
      if (!event) throw new VigilError('VIGIL_EVENT_NOT_FOUND');
      return { event: eventView(event) };
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
        response: { 200: ErrorsPage, ...REFUSALS },
      },
    },
    async (req) => {
      const q = req.query;
      const page = await listErrors(db, { ...q, limit: pageLimit(q.limit) });
      const { items, next, bytesLimited } = fitPage(page.errors.map(errorView), page.next, (e) => e.id);
      return { errors: items, next_cursor: next, bytes_limited: bytesLimited };
    },
  );

  app.get(
    '/api/v1/errors/:errorId',
    {
      config: { access: 'admin' },
      schema: { summary: 'One error group, whole', tags: ['errors'], params: ErrorParams, response: { 200: ErrorAnswer, ...REFUSALS } },
    },
    async (req) => {
      const error = await getError(db, req.params.errorId);
      if (!error) throw new VigilError('VIGIL_ERROR_NOT_FOUND');
      return { error: errorView(error) };
    },
  );

  app.post(
    '/api/v1/errors/:errorId/resolve',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Resolve an error group (idempotent)',
        tags: ['errors'],
        params: ErrorParams,
        response: { 200: ErrorAnswer, ...REFUSALS },
      },
    },
    async (req) => {
      const { error } = accepted(await writer.submitOne({ kind: 'resolve', errorId: req.params.errorId, now: clock.now() }));
      return { error: errorView(error) };
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
        response: { 200: ReopenedErrorAnswer, ...REFUSALS },
      },
    },
    async (req) => {
      const { error, removedId } = accepted(await writer.submitOne({ kind: 'unresolve', errorId: req.params.errorId, now: clock.now() }));
      return { error: errorView(error), removed_id: removedId };
    },
  );
};
