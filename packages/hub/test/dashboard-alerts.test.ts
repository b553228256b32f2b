import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './support/browser.js';
import { ADMIN_TOKEN, startTestHub, type TestHub } from './support/hub.js';

/**
 * The dashboard's alerts area in a real Chromium against a real hub: an alert that fires shows on the
 * Alerts page and in the header badge at once; Acknowledge and Silence from the row are stored (they
 * survive a reload); a rule made in the form fires; silences, rules and webhooks are managed there.
 */

declare const document: any;

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const ARTIFACTS = `${ROOT}test-artifacts/`;
const BUILD = `${ROOT}packages/web/dist/public/index.html`;

const { browser, skip } = await launchChromium();

test(
  'the alerts pages load as their own chunks: the initial JS stays under 200 KB gzipped',
  { skip: !existsSync(BUILD) && 'no build' },
  () => {
    const index = readFileSync(BUILD, 'utf8');
    const initial = [...index.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="([^"]+\.js)"/g)].map(
      (m) => m[1] as string,
    );
    assert.ok(initial.length >= 1, 'index.html loads a script');
    const code = initial.map((src) => readFileSync(`${ROOT}packages/web/dist/public${src}`));
    const gzipped = code.reduce((n, c) => n + gzipSync(c, { level: 9 }).length, 0);
    assert.ok(gzipped < 200_000, `initial JS ${gzipped} bytes gzipped`);
    // Words only the alerts area's pages hold are not in what every page loads.
    for (const words of ['Add webhook', 'Delivery log', 'Create rule']) {
      assert.ok(!code.some((c) => c.includes(words)), `"${words}" is in the initial JS`);
    }
  },
);

