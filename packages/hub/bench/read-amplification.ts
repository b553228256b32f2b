import { readFileSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { request } from 'undici';
import { loadConfig } from '../src/config/config.js';
import { createLogger, startHub } from '../src/main.js';
import { tempDir } from '../test/support/stores.js';

/**
 * The read-amplification attack of issue 9 (finding 3), measured: the store holds EVENTS events
 * with META_BYTES of metadata each (written straight into the store, as a hub without byte limits
 * stored them from a write-only key), and the dashboard's Events page (`GET /api/v1/events?limit=500`)
 * is loaded once, then by CONCURRENCY clients at once. Reports the answer's size, the event-loop
 * stall of one load, and the hub process's peak RSS during the concurrent loads (VmHWM, reset
 * before them). Clients stream and count the bodies, so they hold little themselves.
 * Only the hub's HTTP API and `hub.db` are used, so the same file measures a build before the limits.
 * Run with `npm run bench:reads`.
 */

const EVENTS = Number(process.env.BENCH_EVENTS ?? 200);
const META_BYTES = Number(process.env.BENCH_META_BYTES ?? 1024 * 1024);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const TOKEN = 'bench-admin-token-0123456789abcdef';
const MiB = 1024 * 1024;

const rssKb = (field: 'VmRSS' | 'VmHWM'): number =>
  Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);

async function load(url: string): Promise<number> {
  const res = await request(`${url}/api/v1/events?limit=500`, { headers: { authorization: `Bearer ${TOKEN}` } });
  let bytes = 0;
  for await (const chunk of res.body) bytes += (chunk as Buffer).length;
  if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
  return bytes;
}

async function main(): Promise<void> {
  const dir = tempDir('vigil-bench-reads-');
  const config = loadConfig(['--port', '0', '--data-dir', dir.path, '--admin-token', TOKEN, '--host-metrics-interval', '0'], {});
  const hub = await startHub(config, { logger: createLogger('silent') });
  try {
    const reg = await request(`${hub.url}/api/v1/agents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ agent_id: 'attacker', name: 'attacker', agent_type: 'code' }),
    });
    await reg.body.dump();
    const metadata = JSON.stringify({ blob: 'x'.repeat(META_BYTES - 11) });
    const now = Date.now();
    for (let i = 0; i < EVENTS; i++) {
      await hub.db.run(
        'INSERT INTO agent_events (agent_id, event_type, message, metadata, timestamp, received_at) VALUES (?, ?, ?, ?, ?, ?)',
        ['attacker', 'info', `event ${i}`, metadata, now, now],
      );
    }

    await load(hub.url); // warm-up: statement caches, JIT
    global.gc?.();
    const stall = monitorEventLoopDelay({ resolution: 1 });
    stall.enable();
    const t0 = performance.now();
    const oneBytes = await load(hub.url);
    const oneMs = performance.now() - t0;
    stall.disable();

    global.gc?.();
    const rssBefore = rssKb('VmRSS');
    writeFileSync('/proc/self/clear_refs', '5'); // resets VmHWM to the current RSS
    const t1 = performance.now();
    const sizes = await Promise.all(Array.from({ length: CONCURRENCY }, () => load(hub.url)));
    const allMs = performance.now() - t1;
    const peak = rssKb('VmHWM');

    const result = {
      events: EVENTS,
      metadata_bytes: META_BYTES,
      one_load: {
        bytes: oneBytes,
        mib: +(oneBytes / MiB).toFixed(2),
        ms: Math.round(oneMs),
        max_loop_stall_ms: Math.round(stall.max / 1e6),
      },
      concurrent: {
        clients: CONCURRENCY,
        total_mib: +(sizes.reduce((a, b) => a + b, 0) / MiB).toFixed(1),
        ms: Math.round(allMs),
        rss_before_mib: Math.round(rssBefore / 1024),
        rss_peak_mib: Math.round(peak / 1024),
        rss_growth_mib: Math.round((peak - rssBefore) / 1024),
      },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await hub.stop();
    dir.remove();
  }
}

await main();
