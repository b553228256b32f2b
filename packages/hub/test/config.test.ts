import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/config.js';

test('defaults: loopback, port 7070, SQLite in ./vigil-data, synchronous FULL', () => {
  const c = loadConfig([], {}, '/srv/hub');
  assert.equal(c.port, 7070);
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.dataDir, '/srv/hub/vigil-data');
  assert.equal(c.db, '/srv/hub/vigil-data/vigil.db');
  assert.equal(c.sqliteSynchronous, 'full');
  assert.equal(c.adminToken, undefined);
  assert.ok(Object.isFrozen(c));
});

test('flags win over the environment, which wins over defaults', () => {
  const env = { VIGIL_PORT: '8000', VIGIL_HOST: '0.0.0.0', VIGIL_DATABASE_URL: 'postgres://u@db:5432/vigil' };
  const c = loadConfig(['--port=9000'], env, '/x');
  assert.equal(c.port, 9000);
  assert.equal(c.host, '0.0.0.0');
  assert.equal(c.db, 'postgres://u@db:5432/vigil', 'a postgres URL is kept as given');
  assert.equal(loadConfig(['--db', 'data/hub.db'], {}, '/x').db, '/x/data/hub.db');
});

test('invalid values are refused with the setting named', () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [['--port', 'http'], {}, /--port \/ VIGIL_PORT: "http" must be an integer/],
    [[], { VIGIL_PORT: '-1' }, /VIGIL_PORT/],
    [[], { VIGIL_ADMIN_TOKEN: 'short' }, /VIGIL_ADMIN_TOKEN/],
    [['--sqlite-synchronous', 'off'], {}, /must be one of full, normal/],
    [['--host'], {}, /--host needs a value/],
    [['--nope', '1'], {}, /unknown option "--nope"/],
  ];
  for (const [argv, env, message] of cases) {
    assert.throws(
      () => loadConfig(argv, env, '/x'),
      (err: unknown) => err instanceof ConfigError && message.test(err.message),
    );
  }
});
