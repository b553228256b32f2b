import { Type } from 'typebox';
import { ErrorBody, Health, NotReady, Ready } from '@vigil/protocol';
import type { Routes } from './context.js';
import { REFUSALS } from './responses.js';

/**
 * Longest /healthz and /readyz wait for the store: a database that stopped answering (a network
 * blackhole) must not hold a probe past the load balancer's own timeout.
 */
const PROBE_MS = 2000;
const LATE = Symbol('late');

/** `work`'s value, or LATE when it takes longer than `ms` (a later failure of `work` is ignored). */
async function within<T>(work: Promise<T>, ms: number): Promise<T | typeof LATE> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<typeof LATE>((resolve) => (timer = setTimeout(() => resolve(LATE), ms)));
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Liveness and readiness for load balancers and orchestrators (the dashboard at `/` is web/routes.ts). */
export const healthRoutes: Routes = (app, { db, writer, clock, startedAt, lifecycle, jobs }) => {
  app.get(
    '/healthz',
    {
      config: { access: 'public' },
      schema: { summary: 'Is the process up, and how is its store', tags: ['health'], response: { 200: Health, ...REFUSALS } },
    },
    async () => {
      const unknown = { level: 'unknown' as const, detail: 'the store did not answer' };
      const answer = await within(db.durability(), PROBE_MS).catch((): typeof LATE => LATE);
      const durability = answer === LATE ? unknown : answer;
      // A damaged database keeps the process alive (restarting would not repair it) but is reported here and on /readyz.
      const corruption = db.corruption;
      const owner = jobs ? await within(jobs.owner(), PROBE_MS).catch((): typeof LATE => LATE) : 'local';
      return {
        hub_id: jobs?.hubId ?? 'local',
        jobs: { runs_here: jobs?.runsHere() ?? true, owner: owner === LATE ? null : owner },
        status: writer.health.ok && !corruption ? ('ok' as const) : ('degraded' as const),
        uptime_s: Math.round((clock.now() - startedAt) / 1000),
        store: { dialect: db.dialect.name, ...writer.health, durability, ...(corruption ? { corruption } : {}) },
        queue: { depth: writer.queueDepth, capacity: writer.capacity },
      };
    },
  );

  app.get(
    '/readyz',
    {
      config: { access: 'public' },
      schema: {
        summary: 'Can the hub take traffic now',
        tags: ['health'],
        // Not ready names its reason; a hub shutting down refuses the request itself (VIGIL_SHUTTING_DOWN).
        response: { 200: Ready, 503: Type.Union([NotReady, ErrorBody]), ...REFUSALS },
      },
    },
    async (_req, reply) => {
      let reason: string | undefined;
      if (lifecycle.shuttingDown) reason = 'shutting down';
      else if (db.corruption) reason = db.corruption.advice;
      else if (!writer.health.ok) reason = `store cannot commit (${writer.health.error ?? 'unknown'})`;
      else {
        try {
          if ((await within(db.get('SELECT 1 AS one'), PROBE_MS)) === LATE) reason = `store did not answer within ${PROBE_MS} ms`;
        } catch {
          reason = 'store does not answer';
        }
      }
      if (reason) return reply.status(503).header('retry-after', '2').send({ ready: false, reason });
      return { ready: true as const };
    },
  );
};
