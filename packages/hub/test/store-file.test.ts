import assert from 'node:assert/strict';
import { closeSync, openSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { loadConfig } from '../src/config/config.js';
import { createLogger, startHub } from '../src/main.js';
import { ADMIN_TOKEN, startTestHub } from './support/hub.js';
import { tempDir } from './support/stores.js';

/**
 * Issue 9, finding 9: a file that is not a Vigil database is refused at start with the way out
 * (a zero-length one only opens when asked), and a database damaged mid-file flips readiness
 * with the way out instead of answering unexplained 500s while /healthz says ok.
 */

function start(dataDir: string, extra: string[] = []) {
  const config = loadConfig(
    ['--port', '0', '--data-dir', dataDir, '--admin-token', ADMIN_TOKEN, '--host-metrics-interval', '0', ...extra],
    {},
  );
  return startHub(config, { logger: createLogger('silent'), livenessEveryMs: 3_600_000 });
}

describe('what the hub opens as its SQLite database (finding 9)', () => {
  test('a zero-length file is refused with the way out, and opened as a new database only with --sqlite-init-empty true', async () => {
    const dir = tempDir();
    try {
      const file = join(dir.path, 'vigil.db');
      writeFileSync(file, '');
      await assert.rejects(start(dir.path), (err: Error) => {
        assert.match(err.message, /vigil\.db is an empty file, not a Vigil database/);
        assert.match(err.message, /restore it from a backup/);
        assert.match(err.message, /--sqlite-init-empty true/);
        return true;
      });
      assert.equal(statSync(file).size, 0, 'the refused file is left as it was');
      const hub = await start(dir.path, ['--sqlite-init-empty', 'true']);
      try {
        assert.equal((await hub.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM agents'))?.n, 0);
      } finally {
        await hub.stop();
      }
      // Once initialised it is a Vigil database: it opens without the flag.
      await (await start(dir.path)).stop();
    } finally {
      dir.remove();
    }
  });

  test('a file that is not SQLite, and an SQLite database of another application, are refused and left untouched', async () => {
    const dir = tempDir();
    try {
      const file = join(dir.path, 'vigil.db');
      writeFileSync(file, 'name,cpu\nagent-1,12\n');
      await assert.rejects(start(dir.path), /vigil\.db is not an SQLite database .*restore it from a backup/);
      await assert.rejects(start(dir.path, ['--sqlite-init-empty', 'true']), /is not an SQLite database/);

      const other = join(dir.path, 'other.db');
      const foreign = new Database(other);
      foreign.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)');
      foreign.close();
      const before = statSync(other);
      await assert.rejects(start(dir.path, ['--db', other]), /other\.db is not a Vigil database: it holds other tables \(invoices\)/);
      const check = new Database(other, { readonly: true });
      const tables = check.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
      const journal = check.pragma('journal_mode', { simple: true });
      check.close();
      assert.deepEqual(tables, ['invoices']);
      assert.equal(journal, 'delete', 'not switched to WAL');
      assert.equal(statSync(other).mode, before.mode, 'its mode is not changed either');
    } finally {
      dir.remove();
    }
  });

  test('pages damaged mid-file: reads answer VIGIL_STORE_CORRUPT, /readyz turns 503 with the way out, /healthz says degraded', async () => {
    const first = await startTestHub('sqlite', { flags: ['--host-metrics-interval', '0'] });
    const dir = first.dir;
    try {
      assert.equal((await first.call('POST', '/api/v1/agents', { agent_id: 'c-1', name: 'c', agent_type: 'worker' })).status, 201);
      for (let batch = 0; batch < 4; batch++) {
        const events = Array.from({ length: 500 }, (_, i) => ({
          agent_id: 'c-1',
          event_type: 'info',
          message: `event ${batch}-${i} ${'x'.repeat(200)}`,
        }));
        assert.equal((await first.call('POST', '/api/v1/ingest', { events })).status, 200);
      }
      await first.stop();

      // Overwrite the leaf pages of agent_events, as a bad disk sector or a torn copy would.
      const file = first.target;
      const probe = new Database(file, { readonly: true });
      const pageSize = Number(probe.pragma('page_size', { simple: true }));
      const pages = probe.prepare("SELECT pageno FROM dbstat WHERE name = 'agent_events' AND pagetype = 'leaf'").pluck().all() as number[];
      probe.close();
      assert.ok(pages.length > 10, `agent_events spans ${pages.length} leaf pages`);
      const fd = openSync(file, 'r+');
      for (const page of pages) writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (page - 1) * pageSize);
      closeSync(fd);

      const hub = await startTestHub('sqlite', { flags: ['--host-metrics-interval', '0'], target: file, dir });
      try {
        assert.equal((await hub.call('GET', '/readyz')).status, 200, 'nothing has met the damage yet');
        const events = await hub.call('GET', '/api/v1/events?agent_id=c-1');
        assert.equal(events.status, 500);
        assert.equal(events.body.error.code, 'VIGIL_STORE_CORRUPT');
        assert.doesNotMatch(JSON.stringify(events.body), new RegExp(dir.replace(/[/.]/g, '\\$&')), 'no file path in the answer');

        const ready = await hub.call('GET', '/readyz');
        assert.equal(ready.status, 503);
        assert.equal(ready.body.ready, false);
        assert.match(ready.body.reason, /damaged \(SQLITE_CORRUPT/);
        assert.match(ready.body.reason, /restore vigil\.db from a backup/);
        assert.match(ready.body.reason, /sqlite3 vigil\.db "\.recover" \| sqlite3 recovered\.db/);

        const health = await hub.call('GET', '/healthz');
        assert.equal(health.status, 200, 'the process is alive; a restart would not repair the file');
        assert.equal(health.body.status, 'degraded');
        assert.match(health.body.store.corruption.code, /^SQLITE_CORRUPT/);
      } finally {
        await hub.close();
      }
    } finally {
      await first.close().catch(() => undefined);
    }
  });
});
