import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestHub, type TestHub } from './support/hub.js';
import { DIALECTS, postgresUnavailable } from './support/stores.js';

/**
 * Every number a query string or a path carries is bounded in its schema, so a value past 64 bits
 * (`before=1e20`) is a 400 naming the parameter, never a BIGINT overflow answered 500 by PostgreSQL.
 * The routes come from the hub's own OpenAPI document, so a route added later is covered too.
 */

interface Param {
  in: string;
  name: string;
  required?: boolean;
  schema?: { type?: string; minimum?: number; maximum?: number; enum?: unknown[]; anyOf?: { const?: unknown; enum?: unknown[] }[] };
}

/** Valid values for the route's other required query parameters (`group_by` of the usage route). */
function requiredQuery(params: Param[], except: string): string {
  return params
    .filter((x) => x.in === 'query' && x.required && x.name !== except)
    .map((x) => {
      const choice = x.schema?.enum?.[0] ?? x.schema?.anyOf?.[0]?.const ?? x.schema?.anyOf?.[0]?.enum?.[0];
      const value = choice !== undefined ? String(choice) : x.schema?.type === 'integer' || x.schema?.type === 'number' ? '1' : 'x';
      return `&${x.name}=${encodeURIComponent(value)}`;
    })
    .join('');
}
type Spec = { paths: Record<string, Record<string, { parameters?: Param[] }>> };

/** Every GET route with a numeric query or path parameter, from the OpenAPI document. */
function numericParams(spec: Spec): { path: string; params: Param[]; numeric: Param[] }[] {
  const out: { path: string; params: Param[]; numeric: Param[] }[] = [];
  for (const [path, methods] of Object.entries(spec.paths)) {
    const params = methods.get?.parameters ?? [];
    const numeric = params.filter((p) => p.schema?.type === 'integer' || p.schema?.type === 'number');
    if (numeric.length > 0) out.push({ path, params, numeric });
  }
  return out;
}

/** The path with its parameters filled with valid values, one of them (if a path one) replaced. */
function fill(path: string, params: Param[], replace?: { name: string; value: string }): string {
  return path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    if (replace?.name === name) return replace.value;
    const p = params.find((x) => x.in === 'path' && x.name === name);
    return p?.schema?.type === 'integer' || p?.schema?.type === 'number' ? '1' : 'bounds-agent';
  });
}

const OUT_OF_RANGE = ['1e20', '9223372036854775808', '-1', '1e400'];

for (const dialect of DIALECTS) {
  describe(`numeric query and path parameters are bounded (${dialect})`, async () => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;
    let hub: TestHub;
    let spec: Spec;

    before(async () => {
      if (skip) return;
      hub = await startTestHub(dialect);
      assert.equal((await hub.call('POST', '/api/v1/agents', { agent_id: 'bounds-agent', name: 'b', agent_type: 'code' })).status, 201);
      assert.equal(
        (await hub.call('POST', '/api/v1/agents/bounds-agent/events', { event_type: 'info', message: 'one row to page over' })).status,
        201,
      );
      spec = (await hub.call('GET', '/api/v1/openapi.json')).body as Spec;
    });
    after(async () => {
      if (!skip) await hub.close();
    });

    test('every numeric parameter declares a finite minimum and a maximum within 2^53', { skip }, () => {
      const routes = numericParams(spec);
      // The list routes the red-team pass broke are among them.
      for (const p of ['/api/v1/events', '/api/v1/errors', '/api/v1/traces']) {
        assert.ok(
          routes.some((r) => r.path === p),
          `${p} has numeric parameters`,
        );
      }
      for (const r of routes) {
        for (const p of r.numeric) {
          const where = `${r.path} ${p.in} ${p.name}`;
          assert.equal(typeof p.schema?.minimum, 'number', `${where}: no minimum`);
          assert.equal(typeof p.schema?.maximum, 'number', `${where}: no maximum`);
          assert.ok((p.schema?.maximum as number) <= Number.MAX_SAFE_INTEGER, `${where}: maximum ${p.schema?.maximum} is past 2^53`);
        }
      }
    });

    test('a value past the bounds is a 400 naming the parameter, on every route', { skip }, async () => {
      let checked = 0;
      for (const r of numericParams(spec)) {
        for (const p of r.numeric) {
          for (const value of OUT_OF_RANGE) {
            const url =
              p.in === 'path'
                ? fill(r.path, r.params, { name: p.name, value })
                : `${fill(r.path, r.params)}?${p.name}=${encodeURIComponent(value)}${requiredQuery(r.params, p.name)}`;
            const res = await hub.call('GET', url);
            const where = `GET ${url}`;
            assert.equal(res.status, 400, `${where}: ${res.status} ${JSON.stringify(res.body)}`);
            assert.equal(res.body.error.code, 'VIGIL_VALIDATION', where);
            assert.match(res.body.error.message, new RegExp(p.name), `${where}: ${res.body.error.message}`);
            checked++;
          }
        }
      }
      assert.ok(checked >= 20, `checked ${checked} parameter values`);
    });

    test('the largest cursor the schema takes pages normally', { skip }, async () => {
      for (const list of ['events', 'errors', 'traces']) {
        const res = await hub.call('GET', `/api/v1/${list}?before=${Number.MAX_SAFE_INTEGER}&limit=${Number.MAX_SAFE_INTEGER}`);
        assert.equal(res.status, 200, `${list}: ${JSON.stringify(res.body)}`);
        assert.ok(Array.isArray(res.body[list]));
      }
    });
  });
}
