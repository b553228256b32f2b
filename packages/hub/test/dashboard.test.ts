import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ADMIN_TOKEN, startTestHub, type TestHub } from './support/hub.js';
import { launchChromium } from './support/browser.js';

/**
 * The dashboard end to end, in a real headless Chromium against a real hub: sign-in, live updates,
 * resolving and reopening an error, the agent page's charts, and docs/reliability.md W1, W3, W4 and A6 as
 * a browser sees them. Screenshots go to test-artifacts/ (gitignored) for a person to look at.
 */

// Functions passed to page.evaluate run in the browser. The hub compiles without DOM types, so the few
// browser globals they use are declared here, loosely, for this file only.
declare const window: any;
declare const document: any;
declare const localStorage: any;
declare const sessionStorage: any;
declare const getComputedStyle: any;
declare const MutationObserver: any;

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const ARTIFACTS = `${ROOT}test-artifacts/`;
const BUILD = `${ROOT}packages/web/dist/public/index.html`;

/** Stored XSS attempts (W4): every one must show as text, and none may run. */
const XSS = ['<img src=x onerror=window.__x=1>', '<script>window.__x=1</script>', 'javascript:window.__x=1', '"><svg onload=window.__x=1>'];

const { browser, skip } = await launchChromium();

describe('the dashboard in Chromium', { skip }, () => {
  let hub: TestHub;
  /** The real clock, shifted into the past while a test back-fills history. */
  const clock = { shiftMs: 0, now: () => Date.now() + clock.shiftMs };
  const contexts: BrowserContext[] = [];
  const dialogs = new Map<Page, string[]>();

  before(async () => {
    assert.ok(existsSync(BUILD), `${BUILD} is missing: npm test builds it (npm run build:web)`);
    mkdirSync(ARTIFACTS, { recursive: true });
    hub = await startTestHub('sqlite', { clock, flags: ['--host-metrics-interval', '0', '--llm-busy-window', '3600'] });
  });
  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await (browser as Browser).close();
    await hub?.close();
  });

  /** A fresh browser profile (no cookies) with a recorder of CSP violations and a dialog trap. */
  async function newPage(): Promise<Page> {
    const context = await (browser as Browser).newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
    contexts.push(context);
    await context.addInitScript(() => {
      const w = window as unknown as { __csp: string[] };
      w.__csp = [];
      document.addEventListener('securitypolicyviolation', (e: any) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    const page = await context.newPage();
    const opened: string[] = [];
    dialogs.set(page, opened);
    page.on('dialog', (d) => {
      opened.push(d.message());
      void d.dismiss();
    });
    return page;
  }

  async function signIn(page: Page): Promise<void> {
    await page.goto(hub.url);
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('button[type=submit]');
    await page.waitForSelector('.overview[data-ready="true"]');
    await page.waitForSelector('.connection[data-state="live"]');
  }

  const api = (method: string, path: string, body?: unknown) => hub.call(method, path, body);
  const register = (id: string, extra: Record<string, unknown> = {}) =>
    api('POST', '/api/v1/agents', { agent_id: id, name: id, agent_type: 'e2e', pool_name: 'e2e', ...extra });

  async function assertNothingRan(page: Page, where: string): Promise<void> {
    const state = await page.evaluate(() => ({
      x: (window as unknown as { __x?: unknown }).__x,
      csp: (window as unknown as { __csp: string[] }).__csp,
      jsLinks: document.querySelectorAll('a[href^="javascript:" i]').length,
      injected: document.querySelectorAll('#root img[src="x"], #root svg[onload], #root script').length,
    }));
    assert.equal(state.x, undefined, `${where}: window.__x was set`);
    assert.deepEqual(dialogs.get(page), [], `${where}: dialogs opened`);
    assert.deepEqual(state.csp, [], `${where}: CSP violations`);
    assert.equal(state.jsLinks, 0, `${where}: javascript: links`);
    assert.equal(state.injected, 0, `${where}: elements from agent strings`);
  }

  test('a wrong token is refused; the admin token signs in with an HttpOnly SameSite=Strict cookie and nothing stored', async () => {
    const page = await newPage();
    await page.goto(hub.url);
    await page.fill('#token', 'this-is-not-the-admin-token');
    await page.click('button[type=submit]');
    await page.waitForSelector('#signin-problem');
    assert.match((await page.textContent('#signin-problem')) ?? '', /refused/);
    assert.equal(await page.locator('.overview').count(), 0);

    await page.fill('#token', ADMIN_TOKEN);
    await page.click('button[type=submit]');
    await page.waitForSelector('.overview[data-ready="true"]');
    const cookies = await page.context().cookies();
    assert.equal(cookies.length, 1);
    assert.equal(cookies[0]?.name, 'vigil_session');
    assert.equal(cookies[0]?.httpOnly, true);
    assert.equal(cookies[0]?.sameSite, 'Strict');
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
    assert.ok(!stored.includes(ADMIN_TOKEN), 'the token is nowhere a script can read');
    assert.equal(await page.evaluate(() => document.cookie), '', 'the session cookie is invisible to scripts');

    // A reload keeps the session (the CSRF token is fetched again, not stored).
    await page.reload();
    await page.waitForSelector('.overview[data-ready="true"]');
    await assertNothingRan(page, 'sign-in');
  });

  test('an agent registered through the API appears live, and a heartbeat changes its CPU cell, without a reload', async () => {
    const page = await newPage();
    await signIn(page);
    await page.fill('input[type=search]', 'e2e-live-');
    await register('e2e-live-1', { name: 'e2e-live-1' });
    const row = page.locator('[data-agent-id="e2e-live-1"]');
    await row.waitFor();
    assert.equal(await row.locator('.agent-link').textContent(), 'e2e-live-1');
    await api('POST', '/api/v1/agents/e2e-live-1/heartbeat', { status: 'online', metrics: { cpu_percent: 42.5, memory_mb: 777 } });
    await page.waitForFunction(() => document.querySelector('[data-agent-id="e2e-live-1"] [data-col="cpu"]')?.textContent === '42.5%');
    assert.equal(await row.locator('[data-col="memory"]').textContent(), '777 MB');
    await api('POST', '/api/v1/agents/e2e-live-1/heartbeat', { status: 'busy', metrics: { cpu_percent: 97.25 } });
    await page.waitForFunction(() => document.querySelector('[data-agent-id="e2e-live-1"] [data-col="cpu"]')?.textContent === '97.3%');
    assert.match((await row.textContent()) ?? '', /busy/i);

    // Keyboard: the sort headers are buttons; Enter on "CPU %" sorts biggest first.
    await page.focus('[role=columnheader] button:has-text("CPU %")');
    await page.keyboard.press('Enter');
    assert.equal(await page.getAttribute('[role=columnheader]:has-text("CPU %")', 'aria-sort'), 'descending');
  });

  test("the LLM badge follows the hub's --llm-busy-window (an hour here, 120 s by default)", async () => {
    /** A Claude Code api_request log record for `agentId`, received `agoMs` before now by the hub's clock. */
    const llmCall = async (agentId: string, agoMs: number) => {
      const attr = (key: string, value: object) => ({ key, value });
      clock.shiftMs = -agoMs;
      try {
        const at = String(BigInt(clock.now()) * 1_000_000n);
        const resource = [attr('service.name', { stringValue: 'claude-code' }), attr('vigil.agent_id', { stringValue: agentId })];
        const record = {
          timeUnixNano: at,
          body: { stringValue: 'claude_code.api_request' },
          attributes: [attr('event.name', { stringValue: 'api_request' }), attr('model', { stringValue: 'claude-sonnet-4-5' })],
        };
        const body = { resourceLogs: [{ resource: { attributes: resource }, scopeLogs: [{ logRecords: [record] }] }] };
        assert.equal((await api('POST', '/v1/logs', body)).status, 200);
      } finally {
        clock.shiftMs = 0;
      }
    };
    await register('e2e-llm-recent');
    await register('e2e-llm-old');
    await llmCall('e2e-llm-recent', 10 * 60_000);
    await llmCall('e2e-llm-old', 2 * 3_600_000);
    const page = await newPage();
    await signIn(page);
    await page.fill('input[type=search]', 'e2e-llm-');
    await page.locator('[data-agent-id="e2e-llm-old"]').waitFor();
    // Ten minutes is past the default window but within the hub's hour; two hours is past both.
    assert.equal(await page.locator('[data-agent-id="e2e-llm-recent"] .llm-busy').count(), 1);
    assert.equal(await page.locator('[data-agent-id="e2e-llm-old"] .llm-busy').count(), 0);
    assert.equal((await api('GET', '/api/v1/agents/e2e-llm-recent')).body.agent.llm_state, 'busy', 'as the API says');
  });

  test('after the live feed drops, the page reconnects and catches up on what it missed', async () => {
    const page = await newPage();
    // The page's own WebSockets, as the browser sees them: the drop must close one and the reconnect open another.
    const sockets: { closed: boolean }[] = [];
    page.on('websocket', (ws) => {
      const s = { closed: false };
      sockets.push(s);
      ws.on('close', () => (s.closed = true));
    });
    await signIn(page);
    await page.fill('input[type=search]', 'e2e-missed');
    await page.waitForSelector('.connection[data-state="live"]');
    assert.deepEqual(sockets, [{ closed: false }], 'one live socket before the drop');
    // Every state the badge shows from here on: a reconnect quicker than a poll still leaves its trace.
    await page.evaluate(() => {
      window.__states = [];
      new MutationObserver(() => window.__states.push(document.querySelector('.connection')?.getAttribute('data-state'))).observe(
        document.body,
        { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'] },
      );
    });
    const before = [...hub.app.websocketServer.clients];
    assert.ok(before.length >= 1, 'the hub holds the page socket');
    for (const client of before) client.terminate();
    await register('e2e-missed-1');
    await page.waitForFunction(() => window.__states.includes('reconnecting') && window.__states.at(-1) === 'live');
    assert.equal(sockets[0]?.closed, true, 'the first socket dropped');
    assert.equal(sockets.length, 2, 'a second socket was opened');
    assert.equal(sockets[1]?.closed, false);
    assert.ok(
      [...hub.app.websocketServer.clients].some((c) => !before.includes(c)),
      'the hub holds a new socket, not one it had before the drop',
    );
    await page.locator('[data-agent-id="e2e-missed-1"]').waitFor();
  });

  test('an error appears live, Resolve resolves it in the store, and Reopen on the resolved view reopens it', async () => {
    const page = await newPage();
    await signIn(page);
    await register('e2e-err-1');
    await page.click('nav[aria-label=Main] >> text=Errors');
    await page.waitForSelector('h1:has-text("Errors")');
    await page.waitForFunction(() => !document.querySelector('main [role=status]'));
    const made = await api('POST', '/api/v1/agents/e2e-err-1/errors', {
      error_type: 'E2eFailure',
      message: 'the e2e failure happened',
      stack_trace: 'E2eFailure: the e2e failure happened\n    at test (e2e.js:1:1)',
    });
    assert.equal(made.status, 201);
    const group = page.locator(`[data-error-ids~="${made.body.id}"]`);
    await group.waitFor();
    assert.match((await group.textContent()) ?? '', /the e2e failure happened/);
    await group.locator('button:has-text("Resolve")').click();
    await group.waitFor({ state: 'detached' });
    const stored = await api('GET', '/api/v1/errors?agent_id=e2e-err-1');
    assert.equal(stored.body.errors[0].resolved, true);

    // A reopen elsewhere (the API) reaches the open view live, without a reload.
    assert.equal((await api('POST', `/api/v1/errors/${made.body.id}/unresolve`)).status, 200);
    await group.waitFor();
    await group.locator('button:has-text("Resolve")').click();
    await group.waitFor({ state: 'detached' });

    // The resolved view offers Reopen, by keyboard too; it goes through the same CSRF-guarded session.
    await page.click('[aria-label="Which errors"] >> text=Resolved');
    const resolved = page.locator(`[data-error-ids~="${made.body.id}"]`);
    await resolved.waitFor();
    await resolved.locator('button:has-text("Reopen")').focus();
    await page.keyboard.press('Enter');
    await resolved.waitFor({ state: 'detached' });
    const reopened = await api('GET', '/api/v1/errors?agent_id=e2e-err-1');
    assert.deepEqual(
      reopened.body.errors.map((e: { id: number; resolved: boolean }) => [e.id, e.resolved]),
      [[made.body.id, false]],
    );
    await page.click('[aria-label="Which errors"] >> text=Open');
    await page.locator(`[data-error-ids~="${made.body.id}"] button:has-text("Resolve")`).waitFor();
    await assertNothingRan(page, 'errors page');
  });

  test('long stack traces, messages and metadata come cut in lists; expanding a row fetches and shows them whole', async () => {
    await register('e2e-long-1');
    const stack = Array.from({ length: 400 }, (_, i) => `    at frame${i} (deep.js:${i}:1)`).join('\n');
    const metadata = { blob: 'b'.repeat(4000), tail: 'the-metadata-tail' };
    const madeError = await api('POST', '/api/v1/agents/e2e-long-1/errors', {
      error_type: 'LongFailure',
      message: 'a failure with a long stack',
      stack_trace: stack,
      metadata,
    });
    assert.equal(madeError.status, 201);
    const message = `${'word '.repeat(400)}the-message-tail`;
    const madeEvent = await api('POST', '/api/v1/agents/e2e-long-1/events', { event_type: 'warning', message, metadata });
    assert.equal(madeEvent.status, 201);

    const page = await newPage();
    await signIn(page);
    await page.click('nav[aria-label=Main] >> text=Errors');
    const group = page.locator(`[data-error-ids~="${madeError.body.id}"]`);
    await group.waitFor();
    await group.locator('summary:has-text("Stack trace")').click();
    await page.waitForFunction((n) => document.querySelector('.error-group .stack')?.textContent.length === n, stack.length);
    assert.equal(await group.locator('pre.stack').textContent(), stack);
    assert.match((await group.textContent()) ?? '', /the-metadata-tail/);

    await page.click('nav[aria-label=Main] >> text=Events');
    const row = page.locator(`[data-event-id="${madeEvent.body.id}"]`);
    await row.waitFor();
    assert.doesNotMatch((await row.textContent()) ?? '', /the-message-tail/, 'the list shows a preview');
    await row.locator('summary:has-text("whole event")').click();
    await row.locator('p.event-message').waitFor();
    assert.match((await row.locator('p.event-message').textContent()) ?? '', /the-message-tail$/);
    assert.match((await row.textContent()) ?? '', /tail=the-metadata-tail/);
    await assertNothingRan(page, 'long rows');
  });

  test('the agent page renames, pauses and, after a confirmation, deletes the agent; another page drops its row live', async () => {
    const page = await newPage();
    await signIn(page);
    const watcher = await newPage();
    await signIn(watcher);
    await watcher.fill('input[type=search]', 'e2e-retire');
    await register('e2e-retire-1');
    await watcher.locator('[data-agent-id="e2e-retire-1"]').waitFor();

    await page.goto(`${hub.url}/agents/e2e-retire-1`);
    await page.locator('button:has-text("Rename")').click();
    await page.fill('input[aria-label="New name"]', 'retired box');
    await page.locator('button:has-text("Save name")').click();
    await page.waitForSelector('h1:has-text("retired box")');
    assert.equal((await api('GET', '/api/v1/agents/e2e-retire-1')).body.agent.name, 'retired box');

    await page.locator('button:has-text("Pause monitoring")').click();
    await page.waitForSelector('.agent-head [data-status="paused"]');
    assert.equal((await api('GET', '/api/v1/agents/e2e-retire-1')).body.agent.paused, true);
    await watcher.waitForSelector('[data-agent-id="e2e-retire-1"] [data-status="paused"]');

    // Delete asks first; Cancel changes nothing.
    await page.locator('button:has-text("Delete…")').click();
    await page.waitForSelector('[role=alertdialog]:has-text("Delete retired box?")');
    await page.locator('[role=alertdialog] button:has-text("Cancel")').click();
    assert.equal((await api('GET', '/api/v1/agents/e2e-retire-1')).status, 200);
    await page.locator('button:has-text("Delete…")').click();
    await page.locator('[role=alertdialog] button:has-text("Delete agent")').click();
    await page.waitForSelector('.overview[data-ready="true"]');
    assert.equal((await api('GET', '/api/v1/agents/e2e-retire-1')).status, 404);
    await watcher.locator('[data-agent-id="e2e-retire-1"]').waitFor({ state: 'detached' });
    await assertNothingRan(page, 'agent page actions');

    // A mistyped address shows the dashboard's own page, not raw JSON.
    const res = await page.goto(`${hub.url}/nope`);
    assert.equal(res?.status(), 404);
    await page.waitForSelector('text=No such page');
  });

  test('the agent page draws charts with points, and the pages look right (screenshots)', async () => {
    await register('e2e-chart-1', {
      name: 'trainer',
      capabilities: ['cuda', 'fp16'],
      metadata: { region: 'eu-west', version: '1.2.3' },
    });
    for (let i = 0; i < 12; i++) {
      // Received a minute apart over the last 11 minutes, as a running agent's would be: the chart
      // spans the whole hour picked, so samples a few ms apart would draw as one vertical stroke.
      clock.shiftMs = (i - 11) * 60_000;
      await api('POST', '/api/v1/agents/e2e-chart-1/heartbeat', {
        status: 'online',
        resources: {
          cpu_percent: 30 + i * 3,
          gpu_type: 'nvidia',
          gpu_vram_total_gb: 24,
          gpu_vram_available_gb: 20 - i,
          cpu_cores_available: 8,
          memory_available_gb: 40,
        },
        metrics: { cpu_percent: 10 + ((i * 7) % 40), memory_mb: 500 + i * 20, io_read_bps: 1e6 * (i % 3), io_write_bps: 2e5 * i },
      });
      await new Promise((r) => setTimeout(r, 15));
    }
    clock.shiftMs = 0;
    await api('POST', '/api/v1/agents/e2e-chart-1/events', { event_type: 'info', message: 'epoch 3 done', metadata: { loss: 0.12 } });
    await api('POST', '/api/v1/agents/e2e-chart-1/errors', {
      error_type: 'OutOfMemoryError',
      message: 'GPU out of memory',
      stack_trace: 'at forward (model.py:301)',
    });

    const page = await newPage();
    await signIn(page);
    await page.screenshot({ path: `${ARTIFACTS}dashboard-overview.png` });
    await page.click('[data-agent-id="e2e-chart-1"] .agent-link');
    const cpu = page.locator('figure.chart[data-figures^="cpu_percent"]');
    await cpu.waitFor();
    await page.waitForFunction(
      () => Number(document.querySelector('figure.chart[data-figures^="cpu_percent"]')?.getAttribute('data-points')) >= 12,
    );
    // The process CPU line is drawn: pixels of its colour on the canvas.
    const drawn = await page.evaluate(() => {
      const canvas = document.querySelector('figure.chart[data-figures^="cpu_percent"] canvas');
      const want = getComputedStyle(document.documentElement).getPropertyValue('--chart-1').trim();
      const probe = document.createElement('canvas').getContext('2d');
      probe.fillStyle = want;
      probe.fillRect(0, 0, 1, 1);
      const [r, g, b] = probe.getImageData(0, 0, 1, 1).data;
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (
          Math.abs((data[i] ?? 0) - (r ?? 0)) < 40 &&
          Math.abs((data[i + 1] ?? 0) - (g ?? 0)) < 40 &&
          Math.abs((data[i + 2] ?? 0) - (b ?? 0)) < 40 &&
          (data[i + 3] ?? 0) > 100
        )
          n++;
      }
      return n;
    });
    assert.ok(drawn > 50, `${drawn} pixels of the CPU line`);
    assert.equal(await page.locator('.chip').count(), 2);
    await page.waitForSelector('text=epoch 3 done');
    await page.waitForSelector('text=GPU out of memory');
    // A live heartbeat adds a point while the page is open.
    await api('POST', '/api/v1/agents/e2e-chart-1/heartbeat', { status: 'online', metrics: { cpu_percent: 55 } });
    await page.waitForFunction(
      () => Number(document.querySelector('figure.chart[data-figures^="cpu_percent"]')?.getAttribute('data-points')) >= 13,
    );
    await page.screenshot({ path: `${ARTIFACTS}dashboard-agent.png`, fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForTimeout(300);
    await page.screenshot({ path: `${ARTIFACTS}dashboard-agent-dark.png`, fullPage: true });
    await assertNothingRan(page, 'agent page');
  });

  test('the storage page shows what each table holds, as the storage API measures it', async () => {
    const page = await newPage();
    await signIn(page);
    await page.click('nav[aria-label=Main] >> text=Storage');
    await page.waitForSelector('h1:has-text("Storage")');
    const row = page.locator('tr[data-table="agent_metrics"]');
    await row.waitFor();
    const report = await api('GET', '/api/v1/storage');
    const metrics = report.body.tables.find((t: { table: string }) => t.table === 'agent_metrics');
    assert.ok(metrics.rows >= 12, `the heartbeats of the tests before are stored (${metrics.rows})`);
    const cells = await row.locator('td').allTextContents();
    assert.equal(cells[1], metrics.rows.toLocaleString('en-US'), `rows cell ${cells[1]}`);
    assert.match(cells[2] ?? '', /^\d[\d.,]* (B|KB|MB|GB)$/, `size cell ${cells[2]}`);
    assert.equal(cells[3], '7 d', 'raw metrics are kept 7 days by default');
    assert.equal(await page.locator('tbody tr[data-table]').count(), report.body.tables.length, 'one row per table');
    // The heartbeat history by tier: a young store has no measured rate yet, and says so.
    assert.equal(await page.locator('tbody tr[data-tier]').count(), report.body.tiers.length);
    const raw = await page.locator('tr[data-tier="raw"] td').allTextContents();
    assert.equal(
      raw[1],
      report.body.tiers[0].bytes_per_heartbeat === null ? 'not measured yet' : `${report.body.tiers[0].bytes_per_heartbeat.toFixed(1)} B`,
    );
    assert.equal(raw[2], '7 d');
    assert.equal((await page.locator('tr[data-tier="event_ids"] td').allTextContents())[2], '1 h', 'event ids are kept an hour');
    await page.screenshot({ path: `${ARTIFACTS}dashboard-storage.png`, fullPage: true });
  });

  test('W4: stored XSS in agent-controlled strings never runs, on page load or through live updates', async () => {
    const payload = (i: number) => XSS[i % XSS.length] as string;
    const plant = async (id: string) => {
      await register(id, {
        name: payload(0) + payload(3),
        capabilities: XSS,
        metadata: Object.fromEntries(XSS.map((x, i) => [`k${i}${x}`, x])),
      });
      await api('POST', `/api/v1/agents/${id}/events`, {
        event_type: 'warning',
        message: payload(1),
        metadata: { html: payload(0), link: payload(2) },
      });
      await api('POST', `/api/v1/agents/${id}/errors`, {
        error_type: 'Xss<b>Error</b>',
        message: payload(3) + payload(0),
        stack_trace: `${payload(1)}\n    at ${payload(2)}`,
        metadata: { m: payload(0) },
      });
    };
    await plant('e2e-xss-load');

    const page = await newPage();
    await signIn(page);
    const row = page.locator('[data-agent-id="e2e-xss-load"] .agent-link');
    assert.equal(await row.textContent(), payload(0) + payload(3), 'shown verbatim, as text');
    await assertNothingRan(page, 'overview on load');

    await plant('e2e-xss-live');
    await page.locator('[data-agent-id="e2e-xss-live"]').waitFor();
    await page.waitForFunction(() => document.querySelector('[data-agent-id="e2e-xss-live"] .agent-link')?.textContent?.includes('<img'));
    await assertNothingRan(page, 'overview after live updates');

    await page.click('[data-agent-id="e2e-xss-load"] .agent-link');
    await page.waitForSelector('.error-group');
    for (const d of await page.locator('details').all()) await d.locator('summary').click();
    await assertNothingRan(page, 'agent page');
    await plant('e2e-xss-load'); // the same agent again, while its page is open
    await page.waitForTimeout(300);
    await assertNothingRan(page, 'agent page after live updates');

    await page.click('nav[aria-label=Main] >> text=Errors');
    await page.waitForSelector('.error-group');
    await page.click('nav[aria-label=Main] >> text=Events');
    await page.waitForSelector('.event');
    await plant('e2e-xss-live');
    await page.waitForTimeout(300);
    await assertNothingRan(page, 'errors and events pages');
  });

  test('W1 and W3 from a page on another origin: its live socket and its cookie-carrying resolve are refused', async () => {
    await register('e2e-csrf');
    const made = await api('POST', '/api/v1/agents/e2e-csrf/errors', { error_type: 'E', message: 'must stay open' });
    const page = await newPage();
    await signIn(page); // the victim's browser has a session
    // 127.0.0.1 on another port is another origin but the same site, so SameSite=Strict alone would
    // still send the cookie: the Origin and CSRF checks are what refuse these.
    const evil = await startEvilSite(hub.url, made.body.id);
    try {
      await page.goto(evil.url);
      await page.waitForFunction(() => (window as unknown as { __done?: boolean }).__done === true);
      const result = await page.evaluate(() => (window as unknown as { __result: Record<string, unknown> }).__result);
      assert.equal(result.socketOpened, false, 'the live feed refused a foreign page');
    } finally {
      await new Promise((r) => evil.server.close(r));
    }
    const stored = await api('GET', '/api/v1/errors?agent_id=e2e-csrf');
    assert.equal(stored.body.errors[0].resolved, false, 'the forged resolve changed nothing');
  });

  test('A6: signing out closes the live feed and the old cookie stops working', async () => {
    const page = await newPage();
    await signIn(page);
    const cookie = (await page.context().cookies())[0];
    await page.click('button:has-text("Sign out")');
    await page.waitForSelector('#token');
    const withOld = await fetch(`${hub.url}/api/v1/agents`, { headers: { cookie: `vigil_session=${cookie?.value}` } });
    assert.equal(withOld.status, 401);
  });
});

/** A page on another port of 127.0.0.1 that tries the hub's live feed and a cookie-carrying resolve. */
async function startEvilSite(hubUrl: string, errorId: number): Promise<{ server: Server; url: string }> {
  const html = `<!doctype html><script>
    window.__result = { socketOpened: false };
    const ws = new WebSocket(${JSON.stringify(hubUrl.replace(/^http/, 'ws') + '/api/v1/live')});
    ws.onopen = () => { window.__result.socketOpened = true; };
    const finish = () => { window.__done = true; };
    ws.onclose = () => setTimeout(finish, 200);
    ws.onerror = () => {};
    fetch(${JSON.stringify(`${hubUrl}/api/v1/errors/${errorId}/resolve`)}, { method: 'POST', credentials: 'include', mode: 'no-cors' }).catch(() => {});
    fetch(${JSON.stringify(`${hubUrl}/api/v1/errors/${errorId}/resolve`)}, { method: 'POST', credentials: 'include', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{}' }).catch(() => {});
  </script>`;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(html);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}
