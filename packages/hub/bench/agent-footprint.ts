import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/config/config.js';
import { createLogger, startHub } from '../src/main.js';
import { ADMIN_TOKEN } from '../test/support/hub.js';
import { diskBytes, installTarballs, pack, REPO_ROOT } from '../test/support/packages.js';
import { tempDir } from '../test/support/stores.js';

/**
 * What the agent costs an agent machine (issue 13): the disk of `npm install @vigil/agent` (its
 * tarball and @vigil/protocol's, packed from this tree, dependencies from the registry), and the
 * idle resident memory of the wrapper process of `vigil-agent run -- sleep 60` against bare Node,
 * `vigil run` of the hub's CLI, and the agent with the protocol's TypeBox schemas loaded (what the
 * agent loaded before it imported only constants and types). Set VIGIL_BASELINE_ROOT to another
 * checkout with a build (e.g. main before this change) to measure its `vigil run` in the same run.
 * Run with `npm run bench:agent`.
 */

const ROUNDS = 5;
/** Registered, started, and a few heartbeats sent: the wrapper's steady state. */
const SETTLE_MS = 6_000;

const work = tempDir('vigil-bench-agent-');
const MiB = 2 ** 20;

async function installSize(): Promise<number> {
  const dest = join(work.path, 'tarballs');
  mkdirSync(dest);
  const protocol = await pack('protocol', dest);
  const agent = await pack('agent', dest);
  const dir = join(work.path, 'agent-install');
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'agent-install', version: '1.0.0', private: true }));
  await installTarballs(dir, [protocol.tarball, agent.tarball], 600_000);
  return diskBytes(join(dir, 'node_modules'));
}

/** VmRSS of a process, in bytes. */
function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

/** Starts `argv` under this Node, waits for it to settle, reads its RSS, and stops it. */
async function idleRss(argv: string[]): Promise<number> {
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH } });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  if (child.exitCode !== null) throw new Error(`${argv.join(' ')} exited early:\n${stderr}`);
  const bytes = rss(child.pid as number);
  child.kill('SIGTERM');
  await exited;
  return bytes;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const bytes = await installSize();
  process.stdout.write(`npm install of @vigil/agent + @vigil/protocol: node_modules ${(bytes / MiB).toFixed(1)} MiB\n`);

  const dir = join(work.path, 'hub');
  mkdirSync(dir);
  const config = loadConfig(['--port', '0', '--data-dir', dir, '--admin-token', ADMIN_TOKEN, '--otlp-grpc-port', '0'], {});
  const hub = await startHub(config, { logger: createLogger('silent') });
  const run = (id: string) => ['run', '--url', hub.url, '--key', ADMIN_TOKEN, '--agent-id', id, '--interval', '1', '--', 'sleep', '60'];
  const agentBin = join(REPO_ROOT, 'packages/agent/bin/vigil-agent.js');
  const protocolIndex = join(REPO_ROOT, 'packages/protocol/dist/src/index.js');
  const variants: [string, string[]][] = [
    ['bare Node (`node -e setInterval`)', ['-e', 'setInterval(() => {}, 1000)']],
    ['`vigil-agent run -- sleep 60`', [agentBin, ...run('bench-agent')]],
    ['`vigil run -- sleep 60` (the hub’s CLI)', [join(REPO_ROOT, 'packages/hub/bin/vigil.js'), ...run('bench-hub-run')]],
    ['`vigil-agent run` with the TypeBox schemas loaded', ['--import', protocolIndex, agentBin, ...run('bench-typebox')]],
  ];
  const baseline = process.env.VIGIL_BASELINE_ROOT;
  if (baseline) variants.push([`\`vigil run\` of ${baseline}`, [join(baseline, 'packages/hub/bin/vigil.js'), ...run('bench-baseline')]]);

  const samples = variants.map(() => [] as number[]);
  // Rounds interleave the variants so the machine's load falls on each alike.
  for (let round = 0; round < ROUNDS; round++)
    for (const [i, [, argv]] of variants.entries()) (samples[i] as number[]).push(await idleRss(argv));
  await hub.stop();

  const base = median(samples[0] as number[]);
  process.stdout.write(`\nIdle RSS of the wrapper process, median of ${ROUNDS} (Node ${process.version}):\n\n`);
  process.stdout.write('| Process | RSS (MiB) | over bare Node (MiB) |\n| --- | ---: | ---: |\n');
  for (const [i, [name]] of variants.entries()) {
    const m = median(samples[i] as number[]);
    process.stdout.write(`| ${name} | ${(m / MiB).toFixed(1)} | ${((m - base) / MiB).toFixed(1)} |\n`);
  }
  work.remove();
}

await main();
