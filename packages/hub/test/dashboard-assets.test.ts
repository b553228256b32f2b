import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { request } from 'undici';
import { startTestHub, type TestHub } from './support/hub.js';
import { tempDir } from './support/stores.js';

/** How the hub serves the built dashboard: from a fake build here, so the test does not depend on Vite. */

async function get(hub: TestHub, path: string, headers: Record<string, string> = {}) {
  const res = await request(`${hub.url}${path}`, { headers });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body };
}

const INDEX = '<!doctype html><title>fake dashboard</title><script type="module" src="/assets/app-1234.js"></script>';
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(4000))});`;

describe('the dashboard build served at /', () => {
  const web = tempDir();
  let hub: TestHub;
  before(async () => {
    mkdirSync(join(web.path, 'assets'));
    writeFileSync(join(web.path, 'index.html'), INDEX);
    writeFileSync(join(web.path, 'assets', 'app-1234.js'), SCRIPT);
    writeFileSync(join(web.path, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    writeFileSync(join(web.path, 'notes.unknown-type'), 'not served');
    hub = await startTestHub('sqlite', { flags: ['--host-metrics-interval', '0', '--web-dir', web.path] });
  });
  after(async () => {
    await hub.close();
    web.remove();
  });

  test('the app at / and at each of its own addresses, never cached stale', async () => {
    for (const path of [
      '/',
      '/agents/gpu-box-1',
      '/agents/host.example.summariser',
      '/errors',
      '/events',
      '/capacity',
      '/alerts',
      '/errors?x=1',
    ]) {
      const res = await get(hub, path);
      assert.equal(res.status, 200, path);
      assert.equal(res.body.toString(), INDEX, path);
      assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(res.headers['cache-control'], 'no-cache');
    }
  });

  test('built files: hashed assets cached for good, gzip when accepted, 304 on a matching ETag', async () => {
    const plain = await get(hub, '/assets/app-1234.js');
    assert.equal(plain.status, 200);
    assert.equal(plain.body.toString(), SCRIPT);
    assert.equal(plain.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(plain.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(plain.headers['content-encoding'], undefined);
    const gz = await get(hub, '/assets/app-1234.js', { 'accept-encoding': 'gzip, deflate, br' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(gz.body).toString(), SCRIPT);
    assert.ok(gz.body.length < plain.body.length / 10);
    const again = await get(hub, '/assets/app-1234.js', { 'if-none-match': String(plain.headers.etag) });
    assert.equal(again.status, 304);
    assert.equal((await get(hub, '/favicon.svg')).headers['content-type'], 'image/svg+xml');
  });

  test('a browser that asks for an unknown page gets the app (its own "not found" page) with a 404; /api stays JSON', async () => {
    for (const path of ['/nope', '/agents', '/agents/a/b', '/errors/extra']) {
      const res = await get(hub, path, { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' });
      assert.equal(res.status, 404, path);
      assert.equal(res.headers['content-type'], 'text/html; charset=utf-8', path);
      assert.equal(res.body.toString(), INDEX, path);
      assert.equal(res.headers['cache-control'], 'no-cache');
    }
    for (const path of ['/api/v1/nope', '/api', '/api/v1/agents/x/nothing']) {
      const res = await get(hub, path, { accept: 'text/html' });
      assert.equal(res.status, 404, path);
      assert.equal(JSON.parse(res.body.toString()).error.code, 'VIGIL_ROUTE_NOT_FOUND', path);
    }
  });

  test('anything else a program asks for is a JSON 404, never the app and never a file outside the build', async () => {
    for (const path of [
      '/assets/missing.js',
      '/notes.unknown-type',
      '/index.html.bak',
      '/agents',
      '/agents/a/b',
      '/nope',
      '/api/v1/nope',
      '/api',
      '/assets/../../package.json',
      '/../../etc/passwd',
      '/%2e%2e/%2e%2e/etc/passwd',
    ]) {
      const res = await get(hub, path);
      assert.equal(res.status, 404, path);
      assert.match(String(res.headers['content-type']), /^application\/json/, path);
      assert.equal(JSON.parse(res.body.toString()).error.code, 'VIGIL_ROUTE_NOT_FOUND', path);
    }
  });
});

describe('a hub whose dashboard is not built', () => {
  const empty = tempDir();
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub('sqlite', { flags: ['--host-metrics-interval', '0', '--web-dir', join(empty.path, 'nothing')] });
  });
  after(async () => {
    await hub.close();
    empty.remove();
  });

  test('/ says how to build it instead of failing, and the API still works', async () => {
    const res = await get(hub, '/');
    assert.equal(res.status, 200);
    assert.match(res.body.toString(), /npm run build/);
    assert.equal(res.headers['content-security-policy'], "default-src 'none'");
    assert.doesNotMatch(res.body.toString(), new RegExp(empty.path), 'no server path is shown to strangers');
    assert.equal((await get(hub, '/agents/x')).status, 200);
    assert.equal((await get(hub, '/assets/app.js')).status, 404);
    assert.equal((await hub.call('GET', '/api/v1/agents')).status, 200);
  });
});
