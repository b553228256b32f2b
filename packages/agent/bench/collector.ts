/**
 * `npm run bench:collector`: the CPU cost of one full sample (host + cgroup + one process + disk +
 * process I/O, no GPU) by Vigil's Collector, beside systeminformation and pidusage gathering the
 * same figures, all in this one run; then the resident memory of an idle `vigil run -- sleep 60`,
 * and of a process that only samples with the Collector, beside a bare Node process.
 *
 * CPU time is this process's own (process.cpuUsage) plus that of the children it waited for
 * (cutime + cstime of /proc/self/stat), because systeminformation spawns `ps`, `df` and shells.
 *
 * Environment: BENCH_ROUNDS (default 3; the median round is reported), BENCH_VIGIL_SAMPLES
 * (default 5000), BENCH_SI_SAMPLES (default 40), BENCH_PIDUSAGE_SAMPLES (default 1000).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pidusage from 'pidusage';
import si from 'systeminformation';
import { Collector } from '../src/collector/index.js';

const envInt = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
};

const ROUNDS = envInt('BENCH_ROUNDS', 3);
const VIGIL_SAMPLES = envInt('BENCH_VIGIL_SAMPLES', 5000);
const SI_SAMPLES = envInt('BENCH_SI_SAMPLES', 40);
const PIDUSAGE_SAMPLES = envInt('BENCH_PIDUSAGE_SAMPLES', 1000);
const USER_HZ = 100;

interface Cost {
  cpuUs: number;
  wallUs: number;
}

/** CPU µs used so far by this process and the children it has reaped. */
function cpuNowUs(): number {
  const { user, system } = process.cpuUsage();
  const stat = readFileSync('/proc/self/stat', 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const children = Number(f[13]) + Number(f[14]);
  return user + system + (children * 1e6) / USER_HZ;
}

async function measure(samples: number, once: () => Promise<unknown>): Promise<Cost> {
  for (let i = 0; i < Math.min(10, samples); i++) await once();
  const cpu0 = cpuNowUs();
  const wall0 = performance.now();
  for (let i = 0; i < samples; i++) await once();
  return { cpuUs: (cpuNowUs() - cpu0) / samples, wallUs: ((performance.now() - wall0) * 1000) / samples };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

function vmRssKb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts `args`, waits `ms`, and reads its RSS; undefined (with why) when it did not stay up. */
async function idleRss(args: string[], ms: number): Promise<{ kb: number } | { why: string }> {
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  let exited = false;
  child.once('exit', () => (exited = true));
  await sleep(ms);
  const kb = child.pid === undefined || exited ? undefined : vmRssKb(child.pid);
  child.kill('SIGTERM');
  if (!exited) await new Promise((resolve) => child.once('exit', resolve));
  return kb === undefined ? { why: `exited early: ${stderr.trim().split('\n')[0] ?? ''}` } : { kb };
}

async function main(): Promise<void> {
  const watched = spawn('sleep', ['3600'], { stdio: 'ignore' });
  const pid = watched.pid;
  if (pid === undefined) throw new Error('could not start the watched process');
  const runs: Record<string, Cost[]> = { vigil: [], vigilTree: [], siFull: [], siHostPidusage: [], pidusage: [] };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const vigil = new Collector({ pid, diskPaths: ['/'], gpu: false });
      runs.vigil?.push(await measure(VIGIL_SAMPLES, () => vigil.sample()));
      vigil.close();
      const tree = new Collector({ pid: process.pid, tree: true, diskPaths: ['/'], gpu: false });
      runs.vigilTree?.push(await measure(VIGIL_SAMPLES, () => tree.sample()));
      tree.close();
      runs.siFull?.push(
        await measure(SI_SAMPLES, async () => {
          await si.currentLoad();
          await si.mem();
          await si.fsSize();
          await si.processLoad('sleep');
          await si.disksIO();
        }),
      );
      runs.siHostPidusage?.push(
        await measure(SI_SAMPLES, async () => {
          await si.currentLoad();
          await si.mem();
          await si.fsSize();
          await pidusage(pid);
        }),
      );
      runs.pidusage?.push(await measure(PIDUSAGE_SAMPLES, () => pidusage(pid)));
    }
  } finally {
    watched.kill('SIGKILL');
    pidusage.clear();
  }

  const cost = (name: string): Cost => ({
    cpuUs: median((runs[name] ?? []).map((c) => c.cpuUs)),
    wallUs: median((runs[name] ?? []).map((c) => c.wallUs)),
  });
  const base = cost('vigil');
  const rows: [string, string, number][] = [
    ['vigil', 'Vigil Collector.sample(): host + cgroup + 1 process + disk + I/O', VIGIL_SAMPLES],
    ['vigilTree', 'Vigil, the same with tree: true (scans /proc for descendants)', VIGIL_SAMPLES],
    ['siFull', 'systeminformation currentLoad + mem + fsSize + processLoad + disksIO', SI_SAMPLES],
    ['siHostPidusage', 'systeminformation currentLoad + mem + fsSize, + pidusage(pid)', SI_SAMPLES],
    ['pidusage', 'pidusage(pid) alone (process CPU + RSS only)', PIDUSAGE_SAMPLES],
  ];
  console.log(`# Collector benchmark, ${new Date().toISOString()}`);
  console.log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 1024 ** 3)} GiB RAM`);
  console.log(`${ROUNDS} rounds, median round reported; CPU includes reaped children\n`);
  console.log('| Sampler | Samples/round | CPU per sample | Wall per sample | CPU vs Vigil |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const [key, label, n] of rows) {
    const c = cost(key);
    const ratio = key === 'vigil' ? '1×' : `${(c.cpuUs / base.cpuUs).toFixed(c.cpuUs / base.cpuUs < 10 ? 1 : 0)}×`;
    console.log(`| ${label} | ${n} | ${(c.cpuUs / 1000).toFixed(3)} ms | ${(c.wallUs / 1000).toFixed(3)} ms | ${ratio} |`);
  }
  const siRatio = cost('siFull').cpuUs / base.cpuUs;
  console.log(`\nTarget: Vigil ≥ 50× cheaper than systeminformation: ${siRatio.toFixed(0)}× (${siRatio >= 50 ? 'met' : 'MISSED'})\n`);

  const cli = fileURLToPath(new URL('../../../hub/bin/vigil.js', import.meta.url));
  const collectorModule = new URL('../src/collector/index.js', import.meta.url).href;
  const bare = await idleRss(['-e', 'setInterval(() => {}, 1000)'], 5000);
  const sampling = await idleRss(
    [
      '--input-type=module',
      '-e',
      `const { Collector } = await import(${JSON.stringify(collectorModule)});
       const c = new Collector({ pid: process.pid, tree: true, diskPaths: ['/'] });
       setInterval(() => void c.sample(), 1000);`,
    ],
    5000,
  );
  // Port 9 (discard) is closed: the wrapper runs its child and keeps its reports buffered, retrying.
  const run = existsSync(cli)
    ? await idleRss([cli, 'run', '--url', 'http://127.0.0.1:9', '--key', 'bench', '--flush-timeout', '1', '--', 'sleep', '60'], 5000)
    : { why: `${cli} does not exist` };
  const show = (r: { kb: number } | { why: string }): string => ('kb' in r ? `${(r.kb / 1024).toFixed(1)} MiB` : `not measured (${r.why})`);
  console.log('| Idle process, after 5 s | RSS |');
  console.log('| --- | --- |');
  console.log(`| bare \`node -e "setInterval(() => {}, 1000)"\` | ${show(bare)} |`);
  console.log(`| node importing only the collector, sampling its tree every 1 s | ${show(sampling)} |`);
  console.log(`| \`vigil run -- sleep 60\` (the wrapper alone, hub unreachable) | ${show(run)} |`);
}

await main();
