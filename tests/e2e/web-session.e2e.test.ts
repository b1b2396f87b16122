// Web mode's session cookie in a real browser: the URL token is exchanged once, then a new tab
// or a bookmark without ?token= works in the same browser profile, and not in another.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { serve, launch, type Served } from './harness';

let server: Served;
let browser: Browser;

beforeAll(async () => {
  server = await serve(join(mkdtempSync(join(tmpdir(), 'veripo-e2e-')), 'session.db'));
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('web mode session cookie', () => {
  it('a new tab without ?token= works after the first one authenticated; another profile gets 401', async () => {
    const profile = await browser.newContext();
    const first = await profile.newPage();
    await first.goto(server.url);
    await first.getByRole('heading', { level: 1 }).first().waitFor();
    const cookies = await profile.cookies(server.base);
    const session = cookies.find((c) => c.name.startsWith('veripo_session_'));
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    // document.cookie cannot read it: script on the page never sees the session.
    expect(await first.evaluate(() => document.cookie)).not.toContain('veripo_session_');

    const bookmark = await profile.newPage();
    const errors: string[] = [];
    bookmark.on('pageerror', (e) => errors.push(e.message));
    const statuses: number[] = [];
    bookmark.on('response', (r) => r.url().includes('/api/') && statuses.push(r.status()));
    await bookmark.goto(`${server.base}/#/runs`);
    await bookmark.getByRole('heading', { level: 1, name: 'Runs' }).waitFor();
    expect(await bookmark.evaluate(async () => (await fetch('/api/listRuns', { method: 'POST', body: '{}' })).status)).toBe(200);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 401)).toEqual([]);
    expect(errors).toEqual([]);

    const stranger = await browser.newContext();
    const other = await stranger.newPage();
    await other.goto(`${server.base}/`);
    expect(await other.evaluate(async () => (await fetch('/api/health')).status)).toBe(401);
    await stranger.close();
    await profile.close();
  });
});
