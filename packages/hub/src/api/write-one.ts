import type { Static, TSchema } from 'typebox';
import { allowedPool } from '../auth/principal.js';
import type { Refusal } from '../ingest/commands.js';
import { AgentParams } from './params.js';
import type { ApiDeps, App } from './context.js';
import { assertJsonFieldsFit } from './field-limits.js';
import { accepted, assertMayWrite, assertNotFuture } from './refusals.js';
import { refuseWhenQueueFull } from './queue-gate.js';
import { REFUSALS } from './responses.js';

/** One item an agent sends, checked and ready for the writer. */
export interface OneItem<B> {
  agentId: string;
  body: B;
  /** The hub's clock when the request arrived. */
  now: number;
  /** Set for a pool key: the writer checks the agent is in it, inside the transaction. */
  allowedPool: string | undefined;
}

/**
 * `POST <url>` that writes one item (a heartbeat, an event, an error, an LLM call) of the agent in the
 * path: the same checks in the same order for every kind, before the queue is touched (queue full
 * 429, may this key write this agent 403, timestamp ahead 422, a JSON field over its byte limit
 * 413), then one writer command, whose refusal becomes the API error and whose result the answer.
 */
export function writeOneRoute<B extends TSchema, A extends TSchema, R extends { ok: true } | Refusal>(
  app: App,
  { writer, clock }: Pick<ApiDeps, 'writer' | 'clock'>,
  spec: {
    url: string;
    summary: string;
    tags: string[];
    body: B;
    /** The success statuses, each with the answer's schema (refusals are added: REFUSALS). */
    response: Record<number, A>;
    /** The item's free-form JSON fields, bounded in bytes (JSON_FIELDS). */
    jsonFields?: readonly string[];
    write: (item: OneItem<Static<B>>) => Promise<R>;
    /** The status and body for a stored (or duplicate) item. */
    answer: (result: Exclude<R, Refusal>, item: OneItem<Static<B>>) => [status: number, body: Static<A>];
  },
): void {
  app.post(
    spec.url,
    {
      config: { access: 'authenticated' },
      onRequest: refuseWhenQueueFull(writer),
      schema: {
        summary: spec.summary,
        tags: spec.tags,
        params: AgentParams,
        body: spec.body,
        response: { ...spec.response, ...REFUSALS },
      },
    },
    async (req, reply) => {
      const now = clock.now();
      const agentId = (req.params as { agentId: string }).agentId;
      const body = req.body as Static<B> & { timestamp?: number };
      assertMayWrite(req.principal, agentId);
      assertNotFuture(body.timestamp, now);
      if (spec.jsonFields) assertJsonFieldsFit(body, spec.jsonFields);
      const item = { agentId, body, now, allowedPool: allowedPool(req.principal) };
      const [status, answer] = spec.answer(accepted(await spec.write(item)), item);
      return reply.status(status).send(answer as never);
    },
  );
}
