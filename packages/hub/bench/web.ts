import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Browser, BrowserContext } from 'playwright-core';
import { loadConfig } from '../src/config/config.js';
import { createLogger, startHub, type Hub } from '../src/main.js';
import { launchChromium } from '../test/support/browser.js';

/**
 * The dashboard's budgets (issue 4, bench/RESULTS.md): initial JavaScript gzipped, overview ready
 * time with 1,000 agents on loopback, and heartbeat-to-browser latency; plus the same overview with
 * 10,000 agents and its scrolling. Run with `npm run bench:web`.
 */

// Functions passed to page.evaluate run in the browser; the hub compiles without DOM types, so
// the few browser globals they use are declared here, as narrowly as they are used.
interface Element {
  textContent: string | null;
  scrollTop: number;
  clientHeight: number;
  scrollHeight: number;
}
declare const window: {
  __seen: Record<string, number>;
  performance: { getEntriesByName(name: string): { startTime: number }[] };
  MutationObserver: new (cb: () => void) => { observe(target: Element | null, opts: object): void };
};
declare const document: { querySelector(selector: string): Element | null };
declare const requestAnimationFrame: (cb: (t: number) => void) => number;

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const BUILD = `${ROOT}packages/web/dist/public/`;
const RUNS = 9;
const LATENCY_SAMPLES = 300;

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN;
};
const median = (xs: number[]) => quantile(xs, 0.5);
const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

function jsSizes(): { initialRaw: number; initialGz: number; allRaw: number; allGz: number; files: string[] } {
  const index = readFileSync(`${BUILD}index.html`, 'utf8');
  const initial = [...index.matchAll(/<script[^>]+src="([^"]+\.js)"|<link[^>]+rel="modulepreload"[^>]+href="([^"]+\.js)"/g)].map(
    (m) => (m[1] ?? m[2]) as string,
  );
  const size = (files: string[]) =>
    files.reduce(
      (acc, f) => {
        const body = readFileSync(join(BUILD, f));
        return { raw: acc.raw + body.length, gz: acc.gz + gzipSync(body, { level: 9 }).length };
      },
      { raw: 0, gz: 0 },
    );
  const all = readdirSync(`${BUILD}assets`)
    .filter((f) => f.endsWith('.js'))
    .map((f) => `/assets/${f}`);
  const i = size(initial);
  const a = size(all);
  return { initialRaw: i.raw, initialGz: i.gz, allRaw: a.raw, allGz: a.gz, files: initial };
}

async function api(hub: Hub, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(hub.url + path, {
    method,
    headers: { authorization: `Bearer ${hub.adminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : undefined;
}

/** Registers `n` agents (8 requests at a time) and gives each a heartbeat, as a fleet that has been running would have. */
async function seed(hub: Hub, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `bench-${String(i).padStart(5, '0')}`);
  for (let i = 0; i < ids.length; i += 8) {
    await Promise.all(
      ids.slice(i, i + 8).map((id, j) =>
        api(hub, 'POST', '/api/v1/agents', {
          agent_id: id,
          name: `worker-${i + j}`,
          agent_type: ['llm-worker', 'coding-agent', 'trainer'][(i + j) % 3],
          pool_name: ['gpu', 'cpu', 'laptops'][(i + j) % 3],
          capabilities: ['cuda'],
        }),
      ),
    );
  }
  for (let i = 0; i < ids.length; i += 500) {
    await api(hub, 'POST', '/api/v1/ingest', {
      heartbeats: ids.slice(i, i + 500).map((agent_id, j) => heartbeat(agent_id, (i + j) % 100)),
      errors: ids
        .slice(i, i + 500)
        .filter((_, j) => j % 10 === 0)
        .map((agent_id) => ({ agent_id, error_type: 'TimeoutError', message: 'model call timed out' })),
    });
  }
  return ids;
}

function heartbeat(agent_id: string, cpu: number) {
  return {
    agent_id,
    status: 'online',
    resources: {
      cpu_percent: cpu,
      cpu_cores_physical: 16,
      cpu_cores_available: 8,
      memory_available_gb: 30,
      gpu_vram_total_gb: 24,
      gpu_vram_available_gb: 12,
      gpu_type: 'nvidia',
    },
    metrics: { cpu_percent: cpu, memory_mb: 500 + cpu, message_count: cpu * 3 },
  };
}

async function sessionContext(browser: Browser, hub: Hub): Promise<BrowserContext> {
  const res = await fetch(`${hub.url}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: hub.adminToken }),
  });
  const id = /vigil_session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1] ?? '';
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  await context.addCookies([{ name: 'vigil_session', value: id, url: hub.url, httpOnly: true, sameSite: 'Strict' }]);
  return context;
}

/** Time from navigation start to the overview's "all pages loaded and drawn" mark, in a fresh profile (cold cache). */
async function readyTimes(browser: Browser, hub: Hub, expectAgents: number): Promise<number[]> {
  const times: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const context = await sessionContext(browser, hub);
    const page = await context.newPage();
    await page.goto(hub.url);
    await page.waitForSelector('.overview[data-ready="true"]', { timeout: 60_000 });
    const t: number = await page.evaluate(() => window.performance.getEntriesByName('vigil:overview-ready')[0]?.startTime ?? NaN);
    const shown = Number((await page.textContent('[data-testid="agent-count"]'))?.replace(/\D/g, ''));
    if (shown !== expectAgents) throw new Error(`the overview shows ${shown} agents, not ${expectAgents}`);
    times.push(t);
    await context.close();
  }
  return times;
}

