// The workbench pages in Chromium against web mode. `npm run test:e2e` fills VERIPO_E2E_DB with a
// real smoke run (`veripo run --preset smoke`) plus a 10 000-rollout imported run; without it the
// demo seed (scripts/demo-db.ts) stands in, for quick iteration on the UI alone.
// Assertions are about structure (roles, counts > 0, state changes), not seeded values.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { serve, launch, ROOT, type Served } from './harness';
import { seedDemoDb, addImportedRollouts, addCurationRun, addSftLengthRuns } from '../../scripts/demo-db';

/** Screenshots of every page at 1440×900, the ones README shows. */
function screenshotPath(name: string): string {
  const dir = join(ROOT, 'docs', 'screenshots');
  mkdirSync(dir, { recursive: true });
  return join(dir, `${name}.png`);
}

let server: Served;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const requests: string[] = [];
const pageErrors: string[] = [];
let sftLengthRuns: number[] = [];
let dbFile = '';
let dialogs = 0;
/** What the next dialogs answer (confirm / beforeunload). */
let dialogAnswer = true;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'veripo-ui-'));
  const db = join(dir, 'ui.db');
  dbFile = db;
  const given = process.env.VERIPO_E2E_DB;
  if (given && existsSync(given)) {
    copyFileSync(given, db);
    addImportedRollouts(db, 10_000, { pairs: 5000 });
  } else seedDemoDb(db, { imported: 10_000, importedPairs: 5000 });
  addCurationRun(db, 10);
  sftLengthRuns = addSftLengthRuns(db);
  [server, browser] = await Promise.all([serve(db), launch()]);
  context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  context.on('request', (r) => requests.push(r.url()));
  page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('dialog', (d) => {
    dialogs++;
    void (dialogAnswer ? d.accept() : d.dismiss());
  });
  await page.goto(server.url);
  await page.waitForFunction(() => !window.location.search.includes('token='));
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function open(title: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: title }).click();
  await page.getByRole('heading', { level: 1, name: title }).waitFor();
}

