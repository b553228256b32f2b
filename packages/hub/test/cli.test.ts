import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { FORWARDED_SIGNALS } from '@vigil/agent/run-args';
import { CLIENT_SETTINGS, HUB_SETTINGS, SETTINGS } from '../src/config/config.js';
import { vigil } from './support/cli.js';
import { tempDir } from './support/stores.js';

const dir = tempDir();
after(() => dir.remove());

test('vigil --help and vigil server --help describe every setting, its flag and its variable', async () => {
  const top = await vigil(['--help']);
  assert.equal(top.code, 0);
  for (const cmd of ['vigil server', 'vigil migrate', 'vigil keys create --agent', 'vigil keys list', 'vigil keys revoke']) {
    assert.ok(top.stdout.includes(cmd), `--help mentions ${cmd}`);
  }
  const server = await vigil(['server', '--help']);
  assert.equal(server.code, 0);
  for (const s of HUB_SETTINGS.map((k) => SETTINGS[k])) {
    assert.ok(server.stdout.includes(s.flag), `server --help lists ${s.flag}`);
    assert.ok(server.stdout.includes(s.env), `server --help lists ${s.env}`);
  }
  assert.ok(!server.stdout.includes('--url'), "the client settings are not the server's");
  // The commands that call the API list theirs, from the same table.
  for (const cmd of ['agents', 'agent', 'errors', 'alerts', 'capacity', 'traces', 'usage']) {
    const help = await vigil([cmd, '--help']);
    for (const s of CLIENT_SETTINGS.map((k) => SETTINGS[k]))
      assert.ok(help.stdout.includes(`${s.flag} <value>`) && help.stdout.includes(s.env), `${cmd} --help lists ${s.flag}`);
    assert.match(help.stdout, /Exit codes: 0 done; 1 the hub answered an error/, cmd);
  }
});

test("vigil <command> --help prints that command's own help, for every command", async () => {
  const top = await vigil(['--help']);
  // Each command's help starts with its own usage line, and is not the generic page.
  const own: [string[], RegExp][] = [
    [['server', '--help'], /^vigil server \[options\]: run the hub/],
    [['migrate', '--help'], /^vigil migrate \[options\]: create or upgrade the database schema/],
    [['keys', '--help'], /^vigil keys create --agent ID/],
    [['keys', 'create', '-h'], /^vigil keys create --agent ID/],
    [['storage', '--help'], /^vigil storage \[--json\] \[options\]: rows and bytes per table/],
    [['demo', '--help'], /^vigil demo \[--agents N\] \[options\]: a hub with simulated agents/],
    [['alerts', '--help'], /^vigil alerts \[--state pending\|firing\|resolved\][^]*\nvigil alerts rules list/],
    [['agents', '--help'], /^vigil agents \[--status online\|offline\|busy\][^]*\nvigil agents rm ID \[--keep-history\]/],
    [['run', '--help'], /^vigil run \[options\] -- <command>/],
  ];
  for (const [args, usage] of own) {
    const r = await vigil(args);
    assert.equal(r.code, 0, args.join(' '));
    assert.match(r.stdout, usage, args.join(' '));
    assert.notEqual(r.stdout, top.stdout, `${args.join(' ')} is not the generic help`);
  }
  // vigil run --help names every signal it forwards, from the list the wrapper itself uses.
  const run = await vigil(['run', '--help']);
  for (const signal of FORWARDED_SIGNALS) assert.match(run.stdout, new RegExp(`\\b${signal}\\b`), signal);
  assert.match(run.stdout, /forwarded to the command/);
  // An unknown command is an error, whatever follows it.
  const unknown = await vigil(['nope', '--help']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "nope"/);
});

test('bad configuration exits 2 with a message naming the setting', async () => {
  const port = await vigil(['server', '--port', '70000', '--data-dir', dir.path]);
  assert.equal(port.code, 2);
  assert.match(port.stderr, /--port \/ VIGIL_PORT: "70000" must be an integer from 0 to 65535/);
  const env = await vigil(['server', '--data-dir', dir.path], { VIGIL_SQLITE_SYNCHRONOUS: 'sometimes' });
  assert.equal(env.code, 2);
  assert.match(env.stderr, /VIGIL_SQLITE_SYNCHRONOUS/);
  const unknown = await vigil(['server', '--prot', '1']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown option "--prot"/);
  // Every problem at once: a bad flag, a bad variable and an unknown option in one message.
  const all = await vigil(['server', '--port', 'x', '--prot', '1', '--retention-events-days', '-1'], { VIGIL_LOG_LEVEL: 'loud' });
  assert.equal(all.code, 2);
  assert.match(all.stderr, /^vigil: 4 problems:\n/);
  for (const what of [
    /unknown option "--prot"/,
    /--port \/ VIGIL_PORT: "x"/,
    /VIGIL_RETENTION_EVENTS_DAYS: "-1"/,
    /VIGIL_LOG_LEVEL: "loud" must be one of/,
  ]) {
    assert.match(all.stderr, what);
  }
  const cmd = await vigil(['serve']);
  assert.equal(cmd.code, 2);
  assert.match(cmd.stderr, /unknown command "serve"/);
});

test('vigil migrate creates the schema once', async () => {
  const first = await vigil(['migrate', '--data-dir', dir.path]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /applied migrations 1/);
  const second = await vigil(['migrate', '--data-dir', dir.path]);
  assert.match(second.stdout, /up to date/);
});

test('vigil keys create, list and revoke; the secret is printed once and listed never', async () => {
  const created = await vigil(['keys', 'create', '--agent', 'agent-7', '--name', 'laptop', '--data-dir', dir.path]);
  assert.equal(created.code, 0, created.stderr);
  const key = /^(vgl_[A-Za-z0-9_-]{43})$/m.exec(created.stdout)?.[1];
  assert.ok(key, 'the key is printed on its own line');
  const keyId = /key (key_[0-9a-f]+)/.exec(created.stdout)?.[1];
  assert.ok(keyId);

  const listed = await vigil(['keys', 'list', '--data-dir', dir.path]);
  assert.match(listed.stdout, new RegExp(`${keyId} .*agent=agent-7 +active +laptop`));
  assert.ok(!listed.stdout.includes(key), 'list never shows the secret');

  const revoked = await vigil(['keys', 'revoke', keyId, '--data-dir', dir.path]);
  assert.equal(revoked.code, 0);
  assert.match((await vigil(['keys', 'list', '--data-dir', dir.path])).stdout, new RegExp(`${keyId} .* revoked `));
  assert.equal((await vigil(['keys', 'revoke', 'key_nope', '--data-dir', dir.path])).code, 1);

  const both = await vigil(['keys', 'create', '--agent', 'a', '--pool', 'p', '--data-dir', dir.path]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /exactly one of --agent ID or --pool NAME/);
});
