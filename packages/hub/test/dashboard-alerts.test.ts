import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
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

describe('alerts on the dashboard, in Chromium', { skip }, () => {
  let hub: TestHub;
  const contexts: BrowserContext[] = [];

  before(async () => {
    assert.ok(existsSync(BUILD), `${BUILD} is missing: npm test builds it (npm run build:web)`);
    mkdirSync(ARTIFACTS, { recursive: true });
    hub = await startTestHub('sqlite', { flags: ['--host-metrics-interval', '0'] });
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
  const beat = async (id: string, cpu: number) => {
    const r = await api('POST', `/api/v1/agents/${id}/heartbeat`, { status: 'online', metrics: { cpu_percent: cpu } });
    assert.equal(r.status, 200);
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
    await page.waitForFunction(() => document.querySelector('[data-testid=firing-badge]')?.textContent === '1', undefined, { timeout: 5000 });
    const tookMs = Date.now() - started;
    assert.ok(tookMs < 3000, `shown ${tookMs} ms after the heartbeat`);
    assert.match((await row.textContent()) ?? '', /al-1/);
    assert.match((await row.textContent()) ?? '', /91\.5/);
    const alertId = Number(await row.getAttribute('data-alert-id'));

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
});
