import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { serve, launch, type Served } from './harness';

const PAGES = ['Experiments', 'Runs', 'Rollouts', 'Pairs', 'Rubrics', 'Settings'];

let server: Served;
let browser: Browser;

beforeAll(async () => {
  server = await serve(join(mkdtempSync(join(tmpdir(), 'veripo-e2e-')), 'shell.db'));
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('app shell in web mode', () => {
  it('loads and reaches every page from the navigation', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    // The token leaves the address bar once the client has stored it.
    await page.waitForFunction(() => !window.location.search.includes('token='));
    for (const title of PAGES) {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: title }).click();
      // The page switches on the hashchange event, after the click returns: wait for the
      // heading instead of sampling it once.
      await page.getByRole('heading', { level: 1, name: title }).waitFor({ state: 'visible', timeout: 10_000 });
      expect(new URL(page.url()).hash).toBe(`#/${title.toLowerCase()}`);
      await expect(page.getByRole('heading', { level: 1 }).count()).resolves.toBe(1);
    }
    expect(errors).toEqual([]);
    await page.close();
  });

  it('refuses API calls without the token, from the browser too', async () => {
    const page = await browser.newPage();
    await page.goto(server.base + '/');
    const status = await page.evaluate(async () => (await fetch('/api/health')).status);
    expect(status).toBe(401);
    const withToken = await page.evaluate(async (t) => (await fetch(`/api/health?token=${t}`)).status, server.token);
    expect(withToken).toBe(200);
    await page.close();
  });

  it('sends a Content-Security-Policy that only allows the app itself', async () => {
    const res = await fetch(server.base + '/');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/https?:/);
  });
});
