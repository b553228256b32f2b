/**
 * `npm run bench:live`: what open live-feed sockets cost the rest of the hub.
 *
 * The hub runs in a child process on a fresh SQLite file. Single heartbeats are driven at it with
 * autocannon from this process (each one a `metrics_update` on the live feed) while a second child
 * measures `/healthz` one request at a time; both are measured first with no live socket open and
 * then with BENCH_SOCKETS sockets open, from a third child, so the hub's event loop is the only one
 * that the sockets load. The sockets' child counts frames and bytes; every 50th socket also parses
 * its frames, counting messages and their delivery lag.
 *
 * Environment: BENCH_SECONDS (measured seconds per phase, default 10), BENCH_WARMUP_SECONDS (2),
 * BENCH_SOCKETS (2000), BENCH_CONNECTIONS (autocannon connections, 20), BENCH_RATE (ingest requests per
 * second in all; default 0, as fast as the connections go), BENCH_SOCKETS_NICE (a nice value for the
 * sockets' child, so that on a small machine it takes CPU from the hub only when the hub leaves
 * some; default 0), BENCH_AGENTS (100),
 * BENCH_HEALTHZ_EVERY_MS (pause between /healthz probes, 20), BENCH_HUB_FLAGS (extra `vigil server`
 * flags for the hub, space-separated), BENCH_CPU_PROF (a directory: the hub's child writes a `--cpu-prof`
 * profile there).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import WebSocket from 'ws';
import { loadConfig } from '../src/config/config.js';
import type { LiveStats } from '../src/live/fanout.js';
import { createLogger, startHub } from '../src/main.js';
import { envInt, percentile } from './env.js';

const SECONDS = envInt('BENCH_SECONDS', 10);
const WARMUP_SECONDS = envInt('BENCH_WARMUP_SECONDS', 2, 0);
const SOCKETS = envInt('BENCH_SOCKETS', 2000);
const CONNECTIONS = envInt('BENCH_CONNECTIONS', 20);
const AGENTS = envInt('BENCH_AGENTS', 100);
const RATE = envInt('BENCH_RATE', 0, 0);
const SOCKETS_NICE = envInt('BENCH_SOCKETS_NICE', 0, 0);
const HEALTHZ_EVERY_MS = envInt('BENCH_HEALTHZ_EVERY_MS', 20, 0);
const CPU_PROF = process.env.BENCH_CPU_PROF;
const HUB_FLAGS = (process.env.BENCH_HUB_FLAGS ?? '').split(' ').filter(Boolean);

const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
const SCRIPT = fileURLToPath(import.meta.url);

// autocannon ships no types; this is the part of its API the benchmark uses.
interface CannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (req: CannonRequest) => CannonRequest;
}
interface CannonResult {
  duration: number;
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  latency: { p50: number; p99: number };
}
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: {
  url: string;
  connections: number;
  duration: number;
  timeout?: number;
  overallRate?: number;
  requests: CannonRequest[];
}) => Promise<CannonResult>;

// ---------------------------------------------------------------------------------------------
// Children, driven over IPC.

type Role = { role: 'hub'; dir: string } | { role: 'probe'; url: string } | { role: 'sockets'; url: string; count: number };
type ToChild = { type: 'mark' } | { type: 'sample' } | { type: 'stop' };
interface ProbeSample {
  count: number;
  p50: number;
  p99: number;
  max: number;
}
interface SocketsSample {
  /** Messages received and their delivery lag (receive time here minus the hub's received_at), on every 50th socket. */
  lagP50: number;
  lagP99: number;
  open: number;
  frames: number;
  messages: number;
  bytes: number;
  closes: Record<string, number>;
}
type FromChild =
  | { type: 'ready'; url?: string; open?: number }
  | { type: 'ok' }
  | { type: 'stopped' }
  | { type: 'error'; message: string }
  | { type: 'sample'; rss: number; cpu: number; probe?: ProbeSample; sockets?: SocketsSample; live?: LiveStats | undefined };

