import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import pino from 'pino';
import { request } from 'undici';
import { ManualClock } from '../src/clock.js';
import { loadConfig } from '../src/config/config.js';
import { startHub } from '../src/main.js';
import { ADMIN_TOKEN } from './support/hub.js';
import { DIALECTS, postgresUnavailable, storeTarget, tempDir } from './support/stores.js';

/**
 * docs/reliability.md L2: a database failure on any route answers a 5xx whose body says nothing about
 * the SQL, the schema or the code's paths, and whose requestId matches one line of the hub's log.
 */

const ROUTES: [string, string, unknown?][] = [
  ['GET', '/api/v1/agents'],
  ['GET', '/api/v1/agents/l2-agent'],
  ['POST', '/api/v1/agents', { agent_id: 'l2-new', name: 'n', agent_type: 't' }],
  ['POST', '/api/v1/agents/l2-agent/heartbeat', { status: 'online' }],
  ['POST', '/api/v1/agents/l2-agent/events', { event_type: 'info' }],
  ['POST', '/api/v1/ingest', { heartbeats: [{ agent_id: 'l2-agent' }] }],
  ['GET', '/api/v1/capacity?min_cpu_cores=1'],
  ['GET', '/api/monitoring/dashboard'],
  ['GET', '/api/monitoring/agents/l2-agent'],
];

/** Anything that would tell an attacker about the schema, the SQL or where the code lives. */
const LEAK = /agents_gone|no such table|relation|SELECT|INSERT|UPDATE|sqlite|postgres|\/work\/|\.js:|node_modules|stack/i;

for (const dialect of DIALECTS) {
  test(`L2: a broken store gives every route a bare 5xx with a requestId found in the log (${dialect})`, async (t) => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;
    if (skip) return t.skip(skip);
    const dir = tempDir();
    const store = await storeTarget(dialect, dir.path);
    let logged = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logged += chunk.toString('utf8');
        done();
      },
    });
    const config = loadConfig(
      ['--port', '0', '--data-dir', dir.path, '--db', store.target, '--admin-token', ADMIN_TOKEN, '--host-metrics-interval', '0'],
      {},
    );
    const hub = await startHub(config, {
      clock: new ManualClock(Date.now()),
      logger: pino({ level: 'info' }, sink),
      livenessEveryMs: 3_600_000,
    });
    try {
      const call = async (method: string, path: string, body?: unknown) => {
        const res = await request(`${hub.url}${path}`, {
          method: method as 'GET',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: res.statusCode, text: await res.body.text() };
      };
      assert.equal((await call('POST', '/api/v1/agents', { agent_id: 'l2-agent', name: 'a', agent_type: 't' })).status, 201);

      // Break the schema underneath the running hub, from a connection of its own.
      if (dialect === 'sqlite') {
        const raw = new Database(store.target);
        raw.exec('ALTER TABLE agents RENAME TO agents_gone');
        raw.close();
      } else {
        const client = new pg.Client({ connectionString: store.target });
        await client.connect();
        await client.query('ALTER TABLE agents RENAME TO agents_gone');
        await client.end();
      }

      for (const [method, path, body] of ROUTES) {
        const res = await call(method, path, body);
        const where = `${method} ${path}: ${res.status} ${res.text}`;
        assert.ok(res.status >= 500 && res.status <= 503, where);
        assert.doesNotMatch(res.text, LEAK, where);
        const parsed = JSON.parse(res.text) as { error: { code: string; message: string; requestId?: string } };
        assert.ok(['VIGIL_INTERNAL', 'VIGIL_STORE_UNAVAILABLE'].includes(parsed.error.code), where);
        assert.equal(typeof parsed.error.requestId, 'string', where);
        if (parsed.error.code === 'VIGIL_INTERNAL') {
          const lines = logged.split('\n').filter((l) => l.includes(`"reqId":"${parsed.error.requestId}"`));
          assert.equal(lines.length, 1, `${where}: one log line carries requestId ${parsed.error.requestId}`);
        }
      }
    } finally {
      await hub.stop();
      await store.cleanup();
      dir.remove();
    }
  });
}
