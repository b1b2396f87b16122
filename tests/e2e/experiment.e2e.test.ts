// `veripo experiment --methods veripo,grpo --seeds 0 --budget 60s --set model.preset=tiny` end to
// end: its report is in the database and on the Experiments page. `npm run test:e2e` runs the
// command once into VERIPO_E2E_EXPERIMENT_DB; without it this file runs the command itself.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { serve, launch, ROOT, screenshotPath, type Served } from './harness';

/** The command exactly as documented; scripts/e2e.mjs runs the same one. */
const EXPERIMENT_ARGS = ['experiment', '--methods', 'veripo,grpo', '--seeds', '0', '--budget', '60s', '--set', 'model.preset=tiny'];

let server: Served;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'veripo-experiment-e2e-'));
  const db = join(dir, 'experiment.db');
  const given = process.env.VERIPO_E2E_EXPERIMENT_DB;
  if (given && existsSync(given)) copyFileSync(given, db);
  else {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'veripo.js'), ...EXPERIMENT_ARGS, '--name', 'ci-experiment', '--db', db], { env: { ...process.env, VERIPO_HOME: dir }, encoding: 'utf8', timeout: 3_000_000 });
    if (r.status !== 0) throw new Error(`veripo experiment exited with ${r.status}\n${r.stderr}`);
  }
  [server, browser] = await Promise.all([serve(db), launch()]);
  page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  await page.goto(server.url);
}, 3_600_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function api<T>(method: string, args: unknown = {}): Promise<T> {
  const res = await fetch(`${server.base}/api/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` }, body: JSON.stringify(args) });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

describe('veripo experiment, end to end', () => {
  it('stores one experiment with both runs finished and its report', async () => {
    const experiments = await api<{ id: number; name: string; run_count: number; has_report: boolean }[]>('listExperiments');
    const withReport = experiments.filter((e) => e.has_report);
    expect(withReport).toHaveLength(1);
    const exp = withReport[0]!;
    expect(exp.run_count).toBe(2);
    const runs = await api<{ preset: string; status: string; seed: number }[]>('listRuns', { experiment_id: exp.id });
    expect(runs.map((r) => `${r.preset}:${r.status}:${r.seed}`).sort()).toEqual(['grpo:finished:0', 'veripo:finished:0']);
    const report = await api<{ markdown: string; command: string; figures: { name: string; svg: string }[] }>('getExperimentReport', { experiment_id: exp.id });
    expect(report.command).toContain('veripo experiment --methods veripo,grpo --seeds 0 --budget 60s --set model.preset=tiny');
    expect(report.markdown).toMatch(/each run with 60 s of RL wall-clock/);
    expect(report.markdown).toMatch(/\| veripo \| 1 \| \d\.\d{3} \| \d\.\d{3} \|/);
    expect(report.markdown).toMatch(/\| grpo \| 1 \| \d\.\d{3} \| \d\.\d{3} \|/);
    expect(report.markdown).toContain('## Against grpo, paired over test tasks');
    expect(report.markdown).toContain('## Preference pairs by kind, per verify stage');
    expect(report.figures).toHaveLength(4);
  });

  it('shows the report on the Experiments page, figures drawn, and compares its runs', async () => {
    await page.goto(`${server.base}/#/experiments`);
    const reports = page.getByRole('region', { name: 'Experiment reports' });
    const article = page.getByRole('article', { name: 'Experiment report' });
    await article.waitFor({ timeout: 20_000 });
    await expect.poll(() => article.getByRole('heading', { name: /Against grpo/ }).count()).toBe(1);
    await expect.poll(() => article.getByRole('table').count()).toBeGreaterThanOrEqual(4);
    const figures = article.getByRole('img');
    await expect.poll(() => figures.count()).toBe(4);
    await expect.poll(() => figures.evaluateAll((imgs) => imgs.every((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0))).toBe(true);
    await reports.getByRole('button', { name: 'Compare its runs' }).click();
    await expect.poll(() => page.getByRole('table', { name: 'Runs' }).getByRole('checkbox', { checked: true }).count()).toBe(2);
    await figures.first().scrollIntoViewIfNeeded();
    await page.screenshot({ path: screenshotPath('experiment-report') });
  });
});
