import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WaitingServer {
  /** The port it listened on (the real app takes it over). */
  port: number;
  url: string;
  /** Stops listening and drops its connections; resolves once the port is free. */
  close(): Promise<void>;
}

const RETRY_AFTER_S = '2';

/**
 * What the hub answers while it waits for its database at start: the process is alive (`/healthz`
 * 200, status "starting"), not ready (`/readyz` 503), and every other request 503 + Retry-After.
 * A supervisor or orchestrator probing liveness leaves the process be, a load balancer sends it no
 * traffic, and an operator can see why. It never names the database's address or error (the log does).
 */
export async function listenWhileWaiting(host: string, port: number, startedAt: number, now: () => number): Promise<WaitingServer> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: unknown) => {
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        connection: 'close',
        ...(status === 503 ? { 'retry-after': RETRY_AFTER_S } : {}),
      });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && path === '/healthz') {
      return send(200, {
        status: 'starting',
        uptime_s: Math.round((now() - startedAt) / 1000),
        store: { ok: false, error: 'waiting for the database' },
      });
    }
    if (req.method === 'GET' && path === '/readyz') return send(503, { ready: false, reason: 'waiting for the database' });
    return send(503, {
      error: { code: 'VIGIL_STORE_UNAVAILABLE', message: 'The hub is waiting for its database; retry after the given delay' },
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  // Never what keeps the process alive: a start that fails after the store opened must still exit.
  server.unref();
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    port: address.port,
    url: `http://${shown}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