async function childMain(role: Role): Promise<void> {
  const send = (msg: FromChild, then?: () => void) => process.send?.(msg, undefined, {}, then);
  let handlers: { mark(): void; sample(): Promise<Omit<Extract<FromChild, { type: 'sample' }>, 'rss' | 'cpu'>>; stop(): Promise<void> };
  // CPU time over wall time since the last mark, 1.0 being one core busy.
  let cpuMark = { usage: process.cpuUsage(), at: performance.now() };
  const cpu = () => {
    const u = process.cpuUsage(cpuMark.usage);
    return (u.user + u.system) / 1000 / (performance.now() - cpuMark.at);
  };
  if (role.role === 'hub') {
    const config = loadConfig(
      [
        ...['--port', '0', '--data-dir', role.dir, '--admin-token', ADMIN_TOKEN, '--sqlite-synchronous', 'normal'],
        ...['--host-metrics-interval', '0', '--log-level', 'silent', ...HUB_FLAGS],
      ],
      {},
    );
    const hub = await startHub(config, { logger: createLogger('silent') });
    handlers = {
      mark: () => undefined,
      // Absent on a hub from before the fan-out (the baseline runs this same script).
      sample: async () => ({ type: 'sample', live: (hub as Partial<typeof hub>).live?.stats() }),
      stop: () => hub.stop(),
    };
    send({ type: 'ready', url: hub.url });
  } else if (role.role === 'probe') {
    // One request at a time with a short pause: the latency a load balancer's health check would see.
    let latencies: number[] = [];
    let stopped = false;
    const loop = async () => {
      while (!stopped) {
        const t = performance.now();
        const res = await request(`${role.url}/healthz`);
        await res.body.text();
        latencies.push(performance.now() - t);
        if (HEALTHZ_EVERY_MS > 0) await new Promise((r) => setTimeout(r, HEALTHZ_EVERY_MS));
      }
    };
    const running = loop();
    handlers = {
      mark: () => (latencies = []),
      sample: async () => ({
        type: 'sample',
        probe: {
          count: latencies.length,
          p50: percentile(latencies, 0.5),
          p99: percentile(latencies, 0.99),
          max: Math.max(0, ...latencies),
        },
      }),
      stop: async () => {
        stopped = true;
        await running;
      },
    };
    send({ type: 'ready' });
  } else {
    const wsUrl = role.url.replace(/^http/, 'ws') + '/api/v1/live';
    const sockets = new Set<WebSocket>();
    const counts = { frames: 0, messages: 0, bytes: 0 };
    const closes: Record<string, number> = {};
    let lags: number[] = [];
    let opening = 0;
    const openOne = () =>
      new Promise<void>((resolve, reject) => {
        const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
        const timed = opening++ % 50 === 0;
        ws.on('message', (data: Buffer) => {
          counts.frames++;
          counts.bytes += data.length;
          // Only every 50th socket parses what it gets, so that reading stays cheap for this process.
          if (!timed) return;
          const now = Date.now();
          const parsed = JSON.parse(String(data)) as { received_at?: number } | { received_at?: number }[];
          for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
            if (m.received_at === undefined) continue;
            counts.messages++;
            lags.push(now - m.received_at);
          }
        });
        ws.once('open', () => {
          sockets.add(ws);
          resolve();
        });
        ws.once('close', (code) => {
          sockets.delete(ws);
          closes[code] = (closes[code] ?? 0) + 1;
          resolve();
        });
        ws.on('error', reject);
      });
    for (let opened = 0; opened < role.count; opened += 100) {
      await Promise.all(Array.from({ length: Math.min(100, role.count - opened) }, openOne));
    }
    handlers = {
      mark: () => {
        counts.frames = counts.messages = counts.bytes = 0;
        lags = [];
      },
      sample: async () => ({
        type: 'sample',
        sockets: { open: sockets.size, ...counts, closes: { ...closes }, lagP50: percentile(lags, 0.5), lagP99: percentile(lags, 0.99) },
      }),
      stop: async () => {
        for (const ws of sockets) ws.terminate();
      },
    };
    send({ type: 'ready', open: sockets.size });
  }
  process.on('message', (msg: ToChild) => {
    void (async () => {
      if (msg.type === 'mark') {
        cpuMark = { usage: process.cpuUsage(), at: performance.now() };
        handlers.mark();
        send({ type: 'ok' });
      } else if (msg.type === 'sample') {
        send({ ...(await handlers.sample()), rss: process.memoryUsage().rss, cpu: cpu() });
      } else {
        await handlers.stop();
        send({ type: 'stopped' }, () => process.exit(0));
      }
    })().catch((err: Error) => send({ type: 'error', message: err.stack ?? err.message }, () => process.exit(1)));
  });
}

// ---------------------------------------------------------------------------------------------
// The parent.

