import { Type } from 'typebox';
import { CapacityAnswer, GpuType } from '@vigil/protocol';
import { VigilError } from '../errors.js';
import { findCapacity } from '../store/capacity.js';
import type { Routes } from './context.js';
import { fitPage, pageLimit, PageQuery } from './paging.js';
import { REFUSALS } from './responses.js';
import { capacityView } from './views.js';

export const capacityRoutes: Routes = (app, { db }) => {
  app.get(
    '/api/v1/capacity',
    {
      config: { access: 'authenticated' },
      schema: {
        summary: 'Online agents with room for a job, best fit first, with the GPUs that fit',
        tags: ['capacity'],
        querystring: Type.Object(
          {
            min_gpu_vram_gb: Type.Optional(
              Type.Number({ minimum: 0, maximum: 1_000_000, description: 'Free VRAM on one GPU (on each of gpu_count GPUs)' }),
            ),
            gpu_count: Type.Optional(Type.Integer({ minimum: 1, maximum: 64, description: 'GPUs the job needs (default 1)' })),
            min_cpu_cores: Type.Optional(Type.Number({ minimum: 0, maximum: 100_000 })),
            min_memory_gb: Type.Optional(Type.Number({ minimum: 0, maximum: 1_000_000 })),
            pool: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
            capability: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
            gpu_type: Type.Optional(GpuType),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: CapacityAnswer, ...REFUSALS },
      },
    },
    async (req) => {
      const p = req.principal;
      // A pool key routes work inside its own pool; an agent key has no business reading the fleet.
      if (p.kind === 'agent') throw new VigilError('VIGIL_FORBIDDEN');
      if (p.kind === 'pool' && req.query.pool !== undefined && req.query.pool !== p.pool) throw new VigilError('VIGIL_FORBIDDEN');
      const pool = p.kind === 'pool' ? p.pool : req.query.pool;
      const found = await findCapacity(db, db.dialect, { ...req.query, pool, limit: pageLimit(req.query.limit) });
      // Best fit first: a page cut for size keeps the best candidates.
      const { items, bytesLimited } = fitPage(found, null, (a) => a.agent_id);
      return { agents: items.map(capacityView), bytes_limited: bytesLimited };
    },
  );
};
