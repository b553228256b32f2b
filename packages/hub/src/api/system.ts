import { Type } from 'typebox';
import { EpochMs, SystemSample } from '@vigil/protocol';
import { listSystemMetrics } from '../store/system-metrics.js';
import type { Routes } from './context.js';
import { REFUSALS } from './responses.js';
import { systemSampleView } from './views.js';

const DEFAULT_WINDOW_MS = 3_600_000;

/** The hub's own host metrics (docs/seed-requirements.md, host metrics), sampled by the host-metrics job. */
export const systemRoutes: Routes = (app, { db, clock }) => {
  app.get(
    '/api/v1/system/metrics',
    {
      config: { access: 'admin' },
      schema: {
        summary: "The hub host's CPU, memory, disk and I/O samples, oldest first",
        tags: ['system'],
        querystring: Type.Object(
          {
            since: Type.Optional(EpochMs),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ samples: Type.Array(SystemSample) }, { additionalProperties: false }), ...REFUSALS },
      },
    },
    async (req) => {
      const since = req.query.since ?? clock.now() - DEFAULT_WINDOW_MS;
      return { samples: (await listSystemMetrics(db, since, req.query.limit ?? 1000)).map(systemSampleView) };
    },
  );
};
