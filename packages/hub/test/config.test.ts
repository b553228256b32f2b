import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLIENT_SETTINGS, ConfigError, loadConfig, parseCommandLine } from '../src/config/config.js';

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

test('every invalid setting is reported at once, flags and variables alike', () => {
  assert.throws(
    () =>
      loadConfig(
        ['--port', '70000', '--host', '', '--body-limit=0', '--nope', 'x'],
        { VIGIL_SQLITE_SYNCHRONOUS: 'off', VIGIL_URL: 'nonsense' },
        '/x',
      ),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      const lines = err.message.split('\n');
      assert.equal(lines[0], '5 problems:');
      assert.deepEqual(
        lines
          .slice(1)
          .map((l) => l.trim())
          .sort(),
        [
          '--body-limit / VIGIL_BODY_LIMIT: "0" must be an integer from 1 to 67108864',
          '--host / VIGIL_HOST: "" must not be empty',
          '--port / VIGIL_PORT: "70000" must be an integer from 0 to 65535',
          '--sqlite-synchronous / VIGIL_SQLITE_SYNCHRONOUS: "off" must be one of full, normal',
          'unknown option "--nope" (see vigil server --help)',
        ],
      );
      // VIGIL_URL belongs to the client commands: the server neither reads nor judges it.
      assert.ok(!err.message.includes('VIGIL_URL'));
      return true;
    },
  );
});

test('a command reads only its own settings; its own options and positionals are parsed with them', () => {
  const line = parseCommandLine(
    ['list', '--json', '--data-dir', 'd', '--url=http://hub:7070/'],
    { VIGIL_PORT: 'not a port', VIGIL_KEY: 'k'.repeat(20) },
    { command: 'demo', settings: CLIENT_SETTINGS, options: { json: { type: 'boolean' } }, positionals: 1 },
    '/x',
  );
  assert.deepEqual(line.positionals, ['list']);
  assert.equal(line.values.json, true);
  assert.deepEqual(line.config, { url: 'http://hub:7070', key: 'k'.repeat(20), dataDir: '/x/d' });
  assert.deepEqual(line.settingArgs, ['--data-dir=d', '--url=http://hub:7070/']);
  assert.throws(
    () =>
      parseCommandLine(
        ['a', 'b', '--json=yes', '--url'],
        {},
        { command: 'errors', settings: CLIENT_SETTINGS, options: { json: { type: 'boolean' } } },
      ),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.message ===
        '4 problems:\n  --json takes no value\n  --url needs a value\n  unexpected argument "a" (see vigil errors --help)\n  unexpected argument "b" (see vigil errors --help)',
  );
});
