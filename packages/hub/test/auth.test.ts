import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { request } from 'undici';
import { systemClock } from '../src/clock.js';
import { ERRORS } from '../src/errors.js';
import { routeInventory } from './support/routes.js';
import { ADMIN_TOKEN, startTestHub, type TestHub } from './support/hub.js';
import { DIALECTS, postgresUnavailable, storeTarget, tempDir, type Dialect } from './support/stores.js';
import { VIGIL } from './support/cli.js';

/**
 * docs/reliability.md group A (authentication and authorization) and L1 (no credential in any log), on both databases.
 */

const PUBLIC_ALLOWLIST = new Set(['GET /healthz', 'GET /readyz', 'GET /', 'GET /*', 'GET /api/v1/openapi.json', 'POST /api/v1/session']);
const FORBIDDEN_BODY = { error: { code: 'VIGIL_FORBIDDEN', message: ERRORS.VIGIL_FORBIDDEN.message } };
const UNAUTHORIZED_BODY = { error: { code: 'VIGIL_UNAUTHORIZED', message: ERRORS.VIGIL_UNAUTHORIZED.message } };

function concrete(url: string): string {
  return url.replace(':agentId', 'a-agent').replace(':errorId', '1').replace(':keyId', 'key_000000000000');
}

/** Calls the hub with an exact Authorization header (or none). */
async function withHeader(hub: TestHub, method: string, path: string, authorization: string | undefined, body?: unknown) {
  const headers: Record<string, string> = {};
  if (authorization !== undefined) headers.authorization = authorization;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await request(`${hub.url}${path}`, {
    method: method as 'GET',
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

async function createKey(
  hub: TestHub,
  scope: { agent_id: string } | { pool_name: string },
): Promise<{ key: string; key_id: string; prefix: string }> {
  const r = await hub.call('POST', '/api/v1/keys', scope);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

/** Rows each table holds for one agent (the BOLA oracle: a refused write leaves none). */
async function rowsFor(hub: TestHub, agentId: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of ['agents', 'agent_metrics', 'agent_events', 'error_logs', 'error_event_ids']) {
    // Samples name their agent by its integer key.
    const who = table === 'agent_metrics' ? 'agent_key = (SELECT agent_key FROM agent_keys WHERE agent_id = ?)' : 'agent_id = ?';
    const row = await hub.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table} WHERE ${who}`, [agentId]);
    out[table] = Number(row?.n);
  }
  return out;
}

const hb = { status: 'online', resources: { cpu_percent: 12 } };
const ev = { event_type: 'info', message: 'hello' };
const er = { error_type: 'TypeError', message: 'x is undefined' };

/** The writes a key might try against one agent: every route that takes an agent id. */
function writesFor(agentId: string): { name: string; method: string; path: string; body: unknown }[] {
  return [
    { name: 'heartbeat', method: 'POST', path: `/api/v1/agents/${agentId}/heartbeat`, body: hb },
    { name: 'event', method: 'POST', path: `/api/v1/agents/${agentId}/events`, body: ev },
    { name: 'error', method: 'POST', path: `/api/v1/agents/${agentId}/errors`, body: er },
    { name: 'seed event', method: 'POST', path: `/api/monitoring/agents/${agentId}/events`, body: { eventType: 'info', message: 'm' } },
    { name: 'seed error', method: 'POST', path: `/api/monitoring/agents/${agentId}/errors`, body: { error: { message: 'boom' } } },
    { name: 'register', method: 'POST', path: '/api/v1/agents', body: { agent_id: agentId, name: 'takeover', agent_type: 'x' } },
    {
      name: 'ingest',
      method: 'POST',
      path: '/api/v1/ingest',
      body: { heartbeats: [{ agent_id: agentId, ...hb }], events: [{ agent_id: agentId, ...ev }], errors: [{ agent_id: agentId, ...er }] },
    },
    { name: 'read', method: 'GET', path: `/api/v1/agents/${agentId}`, body: undefined },
  ];
}

for (const dialect of DIALECTS) {
  describe(`authentication and authorization on ${dialect}`, async () => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;
    let hub: TestHub;
    let keyA: string;
    let poolKey: string;
    before(async () => {
      if (skip) return;
      // A1 sends dozens of wrong tokens from one address to check each answer; the failure limit
      // (429 after 10 a minute) has its own tests in auth-throttle.test.ts.
      hub = await startTestHub(dialect, { flags: ['--auth-failures-per-minute', '0'] });
      for (const [agent_id, pool_name] of [
        ['a-agent', 'alpha'],
        ['b-agent', 'alpha'],
        ['p-own', 'p1'],
        ['p-other', 'p2'],
      ] as const) {
        assert.equal((await hub.call('POST', '/api/v1/agents', { agent_id, name: agent_id, agent_type: 'x', pool_name })).status, 201);
      }
      keyA = (await createKey(hub, { agent_id: 'a-agent' })).key;
      poolKey = (await createKey(hub, { pool_name: 'p1' })).key;
    });
    after(async () => {
      if (!skip) await hub.close();
    });

    test('A1: every non-public route answers 401 JSON without credentials', { skip }, async () => {
      const routes = routeInventory(hub);
      assert.ok(routes.length >= 20);
      let checked = 0;
      for (const r of routes) {
        if (PUBLIC_ALLOWLIST.has(`${r.method} ${r.url}`)) continue;
        const res = await withHeader(hub, r.method, concrete(r.url), undefined, r.method === 'GET' ? undefined : {});
        assert.equal(res.status, 401, `${r.method} ${r.url}`);
        assert.match(String(res.headers['content-type']), /^application\/json/);
        if (r.url.startsWith('/v1/')) {
          // OTLP answers a google.rpc.Status (16 is UNAUTHENTICATED) that also carries the usual error (docs/otlp.md).
          assert.deepEqual(
            res.body,
            { code: 16, message: UNAUTHORIZED_BODY.error.message, details: [], ...UNAUTHORIZED_BODY },
            `${r.method} ${r.url}`,
          );
        } else {
          assert.deepEqual(res.body, UNAUTHORIZED_BODY, `${r.method} ${r.url}`);
        }
        checked++;
      }
      assert.equal(checked, routes.length - PUBLIC_ALLOWLIST.size);
    });

    test('A1: malformed, wrong and look-alike bearer tokens get the same 401', { skip }, async () => {
      const { key, prefix } = await createKey(hub, { agent_id: 'a-agent' });
      const hash = createHash('sha256').update(key).digest('hex');
      const bad = [
        '',
        'Bearer',
        'Bearer ',
        `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`,
        ADMIN_TOKEN,
        `Token ${ADMIN_TOKEN}`,
        `Bearer  ${ADMIN_TOKEN}`,
        `Bearer ${ADMIN_TOKEN}x`,
        `Bearer ${ADMIN_TOKEN.slice(0, -1)}`,
        `Bearer ${ADMIN_TOKEN} ${ADMIN_TOKEN}`,
        `Bearer ${key}x`,
        `Bearer ${key.slice(0, -1)}`,
        `Bearer ${prefix}`,
        `Bearer ${hash}`, // the stored hash is not a credential
        `Bearer vgl_${'A'.repeat(43)}`,
        `Bearer ${'a'.repeat(600)}`,
      ];
      for (const authorization of bad) {
        for (const [method, path] of [
          ['GET', '/api/v1/keys'],
          ['GET', '/api/monitoring/dashboard'],
          ['POST', '/api/v1/agents/a-agent/heartbeat'],
        ] as const) {
          const res = await withHeader(hub, method, path, authorization, method === 'POST' ? hb : undefined);
          assert.equal(res.status, 401, `${method} ${path} with ${JSON.stringify(authorization.slice(0, 40))}`);
          assert.deepEqual(res.body, UNAUTHORIZED_BODY);
        }
      }
      // The genuine key works, so the refusals above are about the token, not the route.
      assert.equal((await withHeader(hub, 'POST', '/api/v1/agents/a-agent/heartbeat', `Bearer ${key}`, hb)).status, 200);
      // Credentials are never taken from the query string.
      for (const q of [`token=${ADMIN_TOKEN}`, `access_token=${ADMIN_TOKEN}`, `api_key=${key}`]) {
        assert.equal((await withHeader(hub, 'GET', `/api/v1/keys?${q}`, undefined)).status, 401, q);
      }
    });

    test('A2: the raw key is stored nowhere (only its prefix and SHA-256), and no listing returns a secret', { skip }, async () => {
      const created = await hub.call('POST', '/api/v1/keys', { agent_id: 'a-agent', name: 'a2' });
      assert.equal(created.status, 201);
      const key: string = created.body.key;
      assert.match(key, /^vgl_[A-Za-z0-9_-]{43}$/);
      assert.ok(Buffer.from(key.slice(4), 'base64url').length >= 32, 'at least 256 random bits');
      assert.equal(created.body.prefix, key.slice(0, 12));
      const hash = createHash('sha256').update(key).digest('hex');
      const secret = key.slice(12); // what the prefix does not already reveal

      const dump = await storeText(hub, dialect);
      assert.ok(dump.includes(created.body.prefix), 'positive control: the stored prefix is found in the dump');
      assert.ok(dump.includes(hash), 'positive control: the SHA-256 of the key is stored');
      assert.equal(occurrences(dump, key), 0, 'the raw key');
      assert.equal(occurrences(dump, secret), 0, 'the secret part of the key');
      assert.equal(occurrences(dump, ADMIN_TOKEN), 0, 'the admin token');

      const list = await hub.call('GET', '/api/v1/keys');
      assert.equal(list.status, 200);
      const text = JSON.stringify(list.body);
      assert.ok(text.includes(created.body.key_id));
      assert.ok(!text.includes(key) && !text.includes(secret), 'the list never shows the secret');
      assert.ok(!text.includes(hash), 'the list never shows the hash');
      for (const k of list.body.keys) {
        assert.deepEqual(Object.keys(k).sort(), ['created_at', 'key_id', 'name', 'prefix', 'revoked_at', 'scope', 'scope_value']);
      }
      const revoked = await hub.call('DELETE', `/api/v1/keys/${created.body.key_id}`);
      assert.equal(revoked.status, 200);
      assert.ok(!JSON.stringify(revoked.body).includes(secret) && !JSON.stringify(revoked.body).includes(hash));
    });

    test('A3: an agent key cannot write or read another agent; the 403 is the same whether it exists or not', { skip }, async () => {
      const beforeB = await rowsFor(hub, 'b-agent');
      const beforeA = await rowsFor(hub, 'a-agent');
      for (const [i, w] of writesFor('b-agent').entries()) {
        const ghost = writesFor('ghost-agent')[i];
        assert.ok(ghost);
        const real = await hub.call(w.method, w.path, w.body, keyA);
        const none = await hub.call(ghost.method, ghost.path, ghost.body, keyA);
        assert.equal(real.status, 403, `${w.name} for b-agent`);
        assert.deepEqual(real.body, FORBIDDEN_BODY, w.name);
        assert.equal(none.status, real.status, `${w.name}: same status for an agent that does not exist`);
        assert.deepEqual(none.body, real.body, `${w.name}: same body for an agent that does not exist`);
      }
      // A batch mixing A's own items with one of B's is refused whole: nothing for A either.
      for (const other of ['b-agent', 'ghost-agent']) {
        const mixed = await hub.call(
          'POST',
          '/api/v1/ingest',
          {
            heartbeats: [{ agent_id: 'a-agent', ...hb }],
            events: [
              { agent_id: 'a-agent', ...ev },
              { agent_id: other, ...ev },
            ],
          },
          keyA,
        );
        assert.equal(mixed.status, 403, `mixed batch with ${other}`);
        assert.deepEqual(mixed.body, FORBIDDEN_BODY);
      }
      assert.deepEqual(await rowsFor(hub, 'b-agent'), beforeB, '0 rows written for B');
      assert.deepEqual(await rowsFor(hub, 'a-agent'), beforeA, 'the refused batches wrote nothing for A');
      assert.equal((await rowsFor(hub, 'ghost-agent')).agents, 0, 'no ghost agent was created');
      assert.equal((await hub.call('GET', '/api/v1/agents/b-agent')).body.agent.name, 'b-agent', 'B was not taken over');

      // The same key does write its own agent, so the refusals are about the target.
      for (const w of writesFor('a-agent')) {
        const r = await hub.call(w.method, w.path, w.body, keyA);
        assert.ok(r.status >= 200 && r.status < 300, `${w.name} for its own agent: ${r.status} ${JSON.stringify(r.body)}`);
      }
      const own = await hub.call('POST', '/api/v1/agents', { name: 'no id given', agent_type: 'x' }, keyA);
      assert.equal(own.body.agent.agent_id, 'a-agent', 'an agent key registers its own id when none is given');
    });

    test('A3: a pool key registers and writes in its pool only; other pools and unknown agents get the same 403', { skip }, async () => {
      const reg = await hub.call('POST', '/api/v1/agents', { agent_id: 'p-new', name: 'new', agent_type: 'x' }, poolKey);
      assert.equal(reg.status, 201);
      assert.equal(reg.body.agent.pool_name, 'p1', 'a pool key registers into its pool');
      const named = await hub.call('POST', '/api/v1/agents', { agent_id: 'p-named', name: 'n', agent_type: 'x', pool_name: 'p1' }, poolKey);
      assert.equal(named.status, 201);
      for (const w of writesFor('p-own')) {
        const r = await hub.call(w.method, w.path, w.body, poolKey);
        assert.ok(r.status >= 200 && r.status < 300, `${w.name} in its pool: ${r.status} ${JSON.stringify(r.body)}`);
      }

      const beforeOther = await rowsFor(hub, 'p-other');
      const beforeOwn = await rowsFor(hub, 'p-own');
      for (const [i, w] of writesFor('p-other').entries()) {
        const ghost = writesFor('ghost-pool-agent')[i];
        assert.ok(ghost);
        const real = await hub.call(w.method, w.path, w.body, poolKey);
        assert.equal(real.status, 403, `${w.name} for an agent of pool p2`);
        assert.deepEqual(real.body, FORBIDDEN_BODY, w.name);
        if (w.name === 'register') continue; // registering an unknown id in its own pool is allowed
        const none = await hub.call(ghost.method, ghost.path, ghost.body, poolKey);
        assert.equal(none.status, 403, `${w.name} for an unknown agent`);
        assert.deepEqual(none.body, real.body, `${w.name}: same answer whether the agent exists or not`);
      }
      const intoOther = await hub.call(
        'POST',
        '/api/v1/agents',
        { agent_id: 'p-sneak', name: 's', agent_type: 'x', pool_name: 'p2' },
        poolKey,
      );
      assert.equal(intoOther.status, 403, 'cannot register into another pool');
      const mixed = await hub.call(
        'POST',
        '/api/v1/ingest',
        {
          heartbeats: [
            { agent_id: 'p-own', ...hb },
            { agent_id: 'p-other', ...hb },
          ],
        },
        poolKey,
      );
      assert.equal(mixed.status, 403);
      assert.deepEqual(mixed.body, FORBIDDEN_BODY);
      assert.deepEqual(await rowsFor(hub, 'p-other'), beforeOther, '0 rows written for the other pool');
      assert.deepEqual(await rowsFor(hub, 'p-own'), beforeOwn, 'the refused batch wrote nothing for its own agent');
      assert.equal((await rowsFor(hub, 'p-sneak')).agents, 0);
      assert.equal((await hub.call('GET', '/api/v1/agents/p-other')).body.agent.pool_name, 'p2', 'not moved into p1');
      assert.equal((await hub.call('GET', '/api/v1/capacity?pool=p2', undefined, poolKey)).status, 403);
      assert.equal((await hub.call('GET', '/api/v1/capacity', undefined, poolKey)).status, 200);
    });

    test("A3: an agent key cannot move its agent out of its pool; only the admin token changes an agent's pool", { skip }, async () => {
      // Registered by pool p1's key, then given its own agent key (the SDK's usual setup).
      const reg = { agent_id: 'm-agent', name: 'mover', agent_type: 'x' };
      assert.equal((await hub.call('POST', '/api/v1/agents', reg, poolKey)).status, 201);
      const { key: own } = await createKey(hub, { agent_id: 'm-agent' });
      assert.equal((await hub.call('POST', '/api/v1/agents/m-agent/heartbeat', hb, own)).status, 200);
      const poolOf = async () => (await hub.call('GET', '/api/v1/agents/m-agent')).body.agent.pool_name;
      const inCapacity = async (pool: string) =>
        ((await hub.call('GET', `/api/v1/capacity?pool=${pool}`)).body.agents as { agent_id: string }[]).some(
          (a) => a.agent_id === 'm-agent',
        );
      assert.equal(await inCapacity('p1'), true);

      const moved = await hub.call('POST', '/api/v1/agents', { ...reg, pool_name: 'p2' }, own);
      assert.equal(moved.status, 403, JSON.stringify(moved.body));
      assert.equal(moved.body.error.code, 'VIGIL_POOL_CHANGE_FORBIDDEN');
      assert.match(moved.body.error.message, /"p1".*admin token.*"p2"/);
      assert.equal(await poolOf(), 'p1', 'still in p1');
      assert.equal(await inCapacity('p2'), false, 'not in p2 capacity answers');
      assert.equal(await inCapacity('p1'), true);
      // Still under its pool key's control.
      assert.equal((await hub.call('POST', '/api/v1/agents/m-agent/events', ev, poolKey)).status, 201);

      // Re-registering in its own pool, or without naming one, is an ordinary update.
      const same = await hub.call('POST', '/api/v1/agents', { ...reg, name: 'renamed', pool_name: 'p1' }, own);
      assert.equal(same.status, 200, JSON.stringify(same.body));
      const unnamed = await hub.call('POST', '/api/v1/agents', { ...reg, name: 'renamed again' }, own);
      assert.equal(unnamed.status, 200);
      assert.equal(unnamed.body.agent.pool_name, 'p1');
      // Heartbeats and batches carry no pool at all: naming one is a 400 and changes nothing.
      const hbPool = await hub.call('POST', '/api/v1/agents/m-agent/heartbeat', { ...hb, pool_name: 'p2' }, own);
      assert.equal(hbPool.status, 400);
      const batchPool = await hub.call('POST', '/api/v1/ingest', { heartbeats: [{ agent_id: 'm-agent', ...hb, pool_name: 'p2' }] }, own);
      assert.equal(batchPool.status, 400);
      // A pool key of the target pool cannot pull it across either (the same 403 as any agent outside its pool).
      const otherPoolKey = (await createKey(hub, { pool_name: 'p2' })).key;
      const pulled = await hub.call('POST', '/api/v1/agents', { ...reg, pool_name: 'p2' }, otherPoolKey);
      assert.equal(pulled.status, 403);
      assert.equal(await poolOf(), 'p1');

      // A first registration by an agent key chooses its pool; changing it later is the admin's.
      const { key: fresh } = await createKey(hub, { agent_id: 'm-fresh' });
      const created = await hub.call('POST', '/api/v1/agents', { agent_id: 'm-fresh', name: 'f', agent_type: 'x', pool_name: 'p2' }, fresh);
      assert.equal(created.status, 201);
      assert.equal(created.body.agent.pool_name, 'p2');
      const back = await hub.call('POST', '/api/v1/agents', { agent_id: 'm-fresh', name: 'f', agent_type: 'x', pool_name: 'p1' }, fresh);
      assert.equal(back.status, 403);

      const byAdmin = await hub.call('POST', '/api/v1/agents', { ...reg, pool_name: 'p2' });
      assert.equal(byAdmin.status, 200, JSON.stringify(byAdmin.body));
      assert.equal(await poolOf(), 'p2');
      assert.equal(await inCapacity('p2'), true);
    });

    test(
      'A4: agent and pool keys cannot resolve errors or read the fleet; admin resolve is idempotent, unknown ids 404',
      { skip },
      async () => {
        const own = await hub.call('POST', '/api/v1/agents/a-agent/errors', { error_type: 'A4', message: 'own error' }, keyA);
        const other = await hub.call('POST', '/api/v1/agents/b-agent/errors', { error_type: 'A4', message: 'other error' });
        assert.equal(own.status, 201);
        assert.equal(other.status, 201);
        const admin = [
          ['POST', `/api/v1/errors/${own.body.id}/resolve`],
          ['POST', `/api/v1/errors/${other.body.id}/resolve`],
          ['PATCH', `/api/monitoring/errors/${own.body.id}/resolve`],
          ['PATCH', `/api/monitoring/errors/${other.body.id}/resolve`],
          ['GET', '/api/monitoring/dashboard'],
          ['GET', '/api/monitoring/agents/a-agent'],
          ['GET', '/api/v1/agents'],
          ['GET', '/api/v1/events'],
          ['GET', '/api/v1/errors'],
          ['GET', '/api/v1/keys'],
          ['POST', '/api/v1/keys'],
          ['DELETE', '/api/v1/keys/key_000000000000'],
          ['GET', '/api/v1/capacity'],
        ] as const;
        for (const [method, path] of admin) {
          const body = path === '/api/v1/keys' && method === 'POST' ? { agent_id: 'b-agent' } : undefined;
          const r = await hub.call(method, path, body, keyA);
          assert.equal(r.status, 403, `agent key: ${method} ${path}`);
          assert.deepEqual(r.body, FORBIDDEN_BODY);
          if (path === '/api/v1/capacity') continue; // a pool key may route work in its own pool
          const p = await hub.call(method, path, body, poolKey);
          assert.equal(p.status, 403, `pool key: ${method} ${path}`);
        }
        const still = await hub.call('GET', '/api/v1/errors?agent_id=a-agent&resolved=false');
        assert.ok(
          still.body.errors.some((e: { id: number }) => e.id === own.body.id),
          'the error is still unresolved',
        );

        const first = await hub.call('POST', `/api/v1/errors/${own.body.id}/resolve`);
        assert.equal(first.status, 200);
        assert.equal(first.body.error.resolved, true);
        const second = await hub.call('POST', `/api/v1/errors/${own.body.id}/resolve`);
        assert.equal(second.status, 200);
        assert.equal(second.body.error.resolved_at, first.body.error.resolved_at, 'resolving again keeps the first resolution');
        for (let i = 0; i < 2; i++) {
          const seed = await hub.call('PATCH', `/api/monitoring/errors/${other.body.id}/resolve`);
          assert.equal(seed.status, 200);
          assert.deepEqual(seed.body, { success: true });
        }
        for (const [method, path] of [
          ['POST', '/api/v1/errors/987654321/resolve'],
          ['PATCH', '/api/monitoring/errors/987654321/resolve'],
        ] as const) {
          const r = await hub.call(method, path);
          assert.equal(r.status, 404, `${method} ${path}`);
          assert.equal(r.body.error.code, 'VIGIL_ERROR_NOT_FOUND');
        }
      },
    );

    test('A5: server-owned fields in a registration are refused with 400 and change nothing', { skip }, async () => {
      const before = (await hub.call('GET', '/api/v1/agents/b-agent')).body.agent;
      const attempts = [
        { status: 'offline' },
        { performance_score: 99 },
        { registered_at: 0 },
        { last_heartbeat_at: 0 },
        { offline_reason: 'stopped' },
        { updated_at: 1 },
      ];
      for (const extra of attempts) {
        for (const token of [ADMIN_TOKEN, poolKey]) {
          const r = await hub.call('POST', '/api/v1/agents', { agent_id: 'b-agent', name: 'renamed', agent_type: 'x', ...extra }, token);
          assert.equal(r.status, 400, JSON.stringify(extra));
          assert.equal(r.body.error.code, 'VIGIL_VALIDATION');
          assert.match(r.body.error.message, new RegExp(Object.keys(extra)[0] as string));
        }
        const fresh = await hub.call('POST', '/api/v1/agents', { agent_id: 'a5-new', name: 'n', agent_type: 'x', ...extra });
        assert.equal(fresh.status, 400);
        const hbExtra = await hub.call('POST', '/api/v1/agents/a-agent/heartbeat', { ...hb, ...extra }, keyA);
        assert.equal(hbExtra.status, 400, `heartbeat with ${JSON.stringify(extra)}`);
      }
      assert.deepEqual((await hub.call('GET', '/api/v1/agents/b-agent')).body.agent, before, 'stored values unchanged');
      assert.equal((await hub.call('GET', '/api/v1/agents/a5-new')).status, 404, 'no agent created');
    });

    test('A6: a revoked key is refused at once on this hub, by id or by prefix; unknown keys 404', { skip }, async () => {
      for (const by of ['key_id', 'prefix'] as const) {
        const k = await createKey(hub, { agent_id: 'a-agent' });
        assert.equal((await hub.call('POST', '/api/v1/agents/a-agent/heartbeat', hb, k.key)).status, 200, 'works before');
        const del = await hub.call('DELETE', `/api/v1/keys/${k[by]}`);
        assert.equal(del.status, 200);
        assert.equal(typeof del.body.key.revoked_at, 'number');
        const t0 = performance.now();
        const after = await hub.call('POST', '/api/v1/agents/a-agent/heartbeat', hb, k.key);
        assert.equal(after.status, 401, `next request after revoking by ${by}`);
        assert.deepEqual(after.body, UNAUTHORIZED_BODY);
        assert.ok(performance.now() - t0 < 1000);
        const listed = (await hub.call('GET', '/api/v1/keys')).body.keys.find((x: { key_id: string }) => x.key_id === k.key_id);
        assert.equal(listed.revoked_at, del.body.key.revoked_at);
      }
      const missing = await hub.call('DELETE', '/api/v1/keys/key_doesnotexist');
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error.code, 'VIGIL_KEY_NOT_FOUND');
    });

    test('A6: a key revoked on one hub stops working on a second hub sharing the store within about a second', { skip }, async () => {
      // Real clocks: the key cache expires by the hub's clock.
      const dir = tempDir();
      const store = await storeTarget(dialect, dir.path);
      const one = await startTestHub(dialect, { target: store.target, dir: dir.path, clock: systemClock });
      const two = await startTestHub(dialect, { target: store.target, dir: dir.path, clock: systemClock });
      try {
        await one.call('POST', '/api/v1/agents', { agent_id: 'r-agent', name: 'r', agent_type: 'x' });
        const k = await createKey(one, { agent_id: 'r-agent' });
        assert.equal((await two.call('POST', '/api/v1/agents/r-agent/heartbeat', hb, k.key)).status, 200, 'cached as valid on hub two');
        assert.equal((await one.call('DELETE', `/api/v1/keys/${k.key_id}`)).status, 200);
        const t0 = performance.now();
        let status = 200;
        while (status === 200 && performance.now() - t0 < 3000) {
          status = (await two.call('POST', '/api/v1/agents/r-agent/heartbeat', hb, k.key)).status;
          if (status === 200) await new Promise((r) => setTimeout(r, 25));
        }
        const elapsed = performance.now() - t0;
        assert.equal(status, 401);
        assert.ok(elapsed <= 1250, `refused ${Math.round(elapsed)} ms after the revocation (bound: the 1 s key cache)`);
      } finally {
        await two.close();
        await one.close();
        await store.cleanup();
        dir.remove();
      }
    });
  });
}

/** Everything the store holds, as text: the SQLite files' bytes (WAL included) or a pg_dump. */
async function storeText(hub: TestHub, dialect: Dialect): Promise<string> {
  if (dialect === 'sqlite') {
    const parts = ['', '-wal', '-shm'].map((s) => `${hub.target}${s}`).filter((p) => existsSync(p));
    return Buffer.concat(parts.map((p) => readFileSync(p))).toString('latin1');
  }
  const { stdout } = await promisify(execFile)('pg_dump', ['--data-only', `--dbname=${hub.target}`], { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

function occurrences(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

/** Runs the real `vigil server` at debug level, capturing everything it writes. */
async function startLoggedHub(dialect: Dialect, dir: string, db: string) {
  const child = spawn(process.execPath, [VIGIL, 'server', '--port', '0', '--data-dir', dir, '--db', db, '--log-level', 'debug'], {
    env: { PATH: process.env.PATH, VIGIL_ADMIN_TOKEN: ADMIN_TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m) {
        clearInterval(timer);
        resolve(m[1] as string);
      }
    }, 20);
    void exited.then((code) => {
      clearInterval(timer);
      reject(new Error(`vigil server (${dialect}) exited ${code}: ${output}`));
    });
  });
  return {
    url,
    output: () => output,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

for (const dialect of DIALECTS) {
  test(`L1: no key or admin token appears in the hub's debug-level output (${dialect})`, async (t) => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;
    if (skip) return t.skip(skip);
    const dir = tempDir();
    const store = await storeTarget(dialect, dir.path);
    const hub = await startLoggedHub(dialect, dir.path, store.target);
    let key = '';
    try {
      const call = async (method: string, path: string, token: string | undefined, body?: unknown, extra: Record<string, string> = {}) => {
        const headers: Record<string, string> = { ...extra };
        if (token !== undefined) headers.authorization = `Bearer ${token}`;
        if (body !== undefined) headers['content-type'] = 'application/json';
        const res = await request(`${hub.url}${path}`, {
          method: method as 'GET',
          headers,
          body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        });
        const text = await res.body.text();
        return { status: res.statusCode, body: text };
      };
      assert.equal((await call('POST', '/api/v1/agents', ADMIN_TOKEN, { agent_id: 'l1', name: 'l1', agent_type: 'x' })).status, 201);
      const created = JSON.parse((await call('POST', '/api/v1/keys', ADMIN_TOKEN, { agent_id: 'l1' })).body);
      key = created.key;
      assert.match(key, /^vgl_/);
      // Success, refusal and failure paths, each carrying a credential somewhere a careless log would copy it.
      assert.equal((await call('POST', '/api/v1/agents/l1/heartbeat', key, hb)).status, 200);
      assert.equal((await call('POST', '/api/v1/agents/l1/events', key, ev)).status, 201);
      assert.equal((await call('POST', '/api/v1/agents/other/events', key, ev)).status, 403);
      assert.equal((await call('GET', '/api/monitoring/dashboard', key)).status, 403);
      assert.equal((await call('GET', '/api/monitoring/dashboard', ADMIN_TOKEN)).status, 200);
      assert.equal((await call('GET', `/api/v1/keys?token=${key}`, undefined)).status, 401);
      assert.equal((await call('GET', '/api/v1/keys', `${key}x`)).status, 401);
      assert.equal(
        (await call('GET', '/api/v1/keys', undefined, undefined, { 'x-api-key': key, cookie: `session=${ADMIN_TOKEN}` })).status,
        401,
      );
      assert.equal((await call('POST', '/api/v1/agents/l1/events', key, `{"event_type":"info","message":"${key}"`)).status, 400);
      assert.equal((await call('POST', '/api/v1/agents/l1/errors', key, { error_type: '', message: key })).status, 400);
      assert.equal((await call('DELETE', `/api/v1/keys/${created.key_id}`, ADMIN_TOKEN)).status, 200);
      assert.equal((await call('GET', '/api/v1/agents/l1', key)).status, 401);
    } finally {
      assert.equal(await hub.stop(), 0, 'the hub exits 0 on SIGTERM');
      await store.cleanup();
      dir.remove();
    }
    const out = hub.output();
    assert.match(out, /"level":\d+/, 'positive control: the capture holds pino lines');
    assert.match(out, /listening/i);
    assert.ok(key.length > 0 && !out.includes(key.slice(12)), 'the key (its secret part) is not in the output');
    assert.ok(!out.includes(ADMIN_TOKEN), 'the admin token is not in the output');
    assert.ok(!/vgl_[A-Za-z0-9_-]{43}/.test(out), 'no API key is in the output');
  });
}
