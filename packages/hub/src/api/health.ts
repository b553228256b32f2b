import type { Routes } from './context.js';

/** Liveness and readiness for load balancers and orchestrators (the dashboard at `/` is web/routes.ts). */
export const healthRoutes: Routes = (app, { db, writer, clock, startedAt, lifecycle }) => {
  app.get(
    '/healthz',
    { config: { access: 'public' }, schema: { summary: 'Is the process up, and how is its store', tags: ['health'] } },
    async () => {
      const durability = await db.durability().catch(() => ({ level: 'unknown', detail: 'the store did not answer' }));
      // A damaged database keeps the process alive (restarting would not repair it) but is reported here and on /readyz.
      const corruption = db.corruption;
      return {
        status: writer.health.ok && !corruption ? 'ok' : 'degraded',
        uptime_s: Math.round((clock.now() - startedAt) / 1000),
        store: { dialect: db.dialect.name, ...writer.health, durability, ...(corruption ? { corruption } : {}) },
        queue: { depth: writer.queueDepth, capacity: writer.capacity },
      };
    },
  );

  app.get(
    '/readyz',
    { config: { access: 'public' }, schema: { summary: 'Can the hub take traffic now', tags: ['health'] } },
    async (_req, reply) => {
      let reason: string | undefined;
      if (lifecycle.shuttingDown) reason = 'shutting down';
      else if (db.corruption) reason = db.corruption.advice;
      else if (!writer.health.ok) reason = `store cannot commit (${writer.health.error ?? 'unknown'})`;
      else {
        try {
          await db.get('SELECT 1 AS one');
        } catch {
          reason = 'store does not answer';
        }
      }
      if (reason) return reply.status(503).header('retry-after', '2').send({ ready: false, reason });
      return { ready: true };
    },
  );
};
