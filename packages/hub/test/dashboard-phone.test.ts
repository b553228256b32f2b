import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './support/browser.js';
import { ADMIN_TOKEN, startTestHub, type TestHub } from './support/hub.js';

/** The dashboard's header on a 390 px phone screen, in a real Chromium: nothing sticks out of the page. */

declare const document: any;

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const ARTIFACTS = `${ROOT}test-artifacts/`;
const BUILD = `${ROOT}packages/web/dist/public/index.html`;
const WIDTH = 390;

const { browser, skip } = await launchChromium();

describe('the header on a phone, in Chromium', { skip }, () => {
  let hub: TestHub;
  let page: Page;

  before(async () => {
    assert.ok(existsSync(BUILD), `${BUILD} is missing: npm test builds it (npm run build:web)`);
    mkdirSync(ARTIFACTS, { recursive: true });
    hub = await startTestHub('sqlite', { flags: ['--host-metrics-interval', '0'] });
    await hub.call('POST', '/api/v1/agents', { agent_id: 'phone-1', name: 'phone', agent_type: 'worker' });
    const context = await (browser as Browser).newContext({ viewport: { width: WIDTH, height: 844 }, deviceScaleFactor: 1 });
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

  test('at 390 px the header does not overflow, and every header control lies inside the screen', async () => {
    const measured = await page.evaluate(() => {
      const header = document.querySelector('header.topbar');
      const out: { name: string; left: number; right: number }[] = [];
      for (const el of header.querySelectorAll('a, button, nav, .connection, .topbar-end')) {
        const r = el.getBoundingClientRect();
        // Links inside a nav that scrolls sideways may lie past its edge: the nav itself must not.
        if (el.closest('nav') && el.tagName === 'A') continue;
        out.push({ name: `${el.tagName}.${el.className} ${el.textContent.trim().slice(0, 20)}`, left: r.left, right: r.right });
      }
      return {
        page: document.documentElement.scrollWidth,
        header: { scroll: header.scrollWidth, client: header.clientWidth },
        out,
        links: [...header.querySelectorAll('nav a')].map((a: any) => a.textContent.trim()),
      };
    });
    assert.ok(measured.page <= WIDTH, `the page is ${measured.page} px wide`);
    assert.ok(
      measured.header.scroll <= measured.header.client,
      `the header holds ${measured.header.scroll} px in ${measured.header.client}`,
    );
    for (const el of measured.out) assert.ok(el.left >= 0 && el.right <= WIDTH + 0.5, `${el.name}: ${el.left}..${el.right}`);
    assert.ok(measured.links.includes('Storage'), 'every page stays reachable');
    // The last nav link can be scrolled into view and clicked.
    await page.click('nav[aria-label="Main"] a:has-text("Storage")');
    await page.waitForURL(/storage/);
    await page.screenshot({ path: `${ARTIFACTS}dashboard-phone-390.png` });
  });
});