const children = new Set<ChildProcess>();

function spawnChild(role: Role): ChildProcess {
  const execArgv = CPU_PROF && role.role === 'hub' ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : [];
  const proc = fork(SCRIPT, ['--child', JSON.stringify(role)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return proc;
}

function nextMessage<T extends FromChild['type']>(
  proc: ChildProcess,
  type: T,
  timeoutMs = 120_000,
): Promise<Extract<FromChild, { type: T }>> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      proc.off('message', onMessage);
      proc.off('exit', onExit);
    };
    const onMessage = (msg: FromChild) => {
      if (msg.type === type || msg.type === 'error') {
        cleanup();
        if (msg.type === 'error') reject(new Error(`child failed: ${msg.message}`));
        else resolve(msg as Extract<FromChild, { type: T }>);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`child exited (${code}) before answering ${type}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`child did not answer ${type} within ${timeoutMs} ms`));
    }, timeoutMs);
    proc.on('message', onMessage);
    proc.on('exit', onExit);
  });
}

function ask<T extends FromChild['type']>(proc: ChildProcess, msg: ToChild, type: T): Promise<Extract<FromChild, { type: T }>> {
  const answer = nextMessage(proc, type);
  proc.send(msg);
  return answer;
}

async function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  await ask(proc, { type: 'stop' }, 'stopped').catch(() => proc.kill('SIGKILL'));
  const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

const jsonHeaders = { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` };
const agentId = (i: number) => `bench-agent-${String(i % AGENTS).padStart(4, '0')}`;

function heartbeats(): CannonRequest[] {
  const prefix = randomUUID().slice(0, 23);
  let seq = 0;
  return [
    {
      method: 'POST',
      headers: jsonHeaders,
      setupRequest: (req) => {
        const n = seq++;
        req.path = `/api/v1/agents/${agentId(n)}/heartbeat`;
        req.body = JSON.stringify({
          status: 'online',
          event_id: `${prefix}-${n.toString(16).padStart(12, '0')}`,
          resources: { cpu_percent: (n % 1000) / 10, memory_percent: 41.3, memory_available_gb: 9.4, gpu_type: 'none' },
          metrics: { memory_mb: 312.4, message_count: n, cpu_percent: 7.1 },
        });
        return req;
      },
    },
  ];
}

interface Phase {
  sockets: number;
  requests: number;
  failed: number;
  ingestP50: number;
  ingestP99: number;
  healthz: ProbeSample;
  live: SocketsSample | undefined;
  rssMb: number;
  hubLive: LiveStats | undefined;
  /** CPU time over wall time of each process in the measured window (1.0 = one core). */
  cpu: { hub: number; autocannon: number; sockets: number; probe: number };
}

async function phase(hub: ChildProcess, probe: ChildProcess, url: string, sockets: ChildProcess | undefined, open: number): Promise<Phase> {
  const rate = RATE > 0 ? { overallRate: RATE } : {};
  if (WARMUP_SECONDS > 0)
    await autocannon({ url, connections: CONNECTIONS, duration: WARMUP_SECONDS, requests: heartbeats(), timeout: 30, ...rate });
  await Promise.all([
    ask(hub, { type: 'mark' }, 'ok'),
    ask(probe, { type: 'mark' }, 'ok'),
    sockets && ask(sockets, { type: 'mark' }, 'ok'),
  ]);
  const own = { usage: process.cpuUsage(), at: performance.now() };
  const r = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS, requests: heartbeats(), timeout: 30, ...rate });
  const ownUsage = process.cpuUsage(own.usage);
  const loadCpu = (ownUsage.user + ownUsage.system) / 1000 / (performance.now() - own.at);
  const [p, s, h] = await Promise.all([
    ask(probe, { type: 'sample' }, 'sample'),
    sockets ? ask(sockets, { type: 'sample' }, 'sample') : undefined,
    ask(hub, { type: 'sample' }, 'sample'),
  ]);
  return {
    sockets: open,
    requests: r['2xx'],
    failed: r.non2xx + r.errors + r.timeouts,
    ingestP50: r.latency.p50,
    ingestP99: r.latency.p99,
    healthz: p.probe as ProbeSample,
    live: s?.sockets,
    rssMb: h.rss / 1024 / 1024,
    hubLive: h.live,
    cpu: { hub: h.cpu, autocannon: loadCpu, sockets: s?.cpu ?? 0, probe: p.cpu },
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-live-'));
  const hub = spawnChild({ role: 'hub', dir });
  const started: ChildProcess[] = [hub];
  try {
    const { url } = (await nextMessage(hub, 'ready')) as { url: string };
    await Promise.all(
      Array.from({ length: AGENTS }, async (_, i) => {
        const res = await request(`${url}/api/v1/agents`, {
          method: 'POST',
          headers: jsonHeaders,
          body: JSON.stringify({ agent_id: agentId(i), name: `bench agent ${i}`, agent_type: 'code' }),
        });
        if (res.statusCode !== 201) throw new Error(`registering answered ${res.statusCode}: ${await res.body.text()}`);
        await res.body.text();
      }),
    );
    const probe = spawnChild({ role: 'probe', url });
    started.push(probe);
    await nextMessage(probe, 'ready');

    const none = await phase(hub, probe, url, undefined, 0);
    const t = performance.now();
    const sockets = spawnChild({ role: 'sockets', url, count: SOCKETS });
    started.push(sockets);
    if (SOCKETS_NICE > 0) setPriority(sockets.pid as number, Math.min(19, SOCKETS_NICE));
    const { open } = await nextMessage(sockets, 'ready', 300_000);
    console.log(`# opened ${open ?? 0} of ${SOCKETS} live sockets in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const many = await phase(hub, probe, url, sockets, open ?? 0);

    const rows = [none, many].map((r) => [
      String(r.sockets),
      `${r.requests} (${Math.round(r.requests / SECONDS)}/s)${r.failed ? `, ${r.failed} failed` : ''}`,
      `${r.ingestP50} / ${r.ingestP99} ms`,
      `${r.healthz.p50.toFixed(1)} / ${r.healthz.p99.toFixed(1)} ms (n=${r.healthz.count}, max ${r.healthz.max.toFixed(0)})`,
      r.live
        ? `${r.live.open} open; ${r.live.frames} frames, ${Math.round(r.live.messages / Math.ceil(r.sockets / 50))} msgs per socket, ${(r.live.bytes / 1024 / 1024).toFixed(1)} MiB; lag p50 / p99 ${r.live.lagP50} / ${r.live.lagP99} ms; closes ${JSON.stringify(r.live.closes)}`
        : '',
      `${r.rssMb.toFixed(0)} MiB` +
        (r.hubLive && r.sockets > 0
          ? `; unsent ${(r.hubLive.totalBuffered / 1024 / 1024).toFixed(1)} MiB (max ${(r.hubLive.maxBuffered / 1024).toFixed(0)} KiB a socket), ${r.hubLive.dropped} dropped`
          : ''),
      `hub ${r.cpu.hub.toFixed(2)}, autocannon ${r.cpu.autocannon.toFixed(2)}, sockets ${r.cpu.sockets.toFixed(2)}, probe ${r.cpu.probe.toFixed(2)}`,
    ]);
    console.log(
      `\n${SECONDS} s windows, ${CONNECTIONS} ingest connections${RATE ? ` at ${RATE} req/s` : ''}${SOCKETS_NICE ? `, sockets' child at nice ${SOCKETS_NICE}` : ''}, flags: ${HUB_FLAGS.join(' ') || '(none)'}\n`,
    );
    console.log(
      '| live sockets | ingest requests | ingest p50 / p99 | /healthz p50 / p99 | live feed (sockets child) | hub RSS | CPU (cores) |',
    );
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    for (const row of rows) console.log(`| ${row.join(' | ')} |`);
    const ratio = many.ingestP99 / Math.max(1, none.ingestP99);
    console.log(`\ningest p99 with ${SOCKETS} sockets / with none: ${ratio.toFixed(2)}x (target <= 2x)`);
  } finally {
    for (const proc of started.reverse()) await stopChild(proc);
    rmSync(dir, { recursive: true, force: true });
  }
}

const childArg = process.argv.indexOf('--child');
if (childArg !== -1) {
  void childMain(JSON.parse(process.argv[childArg + 1] as string) as Role).catch((err: Error) => {
    process.send?.({ type: 'error', message: err.stack ?? err.message }, undefined, {}, () => process.exit(1));
  });
} else {
  process.on('SIGINT', () => {
    for (const c of children) c.kill('SIGKILL');
    process.exit(130);
  });
  main().catch((err) => {
    console.error(err);
    for (const c of children) c.kill('SIGKILL');
    process.exit(1);
  });
}
