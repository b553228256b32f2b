import { Type } from 'typebox';
import { CapacityAnswer, GpuType } from '@vigil/protocol';
import type { Principal } from '../auth/principal.js';
import { VigilError } from '../errors.js';
import { findCapacity } from '../store/capacity.js';
import type { Routes } from './context.js';
import { fitPage, pageLimit, PageQuery } from './paging.js';
import { REFUSALS } from './responses.js';
import { capacityView } from './views.js';

/** The capacity query's conditions, shared by the query and by a claim. */
export const CapacityFilters = {
  min_gpu_vram_gb: Type.Optional(
    Type.Number({ minimum: 0, maximum: 1_000_000, description: 'Free VRAM on one GPU (on each of gpu_count GPUs)' }),
  ),
  gpu_count: Type.Optional(Type.Integer({ minimum: 1, maximum: 64, description: 'GPUs the job needs (default 1)' })),
  min_cpu_cores: Type.Optional(Type.Number({ minimum: 0, maximum: 100_000 })),
  min_memory_gb: Type.Optional(Type.Number({ minimum: 0, maximum: 1_000_000 })),
  pool: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  capability: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  gpu_type: Type.Optional(GpuType),
};

/**
 * The pool a capacity query or claim is confined to: a pool key routes work inside its own pool
 * (asking for another is 403); an agent key has no business reading or reserving the fleet.
 */
export function routingPool(p: Principal, asked: string | undefined): string | undefined {
  if (p.kind === 'agent') throw new VigilError('VIGIL_FORBIDDEN');
  if (p.kind === 'pool' && asked !== undefined && asked !== p.pool) throw new VigilError('VIGIL_FORBIDDEN');
  return p.kind === 'pool' ? p.pool : asked;
}

export const capacityRoutes: Routes = (app, { db, clock }) => {
  app.get(
    '/api/v1/capacity',
    {
      config: { access: 'authenticated' },
      schema: {
        summary: 'Online agents with room for a job, best fit first, with the GPUs that fit',
        tags: ['capacity'],
        querystring: Type.Object(
          {
            ...CapacityFilters,
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: CapacityAnswer, ...REFUSALS },
      },
    },
    async (req) => {
      const pool = routingPool(req.principal, req.query.pool);
      const found = await findCapacity(db, db.dialect, { ...req.query, pool, limit: pageLimit(req.query.limit) }, clock.now());
      // Best fit first: a page cut for size keeps the best candidates.
      const { items, bytesLimited } = fitPage(found, null, (a) => a.agent_id);
      return { agents: items.map(capacityView), bytes_limited: bytesLimited };
    },
  );
};
