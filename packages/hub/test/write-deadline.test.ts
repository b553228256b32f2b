import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import pg from 'pg';
import { ADMIN_TOKEN, startTestHub, type TestHub } from './support/hub.js';
import { createPgDatabase, postgresUnavailable } from './support/stores.js';
import { TcpProxy, throughProxy } from './support/tcp-proxy.js';

/**
 * Issue 9, finding 8: a stalled store must not hold a request past the clients' own timeouts (the
 * SDK gives up after 10 s). Each write has a deadline (--write-deadline-ms): past it the answer is
 * 503 + Retry-After, and a retry with the same event_id is stored once. A full queue is refused
 * before the body is read.
 */

const DEADLINE_MS = 1000;
/** What a loaded test machine may add to the deadline. */
const SLACK_MS = 1500;

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await work;
  return { value, ms: performance.now() - t0 };
}

async function register(hub: TestHub, id: string): Promise<void> {
  const r = await hub.call('POST', '/api/v1/agents', { agent_id: id, name: id, agent_type: 't' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
}

function assertDeadline503(r: { status: number; body: any; headers: Record<string, unknown> }, ms: number): void {
  assert.equal(r.status, 503, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'VIGIL_STORE_UNAVAILABLE');
  assert.equal(r.headers['retry-after'], '2');
  assert.ok(ms >= DEADLINE_MS - 50, `answered after the deadline, not before (${ms.toFixed(0)} ms)`);
  assert.ok(ms < DEADLINE_MS + SLACK_MS, `answered within the deadline and slack (${ms.toFixed(0)} ms)`);
}

describe('write deadline (issue 9, finding 8)', () => {
  test('SQLite write lock held by another connection: 503 within the deadline, the hub stays responsive, a retry is stored once', async () => {
    const hub = await startTestHub('sqlite', { flags: ['--write-deadline-ms', String(DEADLINE_MS)] });
    const other = new Database(join(hub.dir, 'vigil.db'));
    try {
      await register(hub, 'dl-sqlite');
      // Waits out a step of the hub's own start-up jobs (a rollup step may commit just after the
      // registration it let go first); once held, the lock is this connection's.
      other.pragma('busy_timeout = 5000');
      other.exec('BEGIN IMMEDIATE');
      const heldAt = performance.now();
      const event = { event_type: 'info', event_id: 'dl-sqlite-1', message: 'held' };
      const write = timed(hub.call('POST', '/api/v1/agents/dl-sqlite/events', event));
      // While the writer waits for the lock, the hub still answers at once (its event loop is free).
      await sleep(200);
      const health = await timed(hub.call('GET', '/healthz', undefined, null));
      assert.equal(health.value.status, 200);
      assert.ok(health.ms < 500, `/healthz answered in ${health.ms.toFixed(0)} ms while the lock was held`);
      const { value: r, ms } = await write;
      assertDeadline503(r, ms);
      assert.equal((await hub.call('GET', '/readyz', undefined, null)).status, 503, 'not ready while writes miss their deadline');

      // Hold the lock well past the deadline, then release it.
      while (performance.now() - heldAt < 3 * DEADLINE_MS) await sleep(20);
      other.exec('COMMIT');

      // The 503 was answered before the write began: the retry stores it, once.
      const retry = await hub.call('POST', '/api/v1/agents/dl-sqlite/events', event);
      assert.equal(retry.status, 201, JSON.stringify(retry.body));
      assert.equal(retry.body.duplicate, false);
      const again = await hub.call('POST', '/api/v1/agents/dl-sqlite/events', event);
      assert.equal(again.status, 200);
      assert.equal(again.body.duplicate, true);
      const row = other.prepare("SELECT COUNT(*) AS n FROM agent_events WHERE event_id = 'dl-sqlite-1'").get() as { n: number };
      assert.equal(row.n, 1);
      assert.equal((await hub.call('GET', '/readyz', undefined, null)).status, 200, 'ready again after a commit');
    } finally {
      if (other.inTransaction) other.exec('ROLLBACK');
      other.close();
      await hub.close();
    }
  });

  test('a full queue answers 429 before the request body is sent', async () => {
    // Capacity 1: with the writer waiting for a lock another connection holds, one queued write fills it
    // (the first may be in flight, or queued behind one of the hub's own jobs).
    const hub = await startTestHub('sqlite', { flags: ['--queue-capacity', '1', '--write-deadline-ms', '20000'] });
    const other = new Database(join(hub.dir, 'vigil.db'));
    try {
      await register(hub, 'dl-full');
      // Waits out a step of the hub's own start-up jobs (a rollup step may commit just after the
      // registration it let go first); once held, the lock is this connection's.
      other.pragma('busy_timeout = 5000');
      other.exec('BEGIN IMMEDIATE');
      const writes: ReturnType<TestHub['call']>[] = [];
      while ((await hub.call('GET', '/healthz', undefined, null)).body.queue.depth < 1) {
        assert.ok(writes.length < 3, 'a write is queued');
        writes.push(hub.call('POST', '/api/v1/agents/dl-full/events', { event_type: 'info', event_id: `full-${writes.length}` }));
        await sleep(150);
      }

      // Headers only, announcing a body that never comes: the answer must not wait for it.
      const { hostname, port } = new URL(hub.url);
      const socket = connect(Number(port), hostname);
      let answer = '';
      socket.on('data', (d: Buffer) => (answer += d.toString()));
      socket.write(
        'POST /api/v1/ingest HTTP/1.1\r\n' +
          `Host: ${hostname}:${port}\r\n` +
          `Authorization: Bearer ${ADMIN_TOKEN}\r\n` +
          'Content-Type: application/json\r\n' +
          'Content-Length: 100000\r\n\r\n',
      );
      const sent = performance.now();
      while (!answer.includes('VIGIL_INGEST_QUEUE_FULL') && performance.now() - sent < 3000) await sleep(10);
      socket.destroy();
      assert.match(answer, /^HTTP\/1\.1 429 /, `no 429 before the body: ${JSON.stringify(answer.slice(0, 200))}`);
      assert.match(answer, /\r\nretry-after: 1\r\n/i);
      assert.match(answer, /"code":"VIGIL_INGEST_QUEUE_FULL"/);

      other.exec('COMMIT');
      for (const w of writes) assert.equal((await w).status, 201, 'the writes that were queued commit');
      // With room again, the same request goes through.
      const ok = await hub.call('POST', '/api/v1/ingest', {
        events: [{ agent_id: 'dl-full', event_type: 'info', event_id: 'full-after' }],
      });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
    } finally {
      if (other.inTransaction) other.exec('ROLLBACK');
      other.close();
      await hub.close();
    }
  });

  test('PostgreSQL blackhole (no byte moves, nothing closes): 503 within the deadline; after it heals a retry is stored once', async (t) => {
    const skip = await postgresUnavailable();
    if (skip) return t.skip(skip);
    const pgUrl = new URL(process.env.VIGIL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
    const database = await createPgDatabase();
    const proxy = await TcpProxy.start({ host: pgUrl.hostname, port: Number(pgUrl.port || 5432) });
    const hub = await startTestHub('postgres', {
      target: throughProxy(database.url, proxy),
      flags: ['--write-deadline-ms', String(DEADLINE_MS), '--host-metrics-interval', '0'],
    });
    try {
      await register(hub, 'dl-pg');
      const event = { event_type: 'info', event_id: 'dl-pg-1' };
      proxy.blackhole();
      const { value: r, ms } = await timed(hub.call('POST', '/api/v1/agents/dl-pg/events', event));
      assertDeadline503(r, ms);
      const ready = await timed(hub.call('GET', '/readyz', undefined, null));
      assert.equal(ready.value.status, 503);
      assert.ok(ready.ms < 2000 + SLACK_MS, `/readyz answered in ${ready.ms.toFixed(0)} ms`);

      await proxy.open();
      const healed = performance.now();
      let retry = await hub.call('POST', '/api/v1/agents/dl-pg/events', event);
      while (retry.status === 503 && performance.now() - healed < 15_000) {
        await sleep(200);
        retry = await hub.call('POST', '/api/v1/agents/dl-pg/events', event);
      }
      assert.ok(retry.status === 201 || retry.status === 200, JSON.stringify(retry.body));
      const direct = new pg.Client({ connectionString: database.url });
      await direct.connect();
      try {
        const { rows } = await direct.query<{ n: string }>("SELECT COUNT(*) AS n FROM agent_events WHERE event_id = 'dl-pg-1'");
        assert.equal(Number(rows[0]?.n), 1, 'stored once');
      } finally {
        await direct.end();
      }
    } finally {
      await proxy.open();
      await hub.close();
      await proxy.close();
      await database.drop();
    }
  });
});
