import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Principal } from '../auth/principal.js';
import { clearedSessionCookie, readCookie, SESSION_COOKIE, sessionCookie, type Sessions } from '../auth/sessions.js';
import { VigilError } from '../errors.js';
import { SessionAnswer } from '@vigil/protocol';
import type { Routes } from './context.js';
import { REFUSALS } from './responses.js';
import { assertSameSite, sameSecret } from './origin.js';

/** The header the dashboard echoes its CSRF token in; another site's page cannot set it on a cookie-carrying request. */
export const CSRF_HEADER = 'x-vigil-csrf';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The admin, when the request carries a live session cookie and no `Authorization` header.
 * A cookie is sent by the browser on its own, so every change it authorises must also prove it
 * came from the dashboard's page: same origin, and the session's CSRF token in `x-vigil-csrf`
 * (docs/reliability.md W3). Reads need neither: SameSite=Strict keeps the cookie off cross-site
 * requests, and no other origin can read the answers.
 */
export async function sessionPrincipal(req: FastifyRequest, sessions: Sessions): Promise<Principal | undefined> {
  const session = await sessions.use(readCookie(req.headers.cookie, SESSION_COOKIE));
  if (!session) return undefined;
  if (!SAFE_METHODS.has(req.method)) {
    assertSameSite(req);
    const token = req.headers[CSRF_HEADER];
    if (typeof token !== 'string' || !sameSecret(token, session.csrf)) {
      throw new VigilError('VIGIL_CSRF_REJECTED', `A signed-in change needs the session's ${CSRF_HEADER} header`);
    }
  }
  return { kind: 'admin' };
}

/** Dashboard sign-in: the admin token buys an HttpOnly session cookie; the token itself never stays in the browser. */
export const sessionRoutes: Routes = (app, { auth, sessions }) => {
  const idleTimeoutS = Math.round(sessions.idleMs / 1000);

  app.post(
    '/api/v1/session',
    {
      config: { access: 'public' },
      schema: {
        summary: 'Sign in to the dashboard with the admin token (sets the session cookie)',
        tags: ['session'],
        body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false }),
        response: { 201: SessionAnswer, ...REFUSALS },
      },
    },
    async (req, reply) => {
      // Signing someone in from another site's page (login CSRF) is refused like any other cross-site change.
      assertSameSite(req);
      // Failed sign-ins count against the address like failed keys (429 once it is locked out).
      const principal = await auth.authenticate(`Bearer ${req.body.token}`, req.ip);
      if (principal?.kind !== 'admin') throw new VigilError('VIGIL_UNAUTHORIZED', 'That is not the admin token');
      const { id, csrf } = await sessions.create();
      reply.header('set-cookie', sessionCookie(id, req.protocol === 'https'));
      return reply.status(201).send({ csrf_token: csrf, idle_timeout_s: idleTimeoutS });
    },
  );

  app.get(
    '/api/v1/session',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'The current session and its CSRF token (null when called with a Bearer token)',
        tags: ['session'],
        response: { 200: SessionAnswer, ...REFUSALS },
      },
    },
    async (req) => {
      const session =
        req.headers.authorization === undefined ? await sessions.use(readCookie(req.headers.cookie, SESSION_COOKIE)) : undefined;
      return { csrf_token: session?.csrf ?? null, idle_timeout_s: idleTimeoutS };
    },
  );

  app.delete(
    '/api/v1/session',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Sign out: ends the session and closes its live sockets',
        tags: ['session'],
        response: { 204: Type.Unsafe<undefined>({ type: 'null', description: 'Signed out (no body)' }), ...REFUSALS },
      },
    },
    async (req, reply) => {
      await sessions.revoke(readCookie(req.headers.cookie, SESSION_COOKIE));
      return reply
        .header('set-cookie', clearedSessionCookie(req.protocol === 'https'))
        .status(204)
        .send();
    },
  );
};
