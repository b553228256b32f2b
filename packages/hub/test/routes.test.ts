import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { ERRORS } from '../src/errors.js';
import { MAX_PAGE } from '../src/api/paging.js';
import { MAX_RANGE_MS } from '../src/api/records.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { DIALECTS, postgresUnavailable } from './support/stores.js';

/**
 * docs/reliability.md O1 and O2: the route inventory (every route public by name or closed without credentials, and
 * documented) and resource consumption (page caps, range caps, no N+1 on the fleet overview).
 */

/** Routes anyone may call; everything else must answer 401 without credentials. */
const PUBLIC_ALLOWLIST = new Set(['GET /healthz', 'GET /readyz', 'GET /', 'GET /*', 'GET /api/v1/openapi.json', 'POST /api/v1/session']);
/** What a public route answers to a bare request: 200, except sign-in, which needs a body (and then the admin token). */
const PUBLIC_STATUS: Record<string, number> = { 'POST /api/v1/session': 400 };
/** Routes deliberately left out of the OpenAPI document (the dashboard's pages and the document itself). */
const UNDOCUMENTED = new Set(['GET /', 'GET /*', 'GET /api/v1/openapi.json']);
/** WebSocket routes: @fastify/websocket hides them from OpenAPI, which cannot describe them; docs/api.md lists them. */
const WEBSOCKETS = new Set(['GET /api/v1/live']);

interface Route {
  method: string;
  url: string;
}

/**
 * Every registered route, read from Fastify's own router (`printRoutes`), so a route added without
 * an OpenAPI entry is still found. HEAD routes Fastify adds for each GET are folded into the GET.
 */
function routeInventory(hub: TestHub): Route[] {
  const tree = hub.app.printRoutes({ commonPrefix: false });
  const prefixes: string[] = [];
  const routes: Route[] = [];
  for (const line of tree.split('\n')) {
    if (line.trim() === '') continue;
    const m = /^((?:[│ ] {3})*)[└├]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    assert.ok(m, `unparsed printRoutes line ${JSON.stringify(line)}`);
    const depth = (m[1] as string).length / 4;
    const url = (prefixes[depth - 1] ?? '') + (m[2] as string);
    prefixes[depth] = url;
    prefixes.length = depth + 1;
    for (const method of (m[3] ?? '').split(', ').filter(Boolean)) {
      if (method !== 'HEAD') routes.push({ method, url });
    }
  }
  return routes;
}

/** A concrete URL for a route pattern: syntactically valid ids that name nothing. */
function concrete(url: string): string {
  return url
    .replace('/*', '/errors')
    .replace(':agentId', 'inventory-agent')
    .replace(':errorId', '424242')
    .replace(':keyId', 'key_000000000000');
}

function assertErrorShape(res: { status: number; headers: Record<string, unknown>; body: any }, where: string): void {
  assert.match(String(res.headers['content-type']), /^application\/json/, `${where}: content-type`);
  const code = res.body?.error?.code as keyof typeof ERRORS;
  assert.ok(code in ERRORS, `${where}: error code ${JSON.stringify(code)} is in the table`);
  assert.equal(ERRORS[code].status, res.status, `${where}: status matches the code`);
  assert.equal(typeof res.body.error.message, 'string', `${where}: message`);
}

