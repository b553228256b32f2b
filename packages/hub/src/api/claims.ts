import { randomUUID } from 'node:crypto';
import { Claim as ClaimSchema, ClaimsAnswer } from '@vigil/protocol';
import { Type } from 'typebox';
import { allowedPool } from '../auth/principal.js';
import { VigilError } from '../errors.js';
import { claimCapacity, getClaim, listClaims, type Claim, type ClaimChange, type ClaimRequest } from '../store/claims.js';
import { CapacityFilters, routingPool } from './capacity.js';
import type { ApiDeps, Routes } from './context.js';
import { fitPage, pageLimit, PageQuery } from './paging.js';
import { REFUSALS } from './responses.js';

const DAY_S = 86_400;
const DEFAULT_LEASE_S = 600;

const LeaseSeconds = Type.Integer({
  minimum: 1,
  maximum: DAY_S,
  description: `How long the reservation holds unless renewed (default ${DEFAULT_LEASE_S}, at most a day)`,
});
const ClaimId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9a-f-]+$' });
/** `<created_at>_<claim_id>` of the last claim of the previous page. */
const ClaimCursor = Type.String({
  maxLength: 100,
  pattern: '^[0-9]{1,16}_[0-9a-f-]{1,64}$',
  description: 'next_cursor of the previous page',
});

/**
 * Capacity claims (docs/capacity.md): reserve an agent's cores, memory and GPUs for a job, for a lease.
 * On SQLite a claim is one command of the single writer, which no other write can interleave with; on
 * PostgreSQL, which several hubs may share, each agent tried is its own small transaction under the
 * agent row's lock (store/claims.ts), outside the writer's batches so no claim waits behind a batch.
 */
export const claimRoutes: Routes = (app, deps) => {
  const { db, writer, clock } = deps;

  app.post(
    '/api/v1/capacity/claim',
    {
      config: { access: 'authenticated' },
      schema: {
        summary: 'Reserve the best-fitting agent (and GPUs) for a job, for a lease',
        tags: ['capacity'],
        body: Type.Object(
          {
            ...CapacityFilters,
            job: Type.String({ minLength: 1, maxLength: 200, description: 'What the capacity is for, shown with the claim' }),
            lease_seconds: Type.Optional(LeaseSeconds),
          },
          { additionalProperties: false },
        ),
        response: { 201: ClaimSchema, ...REFUSALS },
      },
    },
    async (req, reply) => {
      const { job, lease_seconds, ...query } = req.body;
      const pool = routingPool(req.principal, query.pool);
      const request: ClaimRequest = {
        query: { ...query, pool },
        job,
        leaseMs: (lease_seconds ?? DEFAULT_LEASE_S) * 1000,
        claimedBy: req.principal.kind === 'pool' ? `pool:${req.principal.pool}` : req.principal.kind,
        now: clock.now(),
        claimId: randomUUID(),
      };
      const claim = await reserve(deps, request);
      if (!claim) throw new VigilError('VIGIL_NO_CAPACITY');
      return reply.code(201).send(claim);
    },
  );

  app.post(
    '/api/v1/capacity/claims/:claimId/release',
    {
      config: { access: 'authenticated' },
      schema: {
        summary: 'End a claim now (releasing an ended claim answers it as it is)',
        tags: ['capacity'],
        params: Type.Object({ claimId: ClaimId }),
        response: { 200: ClaimSchema, ...REFUSALS },
      },
    },
    async (req) => {
      routingPool(req.principal, undefined);
      return changed(
        await writer.submitOne({
          kind: 'release_claim',
          claimId: req.params.claimId,
          now: clock.now(),
          allowedPool: allowedPool(req.principal),
        }),
      );
    },
  );

  app.post(
    '/api/v1/capacity/claims/:claimId/renew',
    {
      config: { access: 'authenticated' },
      schema: {
        summary: "Extend an active claim's lease from now",
        tags: ['capacity'],
        params: Type.Object({ claimId: ClaimId }),
        // No body at all renews for the default lease.
        body: Type.Union([Type.Null(), Type.Object({ lease_seconds: Type.Optional(LeaseSeconds) }, { additionalProperties: false })]),
        response: { 200: ClaimSchema, ...REFUSALS },
      },
    },
    async (req) => {
      routingPool(req.principal, undefined);
      const leaseMs = (req.body?.lease_seconds ?? DEFAULT_LEASE_S) * 1000;
      return changed(
        await writer.submitOne({
          kind: 'renew_claim',
          claimId: req.params.claimId,
          leaseMs,
          now: clock.now(),
          allowedPool: allowedPool(req.principal),
        }),
      );
    },
  );

  app.get(
    '/api/v1/capacity/claims/:claimId',
    {
      config: { access: 'authenticated' },
      schema: {
        summary: 'One claim',
        tags: ['capacity'],
        params: Type.Object({ claimId: ClaimId }),
        response: { 200: ClaimSchema, ...REFUSALS },
      },
    },
    async (req) => {
      routingPool(req.principal, undefined);
      const claim = await getClaim(db, req.params.claimId, clock.now(), allowedPool(req.principal));
      if (!claim) throw new VigilError('VIGIL_CLAIM_NOT_FOUND');
      return claim;
    },
  );

  app.get(
    '/api/v1/capacity/claims',
    {
      config: { access: 'authenticated' },
      schema: {
        summary: 'Claims, newest first (active ones unless status says otherwise)',
        tags: ['capacity'],
        querystring: Type.Object(
          {
            status: Type.Optional(
              Type.Union([Type.Literal('active'), Type.Literal('released'), Type.Literal('expired'), Type.Literal('all')]),
            ),
            agent_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            pool: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
            before: Type.Optional(ClaimCursor),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: ClaimsAnswer, ...REFUSALS },
      },
    },
    async (req) => {
      const pool = routingPool(req.principal, req.query.pool);
      const limit = pageLimit(req.query.limit);
      const [createdAt, claimId] = req.query.before?.split('_') ?? [];
      const rows = await listClaims(
        db,
        {
          status: req.query.status,
          agentId: req.query.agent_id,
          pool,
          before: createdAt !== undefined && claimId !== undefined ? { createdAt: Number(createdAt), claimId } : undefined,
          limit,
        },
        clock.now(),
      );
      const cursorOf = (c: Claim) => `${c.created_at}_${c.claim_id}`;
      const more = rows.length > limit;
      const page = rows.slice(0, limit);
      const { items, next, bytesLimited } = fitPage(page, more ? cursorOf(page[page.length - 1] as Claim) : null, cursorOf);
      return { claims: items, next_cursor: next, bytes_limited: bytesLimited };
    },
  );
};

/** Claims through the single writer on SQLite, in per-agent transactions of their own on PostgreSQL. */
async function reserve({ db, writer }: ApiDeps, request: ClaimRequest): Promise<Claim | undefined> {
  if (db.dialect.name === 'sqlite') return (await writer.submitOne({ kind: 'claim', request })).claim;
  return claimCapacity(db, db.dialect, (fn) => db.transaction(fn), request);
}

function changed(r: ClaimChange): Claim {
  if (!r.ok) throw new VigilError(r.code);
  return r.claim;
}
