// The dashboard in a real browser against a real control plane: sign in, see the fleet, inject a crash from the
// chaos panel, watch the incident appear and resolve. Leaves a screenshot in artifacts/test-results/.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, startControlPlane, type RunningControlPlane } from './controlPlane';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const results = join(repoRoot, 'artifacts', 'test-results');

describe('dashboard in Chromium', () => {
  let plane: RunningControlPlane;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    plane = await startControlPlane();
    profile = mkdtempSync(join(tmpdir(), 'autonomic-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      viewport: { width: 1360, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
  });

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await plane?.stop();
  });

  it('signs in and shows the fleet with every replica ready', async () => {
    await page.goto(plane.api + '/');
    const signIn = page.getByLabel('API key');
    const fleet = page.getByRole('heading', { name: 'Fleet', level: 1 });
    await expect.poll(async () => (await signIn.isVisible()) || (await fleet.isVisible()), { timeout: 15_000 }).toBe(true);
    if (await signIn.isVisible()) {
      // With keys on, the control plane prints its bootstrap key; any key passes when auth is off.
      await signIn.fill(plane.key() ?? 'no-auth-configured');
      await page.getByRole('button', { name: 'Sign in' }).click();
    }
    await fleet.waitFor({ timeout: 15_000 });
    const web = page.locator('tbody[data-service="web"]');
    await expect.poll(() => web.locator('.replicas').textContent(), { timeout: 15_000 }).toBe('2/2');
    // Every instance of the demo fleet (web x2, worker, api) is listed and ready.
    await expect.poll(() => readyOfAll(page), { timeout: 15_000 }).toBe('4/4');
    expect(await page.getByTestId('open-incidents').textContent()).toBe('0');
  });

  it('injects a crash from the chaos panel', async () => {
    const chaos = page.getByRole('region', { name: /chaos/i });
    await chaos.getByLabel('Fault').selectOption('kill');
    await chaos.getByLabel('Target').selectOption('web-0');
    await chaos.getByRole('button', { name: 'Inject fault' }).click();
    await expect.poll(() => chaos.getByRole('status').textContent(), { timeout: 10_000 }).toMatch(/kill → web-0: SIGKILL sent to pid \d+/);
    // The healer restarts it: web-0 counts one restart and is ready again.
    const web0 = page.locator('tr[data-instance="web-0"]');
    await expect.poll(async () => [await web0.getAttribute('data-state'), await web0.locator('td.num').first().textContent()], { timeout: 30_000 })
      .toEqual(['ready', '1']);
  });

  it('shows the incident on the timeline until it resolves, with its actions', async () => {
    await page.getByRole('link', { name: 'Incidents' }).click();
    // On a busy machine a slow liveness probe may open other incidents too: pick the crash of web-0.
    const item = page.locator('li.timeline-item')
      .filter({ has: page.locator('.cause', { hasText: /^crash$/ }) })
      .filter({ has: page.locator('.where', { hasText: /^web-0$/ }) })
      .first();
    await item.waitFor({ timeout: 15_000 });
    await item.locator('a').click();
    const detail = page.locator('article.incident-detail');
    await detail.waitFor({ timeout: 10_000 });
    await expect.poll(() => detail.getByRole('cell', { name: 'restart', exact: true }).count(), { timeout: 15_000 }).toBeGreaterThan(0);
    // Resolved once the restarted replica has stayed healthy for the reset period (10 s in the demo fleet).
    await expect.poll(() => item.getAttribute('data-status'), { timeout: 60_000, intervals: [500] }).toBe('resolved');
    await expect.poll(() => detail.locator('.phases li.done').count(), { timeout: 10_000 }).toBe(4);
    mkdirSync(results, { recursive: true });
    await page.screenshot({ path: join(results, 'dashboard-incident.png'), fullPage: true });
  });

  it('deep-links to a service page and returns to the fleet', async () => {
    await page.goto(plane.api + '/services/web');
    await page.getByRole('heading', { name: 'Service web' }).waitFor({ timeout: 15_000 });
    await expect.poll(() => page.locator('tr.instance-row').count(), { timeout: 10_000 }).toBe(2);
    // The replicas chart fills from the status answers; the healer's restart of web-0 is among the actions.
    await expect.poll(() => page.locator('.chart .u-over').count(), { timeout: 10_000 }).toBe(5);
    await expect.poll(() => page.getByRole('cell', { name: 'restart', exact: true }).count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await page.screenshot({ path: join(results, 'dashboard-service.png'), fullPage: true });
    await page.getByRole('link', { name: 'Fleet' }).click();
    await page.getByRole('heading', { name: 'Fleet', level: 1 }).waitFor();
    await expect.poll(() => readyOfAll(page), { timeout: 15_000 }).toBe('4/4');
    await page.screenshot({ path: join(results, 'dashboard.png'), fullPage: true });
    // The strict Content-Security-Policy blocked nothing the app needs.
    expect(consoleErrors.filter((e) => /Content Security Policy|Refused to/i.test(e))).toEqual([]);
  });
});

/** "ready/all" over the fleet table's instance rows. */
async function readyOfAll(page: import('playwright-core').Page): Promise<string> {
  const ready = await page.locator('tr.instance-row[data-state="ready"]').count();
  const all = await page.locator('tr.instance-row').count();
  return `${ready}/${all}`;
}
