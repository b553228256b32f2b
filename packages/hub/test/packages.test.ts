import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { ADMIN_TOKEN } from './support/hub.js';
import { spawnHub, type HubProcess } from './support/hub-process.js';
import { diskBytes, findFiles, installTarballs, pack, PUBLISHED, REPO_ROOT, type Published } from './support/packages.js';
import { tempDir } from './support/stores.js';

/**
 * The shortest path a new user takes (issue 13): `npm pack` each published package, install the
 * tarballs into empty directories with `npm install` (dependencies from the registry, better-sqlite3
 * compiled for the hub), start the hub from the installed @vigil/hub's `vigil`, and run the installed
 * `vigil-agent` against it. Slow (the hub's install compiles SQLite), so each package set is installed once.
 */

const INSTALL_MS = 20 * 60_000;
const work = tempDir();
after(() => work.remove());

const tarballs = {} as Record<Published, { tarball: string; files: string[] }>;
/** Where @vigil/agent and @vigil/protocol alone are installed: an agent machine. */
const agentDir = join(work.path, 'agent-machine');
/** Where all three are installed: the hub's machine. */
const hubDir = join(work.path, 'hub-machine');

before(async () => {
  const dest = join(work.path, 'tarballs');
  mkdirSync(dest);
  for (const name of PUBLISHED) tarballs[name] = await pack(name, dest);
});

/** An empty project, so npm installs here rather than into some directory above. */
function emptyProject(dir: string): void {
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'vigil-install-check', version: '1.0.0', private: true }));
}

test('each tarball ships its build, bin, README and the root LICENSE, and no tests or sources', () => {
  const license = readFileSync(join(REPO_ROOT, 'LICENSE'), 'utf8');
  assert.match(license, /^MIT License/);
  for (const name of PUBLISHED) {
    const { files } = tarballs[name];
    for (const f of ['package.json', 'README.md', 'LICENSE']) assert.ok(files.includes(f), `${name} lacks ${f}`);
    assert.equal(readFileSync(join(REPO_ROOT, 'packages', name, 'LICENSE'), 'utf8'), license, `${name}/LICENSE is the root's`);
    assert.ok(files.includes('dist/src/index.js') || name === 'hub', `${name} ships its entry`);
    const stray = files.filter((f) => /^(src|test|bench)\/|^dist\/(test|bench)\/|tsbuildinfo/.test(f));
    assert.deepEqual(stray, [], `${name} ships only what runs`);
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'packages', name, 'package.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(pkg.private, undefined, `${name} is publishable`);
    assert.ok(pkg.engines, `${name} states its Node versions`);
  }
  assert.ok(tarballs.agent.files.includes('bin/vigil-agent.js'));
  const hub = tarballs.hub.files;
  assert.ok(hub.includes('bin/vigil.js') && hub.includes('dist/src/cli.js') && hub.includes('dist/src/main.js'));
  assert.ok(hub.includes('dist/public/index.html'), 'the hub ships the built dashboard');
  assert.ok(
    hub.some((f) => f.startsWith('dist/public/assets/') && f.endsWith('.js')),
    'with its scripts',
  );
  assert.ok(
    hub.some((f) => /^dist\/src\/store\/migrations\/\d+.*\.js$/.test(f)),
    'and its migrations',
  );
});