/** Scrolls the 10,000-row table top to bottom in steps, one per frame; returns each frame's duration. */
async function scrollFrames(browser: Browser, hub: Hub): Promise<number[]> {
  const context = await sessionContext(browser, hub);
  const page = await context.newPage();
  await page.goto(hub.url);
  await page.waitForSelector('.overview[data-ready="true"]', { timeout: 60_000 });
  const frames: number[] = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const el = document.querySelector('.agent-viewport') as Element;
        const out: number[] = [];
        let last = 0;
        const step = (t: number) => {
          if (last) out.push(t - last);
          last = t;
          if (el.scrollTop + el.clientHeight >= el.scrollHeight || out.length > 400) return resolve(out);
          el.scrollTop += el.scrollHeight / 300;
          requestAnimationFrame(step);
        };
        requestAnimationFrame(step);
      }),
  );
  const rows = await page.locator('.agent-row:not(.header)').count();
  await context.close();
  if (rows > 60) throw new Error(`${rows} rows in the DOM: windowing is off`);
  return frames;
}

/**
 * Heartbeat → browser: a heartbeat with a unique CPU figure for one agent, whose row is on screen,
 * while the rest of the fleet sends ~100 heartbeats/s. Latency is from the hub's receive time of the
 * heartbeat (taken before the commit, so this slightly overstates it) to the moment the cell's text
 * changed in the page, both on this machine's clock.
 */
async function heartbeatLatency(browser: Browser, hub: Hub, ids: string[]): Promise<number[]> {
  const context = await sessionContext(browser, hub);
  const page = await context.newPage();
  await page.goto(hub.url);
  await page.waitForSelector('.overview[data-ready="true"]');
  const target = ids[0] as string;
  await page.fill('input[type=search]', target);
  await page.waitForSelector(`[data-agent-id="${target}"]`);
  await page.evaluate((id: string) => {
    window.__seen = {};
    const cell = () => document.querySelector(`[data-agent-id="${id}"] [data-col="cpu"]`);
    new window.MutationObserver(() => {
      const text = cell()?.textContent;
      if (text && window.__seen[text] === undefined) window.__seen[text] = Date.now();
    }).observe(document.querySelector('.agent-viewport'), { subtree: true, childList: true, characterData: true });
  }, target);

  let background = true;
  const noise = (async () => {
    let k = 0;
    while (background) {
      const batch = Array.from({ length: 10 }, () => heartbeat(ids[1 + (k++ % (ids.length - 1))] as string, k % 100));
      await api(hub, 'POST', '/api/v1/ingest', { heartbeats: batch });
      await new Promise((r) => setTimeout(r, 100));
    }
  })();

  const sent: { text: string; at: number }[] = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const cpu = 1 + (i + 1) / 10;
    const r = await api(hub, 'POST', `/api/v1/agents/${target}/heartbeat`, { status: 'online', metrics: { cpu_percent: cpu } });
    sent.push({ text: `${cpu.toFixed(1)}%`, at: (r as { received_at: number }).received_at });
    await new Promise((res) => setTimeout(res, 20 + Math.random() * 30));
  }
  await new Promise((r) => setTimeout(r, 500));
  background = false;
  await noise;
  const seen: Record<string, number> = await page.evaluate(() => window.__seen);
  await context.close();
  const missing = sent.filter((s) => seen[s.text] === undefined).length;
  if (missing > 0) throw new Error(`${missing} of ${sent.length} heartbeats never showed`);
  return sent.map((s) => (seen[s.text] as number) - s.at);
}

async function main(): Promise<void> {
  const launched = await launchChromium();
  if (!launched.browser) throw new Error(`the web bench needs Chromium: ${launched.skip}`);
  const browser = launched.browser;
  const out: string[] = [];
  const sizes = jsSizes();
  out.push(
    `initial JS: ${sizes.files.join(', ')}: ${fmt(sizes.initialRaw / 1024, 1)} KiB raw, ${fmt(sizes.initialGz / 1024, 1)} KiB gzipped`,
  );
  out.push(`all JS (with the lazily loaded agent page): ${fmt(sizes.allRaw / 1024, 1)} KiB raw, ${fmt(sizes.allGz / 1024, 1)} KiB gzipped`);

  for (const n of [1000, 10_000]) {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-web-'));
    const config = loadConfig(
      ['--port', '0', '--data-dir', dir, '--host-metrics-interval', '0', '--admin-token', 'bench-admin-token-0123456789'],
      {},
    );
    const hub = await startHub(config, { logger: createLogger('silent'), livenessEveryMs: 3_600_000 });
    try {
      const t0 = performance.now();
      const ids = await seed(hub, n);
      out.push(`\n${fmt(n)} agents (seeded in ${fmt((performance.now() - t0) / 1000, 1)} s)`);
      const ready = await readyTimes(browser, hub, n);
      out.push(`overview ready, cold profile, ${RUNS} runs: median ${fmt(median(ready))} ms, max ${fmt(Math.max(...ready))} ms`);
      if (n === 1000) {
        const lat = await heartbeatLatency(browser, hub, ids);
        out.push(
          `heartbeat → browser, ${lat.length} samples under ~100 heartbeats/s of background: p50 ${fmt(median(lat))} ms, p95 ${fmt(quantile(lat, 0.95))} ms, p99 ${fmt(quantile(lat, 0.99))} ms, max ${fmt(Math.max(...lat))} ms`,
        );
      } else {
        const frames = await scrollFrames(browser, hub);
        out.push(
          `scrolling the table end to end: ${frames.length} frames, median ${fmt(median(frames), 1)} ms, p95 ${fmt(quantile(frames, 0.95), 1)} ms, frames over 50 ms: ${frames.filter((f) => f > 50).length}`,
        );
      }
    } finally {
      await hub.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  await browser.close();
  process.stdout.write(`${out.join('\n')}\n`);
}

await main();