describe('O1: route inventory', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub('sqlite');
  });
  after(async () => {
    await hub.close();
  });

  test('the inventory parser finds every route Fastify knows, and nothing it does not', () => {
    const routes = routeInventory(hub);
    assert.ok(routes.length >= 20, `found ${routes.length} routes`);
    for (const r of routes) assert.ok(hub.app.hasRoute({ method: r.method as 'GET', url: r.url }), `${r.method} ${r.url} is registered`);
    const keys = routes.map((r) => `${r.method} ${r.url}`);
    assert.equal(new Set(keys).size, keys.length, 'no route listed twice');
    for (const seed of ['GET /api/monitoring/dashboard', 'PATCH /api/monitoring/errors/:errorId/resolve', 'POST /api/v1/ingest']) {
      assert.ok(keys.includes(seed), `${seed} is in the inventory`);
    }
  });

  test('every route is on the public allow-list or answers 401 JSON without credentials, before reading the body', async () => {
    const routes = routeInventory(hub);
    let closed = 0;
    for (const r of routes) {
      const key = `${r.method} ${r.url}`;
      const url = concrete(r.url);
      if (PUBLIC_ALLOWLIST.has(key)) {
        const open = await hub.call(r.method, url, undefined, null);
        assert.equal(open.status, PUBLIC_STATUS[key] ?? 200, `${key} is public and answers`);
        continue;
      }
      const bodies: (string | undefined)[] = r.method === 'GET' ? [undefined] : [undefined, '{"not": "checked"', '{}'];
      for (const body of bodies) {
        const res = await hub.call(r.method, url, body, null);
        assert.equal(res.status, 401, `${key} without credentials (body ${JSON.stringify(body)})`);
        assert.equal(res.body.error.code, 'VIGIL_UNAUTHORIZED', key);
        assertErrorShape(res, key);
      }
      // The HEAD twin of a GET route is closed too (no body, same status).
      if (r.method === 'GET') {
        const head = await request(`${hub.url}${url}`, { method: 'HEAD' });
        await head.body.dump();
        assert.equal(head.statusCode, 401, `HEAD ${r.url} without credentials`);
      }
      closed++;
    }
    assert.equal(closed, routes.length - PUBLIC_ALLOWLIST.size, 'every allow-listed route exists, and every other one was checked');
  });

  test('the OpenAPI document lists exactly the registered routes, less the two undocumented public ones', async () => {
    const doc = await hub.call('GET', '/api/v1/openapi.json', undefined, null);
    assert.equal(doc.status, 200);
    const documented = new Set<string>();
    for (const [path, ops] of Object.entries(doc.body.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(ops)) {
        if (method === 'head') continue;
        documented.add(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`);
      }
    }
    const registered = new Set(routeInventory(hub).map((r) => `${r.method} ${r.url}`));
    for (const d of documented) assert.ok(registered.has(d), `documented ${d} is registered`);
    for (const r of registered) {
      if (!UNDOCUMENTED.has(r) && !WEBSOCKETS.has(r)) assert.ok(documented.has(r), `registered ${r} is in the OpenAPI document`);
    }
    assert.equal(documented.size, registered.size - UNDOCUMENTED.size - WEBSOCKETS.size);
    for (const u of UNDOCUMENTED) assert.ok(PUBLIC_ALLOWLIST.has(u), `${u} is undocumented only because it is public`);
  });
});

for (const dialect of DIALECTS) {
  describe(`O2: resource consumption on ${dialect}`, async () => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;
    let hub: TestHub;
    before(async () => {
      if (skip) return;
      hub = await startTestHub(dialect);
      // The passes every hub runs at start issue statements of their own: let them end first.
      await hub.retention.runOnce();
      await hub.rollups.runOnce();
    });
    after(async () => {
      if (!skip) await hub.close();
    });

    const LIST_PATHS = [
      '/api/monitoring/dashboard?limit=500',
      '/api/v1/agents?limit=500',
      '/api/v1/events?limit=500',
      '/api/v1/errors?limit=500',
      '/api/v1/capacity?limit=500',
    ];

    /** Registers agents o2-<from>..o2-<to-1> in parallel groups, then gives each a heartbeat, an event and an error. */
    async function grow(from: number, to: number): Promise<void> {
      const ids = Array.from({ length: to - from }, (_, i) => `o2-${String(from + i).padStart(5, '0')}`);
      for (let i = 0; i < ids.length; i += 100) {
        const group = ids.slice(i, i + 100);
        const answers = await Promise.all(
          group.map((id) => hub.call('POST', '/api/v1/agents', { agent_id: id, name: id, agent_type: 'o2' })),
        );
        for (const a of answers) assert.equal(a.status, 201);
      }
      for (let i = 0; i < ids.length; i += 300) {
        const group = ids.slice(i, i + 300);
        const r = await hub.call('POST', '/api/v1/ingest', {
          heartbeats: group.map((agent_id) => ({ agent_id, status: 'online', resources: { cpu_percent: 10, gpu_vram_available_gb: 8 } })),
          events: group.map((agent_id) => ({ agent_id, event_type: 'info', message: 'o2' })),
          errors: group.map((agent_id) => ({ agent_id, error_type: 'O2Error', message: `failure of ${agent_id}` })),
        });
        assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
      }
    }

    /**
     * Statements one request issues. The counter is the store's, so the hub's own timers (alert
     * evaluation, host samples, purges) can add to one reading, never take away: the least of three
     * readings is the request's own count.
     */
    async function statementsFor(path: string): Promise<number> {
      let least = Infinity;
      for (let i = 0; i < 3; i++) {
        const before = hub.db.statementCount;
        const r = await hub.call('GET', path);
        assert.equal(r.status, 200, path);
        least = Math.min(least, hub.db.statementCount - before);
      }
      return least;
    }

    test('list pages issue the same number of SQL statements for 10 and for 1,000 agents (no N+1)', { skip }, async () => {
      await grow(0, 10);
      const small = new Map<string, number>();
      for (const p of LIST_PATHS) small.set(p, await statementsFor(p));
      const d10 = await hub.call('GET', '/api/monitoring/dashboard?limit=500');
      assert.equal(d10.body.summary.agents_total, 10);
      assert.equal(d10.body.agents.length, 10);

      await grow(10, 1000);
      const d1000 = await hub.call('GET', '/api/monitoring/dashboard?limit=500');
      assert.equal(d1000.body.summary.agents_total, 1000);
      assert.equal(d1000.body.agents.length, 500);
      assert.equal(d1000.body.summary.errors_active, 1000);
      for (const p of LIST_PATHS) {
        const n = await statementsFor(p);
        assert.ok(n >= 1, `${p} runs SQL (${n})`);
        assert.equal(n, small.get(p), `${p}: ${small.get(p)} statements for 10 agents, ${n} for 1,000`);
      }
      // The overview is a handful of set-based statements, not one per agent.
      assert.ok((small.get(LIST_PATHS[0] as string) as number) <= 6);
    });

    test('?limit=1000000 is capped at the maximum page, with a cursor that reaches the rest', { skip }, async () => {
      const pages: Record<string, string> = {
        agents: '/api/v1/agents?limit=1000000',
        events: '/api/v1/events?limit=1000000',
        errors: '/api/v1/errors?limit=1000000',
      };
      for (const [field, path] of Object.entries(pages)) {
        const r = await hub.call('GET', path);
        assert.equal(r.status, 200, path);
        assert.equal(r.body[field].length, MAX_PAGE, `${path} returns ${MAX_PAGE}`);
        assert.notEqual(r.body.next_cursor, null, `${path} gives a next_cursor`);
      }
      const dash = await hub.call('GET', '/api/monitoring/dashboard?limit=1000000');
      assert.equal(dash.body.agents.length, MAX_PAGE);
      assert.notEqual(dash.body.next_cursor, null);
      const cap = await hub.call('GET', '/api/v1/capacity?limit=1000000');
      assert.equal(cap.status, 200);
      assert.equal(cap.body.agents.length, MAX_PAGE);

      // Following the cursor returns every agent exactly once.
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 5; page++) {
        const r: { body: any } = await hub.call('GET', `/api/v1/agents?type=o2&limit=1000000${cursor ? `&after=${cursor}` : ''}`);
        seen.push(...r.body.agents.map((a: { agent_id: string }) => a.agent_id));
        cursor = r.body.next_cursor;
        if (cursor === null) break;
      }
      assert.equal(cursor, null, 'the last page has no cursor');
      assert.equal(seen.length, 1000);
      assert.equal(new Set(seen).size, 1000);

      for (const bad of ['0', '-1', 'abc', '1.5']) {
        const r = await hub.call('GET', `/api/v1/agents?limit=${bad}`);
        assert.equal(r.status, 400, `limit=${bad}`);
        assertErrorShape(r, `limit=${bad}`);
      }
    });

    test('an events range wider than 31 days is refused with 400 VIGIL_RANGE_TOO_WIDE; 31 days is served', { skip }, async () => {
      const now = hub.clock.now();
      const wide = await hub.call('GET', `/api/v1/events?since=${now - MAX_RANGE_MS - 1}&until=${now}`);
      assert.equal(wide.status, 400);
      assert.equal(wide.body.error.code, 'VIGIL_RANGE_TOO_WIDE');
      assertErrorShape(wide, 'wide range');
      const open = await hub.call('GET', `/api/v1/events?since=${now - MAX_RANGE_MS - 1}`);
      assert.equal(open.status, 400, 'since without until is measured to now');
      assert.equal(open.body.error.code, 'VIGIL_RANGE_TOO_WIDE');
      const year = await hub.call('GET', `/api/v1/events?since=0&until=${365 * 86_400_000}`);
      assert.equal(year.body.error.code, 'VIGIL_RANGE_TOO_WIDE');

      const exact = await hub.call('GET', `/api/v1/events?since=${now - MAX_RANGE_MS}&until=${now + 1}&limit=5`);
      assert.equal(exact.status, 400, 'one millisecond past 31 days is too wide');
      const ok = await hub.call('GET', `/api/v1/events?since=${now + 1 - MAX_RANGE_MS}&until=${now + 1}&limit=5`);
      assert.equal(ok.status, 200);
      assert.equal(ok.body.events.length, 5);
    });
  });
}
