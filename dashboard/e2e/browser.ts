// Debian's Chromium through playwright-core, headless with a fresh profile, and the dashboard's sign-in.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { RunningControlPlane } from './controlPlane';

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions of the page. */
  errors: string[];
  close: () => Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'autonomic-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1360, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  const close = async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, page, errors, close };
}

/** Opens `path` and signs in with the key the control plane printed (any key passes when auth is off). */
export async function openSignedIn(page: Page, plane: RunningControlPlane, path: string, heading: string): Promise<void> {
  await page.goto(plane.api + path);
  const signIn = page.getByLabel('API key');
  const title = page.getByRole('heading', { name: heading, level: 1 });
  const deadline = Date.now() + 15_000;
  while (!(await signIn.isVisible()) && !(await title.isVisible())) {
    if (Date.now() > deadline) throw new Error(`neither the sign-in form nor "${heading}" appeared at ${path}`);
    await page.waitForTimeout(100);
  }
  if (await signIn.isVisible()) {
    await signIn.fill(plane.key() ?? 'no-auth-configured');
    await page.getByRole('button', { name: 'Sign in' }).click();
  }
  await title.waitFor({ timeout: 15_000 });
}
