import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { parseRunArgs } from '@vigil/agent/run-args';
import { loadConfig, SETTINGS } from '../src/config/config.js';
import { REPO_ROOT } from './support/packages.js';
import { tempDir } from './support/stores.js';

/**
 * The systemd units and environment files in docs/deploy (docs/deployment.md): the units pass
 * `systemd-analyze verify` with no warning, and the environment files hold settings the hub and
 * `vigil-agent run` accept, with the paths the units give them.
 */

const DEPLOY = join(REPO_ROOT, 'docs', 'deploy');
const read = (name: string) => readFileSync(join(DEPLOY, name), 'utf8');

/** KEY=value lines of an environment file; with `commented`, also the `#KEY=value` examples. */
function envFile(name: string, commented = false): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of read(name).split('\n')) {
    const m = (commented ? /^#?([A-Z][A-Z0-9_]*)=(.*)$/ : /^([A-Z][A-Z0-9_]*)=(.*)$/).exec(line);
    if (m) env[m[1] as string] = m[2] as string;
  }
  return env;
}

function directive(unit: string, key: string): string[] {
  return [...read(unit).matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1] as string);
}

const systemdAnalyze = (() => {
  try {
    execFileSync('systemd-analyze', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

test(
  'the hub and agent units pass systemd-analyze verify without a warning',
  { skip: systemdAnalyze ? false : 'systemd-analyze is not installed (apt-get install systemd): the units are not verified' },
  async () => {
    const dir = tempDir('vigil-units-');
    try {
      // verify checks that ExecStart's program exists, so the install path points at this checkout's bins;
      // a template is verified as one of its instances.
      const units = [
        { from: 'vigil-hub.service', to: 'vigil-hub.service', bin: '/usr/local/bin/vigil ', repo: 'packages/hub/bin/vigil.js ' },
        {
          from: 'vigil-agent@.service',
          to: 'vigil-agent@worker.service',
          bin: '/usr/local/bin/vigil-agent ',
          repo: 'packages/agent/bin/vigil-agent.js ',
        },
      ];
      for (const u of units) {
        const text = read(u.from);
        assert.ok(text.includes(`ExecStart=${u.bin}`), `${u.from} starts ${u.bin}`);
        writeFileSync(join(dir.path, u.to), text.replace(`ExecStart=${u.bin}`, `ExecStart=${join(REPO_ROOT, u.repo)}`));
      }
      const { stdout, stderr } = await promisify(execFile)(
        'systemd-analyze',
        ['verify', '--man=no', ...units.map((u) => join(dir.path, u.to))],
        { timeout: 60_000 },
      );
      // Unknown keys and bad values are warnings, not failures, so the output must be empty too.
      assert.equal(`${stdout}${stderr}`.trim(), '');
    } finally {
      dir.remove();
    }
  },
);

test('hub.env holds settings the hub accepts, with the data directory the unit makes writable', () => {
  const known = new Set<string>(Object.values(SETTINGS).map((s) => s.env));
  for (const name of Object.keys(envFile('hub.env', true))) assert.ok(known.has(name), `${name} is a hub setting`);
  const env = envFile('hub.env');
  const config = loadConfig([], env);
  assert.equal(config.host, '0.0.0.0');
  assert.equal(config.dataDir, '/var/lib/vigil');
  assert.deepEqual(directive('vigil-hub.service', 'ReadWritePaths'), [config.dataDir]);
  assert.deepEqual(directive('vigil-hub.service', 'WorkingDirectory'), [config.dataDir]);
  assert.deepEqual(directive('vigil-hub.service', 'StateDirectory'), ['vigil']);
  assert.deepEqual(directive('vigil-hub.service', 'EnvironmentFile'), ['/etc/vigil/hub.env']);
});

test('agent.env holds what vigil-agent run and its unit read, and parses as a run', () => {
  const env = envFile('agent.env');
  assert.deepEqual(Object.keys(envFile('agent.env', true)).sort(), ['VIGIL_AGENT_COMMAND', 'VIGIL_KEY', 'VIGIL_URL']);
  const [exec] = directive('vigil-agent@.service', 'ExecStart');
  assert.match(exec ?? '', / -- \$VIGIL_AGENT_COMMAND$/, 'the command is split into words by systemd ($VAR, not ${VAR})');
  const command = (env.VIGIL_AGENT_COMMAND ?? '').split(' ');
  const run = parseRunArgs(['--name', 'worker', '--', ...command], env);
  assert.equal(run.url, env.VIGIL_URL);
  assert.equal(run.key, env.VIGIL_KEY);
  assert.equal(run.command, '/usr/bin/python3');
  assert.deepEqual(run.args, ['/opt/worker/worker.py', '--queue', 'jobs']);
});
