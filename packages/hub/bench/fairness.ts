/**
 * `npm run bench:fairness`: what one agent sending far more than its rate limit costs the others
 * (docs/reliability.md B3).
 *
 * The hub runs in a child process on a fresh SQLite file (synchronous FULL). A second child plays
 * BENCH_QUIET agents, each with its own key, sending a heartbeat every BENCH_QUIET_EVERY_MS and
 * timing each answer; a third floods one agent's heartbeats with autocannon (BENCH_CONNECTIONS
 * connections, as fast as answers come) under that agent's own key. Three phases, each on a fresh
 * hub: the quiet agents alone (baseline), then with the flood under the default per-key limits, then
 * with the flood and the limits off (`--key-rate-limit 0 --key-byte-limit 0`).
 *
 * Environment: BENCH_SECONDS (measured seconds per phase, default 10), BENCH_QUIET (10),
 * BENCH_QUIET_EVERY_MS (100), BENCH_CONNECTIONS (50), BENCH_HUB_FLAGS (extra `vigil server` flags).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { loadConfig } from '../src/config/config.js';
import { createLogger, startHub } from '../src/main.js';
import { envInt, percentile } from './env.js';

const SECONDS = envInt('BENCH_SECONDS', 10);
const QUIET = envInt('BENCH_QUIET', 10);
const QUIET_EVERY_MS = envInt('BENCH_QUIET_EVERY_MS', 100);
const CONNECTIONS = envInt('BENCH_CONNECTIONS', 50);
const HUB_FLAGS = (process.env.BENCH_HUB_FLAGS ?? '').split(' ').filter(Boolean);
const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
const SCRIPT = fileURLToPath(import.meta.url);
const HEARTBEAT = JSON.stringify({ status: 'online', resources: { cpu_percent: 12.5, memory_percent: 40 }, metrics: { memory_mb: 300 } });

interface CannonResult {
  '2xx': number;
  non2xx: number;
  errors: number;
  statusCodeStats: Record<string, { count: number }>;
}
// autocannon ships no types; this is the part of its API the benchmark uses.
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: {
  url: string;
  connections: number;
  duration: number;
  requests: { method: string; path: string; headers: Record<string, string>; body: string }[];
}) => Promise<CannonResult>;

type Role =
  | { role: 'hub'; dir: string; flags: string[] }
  | { role: 'quiet'; url: string; keys: string[] }
  | { role: 'noisy'; url: string; key: string };

interface QuietResult {
  sent: number;
  refused: number;
  p50: number;
  p99: number;
}
interface NoisyResult {
  ok: number;
  limited: number;
  other: number;
}

async function childMain(role: Role): Promise<void> {
  const send = (msg: unknown) => process.send?.(msg);
  if (role.role === 'hub') {
    const config = loadConfig(
      [
        ...['--port', '0', '--data-dir', role.dir, '--admin-token', ADMIN_TOKEN, '--host-metrics-interval', '0'],
        ...['--log-level', 'silent', ...role.flags, ...HUB_FLAGS],
      ],
      {},
    );
    const hub = await startHub(config, { logger: createLogger('silent') });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    process.on('message', (m: { type: string }) => {
      if (m.type !== 'stop') return;
      const u = process.cpuUsage(cpu0);
      const cpu = (u.user + u.system) / 1000 / (performance.now() - t0);
      void hub.stop().then(() => process.send?.({ type: 'stopped', cpu }, undefined, {}, () => process.exit(0)));
    });
    send({ type: 'ready', url: hub.url });
  } else if (role.role === 'quiet') {
    // Each quiet agent on its own timer, spread over the interval, one request at a time.
    const latencies: number[] = [];
    let refused = 0;
    const end = performance.now() + SECONDS * 1000;
    await Promise.all(
      role.keys.map(async (key, i) => {
        await new Promise((r) => setTimeout(r, (QUIET_EVERY_MS * i) / role.keys.length));
        while (performance.now() < end) {
          const t = performance.now();
          const res = await request(`${role.url}/api/v1/agents/quiet-${i}/heartbeat`, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: HEARTBEAT,
          });
          await res.body.text();
          latencies.push(performance.now() - t);
          if (res.statusCode !== 200) refused++;
          await new Promise((r) => setTimeout(r, Math.max(0, QUIET_EVERY_MS - (performance.now() - t))));
        }
      }),
    );
    const result: QuietResult = { sent: latencies.length, refused, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
    process.send?.({ type: 'done', result }, undefined, {}, () => process.exit(0));
  } else {
    const r = await autocannon({
      url: role.url,
      connections: CONNECTIONS,
      duration: SECONDS,
      requests: [
        {
          method: 'POST',
          path: '/api/v1/agents/noisy/heartbeat',
          headers: { authorization: `Bearer ${role.key}`, 'content-type': 'application/json' },
          body: HEARTBEAT,
        },
      ],
    });
    const limited = r.statusCodeStats['429']?.count ?? 0;
    const result: NoisyResult = { ok: r['2xx'], limited, other: r.non2xx - limited + r.errors };
    process.send?.({ type: 'done', result }, undefined, {}, () => process.exit(0));
  }
}

function spawn(role: Role): ChildProcess {
  return fork(SCRIPT, [JSON.stringify(role)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function next<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type: string }) => {
      if (m.type !== type) return;
      child.off('message', onMessage);
      resolve(m as T);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`a child exited (code ${code}) before it sent ${type}`)));
  });
}

async function admin(url: string, method: string, path: string, body: unknown): Promise<{ key?: string }> {
  const res = await request(`${url}${path}`, {
    method: method as 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const parsed = (await res.body.json()) as { key?: string };
  if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${JSON.stringify(parsed)}`);
  return parsed;
}

async function phase(name: string, flags: string[], flood: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-fairness-'));
  const hub = spawn({ role: 'hub', dir, flags });
  try {
    const { url } = await next<{ url: string }>(hub, 'ready');
    const keys: string[] = [];
    for (let i = 0; i < QUIET; i++) {
      await admin(url, 'POST', '/api/v1/agents', { agent_id: `quiet-${i}`, name: `quiet ${i}`, agent_type: 'bench' });
      keys.push((await admin(url, 'POST', '/api/v1/keys', { agent_id: `quiet-${i}` })).key ?? '');
    }
    await admin(url, 'POST', '/api/v1/agents', { agent_id: 'noisy', name: 'noisy', agent_type: 'bench' });
    const noisyKey = (await admin(url, 'POST', '/api/v1/keys', { agent_id: 'noisy' })).key ?? '';
    const quiet = spawn({ role: 'quiet', url, keys });
    const noisy = flood ? spawn({ role: 'noisy', url, key: noisyKey }) : undefined;
    const [q, n] = await Promise.all([
      next<{ result: QuietResult }>(quiet, 'done'),
      noisy ? next<{ result: NoisyResult }>(noisy, 'done') : Promise.resolve(undefined),
    ]);
    hub.send({ type: 'stop' });
    const { cpu } = await next<{ cpu: number }>(hub, 'stopped');
    return { name, quiet: q.result, noisy: n?.result, cpu };
  } finally {
    hub.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const arg = process.argv[2];
  if (arg !== undefined) return childMain(JSON.parse(arg) as Role);
  console.log(`# Vigil fairness benchmark — ${new Date().toISOString()}`);
  console.log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`);
  console.log(
    `${SECONDS} s per phase; ${QUIET} quiet agents, a heartbeat each every ${QUIET_EVERY_MS} ms; ` +
      `one noisy agent flooding over ${CONNECTIONS} connections\n`,
  );
  const runs = [
    await phase('quiet agents alone (baseline)', [], false),
    await phase('with the flood, default limits (100 req/s per key)', [], true),
    await phase('with the flood, limits off', ['--key-rate-limit', '0', '--key-byte-limit', '0'], true),
  ];
  const base = runs[0]?.quiet.p99 ?? 1;
  console.log(
    '| Phase | quiet: sent | quiet: refused | quiet p50 (ms) | quiet p99 (ms) | p99 vs baseline | noisy: stored/s | noisy: 429/s | hub CPU |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of runs) {
    const perS = (n: number | undefined) => (n === undefined ? '—' : Math.round(n / SECONDS).toLocaleString('en-US'));
    console.log(
      `| ${r.name} | ${r.quiet.sent} | ${r.quiet.refused} | ${r.quiet.p50.toFixed(1)} | ${r.quiet.p99.toFixed(1)} | ` +
        `${(r.quiet.p99 / base).toFixed(2)}× | ${perS(r.noisy?.ok)} | ${perS(r.noisy?.limited)} | ${Math.round(r.cpu * 100)} % |`,
    );
  }
  const other = runs.reduce((n, r) => n + (r.noisy?.other ?? 0), 0);
  if (other > 0) console.log(`\n${other} flood requests ended otherwise (neither stored nor 429).`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
