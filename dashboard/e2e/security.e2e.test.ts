// The Security page in a real browser against a real demo control plane running the security agent: an API key
// brute force from 127.0.0.2 (loopback, outside the default allowlist 127.0.0.1/32 and ::1) is detected, blocked and
// shown; Unblock on the page lifts the block where traffic flows; an instance is quarantined and released from the
// page's form. Leaves artifacts/test-results/dashboard-security.png.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, openSignedIn, type Browser } from './browser';
import { repoRoot, requestFrom, startControlPlane, type RunningControlPlane } from './controlPlane';

const results = join(repoRoot, 'artifacts', 'test-results');
const attacker = '127.0.0.2';

/** The line a section shows after an action: success or the problem's detail (short timeout: polled). */
const outcome = (section: Locator) => section.locator('p.success, p.alert').first().textContent({ timeout: 1_000 });

/** A key of the right shape that the control plane never issued. */
const wrongKey = () => `ak_${randomBytes(6).toString('hex')}_${randomBytes(32).toString('base64url')}`;

describe('security page in Chromium', () => {
  let plane: RunningControlPlane;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    plane = await startControlPlane();
    browser = await launchBrowser();
    page = browser.page;
  });

  afterAll(async () => {
    await browser?.close();
    await plane?.stop();
  });

  it('shows the brute-force alert and the block of its source, and Unblock lifts the block', async () => {
    await openSignedIn(page, plane, '/security', 'Security');
    const blocks = page.getByRole('region', { name: 'Blocked addresses' });
    await blocks.getByText('Nothing is blocked.').waitFor({ timeout: 15_000 });

    // Before: the attacker's address reaches the API and is refused for its key, not for where it comes from.
    expect((await requestFrom(plane.api, '/api/v1/status', attacker, wrongKey())).status).toBe(401);

    // The attack: a dozen guesses at the API key. The rule bans at 10 failures a minute; the last guesses may
    // already meet the block.
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await requestFrom(plane.api, '/api/v1/status', attacker, wrongKey())).status);
    expect(statuses.slice(0, 9)).toEqual(Array(9).fill(401));
    expect(statuses.every((s) => s === 401 || s === 403)).toBe(true);

    // The page shows the block (from the stream's security.response or the next poll) ...
    const blockRow = blocks.locator(`tr[data-ip="${attacker}"]`);
    await blockRow.waitFor({ timeout: 30_000 });
    const blockCells = await blockRow.locator('td').allTextContents();
    expect(blockCells[0]).toBe(attacker);
    expect(blockCells[1]).toBe('http-auth-bruteforce');
    expect(blockCells[2]).toContain(`status:401 events from ${attacker} within 60 s`);
    expect(blockCells[5]).toBe('1');

    // ... and the alert that caused it.
    const alerts = page.getByRole('region', { name: 'Alerts' });
    const alertRow = alerts.locator('tr[data-rule="http-auth-bruteforce"]').filter({ has: page.locator('td.source', { hasText: attacker }) });
    await alertRow.first().waitFor({ timeout: 30_000 });
    const alertCells = await alertRow.first().locator('td').allTextContents();
    expect(alertCells.slice(1, 6)).toEqual(['http-auth-bruteforce', 'brute force', 'high', attacker, 'block']);
    // Its evidence is the failed requests, folded until opened.
    await alertRow.first().locator('summary').click();
    const evidence = await alertRow.first().locator('details li').allTextContents();
    expect(evidence.length).toBeGreaterThanOrEqual(10);
    expect(evidence[0]).toMatch(new RegExp(`^${attacker.replace(/\./g, '\\.')} .*"GET /api/v1/status" 401`));

    // The block is enforced where traffic flows: the source now gets 403 problem details.
    const blocked = await requestFrom(plane.api, '/api/v1/status', attacker, wrongKey());
    expect(blocked.status).toBe(403);
    expect(JSON.parse(blocked.body)).toMatchObject({ title: 'source blocked', rule: 'http-auth-bruteforce' });
    // Other addresses are not affected: the browser (127.0.0.1) still reads the API.
    expect((await requestFrom(plane.api, '/api/v1/status', '127.0.0.1', plane.key())).status).toBe(200);

    mkdirSync(results, { recursive: true });
    await page.screenshot({ path: join(results, 'dashboard-security.png'), fullPage: true });

    await blocks.getByRole('button', { name: `Unblock ${attacker}` }).click();
    await expect.poll(() => outcome(blocks), { timeout: 10_000 }).toBe(`${attacker} unblocked`);
    await blockRow.waitFor({ state: 'detached', timeout: 10_000 });
    await blocks.getByText('Nothing is blocked.').waitFor({ timeout: 10_000 });
    // Lifted at once: the next wrong key from there is a plain 401 again, not a 403.
    const after = await requestFrom(plane.api, '/api/v1/status', attacker, wrongKey());
    expect(after.status).toBe(401);

    // The security agent's trail lists the block and the operator's unblock (action, subject, rule, status).
    const actions = page.getByRole('region', { name: 'Actions' });
    const trail = () => actions.locator('tbody tr').evaluateAll((rows) =>
      rows.map((r) => Array.from(r.querySelectorAll('td'), (td) => td.textContent ?? '').slice(1, 5).join(' ')));
    await expect.poll(trail, { timeout: 15_000 }).toContain(`unblock ${attacker} security.manual succeeded`);
    expect(await trail()).toContain(`block ${attacker} http-auth-bruteforce succeeded`);
  });

  it('quarantines an instance from the form, lists it and releases it', async () => {
    const panel = page.getByRole('region', { name: 'Quarantined instances' });
    await panel.getByText('No instance is quarantined.').waitFor({ timeout: 10_000 });

    // An unknown instance: the API's problem detail is shown.
    await panel.getByLabel('Instance', { exact: true }).fill('web-9');
    await panel.getByRole('button', { name: 'Quarantine' }).click();
    await expect.poll(() => outcome(panel), { timeout: 10_000 }).toBe("there is no instance 'web-9'");

    await panel.getByLabel('Instance', { exact: true }).fill('web-0');
    await panel.getByLabel('For', { exact: true }).fill('20m');
    await panel.getByLabel('Reason', { exact: true }).fill('e2e: suspicious outbound traffic');
    await panel.getByRole('button', { name: 'Quarantine' }).click();
    await expect.poll(() => outcome(panel), { timeout: 10_000 }).toMatch(/^web-0 quarantined until /);
    const row = panel.locator('tr[data-target="web-0"]');
    await row.waitFor({ timeout: 10_000 });
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(0, 4)).toEqual(['web-0', 'security.manual', 'bootstrap', 'e2e: suspicious outbound traffic']);
    // For 20 minutes, as asked.
    const headers: Record<string, string> = plane.key() ? { Authorization: `Bearer ${plane.key()}` } : {};
    const listed = (await (await fetch(`${plane.api}/api/v1/security/quarantines`, { headers })).json()) as { response: { target: string; since: string; until: string } }[];
    const record = listed.find((v) => v.response.target === 'web-0')?.response;
    expect(record).toBeDefined();
    expect(Date.parse(record!.until) - Date.parse(record!.since)).toBe(20 * 60_000);
    await page.screenshot({ path: join(results, 'dashboard-security-quarantine.png'), fullPage: true });

    await panel.getByRole('button', { name: 'Release web-0' }).click();
    await expect.poll(() => outcome(panel), { timeout: 10_000 }).toBe('web-0 released');
    await row.waitFor({ state: 'detached', timeout: 10_000 });
    await panel.getByText('No instance is quarantined.').waitFor({ timeout: 10_000 });
    expect(browser.errors.filter((e) => /Content Security Policy|Refused to/i.test(e))).toEqual([]);
  });
});
