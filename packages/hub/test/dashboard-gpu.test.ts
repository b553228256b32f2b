import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { ManualClock } from '../src/clock.js';
import { launchChromium } from './support/browser.js';
import { ADMIN_TOKEN, startTestHub, type TestHub } from './support/hub.js';

/**
 * The dashboard's GPU figures in a real Chromium against a real hub: a row per GPU on the agent page,
 * no GPU chart for an agent without one, figures that stopped arriving marked with their age, and
 * the Capacity page naming the GPUs that fit and showing what claims reserve.
 */

declare const document: any;

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const ARTIFACTS = `${ROOT}test-artifacts/`;
const BUILD = `${ROOT}packages/web/dist/public/index.html`;

const { browser, skip } = await launchChromium();

const h200 = (index: number, uuid: string, free: number, ours: number) => ({
  index,
  uuid,
  bus_id: `00000000:${17 + index * 48}:00.0`,
  name: 'NVIDIA H200',
  vram_total_gb: 140,
  vram_used_gb: 140 - free,
  vram_free_gb: free,
  utilization_percent: 50 + index,
  temperature_c: 60 + index,
  power_w: 400 + index,
  process_vram_gb: ours,
});

describe('GPUs on the dashboard, in Chromium', { skip }, () => {
  let hub: TestHub;
  let page: Page;
  const clock = new ManualClock(Date.now() - 600_000);

  before(async () => {
    assert.ok(existsSync(BUILD), `${BUILD} is missing: npm test builds it (npm run build:web)`);
    mkdirSync(ARTIFACTS, { recursive: true });
    hub = await startTestHub('sqlite', { clock, flags: ['--host-metrics-interval', '0'] });
    for (const [id, pool] of [
      ['gpu-box', 'gpu'],
      ['cpu-box', 'cpu'],
    ] as const) {
      const r = await hub.call('POST', '/api/v1/agents', { agent_id: id, name: id, agent_type: 'worker', pool_name: pool });
      assert.equal(r.status, 201);
    }
    const gpus = [h200(0, 'GPU-0a1b', 41, 60), h200(1, 'GPU-1c2d', 80, 2)];
    let r = await hub.call('POST', '/api/v1/agents/gpu-box/heartbeat', {
      resources: { gpu_type: 'nvidia', gpu_vram_total_gb: 280, gpu_vram_available_gb: 121, gpu_process_vram_gb: 62, gpus, npu_tops: 38 },
    });
    assert.equal(r.status, 200);
    // Five minutes on, a heartbeat with the CPU only: the GPU figures are now the last known.
    clock.advance(300_000);
    r = await hub.call('POST', '/api/v1/agents/gpu-box/heartbeat', { resources: { cpu_percent: 33 } });
    assert.equal(r.status, 200);
    r = await hub.call('POST', '/api/v1/agents/cpu-box/heartbeat', { resources: { gpu_type: 'none', cpu_percent: 12 } });
    assert.equal(r.status, 200);

    const context = await (browser as Browser).newContext({ viewport: { width: 1440, height: 900 } });
    page = await context.newPage();
    await page.goto(hub.url);
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('button[type=submit]');
    await page.waitForSelector('.overview[data-ready="true"]');
  });
  after(async () => {
    await (browser as Browser | undefined)?.close();
    await hub?.close();
  });

  test('the agent page has a row per GPU; an agent without a GPU has no GPU chart or table', async () => {
    await page.click('[data-agent-id="gpu-box"] .agent-link');
    await page.waitForSelector('tr[data-gpu-index="1"]');
    const rows = await page
      .locator('.gpu-table tbody tr')
      .evaluateAll((trs: any[]) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td: any) => td.textContent.trim())));
    assert.equal(rows.length, 2);
    assert.match(rows[0]?.[0] ?? '', /^0 GPU-0a1b$/);
    assert.equal(rows[0]?.[1], 'NVIDIA H200');
    assert.match(rows[0]?.[2] ?? '', /^99\.0 GB of 140\.0 GB$/);
    assert.match(rows[0]?.[3] ?? '', /^60\.0 GB$/);
    assert.match(rows[1]?.[4] ?? '', /^51\.0%$/);
    assert.match(rows[1]?.[5] ?? '', /^61 °C$/);
    assert.match(rows[1]?.[6] ?? '', /^401 W$/);
    await page.locator('figure.chart[data-figures^="gpu_vram_available_gb"]').waitFor();
    const kv = async (name: string) => (await page.locator(`.kv > div:has(dt:text-is("${name}")) dd`).textContent())?.trim();
    assert.match((await kv('GPU VRAM')) ?? '', /^121\.0 GB free of 280\.0 GB · reported /, 'kept, with its age');
    assert.equal(await kv('Host CPU'), '33.0%', 'current: no age');
    assert.match((await kv('npu_tops')) ?? '', /^38 · reported /, 'a field the hub has no name for');
    await page.screenshot({ path: `${ARTIFACTS}dashboard-agent-gpus.png`, fullPage: true });

    await page.goto(`${hub.url}/agents/cpu-box`);
    await page.locator('figure.chart[data-figures^="cpu_percent"]').waitFor();
    assert.equal(await page.locator('figure.chart[data-figures^="gpu_vram_available_gb"]').count(), 0);
    assert.equal(await page.locator('.gpu-table').count(), 0);
  });

  test('the Capacity page names the GPUs that fit', async () => {
    await page.click('nav[aria-label=Main] >> text=Capacity');
    await page.fill('label:has-text("VRAM free per GPU") input', '50');
    await page.click('button:has-text("Find agents")');
    const cell = page.locator('td.fitting-gpus');
    await cell.waitFor();
    assert.equal(await cell.count(), 1);
    assert.equal((await cell.textContent())?.trim(), '#1 GPU-1c2d (80.0 GB free)');

    await page.fill('label:has-text("VRAM free per GPU") input', '100');
    await page.click('button:has-text("Find agents")');
    await page.waitForSelector('text=No online agent has that much room');
    assert.equal(await page.evaluate(() => document.querySelectorAll('td.fitting-gpus').length), 0);
  });
  test('the Capacity page shows reservations, subtracts them, and releases one', async () => {
    const claim = await hub.call('POST', '/api/v1/capacity/claim', { min_gpu_vram_gb: 70, pool: 'gpu', job: 'finetune-7b' });
    assert.equal(claim.status, 201, JSON.stringify(claim.body));
    await page.click('nav[aria-label=Main] >> text=Dashboard').catch(() => undefined);
    await page.click('nav[aria-label=Main] >> text=Capacity');
    const row = page.locator('.claims-table tbody tr');
    await row.waitFor();
    assert.equal(await row.count(), 1);
    const cells = await row.locator('td').allTextContents();
    assert.equal(cells[0], 'finetune-7b');
    assert.equal(cells[1], 'gpu-box');
    assert.equal(cells[4], '#1 × 70.0 GB');
    assert.equal(cells[6], 'admin');

    // GPU 1 had 80 GB free; 70 are claimed, so 50 no longer fits anywhere.
    await page.fill('label:has-text("VRAM free per GPU") input', '50');
    await page.click('button:has-text("Find agents")');
    await page.waitForSelector('text=No online agent has that much room');
    await page.fill('label:has-text("VRAM free per GPU") input', '10');
    await page.click('button:has-text("Find agents")');
    const fits = page.locator('td.fitting-gpus');
    await fits.waitFor();
    assert.equal(
      (await fits.textContent())?.trim(),
      '#1 GPU-1c2d (10.0 GB free), #0 GPU-0a1b (41.0 GB free)',
      'GPU 1 keeps 10 GB unclaimed',
    );

    await row.locator('button:has-text("Release")').click();
    await page.waitForSelector('text=No active claims');
    const listed = await hub.call('GET', '/api/v1/capacity/claims?status=released');
    assert.deepEqual(
      listed.body.claims.map((c: any) => c.job),
      ['finetune-7b'],
    );
  });
});
