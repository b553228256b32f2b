import type { WebSocket } from 'ws';
import { readCookie, SESSION_COOKIE } from '../auth/sessions.js';
import { VigilError } from '../errors.js';
import type { LiveMessage } from '../live/messages.js';
import type { Routes } from './context.js';
import { sameOrigin } from './origin.js';

/** A client that has this much unsent is not reading; it is dropped rather than buffered forever. */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** Clients only listen; anything they send beyond a small frame is refused (close 1009). */
export const MAX_INBOUND_BYTES = 64 * 1024;

/**
 * `GET /api/v1/live`: a WebSocket carrying every committed change as JSON messages (`metrics_update`,
 * `event`, `error`, `error_resolved`, `error_reopened`, `agent_status`, `alert`). Authentication
 * happens before the upgrade (401 without credentials); a browser page from another origin is
 * refused with 403.
 */
export const liveRoutes: Routes = (app, { bus, sessions }) => {
  const sockets = new Set<WebSocket>();

  bus.subscribe((messages: readonly LiveMessage[]) => {
    if (sockets.size === 0) return;
    const frames = messages.map((m) => JSON.stringify(m));
    for (const socket of sockets) {
      if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
        socket.close(1008, 'not reading fast enough');
        sockets.delete(socket);
        continue;
      }
      for (const frame of frames) socket.send(frame);
    }
  });

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
      // A dashboard socket belongs to its sign-in session: signing out closes it (RELIABILITY.md A6).
      if (req.headers.authorization === undefined) sessions.attach(readCookie(req.headers.cookie, SESSION_COOKIE), socket);
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => sockets.delete(socket));
      socket.send(JSON.stringify({ type: 'hello', at: Date.now() }));
    },
  );
};
