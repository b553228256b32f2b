import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { ADMIN_TOKEN, startTestHub, type TestHub } from './support/hub.js';

/**
 * `Content-Type: application/json` with no body at all, as docs/api.md's own curl examples and many
 * HTTP clients send it: a route that takes no body goes ahead, a route that needs one says the body
 * is missing (a validation error), and neither calls it malformed JSON.
 */

let hub: TestHub;
before(async () => {
  hub = await startTestHub('sqlite', { flags: ['--host-metrics-interval', '0'] });
});
after(() => hub.close());

async function empty(method: string, path: string): Promise<{ status: number; body: any }> {
  const res = await request(`${hub.url}${path}`, {
    method: method as 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: '',
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text === '' ? undefined : JSON.parse(text) };
}

test('a route that takes no body accepts an empty one sent as application/json', async () => {
  await hub.call('POST', '/api/v1/agents', { agent_id: 'e-1', name: 'e', agent_type: 'worker' });
  const err = await hub.call('POST', '/api/v1/agents/e-1/errors', { error_type: 'X', message: 'boom' });
  assert.equal(err.status, 201, JSON.stringify(err.body));
  const resolve = await empty('POST', `/api/v1/errors/${err.body.id}/resolve`);
  assert.equal(resolve.status, 200, JSON.stringify(resolve.body));
  assert.equal(resolve.body.error.resolved, true);
  const reopen = await empty('POST', `/api/v1/errors/${err.body.id}/unresolve`);
  assert.equal(reopen.status, 200, JSON.stringify(reopen.body));
  const del = await empty('DELETE', '/api/v1/agents/e-1');
  assert.equal(del.status, 200, JSON.stringify(del.body));
});

test('a route that needs a body says it is missing, not malformed', async () => {
  const r = await empty('POST', '/api/v1/agents');
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'VIGIL_VALIDATION');
  // Whitespace is not an empty body: it is malformed JSON, as before.
  const res = await request(`${hub.url}/api/v1/agents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: ' ',
  });
  assert.equal(((await res.body.json()) as any).error.code, 'VIGIL_MALFORMED_JSON');
});
