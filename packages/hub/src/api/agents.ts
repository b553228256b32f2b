import { randomUUID } from 'node:crypto';
import { Type } from 'typebox';
import {
  AgentAnswer,
  AgentId,
  AgentsPage,
  AgentStatusSchema,
  DeletedAgentAnswer,
  Heartbeat,
  HeartbeatAnswer,
  RegisterAgent,
  RegisterAnswer,
  UpdatedAgentAnswer,
} from '@vigil/protocol';
import { allowedPool } from '../auth/principal.js';
import { VigilError } from '../errors.js';
import { getAgent, listAgents } from '../store/agents.js';
import { DEFAULT_BUSY_WINDOW_MS, llmActivity } from '../otlp/activity.js';
import { agentLlmTotals } from '../store/llm-usage.js';
import type { Routes } from './context.js';
import { accepted, assertMayWrite } from './refusals.js';
import { assertJsonFieldsFit, JSON_FIELDS } from './field-limits.js';
import { fitPage, pageLimit, PageQuery } from './paging.js';
import { AgentParams } from './params.js';
import { refuseWhenQueueFull } from './queue-gate.js';
import { REFUSALS } from './responses.js';
import { agentDetailView, agentView, listedAgentView } from './views.js';
import { writeOneRoute } from './write-one.js';
import { purgeHistoryInSteps } from '../jobs/retention.js';

// The ingest bench (bench/ingest.ts) imports it from here.
export { AgentParams };

/** How far back the LLM totals on one agent's answer reach. */
const LLM_TOTALS_MS = 30 * 86_400_000;

const AgentPatchBody = Type.Object(
  { name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), paused: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
);

export const agentRoutes: Routes = (app, deps) => {
  const { writer, db, clock, otlp } = deps;
  const busy = llmActivity(otlp?.busyWindowMs ?? DEFAULT_BUSY_WINDOW_MS);
  app.post(
    '/api/v1/agents',
    {
      config: { access: 'authenticated' },
      onRequest: refuseWhenQueueFull(writer),
      schema: {
        summary: 'Register or update an agent',
        tags: ['agents'],
        body: RegisterAgent,
        response: { 200: RegisterAnswer, 201: RegisterAnswer, ...REFUSALS },
      },
    },
    async (req, reply) => {
      const p = req.principal;
      const agentId = req.body.agent_id ?? (p.kind === 'agent' ? p.agentId : randomUUID());
      assertMayWrite(p, agentId);
      assertJsonFieldsFit(req.body, JSON_FIELDS.agent);
      if (p.kind === 'pool' && req.body.pool_name !== undefined && req.body.pool_name !== p.pool) {
        throw new VigilError('VIGIL_FORBIDDEN', `This key registers agents in pool ${JSON.stringify(p.pool)} only`);
      }
      const agent = { ...req.body, agent_id: agentId, ...(p.kind === 'pool' ? { pool_name: p.pool } : {}) };
      const { created, agent: stored } = accepted(
        // An agent's own key may not bring back an agent that was deleted (VIGIL_AGENT_DELETED).
        await writer.submitOne({
          kind: 'register',
          agent,
          now: clock.now(),
          allowedPool: allowedPool(p),
          mayMovePool: p.kind === 'admin',
          mayRevive: p.kind !== 'agent',
        }),
      );
      return reply.status(created ? 201 : 200).send({ created, agent: agentView(stored) });
    },
  );

  app.get(
    '/api/v1/agents',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'List agents, one page at a time; long metadata left out (listed in `truncated`), pages bounded in bytes',
        tags: ['agents'],
        querystring: Type.Object(
          {
            status: Type.Optional(AgentStatusSchema),
            pool: Type.Optional(Type.String({ maxLength: 100 })),
            type: Type.Optional(Type.String({ maxLength: 100 })),
            after: Type.Optional(AgentId),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: AgentsPage, ...REFUSALS },
      },
    },
    async (req) => {
      const q = req.query;
      const page = await listAgents(db, {
        status: q.status,
        pool: q.pool,
        type: q.type,
        after: q.after,
        limit: pageLimit(q.limit),
      });
      const now = clock.now();
      const { items, next, bytesLimited } = fitPage(page.agents, page.next, (a) => a.agent_id);
      return { agents: items.map((a) => listedAgentView(busy(a, now))), next_cursor: next, bytes_limited: bytesLimited };
    },
  );

  app.get(
    '/api/v1/agents/:agentId',
    {
      config: { access: 'authenticated' },
      schema: {
        summary: 'One agent with its latest resources',
        tags: ['agents'],
        params: AgentParams,
        response: { 200: AgentAnswer, ...REFUSALS },
      },
    },
    async (req) => {
      const p = req.principal;
      assertMayWrite(p, req.params.agentId);
      const agent = await getAgent(db, req.params.agentId);
      if (p.kind === 'pool' && agent?.pool_name !== p.pool) throw new VigilError('VIGIL_FORBIDDEN');
      if (!agent) throw new VigilError('VIGIL_AGENT_NOT_FOUND');
      const now = clock.now();
      // The last 30 days of LLM calls (docs/otlp.md): what the agent cost, beside how it is.
      const llm_totals = await agentLlmTotals(db, agent.agent_id, now - LLM_TOTALS_MS);
      return { agent: agentDetailView({ ...busy(agent, now), llm_totals }) };
    },
  );

  app.patch(
    '/api/v1/agents/:agentId',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Rename an agent, or pause or resume its monitoring (a paused agent fires no alert)',
        tags: ['agents'],
        params: AgentParams,
        body: AgentPatchBody,
        response: { 200: UpdatedAgentAnswer, ...REFUSALS },
      },
    },
    async (req) => {
      const { agent } = accepted(
        await writer.submitOne({ kind: 'update_agent', agentId: req.params.agentId, patch: req.body, now: clock.now() }),
      );
      return { agent: agentView(agent) };
    },
  );

  app.delete(
    '/api/v1/agents/:agentId',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Delete an agent, with its history unless keep_history=true (then retention removes it)',
        tags: ['agents'],
        params: AgentParams,
        querystring: Type.Object({ keep_history: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        response: { 200: DeletedAgentAnswer, ...REFUSALS },
      },
    },
    async (req) => {
      const agentId = req.params.agentId;
      const keepHistory = req.query.keep_history ?? false;
      const { deleted } = accepted(await writer.submitOne({ kind: 'delete_agent', agentId, keepHistory, now: clock.now() }));
      // Bounded steps: ingest commits between them, so a long history never holds the writer.
      // A hub that begins to stop answers now; retention finishes the rest (pendingHistoryPurges).
      const { deleted: rowsDeleted } = await purgeHistoryInSteps(writer, agentId, { stopped: () => deps.lifecycle.shuttingDown });
      return {
        agent_id: agentId,
        deleted: true as const,
        already_deleted: !deleted,
        history: keepHistory ? ('kept' as const) : ('deleted' as const),
        rows_deleted: rowsDeleted,
      };
    },
  );

  // The hot path: its answer is three small fields, written with JSON.stringify like every answer.
  writeOneRoute(app, deps, {
    url: '/api/v1/agents/:agentId/heartbeat',
    summary: 'Report liveness and resources',
    tags: ['agents'],
    body: Heartbeat,
    response: { 200: HeartbeatAnswer },
    write: ({ agentId, body, now, allowedPool }) => writer.submitOne({ kind: 'heartbeat', agentId, heartbeat: body, now, allowedPool }),
    answer: ({ status, duplicate }, { now }) => [200, { status, duplicate, received_at: now }],
  });
};