async function api<T>(method: string, args: unknown = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(`${server.base}/api/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
    body: JSON.stringify(args),
  });
  return { status: res.status, body: (await res.json()) as T };
}

describe('workbench pages', () => {
  it('time to interactive of every page under 1 s with 10 000 rollouts and 5 000 pairs in the database', async () => {
    const pairs = await api<{ total: number }>('listPairs', { limit: 1 });
    expect(pairs.body.total).toBeGreaterThanOrEqual(5000);
    // Interactive: the element a researcher acts on first is rendered and enabled.
    const ready: Record<string, (p: Page) => Promise<unknown>> = {
      experiments: (p) => p.getByRole('table', { name: 'Runs' }).getByRole('checkbox').first().waitFor(),
      runs: (p) => p.getByRole('button', { name: 'Start run' }).waitFor(),
      rollouts: (p) => p.getByRole('list', { name: 'Rollouts' }).locator('button.rrow').first().waitFor(),
      pairs: (p) => p.getByRole('list', { name: 'Pairs' }).locator('button.rrow').first().waitFor(),
      rubrics: (p) => p.locator('.monaco-editor .view-lines').first().waitFor(),
      settings: (p) => p.getByRole('button', { name: 'Test connection' }).waitFor(),
    };
    const runs = await api<{ id: number; name: string | null }[]>('listRuns');
    const imported = runs.body.find((r) => r.name?.includes('trl_rollouts'));
    const route: Record<string, string> = { rollouts: imported ? `rollouts?run=${imported.id}` : 'rollouts' };
    const report: string[] = [];
    const medians: Record<string, number> = {};
    for (const [id, wait] of Object.entries(ready)) {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        // A fresh document each time (a hash change alone would not reload the app).
        await page.goto('about:blank');
        await page.goto(`${server.base}/#/${route[id] ?? id}`);
        await wait(page);
        times.push(await page.evaluate(() => performance.now()));
      }
      times.sort((a, b) => a - b);
      medians[id] = times[2]!;
      report.push(`${id} ${times[2]!.toFixed(0)} ms (${times[0]!.toFixed(0)}–${times[4]!.toFixed(0)})`);
    }
    console.log(`[ui e2e] time to interactive (median of 5 loads, range in brackets, 10k rollouts, ${pairs.body.total} pairs): ${report.join(', ')}`);
    // The target holds on an idle machine; when other work saturates the cores, only a
    // pathological page (several seconds) fails, and the log says which bound applied.
    const busy = loadavg()[0]! > cpus().length;
    const bound = busy ? 6000 : 1000;
    console.log(`[ui e2e] load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores: ${busy ? 'busy machine, bound 6 s' : 'bound 1 s'}`);
    for (const [id, ms] of Object.entries(medians)) expect(ms, `${id} time to interactive`).toBeLessThan(bound);
  });

  it('Experiments: runs table, sorting, comparison charts and stage timelines', async () => {
    await open('Experiments');
    const table = page.getByRole('table', { name: 'Runs' });
    await table.getByRole('row').nth(1).waitFor();
    const rows = await table.locator('tbody tr').count();
    expect(rows).toBeGreaterThan(0);
    // Sorting by seed flips aria-sort.
    await table.getByRole('button', { name: /^Seed/ }).click();
    await expect(table.locator('th[aria-sort="ascending"]').textContent()).resolves.toContain('Seed');
    // Select every run for comparison (the first finished ones may already be selected).
    // Compare every trained run (imported rollout files have no curves).
    const trainedRows = table.locator('tbody tr').filter({ hasNotText: 'imported' });
    const names = await trainedRows.getByRole('checkbox').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')!));
    for (const name of names) await table.getByRole('checkbox', { name, exact: true }).check();
    const charts = page.getByRole('figure');
    await charts.first().locator('canvas').waitFor();
    expect(await page.locator('figure canvas').count()).toBeGreaterThan(0);
    const timelines = page.getByRole('list', { name: /^Stage timeline of run/ });
    const checkedCount = await table.getByRole('checkbox', { checked: true }).count();
    await expect.poll(() => timelines.count(), { timeout: 10_000 }).toBe(checkedCount);
    await expect.poll(() => timelines.first().getByRole('listitem').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    // Runs that differ only in SFT length (150 vs 400 steps) overlap on the RL step axis.
    const checked = table.getByRole('checkbox', { checked: true });
    while ((await checked.count()) > 0) await checked.first().uncheck();
    for (const id of sftLengthRuns) await table.getByRole('checkbox', { name: `Compare run ${id}` }).check();
    const accuracy = page.getByRole('table', { name: 'Accuracy series' });
    const range = async (id: number, axisLabel: string) => {
      const row = accuracy.locator(`tr[data-series="#${id} grpo/accuracy"]`);
      await page.locator(`figure[data-x="${axisLabel}"]`).first().waitFor();
      return JSON.parse((await row.getAttribute('data-xs'))!) as number[];
    };
    const [a, b] = sftLengthRuns as [number, number];
    expect(await range(a, 'RL step')).toEqual(await range(b, 'RL step'));
    expect((await range(a, 'RL step'))[0]).toBe(1);
    await page.getByRole('radio', { name: 'global step (SFT included)' }).check();
    expect((await range(a, 'global step (SFT included)'))[0]).toBe(150);
    expect((await range(b, 'global step (SFT included)'))[0]).toBe(400);
    // RL wall-clock: cumulative across stages (no zig-zag), so monotonic within each run.
    await page.getByRole('radio', { name: 'RL wall-clock (s)' }).check();
    for (const id of sftLengthRuns) {
      const xs = await range(id, 'RL wall-clock (s)');
      expect(xs.length).toBe(32);
      for (let i = 1; i < xs.length; i++) expect(xs[i]!).toBeGreaterThanOrEqual(xs[i - 1]!);
      // The second GRPO stage starts after the first GRPO, verify and DPO stages' training seconds.
      expect(xs[16]).toBeCloseTo(8 + 0 + 4 + 0.5, 6);
    }
    // Hover shows every series' value; the runs get distinct colours; only differing config keys are listed.
    const canvas = page.locator('figure[data-x="RL wall-clock (s)"] canvas').first();
    const boxOf = (await canvas.boundingBox())!;
    await page.mouse.move(boxOf.x + boxOf.width * 0.5, boxOf.y + boxOf.height * 0.5);
    const values = await page.locator('figure[data-x="RL wall-clock (s)"]').first().locator('.u-legend .u-value').allTextContents();
    expect(values.filter((v) => v && v !== '—').length).toBeGreaterThan(1);
    const swatches = await page.getByRole('list', { name: 'Run colours' }).locator('.swatch').evaluateAll((els) => els.map((e) => getComputedStyle(e).backgroundColor));
    expect(new Set(swatches).size).toBe(swatches.length);
    const selected = page.getByRole('table', { name: 'Selected runs' });
    expect(await selected.locator('thead th').allTextContents()).toContain('sft.steps');
    expect(await selected.locator('thead th').allTextContents()).not.toContain('grpo.beta');
    // Timelines share one time scale: the shorter run's bar is narrower.
    const widths = await Promise.all(sftLengthRuns.map((id) => page.getByRole('list', { name: `Stage timeline of run ${id}` }).evaluate((el) => [...el.children].reduce((w, c) => w + c.getBoundingClientRect().width, 0))));
    expect(widths[0]!).toBeLessThan(widths[1]!);
    await page.getByRole('radio', { name: 'RL step' }).check();
    await page.screenshot({ path: screenshotPath('experiments'), fullPage: false });
  });

  it('Rollouts: 10 000 imported rollouts scroll smoothly in the windowed list', async (ctx) => {
    await open('Rollouts');
    const runSelect = page.getByLabel('Run', { exact: true });
    await runSelect.locator('option').first().waitFor({ state: 'attached' });
    const imported = await runSelect.locator('option', { hasText: 'imported' }).first();
    if (!(await imported.count())) {
      console.warn('[ui e2e] no imported run in this DB: 10k scrolling not measured');
      ctx.skip();
      return;
    }
    await runSelect.selectOption((await imported.getAttribute('value'))!);
    const count = page.getByRole('status', { name: 'Rollout count' });
    await expect.poll(async () => Number(/(\d+) rollouts/.exec((await count.textContent()) ?? '')?.[1] ?? -1), { timeout: 15_000 }).toBeGreaterThanOrEqual(10_000);
    const list = page.getByRole('list', { name: 'Rollouts' });
    // Jumps: time from setting scrollTop until the rows there are fetched and drawn.
    const jumps: number[] = [];
    for (const f of [0.25, 0.5, 0.75, 1]) {
      const t0 = Date.now();
      await list.evaluate((el, frac) => (el.scrollTop = frac * (el.scrollHeight - el.clientHeight)), f);
      await expect.poll(() => list.locator('.vplaceholder').count(), { timeout: 10_000, interval: 20 }).toBe(0);
      jumps.push(Date.now() - t0);
    }
    // Continuous scrolling: frame times while scrolling 150 px per animation frame through loaded pages.
    const frames = await list.evaluate(
      (el) =>
        new Promise<number[]>((resolve) => {
          el.scrollTop = 0;
          const out: number[] = [];
          let last = performance.now();
          const tick = (now: number) => {
            out.push(now - last);
            last = now;
            el.scrollTop += 150;
            if (out.length < 120) requestAnimationFrame(tick);
            else resolve(out.slice(1));
          };
          requestAnimationFrame(tick);
        }),
    );
    const sorted = [...frames].sort((a, b) => a - b);
    const p95 = sorted[Math.floor(sorted.length * 0.95)]!;
    const domRows = await list.getByRole('listitem').count();
    console.log(`[ui e2e] 10k rollouts: jump-to-render ms ${jumps.join(', ')}; scroll frame p50 ${sorted[sorted.length >> 1]!.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms; ${domRows} rows in the DOM`);
    expect(domRows).toBeLessThan(100);
    // Loose bounds (headless Chromium on 2 shared cores): each jump well under a second or two, no long frames.
    expect(Math.max(...jumps)).toBeLessThan(3000);
    expect(p95).toBeLessThan(100);
    // Imported rollouts have no task video: the group view says so instead of a filmstrip.
    await list.evaluate((el) => (el.scrollTop = 0));
    await list.locator('button.rrow').first().click();
    await page.getByRole('article', { name: /^Prompt group/ }).locator('.filmstrip', { hasText: 'video: clips/' }).waitFor();
  });

  it('Rollouts: a prompt group with frames, verdicts and highlighted spans; filters; create a pair', async () => {
    await open('Rollouts');
    const runSelect = page.getByLabel('Run', { exact: true });
    await runSelect.locator('option').first().waitFor({ state: 'attached' });
    const trained = runSelect.locator('option', { hasText: '(finished)' }).filter({ hasNotText: 'imported' }).first();
    if (await trained.count()) await runSelect.selectOption((await trained.getAttribute('value'))!);
    const count = page.getByRole('status', { name: 'Rollout count' });
    const shown = async () => Number(/(\d+) rollouts/.exec((await count.textContent()) ?? '')?.[1] ?? -1);
    await expect.poll(shown, { timeout: 15_000 }).toBeGreaterThan(0);
    const total = Number(/(\d+)/.exec((await count.textContent())!)![1]);
    const list = page.getByRole('list', { name: 'Rollouts' });
    await list.locator('button.rrow').first().click();
    const group = page.getByRole('article', { name: /^Prompt group/ });
    await group.waitFor();
    const cards = group.getByRole('region', { name: /^Rollout \d+/ });
    await expect.poll(() => cards.count(), { timeout: 10_000 }).toBeGreaterThan(1);
    await expect.poll(() => group.getByRole('list', { name: 'Verifier checks' }).first().getByRole('listitem').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    // Filter: only inconsistent rollouts, whose flagged span is highlighted. A tiny policy's
    // smoke run may have none; the imported run (a fifth inconsistent) stands in then.
    await page.getByLabel('Consistent').selectOption('no');
    await expect.poll(shown, { timeout: 10_000 }).toBeLessThan(total);
    const trainedRun = await runSelect.inputValue();
    // A row the verifier flagged: the filter also matches unverified GRPO rollouts by their
    // consistency reward, and those carry no verifier spans to highlight.
    const flagged = (rows: Locator) => rows.filter({ hasText: 'incons.' }).filter({ hasNotText: 'unverified' });
    let row = flagged(list.locator('button.rrow'));
    if ((await shown()) === 0 || (await row.count()) === 0) {
      const imported = runSelect.locator('option', { hasText: 'imported' }).first();
      await runSelect.selectOption((await imported.getAttribute('value'))!);
      await expect.poll(shown, { timeout: 15_000 }).toBeGreaterThan(0);
      // The count updates before the list does: click a row of the imported run, not one
      // of the trained run's still on screen.
      row = flagged(list.locator('button.rrow[aria-label*="prompt ext-"]'));
    }
    await row.first().click();
    await page.locator('.cot mark.hl-consistency').first().waitFor();
    if ((await runSelect.inputValue()) !== trainedRun) await runSelect.selectOption(trainedRun);
    await page.getByLabel('Consistent').selectOption('');
    await expect.poll(shown, { timeout: 10_000 }).toBe(total);
    await list.locator('button.rrow.group-start').nth(0).click();
    const head = page.getByRole('article', { name: /^Prompt group/ });
    // Frames when the task is from the benchmark; otherwise a note (never a crash).
    await Promise.race([
      head.getByRole('img', { name: 'frame 1' }).waitFor({ timeout: 20_000 }),
      head.getByRole('alert').waitFor({ timeout: 20_000 }),
      head.getByText(/No video|video:/).waitFor({ timeout: 20_000 }),
    ]);
    await page.screenshot({ path: screenshotPath('rollouts') });
    // Manual pair from two rollouts of the same prompt.
    const g = page.getByRole('article', { name: /^Prompt group/ });
    const regions = g.getByRole('region', { name: /^Rollout \d+/ });
    await regions.nth(0).getByRole('button', { name: 'Chosen' }).click();
    await regions.nth(1).getByRole('button', { name: 'Rejected' }).click();
    await g.getByRole('button', { name: 'Create pair' }).click();
    // A pair made by hand is pending until someone accepts it: export does not take it yet.
    await g.getByRole('status').filter({ hasText: /Created pair #\d+ \(manual, pending\)/ }).waitFor();
  });

  it('Rollouts: group side by side, filter marks without hiding, keyboard navigation, one legend, frame player, deep link follows the selection', async () => {
    await open('Rollouts');
    const runSelect = page.getByLabel('Run', { exact: true });
    await runSelect.locator('option').first().waitFor({ state: 'attached' });
    const trained = runSelect.locator('option', { hasText: '(finished)' }).filter({ hasNotText: 'imported' }).filter({ hasNotText: 'sft ' }).first();
    await runSelect.selectOption((await trained.getAttribute('value'))!);
    const runId = await runSelect.inputValue();
    const list = page.getByRole('list', { name: 'Rollouts' });
    await list.locator('button.rrow').first().click();
    const group = page.getByRole('article', { name: /^Prompt group/ });
    const cards = group.getByRole('region', { name: /^Rollout \d+/ });
    await expect.poll(() => cards.count(), { timeout: 10_000 }).toBeGreaterThan(1);
    // Side by side: the first two completions share a row.
    const [a, b] = [(await cards.nth(0).boundingBox())!, (await cards.nth(1).boundingBox())!];
    expect(Math.abs(a.y - b.y)).toBeLessThan(2);
    expect(b.x).toBeGreaterThan(a.x);
    expect(await cards.first().textContent()).toMatch(/reward .*adv/);
    // Keyboard: j selects the next rollout, and the address follows the selection.
    const pressed = () => list.locator('button.rrow[aria-pressed="true"]').getAttribute('aria-label');
    const before = await pressed();
    await page.locator('h1').click();
    await page.keyboard.press('j');
    await expect.poll(pressed).not.toBe(before);
    const selectedId = /Rollout (\d+)/.exec((await pressed())!)![1];
    expect(page.url()).toContain(`run=${runId}`);
    expect(page.url()).toContain(`rollout=${selectedId}`);
    await page.keyboard.press('Shift+J');
    await expect.poll(async () => (await group.getAttribute('aria-label')) !== null).toBe(true);
    // One legend names every highlighted kind on screen.
    const legend = await group.getByLabel('Highlight legend').locator('mark').evaluateAll((els) => els.map((e) => e.getAttribute('data-kind')));
    expect(legend.slice(0, 4)).toEqual(['consistency', 'repetition', 'grounding', 'reflection']);
    const shown = await group.locator('.cot mark').evaluateAll((els) => [...new Set(els.map((e) => e.className.replace('hl-', '')))]);
    for (const k of shown) expect(legend).toContain(k);
    // A filter marks the matching completions and keeps the rest of the group in view.
    await page.getByLabel('Correct').selectOption('yes');
    await list.locator('button.rrow').first().click();
    await expect.poll(() => group.locator('[data-match="true"]').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    const all = await cards.count();
    const matching = await group.locator('[data-match="true"]').count();
    expect(all).toBeGreaterThanOrEqual(matching);
    await page.getByLabel('Correct').selectOption('');
    // Frames open in a player that steps frame by frame.
    const frame = group.getByRole('img', { name: 'frame 1', exact: true });
    if (await frame.count()) {
      await frame.click();
      const player = page.getByRole('dialog', { name: 'Frame player' });
      await player.waitFor();
      expect(await player.getByLabel('Frame position').textContent()).toMatch(/^frame 1 \/ \d+$/);
      await page.keyboard.press('ArrowRight');
      await expect.poll(() => player.getByLabel('Frame position').textContent()).toMatch(/^frame 2 \//);
      const img = player.getByRole('img', { name: 'frame 2, full size' });
      expect((await img.boundingBox())!.width).toBeGreaterThan(200);
      await page.keyboard.press('Escape');
      await player.waitFor({ state: 'detached' });
    }
  });

  it('Pairs: counts, side-by-side diff, keyboard decisions that survive a reload', async () => {
    await open('Pairs');
    const counts = page.getByLabel('Pair counts');
    await counts.waitFor();
    await page.getByRole('list', { name: 'Pairs' }).locator('button.rrow').first().waitFor();
    await expect(page.getByLabel('Keyboard shortcuts').textContent()).resolves.toMatch(/accept.*reject.*swap.*next.*previous/);
    const detail = page.getByRole('article', { name: /^Pair \d+/ });
    await detail.getByRole('region', { name: 'Chosen' }).waitFor();
    await detail.getByRole('region', { name: 'Rejected' }).waitFor();
    // Go to a pending pair (filter), note its id, accept it with the keyboard.
    await page.getByLabel('Status', { exact: true }).selectOption('pending');
    await page.getByRole('list', { name: 'Pairs' }).locator('button.rrow').first().click();
    await page.keyboard.press('j');
    const name = (await page.getByRole('article', { name: /^Pair \d+/ }).getAttribute('aria-label'))!;
    const id = Number(/\d+/.exec(name)![0]);
    await page.keyboard.press('a');
    const statusOf = async (pairId: number) => {
      for (const status of ['pending', 'accepted', 'rejected']) {
        const { body } = await api<{ pairs: { id: number }[] }>('listPairs', { status, limit: 5000, offset: Math.max(0, pairId - 5000) });
        if (body.pairs.some((p) => p.id === pairId)) return status;
      }
      return undefined;
    };
    await expect.poll(() => statusOf(id), { timeout: 5000 }).toBe('accepted');
    await page.screenshot({ path: screenshotPath('pairs') });
    await page.reload();
    await open('Pairs');
    await page.getByRole('list', { name: 'Pairs' }).locator('button.rrow').first().waitFor();
    const row = page.getByRole('button', { name: `Pair ${id}`, exact: true });
    // The row may be out of the window: filter accepted pairs, where it must be.
    await page.getByLabel('Status', { exact: true }).selectOption('accepted');
    // Wait for the filtered list: every row accepted (no pending ones left from before).
    await expect.poll(() => page.getByRole('list', { name: 'Pairs' }).locator('button.rrow').filter({ hasText: 'pending' }).count(), { timeout: 10_000 }).toBe(0);
    await row.waitFor();
    await row.click();
    await expect(page.getByRole('article', { name: `Pair ${id}` }).getByLabel('Pair status').textContent()).resolves.toBe('accepted');
    // Reject it by keyboard and back: the server follows.
    await page.keyboard.press('r');
    await expect.poll(() => statusOf(id), { timeout: 5000 }).toBe('rejected');
  });

  it('Pairs export writes exactly what curation says: accept 3 of 10, export, 3 lines', async () => {
    await open('Pairs');
    const runSelect = page.getByLabel('Run', { exact: true });
    const queue = runSelect.locator('option', { hasText: 'curation queue' });
    await queue.waitFor({ state: 'attached' });
    const runId = Number(await queue.getAttribute('value'));
    await runSelect.selectOption(String(runId));
    await page.getByLabel('Status', { exact: true }).selectOption('');
    const list = page.getByRole('list', { name: 'Pairs' });
    await expect.poll(() => list.getAttribute('aria-rowcount'), { timeout: 10_000 }).toBe('10');
    await list.locator('button.rrow').first().click();
    for (let i = 0; i < 3; i++) await page.keyboard.press('a');
    const accepted = async () => (await api<{ total: number }>('listPairs', { run_id: runId, status: 'accepted', limit: 1 })).body.total;
    await expect.poll(accepted, { timeout: 5000 }).toBe(3);
    const exportFile = async (choice: RegExp, expected: number) => {
      await page.getByRole('button', { name: 'Export…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Export pairs' });
      await dialog.getByRole('radio', { name: choice }).check();
      // The count is confirmed before anything is written.
      await expect.poll(() => dialog.getByRole('status', { name: 'Pairs to export' }).textContent()).toBe(`${expected} pairs of run #${runId} will be written`);
      const download = page.waitForEvent('download');
      await dialog.getByRole('button', { name: `Write ${expected} pairs` }).click();
      const lines = readFileSync((await (await download).path())!, 'utf8').split('\n').filter((l) => l.trim());
      return lines.map((l) => JSON.parse(l) as { prompt: unknown; chosen: unknown; rejected: unknown });
    };
    const curated = await exportFile(/^Curated/, 3);
    expect(curated).toHaveLength(3);
    expect(curated.every((r) => r.prompt && r.chosen && r.rejected)).toBe(true);
    // The on-screen filter, when chosen, is exported as listed: the 7 still pending.
    await page.getByLabel('Status', { exact: true }).selectOption('pending');
    await expect.poll(() => list.getAttribute('aria-rowcount'), { timeout: 10_000 }).toBe('7');
    expect(await exportFile(/^The list on screen/, 7)).toHaveLength(7);
    await page.getByLabel('Status', { exact: true }).selectOption('');
    await runSelect.selectOption('');
  });

  it('Pairs at scale: no cap, j/k scroll the list, position kept on reload, search, bulk decision with undo, edit box focus and Esc, guidelines', async () => {
    await open('Pairs');
    await page.getByLabel('Run', { exact: true }).selectOption('');
    await page.getByLabel('Status', { exact: true }).selectOption('');
    const list = page.getByRole('list', { name: 'Pairs' });
    const total = (await api<{ total: number }>('listPairs', { limit: 1 })).body.total;
    expect(total).toBeGreaterThan(5000);
    await expect.poll(() => list.getAttribute('aria-rowcount'), { timeout: 10_000 }).toBe(String(total));
    await page.getByRole('complementary', { name: 'Guidelines' }).waitFor();
    await list.locator('button.rrow').first().click();
    for (let i = 0; i < 40; i++) await page.keyboard.press('j');
    const active = list.locator('button.rrow.active');
    await active.waitFor();
    const [box, row] = [(await list.boundingBox())!, (await active.boundingBox())!];
    expect(row.y).toBeGreaterThanOrEqual(box.y);
    expect(row.y + row.height).toBeLessThanOrEqual(box.y + box.height + 1);
    await expect.poll(() => page.getByLabel('Position').textContent()).toBe(`41 / ${total}`);
    const name = (await page.getByRole('article', { name: /^Pair \d+/ }).getAttribute('aria-label'))!;
    await page.reload();
    await open('Pairs');
    await page.getByRole('article', { name }).waitFor({ timeout: 15_000 });
    // Search narrows the list on the server; a bulk decision on it is undone with Ctrl+Z.
    await page.getByLabel('Search pairs').fill('_42.mp4');
    const listed = async () => Number(await list.getAttribute('aria-rowcount'));
    await expect.poll(async () => { const n = await listed(); return n > 0 && n < 20; }, { timeout: 10_000 }).toBe(true);
    const found = await listed();
    const accepted = async () => (await api<{ total: number }>('listPairs', { search: '_42.mp4', status: 'accepted', limit: 1 })).body.total;
    const acceptedBefore = await accepted();
    await page.getByRole('button', { name: 'Accept all listed' }).click();
    await expect.poll(accepted, { timeout: 5000 }).toBe(found);
    await list.locator('button.rrow').first().click();
    await page.keyboard.press('ControlOrMeta+z');
    await expect.poll(accepted, { timeout: 5000 }).toBe(acceptedBefore);
    // The edit box takes focus; Esc cancels without saving.
    await page.getByRole('article', { name: /^Pair \d+/ }).waitFor();
    const box2 = page.getByRole('textbox', { name: 'Chosen text' });
    // The undo reloads the listing and the selected pair; an 'e' pressed while it reloads is
    // dropped with the old pair's view, so press again until the edit box is open.
    await expect.poll(async () => {
      if (!(await box2.isVisible())) await page.keyboard.press('e');
      return box2.isVisible();
    }, { timeout: 20_000 }).toBe(true);
    expect(await box2.evaluate((el) => el === document.activeElement)).toBe(true);
    await page.keyboard.press('Escape');
    await box2.waitFor({ state: 'detached' });
    await page.getByLabel('Search pairs').fill('');
  });

  it('Rubrics: Monaco with the schema, an error marker blocks saving, a dry run reports counts', async () => {
    await open('Rubrics');
    const editor = page.locator('.monaco-editor').first();
    await editor.waitFor({ timeout: 30_000 });
    await page.locator('.view-lines').getByText('"checks"').first().waitFor();
    // Monaco's cancellations of disposed work are not page errors (the last test checks none
    // reached the page); anything else still is.
    await page.evaluate(() => {
      const canceled = new Error('Canceled');
      canceled.name = 'Canceled';
      void Promise.reject(canceled);
      setTimeout(() => { throw canceled; });
    });
    const problems = page.getByRole('status', { name: 'Problems' });
    await expect.poll(() => problems.textContent(), { timeout: 10_000 }).toBe('0 problems');
    const save = page.getByRole('button', { name: 'Save as new version' });
    expect(await save.isDisabled()).toBe(false);
    const schema = await api('getRubricSchema');
    await editor.click();
    await page.keyboard.press('ControlOrMeta+A');
    // With the schema: a wrong type is a schema error. Without it (503) only syntax can be checked.
    const broken = schema.status === 200 ? '{ "name": "default", "version": 1, "checks": { "accuracy": { "weight": "heavy" } } }' : '{ "name": "default" "version": 1 }';
    await page.keyboard.insertText(broken);
    await page.locator('.monaco-editor .squiggly-error').first().waitFor({ timeout: 15_000 });
    await expect.poll(() => problems.textContent(), { timeout: 10_000 }).toMatch(/^[1-9]\d* problems?$/);
    // A schema error blocks Save and Dry run in the client (not only the server's 422).
    expect(await save.isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Dry run' }).isDisabled()).toBe(true);
    await page.screenshot({ path: screenshotPath('rubrics-error') });
    // Revert to the saved version: 0 problems again.
    await page.getByRole('button', { name: 'Revert' }).click();
    await expect.poll(() => problems.textContent(), { timeout: 10_000 }).toBe('0 problems');
    // A real edit (consistency check off), pasted as a person would, then a dry run against the saved version.
    const saved = (await api<{ id: number; body: string }[]>('listRubrics')).body.at(-1);
    let edited = false;
    if (saved) {
      const rubric = JSON.parse(saved.body) as { checks?: Record<string, { enabled?: boolean }> };
      if (rubric.checks?.consistency) {
        rubric.checks.consistency.enabled = false;
        await editor.click();
        await page.keyboard.press('ControlOrMeta+A');
        // A paste event into Monaco's input (headless Chromium has no system clipboard).
        await page.evaluate((text) => {
          const data = new DataTransfer();
          data.setData('text/plain', text);
          document.activeElement!.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
        }, JSON.stringify(rubric, null, 2));
        await page.keyboard.press('ControlOrMeta+Home');
        await page.locator('.view-lines').getByText('"consistency"').first().waitFor();
        await expect.poll(() => problems.textContent(), { timeout: 10_000 }).toBe('0 problems');
        edited = true;
      }
    }
    expect(await page.getByRole('button', { name: 'Dry run' }).isDisabled()).toBe(false);
    await page.getByRole('button', { name: 'Dry run' }).click();
    const dry = page.getByRole('complementary', { name: 'Dry run' });
    const outcome = await Promise.race([
      dry.getByRole('status').filter({ hasText: /rollouts verified/ }).waitFor({ timeout: 60_000 }).then(() => 'ok' as const),
      dry.getByRole('alert').waitFor({ timeout: 60_000 }).then(() => 'error' as const),
    ]);
    if (outcome === 'error') {
      const text = (await dry.getByRole('alert').textContent()) ?? '';
      // Soft skip only when the server says the dry run is not wired (503).
      expect(text).toContain('not available in this build');
      console.warn('[ui e2e] dryRunRubric answered 503: dry-run counts not checked');
    } else {
      const status = (await dry.getByRole('status').textContent())!;
      const n = Number(/(\d+) rollouts verified/.exec(status)![1]);
      const changed = Number(/(\d+) change verdict/.exec(status)![1]);
      expect(n).toBeGreaterThan(0);
      expect(await dry.getByRole('table', { name: 'Verdict counts' }).locator('tbody tr').count()).toBeGreaterThan(0);
      console.log(`[ui e2e] dry run: ${n} rollouts, ${changed} change verdict${edited ? ' (consistency check disabled)' : ''}`);
      if (changed > 0) expect(await dry.getByRole('list', { name: 'Changed verdicts' }).getByRole('listitem').count()).toBeGreaterThan(0);
    }
    await page.screenshot({ path: screenshotPath('rubrics') });
  });

  it('Rubrics: built-ins open read-only and duplicate to edit; unsaved edits guard leaving; the dry run says which check flipped and links to the rollout; Ctrl+S saves', async () => {
    await open('Rubrics');
    const version = page.getByRole('combobox', { name: 'Version' });
    await version.locator('option[value="builtin:strict"]').waitFor({ state: 'attached' });
    await version.selectOption('builtin:strict');
    await page.getByLabel('Read-only').waitFor();
    expect(await page.getByRole('button', { name: /^Save as new version/ }).count()).toBe(0);
    await page.locator('.view-lines').getByText('"checks"').first().waitFor();
    await page.locator('.monaco-editor').first().click();
    await page.keyboard.type('x');
    await page.getByText('Cannot edit in read-only editor').first().waitFor({ timeout: 5000 });
    await page.getByRole('button', { name: 'Duplicate to edit' }).click();
    await expect.poll(() => page.getByLabel('Name', { exact: true }).inputValue()).toBe('strict-copy');
    const save = page.getByRole('button', { name: /^Save as new version/ });
    const builtin = (await api<{ name: string; body: string }[]>('listBuiltinRubrics')).body.find((b) => b.name === 'strict')!;
    const rubric = JSON.parse(builtin.body) as { name: string; checks: Record<string, { enabled?: boolean }> };
    rubric.name = 'strict-copy';
    rubric.checks.consistency!.enabled = false;
    await page.locator('.monaco-editor').first().click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.evaluate((text) => {
      const data = new DataTransfer();
      data.setData('text/plain', text);
      document.activeElement!.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    }, JSON.stringify(rubric, null, 2));
    await expect.poll(() => page.getByRole('status', { name: 'Problems' }).textContent(), { timeout: 10_000 }).toBe('0 problems');
    expect(await save.isDisabled()).toBe(false);
    // Leaving with unsaved edits asks; answering "stay" keeps the page and the edits.
    dialogAnswer = false;
    const before = dialogs;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    await expect.poll(() => dialogs).toBe(before + 1);
    dialogAnswer = true;
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Rubrics');
    expect(page.url()).toContain('#/rubrics');
    // Dry run against the built-in it was duplicated from: which check flipped, a link per rollout, a text diff.
    await page.getByRole('button', { name: 'Dry run' }).click();
    const dry = page.getByRole('complementary', { name: 'Dry run' });
    await dry.getByRole('status').filter({ hasText: /rollouts verified/ }).waitFor({ timeout: 60_000 });
    const diffText = (await dry.getByLabel('Rubric diff').textContent())!;
    expect(diffText).toMatch(/-\s+"name": "strict",/);
    expect(diffText).toMatch(/\+\s+"enabled": false/);
    const changed = dry.getByRole('list', { name: 'Changed verdicts' }).getByRole('listitem');
    await changed.first().waitFor();
    // Every changed rollout names what flipped; disabling the consistency check flips it somewhere.
    expect(await dry.locator('.flip[data-check="consistency"]').count()).toBeGreaterThan(0);
    const first = changed.filter({ has: page.locator('.flip[data-check="consistency"]') }).first();
    // Pinned by its address: a locator built from "the first flipped item" is re-resolved on
    // every use and could pick another rollout by the time it is clicked.
    const href = (await first.getByRole('link', { name: /^rollout #\d+$/ }).getAttribute('href'))!;
    const rolloutId = Number(/rollout=(\d+)/.exec(href)![1]);
    const link = dry.locator(`a[href="${href}"]`);
    expect(await link.textContent()).toBe(`rollout #${rolloutId}`);
    // Ctrl+S saves; afterwards nothing is unsaved and leaving does not ask.
    await page.keyboard.press('ControlOrMeta+S');
    await page.getByRole('status').filter({ hasText: 'Saved strict-copy v' }).waitFor();
    const quiet = dialogs;
    await link.click();
    await page.getByRole('heading', { level: 1, name: 'Rollouts' }).waitFor();
    expect(dialogs).toBe(quiet);
    await page.getByRole('article', { name: /^Prompt group/ }).getByRole('region', { name: new RegExp(`^Rollout ${rolloutId}\\b`) }).waitFor({ timeout: 15_000 });
    expect(page.url()).toContain(`rollout=${rolloutId}`);
  });

  it('Rollouts: GRPO rollouts of a real run store per-word log-probs, shown as shading', async (ctx) => {
    type Row = { id: number; text: string; truncated: boolean; meta: Record<string, unknown> | null };
    const runs = (await api<Array<{ id: number; preset: string | null; status: string }>>('listRuns')).body;
    let found: { run: number; row: Row } | null = null;
    for (const run of runs.filter((r) => r.preset === 'smoke' && r.status === 'finished')) {
      const rows = (await api<{ rollouts: Row[] }>('listRollouts', { run_id: run.id, limit: 200 })).body.rollouts;
      const row = rows.find((r) => !r.truncated && Array.isArray(r.meta?.word_logprobs));
      if (row) {
        found = { run: run.id, row };
        break;
      }
    }
    if (!found) {
      // The demo seed (no VERIPO_E2E_DB) has no real GRPO stage.
      console.warn('[ui e2e] no finished smoke run in the database: log-prob shading test skipped');
      ctx.skip();
      return;
    }
    const words = found.row.text.split(/\s+/).filter(Boolean).length;
    const lps = found.row.meta!.word_logprobs as number[];
    expect(lps).toHaveLength(words);
    for (const lp of lps) expect(lp).toBeLessThanOrEqual(0);
    // A fresh load: the page reads its deep link when it mounts.
    await page.goto('about:blank');
    await page.goto(`${server.base}/#/rollouts?run=${found.run}&rollout=${found.row.id}`);
    const group = page.getByRole('article', { name: /^Prompt group/ });
    await group.waitFor();
    await group.getByLabel('Log-prob shading').check();
    await expect.poll(() => group.locator('.lp[title^="logprob"]').count(), { timeout: 10_000 }).toBeGreaterThan(0);
  });

  it('Settings: backend, DB path, judge test connection', async () => {
    await open('Settings');
    const kv = page.getByRole('definition').filter({ hasText: '.db' });
    await kv.first().waitFor();
    const form = page.getByRole('form', { name: 'LLM judge' });
    // Waits for a result of the expected kind (a broken form times out here), then returns its text.
    const testAt = async (baseUrl: string, kind: 'Connected' | 'Failed'): Promise<string> => {
      await page.getByLabel('Base URL').fill(baseUrl);
      await page.getByRole('button', { name: 'Test connection' }).click();
      const status = form.getByRole('status').filter({ hasText: new RegExp(`^${kind}`) });
      await status.waitFor({ timeout: 30_000 });
      return (await status.textContent()) ?? '';
    };
    // Nothing listens on the discard port: the form must say so.
    expect(await testAt('http://127.0.0.1:9/v1', 'Failed')).toMatch(/^Failed: unreachable: judge unreachable at http:\/\/127\.0\.0\.1:9\/v1\/chat\/completions/);
    // An OpenAI-compatible judge that answers with a valid verdict: the form must say Connected.
    const asked: string[] = [];
    const judge = createServer((req, res) => {
      asked.push(`${req.method} ${req.url}`);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ choices: [{ message: { content: JSON.stringify({ score: 1, consistent: true, reason: 'the reasoning concludes the answer' }) } }] }));
    });
    await new Promise<void>((r) => judge.listen(0, '127.0.0.1', r));
    try {
      const port = (judge.address() as AddressInfo).port;
      expect(await testAt(`http://127.0.0.1:${port}/v1`, 'Connected')).toMatch(/^Connected in \d+ ms: the judge answered with a valid verdict/);
      expect(asked).toEqual(['POST /v1/chat/completions']);
      expect(await form.getByRole('alert').count()).toBe(0);
    } finally {
      await new Promise((r) => judge.close(r));
    }
    await page.screenshot({ path: screenshotPath('settings') });
  });

  it('Runs: start form from presets (or a clear note without a launcher)', async (ctx) => {
    await open('Runs');
    await page.getByRole('form', { name: 'Start a run' }).waitFor();
    await page.getByRole('table', { name: 'Recent runs' }).locator('tbody tr').first().waitFor();
    const presets = await api<{ name: string }[]>('listPresets');
    if (presets.body.length === 0) {
      await page.getByText('No presets').waitFor();
      await page.screenshot({ path: screenshotPath('runs') });
      ctx.skip();
      return;
    }
    // Client-side validation: a non-number in a numeric field blocks Start.
    const numeric = page.locator('.override-grid input[inputmode="decimal"]:visible').first();
    if (await numeric.count()) {
      await numeric.fill('abc');
      await expect.poll(() => page.getByRole('button', { name: 'Start run' }).isDisabled()).toBe(true);
      await numeric.fill('');
    }
    await page.screenshot({ path: screenshotPath('runs') });
  });

  it('Runs: a smoke run started from the page shows live progress to completion', async (ctx) => {
    const presets = await api<{ name: string }[]>('listPresets');
    const smoke = presets.body.find((p) => p.name === 'smoke');
    if (!smoke) {
      console.warn('[ui e2e] no "smoke" preset (run launcher not wired): live-run test skipped');
      ctx.skip();
      return;
    }
    await open('Runs');
    await page.getByLabel('Preset', { exact: true }).selectOption('smoke');
    // Shorter than the preset, and it exercises the override form.
    for (const [key, value] of [['sft.steps', '10'], ['grpo.steps', '2']]) {
      const field = page.getByLabel(key, { exact: true });
      if (!(await field.count())) continue;
      if (!(await field.isVisible())) await page.getByRole('group', { name: 'Overrides' }).locator('summary', { hasText: key.split('.')[0] }).first().click();
      await field.fill(value);
    }
    await page.getByLabel('Run name').fill('ui e2e smoke');
    await page.getByRole('button', { name: 'Start run' }).click();
    const started = page.getByRole('status').filter({ hasText: /Started run #\d+/ });
    await started.waitFor({ timeout: 30_000 });
    const runId = Number(/#(\d+)/.exec((await started.textContent())!)![1]);
    const live = page.getByRole('article', { name: `Live run ${runId}` });
    const progress = live.getByRole('progressbar', { name: `Run ${runId} progress` });
    // Progress moves while it trains, and the page answers clicks meanwhile.
    await expect.poll(async () => Number(await progress.getAttribute('value')), { timeout: 120_000 }).toBeGreaterThan(0);
    await live.scrollIntoViewIfNeeded();
    await page.screenshot({ path: screenshotPath('runs-live') });
    await expect.poll(() => live.getByLabel('Run status').textContent(), { timeout: 170_000, interval: 1000 }).toMatch(/finished|failed|stopped|interrupted/);
    expect(await live.getByLabel('Run status').textContent()).toBe('finished');
  });

  it('Runs: Stop ends a running run', async (ctx) => {
    const presets = await api<{ name: string }[]>('listPresets');
    if (!presets.body.some((p) => p.name === 'smoke')) {
      ctx.skip();
      return;
    }
    await open('Runs');
    await page.getByLabel('Preset', { exact: true }).selectOption('smoke');
    await page.getByLabel('Run name').fill('ui e2e stop');
    await page.getByRole('button', { name: 'Start run' }).click();
    const started = page.getByRole('status').filter({ hasText: /Started run #\d+/ });
    await started.waitFor({ timeout: 30_000 });
    const runId = Number(/#(\d+)/.exec((await started.textContent())!)![1]);
    const live = page.getByRole('article', { name: `Live run ${runId}` });
    await expect.poll(() => live.getByLabel('Current stage').textContent(), { timeout: 60_000 }).toMatch(/SFT|GRPO/);
    const before = dialogs;
    await live.getByRole('button', { name: 'Stop' }).click();
    // Stop asks first (the dialog handler confirms).
    expect(dialogs).toBe(before + 1);
    await expect.poll(() => live.getByLabel('Run status').textContent(), { timeout: 60_000, interval: 500 }).toMatch(/stopped|interrupted/);
    const run = await api<{ status: string }>('getRun', { run_id: runId });
    expect(run.body.status).toMatch(/stopped|interrupted/);
  });

  it('Runs: a run started with `veripo run` in a terminal is live on the page, survives a reload, and Stop (confirmed) stops it', async () => {
    const home = mkdtempSync(join(tmpdir(), 'veripo-cli-run-'));
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'veripo.js'), 'run', '--preset', 'smoke', '--name', 'terminal run', '--db', dbFile], {
      cwd: ROOT,
      env: { ...process.env, VERIPO_HOME: home },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await open('Runs');
      const live = page.getByRole('article', { name: /^Live run \d+/ }).filter({ hasText: 'terminal run' });
      await live.waitFor({ timeout: 60_000 });
      const runId = Number(/\d+/.exec((await live.getAttribute('aria-label'))!)![0]);
      const progress = live.getByRole('progressbar', { name: `Run ${runId} progress` });
      await expect.poll(async () => Number(await progress.getAttribute('value')), { timeout: 120_000, interval: 500 }).toBeGreaterThan(0);
      await expect.poll(() => live.getByLabel('Current stage').textContent(), { timeout: 60_000 }).toMatch(/SFT|GRPO/);
      // The stage strip lists the planned stages; it and the log come back after a reload.
      const strip = live.getByRole('list', { name: `Stages of run ${runId}` });
      await expect.poll(() => strip.getByRole('listitem').count(), { timeout: 15_000 }).toBeGreaterThan(2);
      await page.reload();
      await open('Runs');
      const again = page.getByRole('article', { name: `Live run ${runId}` });
      await again.getByRole('list', { name: `Stages of run ${runId}` }).waitFor({ timeout: 15_000 });
      await again.getByLabel(`Log of run ${runId}`).waitFor({ timeout: 15_000 });
      await expect.poll(() => again.getByLabel('Overall progress').textContent(), { timeout: 15_000 }).toMatch(/% of the run · stage \d+\/\d+ .* ETA/);
      const before = dialogs;
      await again.getByRole('button', { name: 'Stop' }).click();
      expect(dialogs).toBe(before + 1);
      await expect.poll(() => again.getByLabel('Run status').textContent(), { timeout: 90_000, interval: 500 }).toMatch(/stopped/);
      expect(await exited).not.toBeNull();
      const run = await api<{ status: string }>('getRun', { run_id: runId });
      expect(run.body.status).toBe('stopped');
    } catch (err) {
      console.error(`[ui e2e] veripo run stderr:\n${stderr.slice(-2000)}`);
      throw err;
    } finally {
      if (child.exitCode == null) child.kill('SIGKILL');
    }
  });

  it('loaded nothing from outside the app (Monaco included) and threw no page errors', async () => {
    const origin = new URL(server.base).origin;
    const outside = requests.filter((u) => !u.startsWith('data:') && !u.startsWith('blob:') && new URL(u).origin !== origin);
    expect(outside).toEqual([]);
    expect(requests.some((u) => /monaco|editor\.worker|json\.worker/.test(u))).toBe(true);
    expect(pageErrors).toEqual([]);
  });
});
