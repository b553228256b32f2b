import { LIVE_PROTOCOL_VERSION, type LiveHello } from '@vigil/protocol';
import { readCookie, SESSION_COOKIE } from '../auth/sessions.js';
import { VigilError } from '../errors.js';
import type { Routes } from './context.js';
import { sameOrigin } from './origin.js';

/**
 * A ping this often keeps a quiet socket busy enough that load balancers and proxies (often a 60 s
 * idle timeout) do not cut it; browsers answer pings by themselves.
 */
export const LIVE_PING_MS = 25_000;

/** Clients only listen; anything they send beyond a small frame is refused (close 1009). */
export const MAX_INBOUND_BYTES = 64 * 1024;

/**
 * `GET /api/v1/live`: a WebSocket carrying every committed change (`metrics_update`, `event`, `error`,
 * `error_resolved`, `error_reopened`, `agent_status`, `alert`; `LiveMessage` in @vigil/protocol). A `hello`
 * object with the feed's `protocol_version` comes first; then each
 * frame is a JSON array of the messages committed within one tick, in commit order (live/fanout.ts).
 * Authentication happens before the upgrade (401 without credentials); a browser page from another
 * origin is refused with 403; a socket over a cap is closed with 4029, one that stops reading with 4008.
 */
export const liveRoutes: Routes = (app, { live, sessions }) => {
  app.get(
    '/api/v1/live',
    {
      websocket: true,
      config: { access: 'admin' },
      schema: { summary: 'WebSocket of live changes', tags: ['live'], hide: true },
      preValidation: async (req) => {
        // Browsers send Origin on every WebSocket handshake; a page elsewhere must not ride on our credentials.
        const origin = req.headers.origin;
        if (origin !== undefined && !sameOrigin(origin, req.headers.host)) {
          throw new VigilError('VIGIL_FORBIDDEN', 'This origin may not open the live feed');
        }
      },
    },
    (socket, req) => {
      // The feed is admin-only, so a client is a sign-in session (cookie) or the admin token (bearer).
      const session = req.headers.authorization === undefined ? readCookie(req.headers.cookie, SESSION_COOKIE) : undefined;
      if (!live.admit(socket, session !== undefined ? `session:${session}` : 'admin-token')) return;
      // A dashboard socket belongs to its sign-in session: signing out closes it (docs/reliability.md A6).
      if (session !== undefined) sessions.attach(session, socket);
      const hello: LiveHello = { type: 'hello', at: Date.now(), protocol_version: LIVE_PROTOCOL_VERSION };
      socket.send(JSON.stringify(hello));
      const ping = setInterval(() => socket.ping(), LIVE_PING_MS);
      ping.unref();
      socket.once('close', () => clearInterval(ping));
    },
  );
};