test('@vigil/agent with @vigil/protocol installs alone: nothing compiled, no server dependency', { timeout: INSTALL_MS }, async (t) => {
  emptyProject(agentDir);
  await installTarballs(agentDir, [tarballs.protocol.tarball, tarballs.agent.tarball], INSTALL_MS);
  const modules = join(agentDir, 'node_modules');
  const installed = readdirSync(modules)
    .filter((n) => !n.startsWith('.'))
    .flatMap((n) => (n.startsWith('@') ? readdirSync(join(modules, n)).map((m) => `${n}/${m}`) : [n]));
  for (const server of ['better-sqlite3', 'fastify', 'pg', '@vigil/hub', 'node-gyp', 'prebuild-install'])
    assert.ok(!installed.includes(server), `${server} is not installed on an agent machine`);
  // Nothing to compile and nothing that would run at install: no native addon, no gyp file, no install script.
  assert.deepEqual(
    findFiles(modules, (f) => f.endsWith('.node') || f === 'binding.gyp'),
    [],
  );
  for (const p of findFiles(modules, (f) => f === 'package.json')) {
    const scripts = (JSON.parse(readFileSync(join(modules, p), 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {};
    for (const hook of ['preinstall', 'install', 'postinstall']) assert.equal(scripts[hook], undefined, `${p} has no ${hook} script`);
  }
  t.diagnostic(`agent install: ${installed.join(', ')}; node_modules ${(diskBytes(modules) / 2 ** 20).toFixed(1)} MiB`);
});

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs an installed bin (its symlink in node_modules/.bin, as npm made it) under this Node, without a shell. */
function runBin(bin: string, args: string[]): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function get(hub: HubProcess, path: string): Promise<any> {
  const res = await request(`${hub.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(res.statusCode, 200, path);
  return res.body.json();
}

test('a hub from the installed @vigil/hub, and the installed vigil-agent run reporting to it', { timeout: INSTALL_MS }, async () => {
  emptyProject(hubDir);
  await installTarballs(
    hubDir,
    PUBLISHED.map((name) => tarballs[name].tarball),
    INSTALL_MS,
  );
  const data = join(work.path, 'hub-data');
  mkdirSync(data);
  const hub = await spawnHub(data, ['--otlp-grpc-port', '0'], {}, join(hubDir, 'node_modules', '.bin', 'vigil'));
  try {
    // The dashboard comes from the package's own copy: there is no packages/web in an install.
    const page = await request(`${hub.url}/`);
    assert.equal(page.statusCode, 200);
    assert.match(await page.body.text(), /<div id="root">|<script/);

    // The agent machine's install, with TypeBox taken away: the agent must not load the schemas to run.
    rmSync(join(agentDir, 'node_modules', 'typebox'), { recursive: true, force: true });
    const agentBin = join(agentDir, 'node_modules', '.bin', 'vigil-agent');
    assert.ok(existsSync(agentBin), 'npm linked the vigil-agent bin');
    const opts = (id: string) => ['--url', hub.url, '--key', ADMIN_TOKEN, '--agent-id', id, '--interval', '1', '--flush-timeout', '10'];
    const crashed = await runBin(agentBin, [
      'run',
      ...opts('pkg-agent'),
      '--',
      process.execPath,
      '-e',
      'console.log("from the child"); process.exit(3)',
    ]);
    assert.equal(crashed.code, 3, crashed.stderr);
    assert.equal(crashed.stdout, 'from the child\n');

    // `vigil run` of the installed hub is the same command.
    const viaHub = await runBin(join(hubDir, 'node_modules', '.bin', 'vigil'), [
      'run',
      ...opts('pkg-hub-run'),
      '--',
      process.execPath,
      '-e',
      '',
    ]);
    assert.equal(viaHub.code, 0, viaHub.stderr);

    const agents = (await get(hub, '/api/v1/agents')) as { agents: { agent_id: string }[] };
    const ids = agents.agents.map((a) => a.agent_id);
    assert.ok(ids.includes('pkg-agent') && ids.includes('pkg-hub-run'), ids.join());
    const types = async (id: string) =>
      ((await get(hub, `/api/v1/events?agent_id=${id}&limit=100`)) as { events: { event_type: string }[] }).events
        .map((e) => e.event_type)
        .reverse();
    const agentEvents = await types('pkg-agent');
    assert.equal(agentEvents[0], 'registered');
    assert.ok(agentEvents.includes('started') && agentEvents.includes('crashed'), agentEvents.join());
    const hubRunEvents = await types('pkg-hub-run');
    assert.ok(hubRunEvents.includes('started') && hubRunEvents.includes('stopped'), hubRunEvents.join());
  } finally {
    hub.child.kill('SIGTERM');
    await hub.exited;
  }
});
