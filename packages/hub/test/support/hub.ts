import { request } from 'undici';
import { ManualClock, type Clock } from '../../src/clock.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger, startHub, type Hub } from '../../src/main.js';
import { storeTarget, tempDir, type Dialect } from './stores.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export interface TestHub extends Hub {
  dir: string;
  target: string;
  clock: Clock;
  /** Calls the hub over real HTTP; `token` defaults to the admin token (null sends none). */
  call(
    method: string,
    path: string,
    body?: unknown,
    token?: string | null,
  ): Promise<{ status: number; body: any; headers: Record<string, unknown> }>;
  close(): Promise<void>;
}

/** Starts a hub on a free loopback port over a fresh store of the given dialect. */
export async function startTestHub(
  dialect: Dialect,
  opts: { clock?: Clock; flags?: string[]; target?: string; dir?: string; alertsEveryMs?: number } = {},
): Promise<TestHub> {
  const dir = opts.dir ? { path: opts.dir, remove: () => undefined } : tempDir();
  const store = opts.target ? { target: opts.target, cleanup: async () => undefined } : await storeTarget(dialect, dir.path);
  const config = loadConfig(
    // OTLP/gRPC off unless a test asks for it: hubs started side by side would contend for port 4317.
    [
      '--port',
      '0',
      '--data-dir',
      dir.path,
      '--db',
      store.target,
      '--admin-token',
      ADMIN_TOKEN,
      '--otlp-grpc-port',
      '0',
      // Per-key rate limits off unless a test asks: its clock stands still, so no bucket would ever
      // refill (key-rate-limit.test.ts sets them and moves the clock).
      '--key-rate-limit',
      '0',
      '--key-byte-limit',
      '0',
      ...(opts.flags ?? []),
    ],
    {},
  );
  const clock = opts.clock ?? new ManualClock(Date.now());
  const hub = await startHub(config, {
    clock,
    logger: createLogger('silent'),
    livenessEveryMs: 3_600_000,
    ...(opts.alertsEveryMs === undefined ? {} : { alertsEveryMs: opts.alertsEveryMs }),
  });
  const call: TestHub['call'] = async (method, path, body, token = ADMIN_TOKEN) => {
    const headers: Record<string, string> = {};
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await request(`${hub.url}${path}`, {
      method: method as 'GET',
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.body.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.statusCode, body: parsed, headers: res.headers };
  };
  return {
    ...hub,
    dir: dir.path,
    target: store.target,
    clock,
    call,
    close: async () => {
      await hub.stop();
      await store.cleanup();
      dir.remove();
    },
  };
}