describe('alerts on the dashboard, in Chromium', { skip }, () => {
  let hub: TestHub;
  const contexts: BrowserContext[] = [];

  before(async () => {
    assert.ok(existsSync(BUILD), `${BUILD} is missing: npm test builds it (npm run build:web)`);
    mkdirSync(ARTIFACTS, { recursive: true });
    hub = await startTestHub('sqlite', { flags: ['--host-metrics-interval', '0', '--webhook-allow-private', 'true'] });
  });
  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await (browser as Browser).close();
    await hub?.close();
  });

  const api = (method: string, path: string, body?: unknown) => hub.call(method, path, body);
  const register = async (id: string) => {
    const r = await api('POST', '/api/v1/agents', { agent_id: id, name: id, agent_type: 'e2e', pool_name: 'alerting' });
    assert.equal(r.status, 201);
  };
  const beat = async (id: string, cpu: number, memoryMb = 100) => {
    const r = await api('POST', `/api/v1/agents/${id}/heartbeat`, { status: 'online', metrics: { cpu_percent: cpu, memory_mb: memoryMb } });
    assert.equal(r.status, 200);
  };
  const tab = async (page: Page, name: string) => {
    await page.click(`[aria-label="Alerts area"] >> text=${name}`);
    await page.waitForFunction(() => !document.querySelector('main [role=status]'));
  };

  async function openAlerts(theme: 'light' | 'dark' = 'light'): Promise<Page> {
    const context = await (browser as Browser).newContext({ viewport: { width: 1440, height: 900 }, colorScheme: theme });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(hub.url);
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('button[type=submit]');
    await page.waitForSelector('.overview[data-ready="true"]');
    await page.waitForSelector('.connection[data-state="live"]');
    await page.click('nav[aria-label=Main] >> text=Alerts');
    await page.waitForSelector('h1:has-text("Alerts")');
    await page.waitForFunction(() => !document.querySelector('main [role=status]'));
    return page;
  }

  test('a firing alert appears on the Alerts page and in the header badge within seconds; Acknowledge and Silence are stored', async () => {
    await register('al-1');
    const rule = await api('POST', '/api/v1/alert-rules', {
      name: 'e2e_cpu',
      metric: 'cpu_percent',
      op: '>',
      threshold: 50,
      for_seconds: 0,
      severity: 'critical',
      scope: { agent_id: 'al-1' },
    });
    assert.equal(rule.status, 201);
    const page = await openAlerts();
    assert.equal(await page.locator('[data-testid=firing-badge]').count(), 0, 'no badge while nothing fires');

    const started = Date.now();
    await beat('al-1', 91.5);
    const row = page.locator('tr[data-state="firing"]:has-text("e2e_cpu")');
    await row.waitFor({ timeout: 5000 });
    await page.waitForFunction(() => document.querySelector('[data-testid=firing-badge]')?.textContent === '1', undefined, {
      timeout: 5000,
    });
    const tookMs = Date.now() - started;
    assert.ok(tookMs < 3000, `shown ${tookMs} ms after the heartbeat`);
    assert.match((await row.textContent()) ?? '', /al-1/);
    assert.match((await row.textContent()) ?? '', /91\.5/);
    const alertId = Number(await row.getAttribute('data-alert-id'));

    // The session cookie alone (no CSRF token, as a forged request would send) changes nothing.
    const cookie = (await page.context().cookies())[0];
    const forged = await fetch(`${hub.url}/api/v1/alerts/${alertId}/ack`, {
      method: 'POST',
      headers: { cookie: `${cookie?.name}=${cookie?.value}`, origin: hub.url },
    });
    assert.equal(forged.status, 403);
    assert.equal((await api('GET', `/api/v1/alerts/${alertId}`)).body.alert.acknowledged_at, null);

    await row.locator('button:has-text("Acknowledge")').click();
    await row.locator('[data-testid=acked]').waitFor();
    assert.notEqual((await api('GET', `/api/v1/alerts/${alertId}`)).body.alert.acknowledged_at, null, 'stored');

    await row.locator('button:has-text("Silence…")').click();
    await row.locator('select[aria-label="Silence what"]').selectOption('both');
    await row.locator('select[aria-label="For how long"]').selectOption(String(4 * 3600));
    await row.locator('button[type=submit]:has-text("Silence")').click();
    await row.locator('[data-testid=silenced]').waitFor();
    const silences = (await api('GET', '/api/v1/silences')).body.silences as { rule_id: number; agent_id: string; until: number }[];
    assert.equal(silences.length, 1);
    assert.equal(silences[0]?.rule_id, rule.body.rule.id);
    assert.equal(silences[0]?.agent_id, 'al-1');
    assert.ok(Math.abs((silences[0]?.until ?? 0) - (Date.now() + 4 * 3600_000)) < 60_000, 'for the chosen four hours');

    await page.reload();
    const again = page.locator(`tr[data-alert-id="${alertId}"]`);
    await again.waitFor();
    await again.locator('[data-testid=acked]').waitFor();
    await again.locator('[data-testid=silenced]').waitFor();
    assert.equal(await again.locator('button:has-text("Acknowledge")').count(), 0);
    await page.screenshot({ path: `${ARTIFACTS}dashboard-alerts.png`, fullPage: true });

    // Back under the threshold (and past the hysteresis): it resolves live, with its reason, and the badge goes.
    await beat('al-1', 10);
    await page.locator(`tr[data-alert-id="${alertId}"][data-state="resolved"]:has-text("recovered")`).waitFor({ timeout: 5000 });
    await page.locator('[data-testid=firing-badge]').waitFor({ state: 'detached', timeout: 5000 });
  });

  test('a rule made in the form (checked as the API checks it) fires; rules are edited, disabled and deleted from the list', async () => {
    await register('al-2');
    await beat('al-2', 5, 100);
    const page = await openAlerts();
    await tab(page, 'Rules');
    await page.click('button:has-text("New rule")');
    const form = page.locator('form.rule-form');
    // Refused before the request, in the API's words.
    await form.locator('input[name=name]').fill('e2e_form');
    await form.locator('input[name=for_seconds]').fill('-5');
    await form.locator('input[name=threshold]').fill('400');
    await form.locator('button[type=submit]').click();
    assert.match((await page.textContent('[data-testid=rule-problem]')) ?? '', /body\.for_seconds must be >= 0/);
    // Refused by the API: its message is shown.
    await form.locator('input[name=for_seconds]').fill('0');
    await form.locator('input[name=name]').fill('e2e_cpu');
    await form.locator('button[type=submit]').click();
    await page.waitForFunction(() => /exists/.test(document.querySelector('[data-testid=rule-problem]')?.textContent ?? ''));

    await form.locator('input[name=name]').fill('e2e_form');
    await form.locator('select[name=metric]').selectOption('memory_mb');
    await form.locator('select[name=severity]').selectOption('critical');
    await form.locator('input[name=agent_id]').fill('al-2');
    await page.waitForFunction(() =>
      /matches 1 agent now: al-2/.test(document.querySelector('[data-testid=scope-matches]')?.textContent ?? ''),
    );
    await form.locator('input[name=pool_name]').fill('alerting');
    await page.screenshot({ path: `${ARTIFACTS}dashboard-alert-rule-form.png`, fullPage: true });
    await form.locator('button[type=submit]').click();
    const row = page.locator('tr[data-rule-name="e2e_form"]');
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /memory_mb > 400/);
    const stored = (
      (await api('GET', '/api/v1/alert-rules')).body.rules as { name: string; id: number; scope: object; severity: string }[]
    ).find((r) => r.name === 'e2e_form');
    assert.deepEqual(stored?.scope, { agent_id: 'al-2', pool_name: 'alerting' });
    assert.equal(stored?.severity, 'critical');
    await page.screenshot({ path: `${ARTIFACTS}dashboard-alert-rules.png`, fullPage: true });

    await tab(page, 'Alerts');
    await beat('al-2', 5, 900);
    const alertRow = page.locator('tr[data-state="firing"]:has-text("e2e_form")');
    await alertRow.waitFor({ timeout: 5000 });
    assert.match((await alertRow.textContent()) ?? '', /al-2/);

    // Edit: a higher threshold ends the open alert (rule_changed), as the API documents.
    await tab(page, 'Rules');
    await row.locator('button:has-text("Edit")').click();
    await page.locator('form.rule-form input[name=threshold]').fill('2000');
    await page.locator('form.rule-form button:has-text("Save rule")').click();
    await page.locator('tr[data-rule-name="e2e_form"]:has-text("memory_mb > 2000")').waitFor();
    await row.locator('input[type=checkbox]').click();
    await page.locator('tr[data-rule-name="e2e_form"]:has-text("off")').waitFor();
    assert.equal((await api('GET', `/api/v1/alert-rules/${stored?.id}`)).body.rule.enabled, false);
    await row.locator('button:has-text("Delete…")').click();
    await row.locator('button:has-text("Delete rule")').click();
    await row.waitFor({ state: 'detached' });
    assert.equal((await api('GET', `/api/v1/alert-rules/${stored?.id}`)).status, 404);
  });

  test('silences are listed, added and ended early', async () => {
    const page = await openAlerts();
    await tab(page, 'Silences');
    const rows = page.locator('tr[data-silence-id]');
    await rows.first().waitFor();
    const before = await rows.count();
    await page.fill('input[aria-label="Agent to silence"]', 'al-9');
    await page.selectOption('select[aria-label="Silence for"]', String(15 * 60));
    await page.fill('input[aria-label="Comment"]', 'maintenance <b>window</b>');
    await page.click('button:has-text("Add silence")');
    await page.locator('tr[data-silence-id]:has-text("al-9")').waitFor();
    assert.equal(await rows.count(), before + 1);
    assert.equal(await page.locator('tr[data-silence-id] b').count(), 0, 'the comment is text');
    await page.screenshot({ path: `${ARTIFACTS}dashboard-alert-silences.png`, fullPage: true });
    const made = ((await api('GET', '/api/v1/silences')).body.silences as { id: number; agent_id: string }[]).find(
      (s) => s.agent_id === 'al-9',
    );
    assert.ok(made);
    await page.locator(`tr[data-silence-id="${made.id}"] button:has-text("End now")`).click();
    await page.locator(`tr[data-silence-id="${made.id}"]`).waitFor({ state: 'detached' });
    const active = (await api('GET', '/api/v1/silences')).body.silences as { id: number }[];
    assert.ok(!active.some((s) => s.id === made.id), 'ended in the store');
  });

  test('webhooks are added (a refused URL says why), receive a firing, show it in the delivery log, and are deleted', async () => {
    const received: unknown[] = [];
    const receiver: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push(JSON.parse(body));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    try {
      const page = await openAlerts();
      await tab(page, 'Webhooks');
      await page.fill('input[aria-label="Webhook URL"]', 'http://169.254.169.254/latest');
      await page.click('button:has-text("Add webhook")');
      await page.waitForFunction(() => /refused/.test(document.querySelector('[data-testid=webhook-problem]')?.textContent ?? ''));
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/secret-path`;
      await page.fill('input[aria-label="Webhook URL"]', url);
      await page.fill('input[aria-label="Webhook name"]', 'e2e receiver');
      await page.click('button:has-text("Add webhook")');
      const row = page.locator('tr[data-webhook-id]:has-text("e2e receiver")');
      await row.waitFor();
      assert.doesNotMatch((await row.textContent()) ?? '', /secret-path/, 'the URL is shown redacted');
      await row.locator('button:has-text("Send test")').click();
      await row.locator('[data-testid=webhook-test]:has-text("Test delivered (HTTP 200)")').waitFor();
      assert.equal((received.shift() as { event?: string } | undefined)?.event, 'test', 'the receiver got the test payload');

      await register('al-3');
      const rule = await api('POST', '/api/v1/alert-rules', {
        name: 'e2e_hook',
        metric: 'cpu_percent',
        op: '>',
        threshold: 50,
        scope: { agent_id: 'al-3' },
      });
      assert.equal(rule.status, 201);
      await beat('al-3', 99);
      const deadline = Date.now() + 10_000;
      while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.equal(received.length, 1, 'the receiver got the firing');
      await row.locator('button:has-text("Delivery log")').click();
      await page.locator('tr[data-delivery-status="delivered"]:has-text("firing")').waitFor();
      await page.screenshot({ path: `${ARTIFACTS}dashboard-alert-webhooks.png`, fullPage: true });
      await row.locator('button:has-text("Delete")').click();
      await row.waitFor({ state: 'detached' });
      assert.equal((await api('GET', '/api/v1/webhooks')).body.webhooks.length, 0);
    } finally {
      await new Promise((r) => receiver.close(r));
    }
  });

  test("the agent page shows the agent's open alerts and the overview counts the firing ones", async () => {
    const page = await openAlerts('dark');
    await page.screenshot({ path: `${ARTIFACTS}dashboard-alerts-dark.png`, fullPage: true });
    const firing = ((await api('GET', '/api/v1/alerts?state=firing')).body.alerts as unknown[]).length;
    assert.ok(firing >= 1);
    await page.click('nav[aria-label=Main] >> text=Overview');
    await page.waitForFunction((n) => document.querySelector('[data-testid=card-alerts] .card-value')?.textContent === String(n), firing);
    await page.goto(`${hub.url}/agents/al-3`);
    const panel = page.locator('[data-testid=agent-alerts]');
    await panel.locator('tr[data-state="firing"]:has-text("e2e_hook")').waitFor();
    await beat('al-3', 1);
    await panel.locator('tr:has-text("e2e_hook")').waitFor({ state: 'detached', timeout: 5000 });
    await page.emulateMedia({ colorScheme: 'light' });
    await beat('al-3', 99);
    await panel.locator('tr[data-state="firing"]:has-text("e2e_hook")').waitFor({ timeout: 5000 });
    await page.screenshot({ path: `${ARTIFACTS}dashboard-agent-alerts.png` });
  });

  test('past the latest 300 alerts, Load older alerts brings the rest', async () => {
    await register('al-flap');
    const rule = await api('POST', '/api/v1/alert-rules', {
      name: 'e2e_flap',
      metric: 'cpu_percent',
      op: '>',
      threshold: 50,
      scope: { agent_id: 'al-flap' },
    });
    assert.equal(rule.status, 201);
    for (let i = 0; i < 310; i++) {
      await beat('al-flap', 99);
      await beat('al-flap', 1);
    }
    const page = await openAlerts();
    await page.fill('input[aria-label="Rule"]', 'e2e_flap');
    const rows = page.locator('tr[data-alert-id]');
    await rows.first().waitFor();
    const first = await rows.count();
    assert.ok(first < 310, `${first} shown before loading older ones`);
    await page.click('button:has-text("Load older alerts")');
    await page.waitForFunction(() => document.querySelectorAll('tr[data-alert-id]').length === 310);
    assert.equal(await page.locator('button:has-text("Load older alerts")').count(), 0, 'nothing older left');
  });
});
