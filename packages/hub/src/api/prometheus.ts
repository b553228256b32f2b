import { Type } from 'typebox';
import type { Routes } from './context.js';
import { REFUSALS } from './responses.js';

/**
 * `GET /metrics` in the Prometheus text format (docs/prometheus.md). It needs the admin token as a
 * bearer credential, which Prometheus sends from `authorization` in its scrape config, unless the
 * hub was started with `--metrics-public true`.
 */
export const prometheusRoutes: Routes = (app, { metrics }) => {
  if (!metrics) return;
  app.get(
    '/metrics',
    {
      config: { access: metrics.public ? 'public' : 'admin' },
      schema: {
        summary: 'Fleet and hub metrics in the Prometheus text exposition format',
        tags: ['system'],
        response: {
          200: {
            description: 'Prometheus text exposition format 0.0.4',
            content: { 'text/plain': { schema: Type.String() } },
          },
          ...REFUSALS,
        },
      },
    },
    async (_req, reply) => {
      const { contentType, text } = await metrics.hub.render();
      return reply.type(contentType).send(text);
    },
  );
};
