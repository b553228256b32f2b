import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { ADMIN_TOKEN, type TestHub } from './hub.js';

/** A live-feed client that keeps every message, for tests that count what was announced. */
export interface LiveClient {
  messages: Record<string, any>[];
  /** Resolves with the first message that matches (already received or yet to come). */
  next(match: (m: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
  close(): void;
}

export function openLive(hub: TestHub): Promise<LiveClient> {
  const socket = new WebSocket(hub.url.replace(/^http/, 'ws') + '/api/v1/live', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const messages: Record<string, any>[] = [];
  const waiters: { match: (m: Record<string, any>) => boolean; resolve: (m: Record<string, any>) => void }[] = [];
  socket.on('message', (data) => {
    // A frame is one tick's messages as an array (`hello` is a single object).
    const parsed = JSON.parse(String(data)) as Record<string, any> | Record<string, any>[];
    for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
      messages.push(m);
      for (const w of [...waiters]) {
        if (w.match(m)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    }
  });
  const next: LiveClient['next'] = (match, timeoutMs = 3000) => {
    const seen = messages.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching live message in ${timeoutMs} ms`)), timeoutMs);
      waiters.push({ match, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  };
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve({ messages, next, close: () => socket.close() }));
    socket.once('error', reject);
  });
}

export interface Received {
  status: number;
  /** The request target: path and query. */
  path: string;
  headers: IncomingHttpHeaders;
  body: any;
}

/** A webhook receiver on loopback that fails (500, or `failStatus`) its first `failFirst` requests. */
export interface Receiver {
  url: string;
  requests: Received[];
  /** Requests it answered 2xx, in order. */
  delivered(): any[];
  failFirst: number;
  /** What it answers while failing (500 unless set). */
  failStatus: number;
  /** Resolves once `n` requests were answered 2xx. */
  waitFor(n: number, timeoutMs?: number): Promise<any[]>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const requests: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = requests.length < r.failFirst ? r.failStatus : 200;
      requests.push({ status, path: req.url ?? '', headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'down');
    });
  });
  const r: Receiver = {
    url: '',
    requests,
    failFirst: 0,
    failStatus: 500,
    delivered: () => requests.filter((q) => q.status === 200).map((q) => q.body),
    async waitFor(n, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (r.delivered().length < n) {
        if (Date.now() > deadline) assert.fail(`receiver got ${r.delivered().length} of ${n} notifications: ${JSON.stringify(requests)}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return r.delivered();
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return r;
}

export async function register(hub: TestHub, agentId: string, extra: Record<string, unknown> = {}): Promise<void> {
  const r = await hub.call('POST', '/api/v1/agents', {
    agent_id: agentId,
    name: agentId,
    agent_type: 'worker',
    heartbeat_interval_s: 10,
    ...extra,
  });
  assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r.body));
}

/** A heartbeat carrying the process CPU (the `cpu_percent` the default rule watches) and any other figures. */
export async function cpu(hub: TestHub, agentId: string, percent: number, extra: Record<string, unknown> = {}): Promise<void> {
  const r = await hub.call('POST', `/api/v1/agents/${agentId}/heartbeat`, {
    status: 'online',
    metrics: { cpu_percent: percent },
    ...extra,
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

/** Waits until the alert engine's writes have committed and the webhook deliveries started so far are done. */
export async function settle(hub: TestHub): Promise<void> {
  await hub.alerts.idle();
  await hub.notifier.idle();
}

export async function alerts(hub: TestHub, query = ''): Promise<any[]> {
  const r = await hub.call('GET', `/api/v1/alerts${query}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.alerts;
}

export async function ruleByName(hub: TestHub, name: string): Promise<any> {
  const r = await hub.call('GET', '/api/v1/alert-rules');
  const rule = r.body.rules.find((x: { name: string }) => x.name === name);
  assert.ok(rule, `rule ${name}`);
  return rule;
}
