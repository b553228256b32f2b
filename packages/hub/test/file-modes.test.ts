import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../src/config/config.js';
import { startHub } from '../src/main.js';
import { tempDir } from './support/stores.js';

/**
 * The data directory and the hub's files are its user's alone (issue 9, finding 12): created 0700
 * and 0600 whatever the umask lets through, and an admin token or database file found readable by
 * others is set back to 0600 with a warning; a looser data directory is warned about.
 */

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

/** A hub on `dataDir` with a generated admin token, logging its warnings into `warnings`. */
async function startOn(dataDir: string, warnings: string[]) {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) warnings.push(JSON.parse(line).msg);
      done();
    },
  });
  const config = loadConfig(['--port', '0', '--data-dir', dataDir, '--host-metrics-interval', '0'], {});
  return startHub(config, { logger: pino({ level: 'warn' }, sink), livenessEveryMs: 3_600_000 });
}

describe('file modes of the data directory (finding 12)', () => {
  let previousUmask: number;
  before(() => {
    // The usual umask: without the hub's own modes, directories would be 0755 and files 0644.
    previousUmask = process.umask(0o022);
  });
  after(() => {
    process.umask(previousUmask);
  });

  test('a new data directory is 0700; the admin token, the database and its -wal and -shm are 0600, without a warning', async () => {
    const tmp = tempDir();
    try {
      const dataDir = join(tmp.path, 'nested', 'vigil-data');
      const warnings: string[] = [];
      const hub = await startOn(dataDir, warnings);
      try {
        const db = join(dataDir, 'vigil.db');
        assert.deepEqual([dataDir, join(dataDir, 'admin-token'), db, `${db}-wal`, `${db}-shm`].map(mode), [
          '700',
          '600',
          '600',
          '600',
          '600',
        ]);
        assert.deepEqual(warnings, []);
      } finally {
        await hub.stop();
      }
    } finally {
      tmp.remove();
    }
  });

  test('an admin token file and a database readable by others are set to 0600 with warnings; a 0755 data dir is warned about', async () => {
    const tmp = tempDir();
    try {
      const dataDir = join(tmp.path, 'vigil-data');
      // A first start makes the database; then the files are loosened as an older hub (or a copy) left them.
      await (await startOn(dataDir, [])).stop();
      const token = `vgl_admin_${'x'.repeat(40)}`;
      const tokenFile = join(dataDir, 'admin-token');
      const db = join(dataDir, 'vigil.db');
      writeFileSync(tokenFile, `${token}\n`);
      chmodSync(tokenFile, 0o644);
      chmodSync(db, 0o644);
      chmodSync(dataDir, 0o755);

      const warnings: string[] = [];
      const hub = await startOn(dataDir, warnings);
      try {
        assert.equal(hub.adminToken, token, 'the existing token is kept');
        assert.deepEqual([tokenFile, db].map(mode), ['600', '600']);
        assert.equal(mode(dataDir), '755', 'a directory is only warned about: it may be shared on purpose');
        assert.ok(
          warnings.some((w) => /admin token file was readable by other users \(mode 0644\); set it to 0600/.test(w)),
          warnings.join('\n'),
        );
        assert.ok(
          warnings.some((w) => w.includes(`${db} was readable by other users (mode 0644); set it to 0600`)),
          warnings.join('\n'),
        );
        assert.ok(
          warnings.some((w) => w.includes(`${dataDir} is open to other users (mode 0755); chmod 700 it`)),
          warnings.join('\n'),
        );
      } finally {
        await hub.stop();
      }
    } finally {
      tmp.remove();
    }
  });

  test('a database elsewhere gets a 0700 directory of its own too', async () => {
    const tmp = tempDir();
    try {
      const dir = join(tmp.path, 'db-dir');
      mkdirSync(join(tmp.path, 'data'), { mode: 0o700 });
      const config = loadConfig(
        ['--port', '0', '--data-dir', join(tmp.path, 'data'), '--db', join(dir, 'hub.db'), '--host-metrics-interval', '0'],
        {},
      );
      const hub = await startHub(config, { logger: pino({ level: 'silent' }), livenessEveryMs: 3_600_000 });
      await hub.stop();
      assert.deepEqual([dir, join(dir, 'hub.db')].map(mode), ['700', '600']);
    } finally {
      tmp.remove();
    }
  });
});
