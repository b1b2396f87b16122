import { describe, it, expect, afterEach } from 'vitest';
import { openWorkbench, type OpenedWorkbench } from '../../../src/main/app/workbench';
import { createWebServer, tokenMatches, type WebServer } from '../../../src/main/transport/http';
import { handleIpcCall } from '../../../src/main/transport/ipc';
import { parseApiArgs, ApiValidationError, API_METHODS, apiSchema } from '../../../src/shared/api';
import { createRun, insertRollouts, startStage } from '../../../src/main/store';

let wb: OpenedWorkbench | null = null;
let web: WebServer | null = null;
afterEach(async () => {
  await web?.close();
  await wb?.close();
  web = null;
  wb = null;
});

describe('API argument validation', () => {
  it('rejects bad arguments naming the field', () => {
    expect(() => parseApiArgs('getRun', { run_id: 'x' })).toThrow(ApiValidationError);
    expect(() => parseApiArgs('getRun', { run_id: -1 })).toThrow(/run_id/);
    expect(() => parseApiArgs('getRun', { run_id: 1, extra: true })).toThrow(/extra|unrecognized/i);
    expect(() => parseApiArgs('updatePair', { pair_id: 1, action: 'delete' })).toThrow(/action/);
    expect(() => parseApiArgs('listRollouts', { run_id: 1, limit: 10 ** 9 })).toThrow(/limit/);
    expect(parseApiArgs('listRollouts', { run_id: 1 })).toEqual({ run_id: 1, offset: 0, limit: 500 });
  });

  it('implements exactly the methods the contract lists, each refusing unknown arguments', async () => {
    wb = await openWorkbench({ dbPath: ':memory:', mode: 'electron' });
    const api = wb.api as unknown as Record<string, unknown>;
    const implemented = Object.keys(api).filter((k) => typeof api[k] === 'function').sort();
    expect(implemented).toEqual([...API_METHODS].sort());
    for (const m of API_METHODS) expect(apiSchema[m].args.safeParse({ not_an_argument: 1 }).success, m).toBe(false);
  });

  it('IPC refuses unknown channels and invalid arguments before reaching the API', async () => {
    wb = await openWorkbench({ dbPath: ':memory:', mode: 'electron' });
    expect(await handleIpcCall(wb.api, 'veripo:dropTables', {})).toMatchObject({ ok: false, error: { status: 404 } });
    expect(await handleIpcCall(wb.api, 'other:health', {})).toMatchObject({ ok: false });
    expect(await handleIpcCall(wb.api, 'veripo:getRun', { run_id: 'nope' })).toMatchObject({ ok: false, error: { status: 400 } });
    expect(await handleIpcCall(wb.api, 'veripo:getRun', { run_id: 42 })).toMatchObject({ ok: false, error: { status: 404 } });
    expect(await handleIpcCall(wb.api, 'veripo:health', {})).toEqual({ ok: true, result: { ok: true } });
  });
});

describe('web mode', () => {
  it('compares tokens exactly', () => {
    expect(tokenMatches('abc', 'abc')).toBe(true);
    expect(tokenMatches('abc', 'abd')).toBe(false);
    expect(tokenMatches('abc', 'ab')).toBe(false);
    expect(tokenMatches('abc', null)).toBe(false);
  });

  it('requires the token on every API request and answers results that match the schema', async () => {
    wb = await openWorkbench({ dbPath: ':memory:', mode: 'web' });
    const runId = createRun(wb.db, { experiment: 'e', preset: 'smoke', config: { x: 1 }, seed: 3 });
    const stage = startStage(wb.db, runId, 0, 0, 'grpo');
    insertRollouts(wb.db, runId, [{ stage_id: stage, step: 0, prompt_id: 'p', group_index: 0, prompt: 'q', text: 't', verdict: { correct: true } }]);
    web = createWebServer({ api: wb.api, events: wb.events });
    const { port, url } = await web.listen(0);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{48}$/);
    const base = `http://127.0.0.1:${port}`;

    expect((await fetch(`${base}/api/health`)).status).toBe(401);
    expect((await fetch(`${base}/api/health?token=wrong`)).status).toBe(401);
    expect((await fetch(`${base}/api/listRuns`, { method: 'POST', body: '{}' })).status).toBe(401);
    const ok = await fetch(`${base}/api/health?token=${web.token}`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ ok: true });

    const headers = { authorization: `Bearer ${web.token}`, 'content-type': 'application/json' };
    const runs = await (await fetch(`${base}/api/listRuns`, { method: 'POST', headers, body: '{}' })).json();
    expect(apiSchema.listRuns.result.parse(runs)).toHaveLength(1);
    const rollouts = await (await fetch(`${base}/api/listRollouts`, { method: 'POST', headers, body: JSON.stringify({ run_id: runId }) })).json();
    expect(apiSchema.listRollouts.result.parse(rollouts).total).toBe(1);

    const bad = await fetch(`${base}/api/getRun`, { method: 'POST', headers, body: JSON.stringify({ run_id: 'x' }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { issues: { path: string }[] }).issues[0]!.path).toBe('run_id');
    expect((await fetch(`${base}/api/getRun`, { method: 'POST', headers, body: JSON.stringify({ run_id: 999 }) })).status).toBe(404);
    expect((await fetch(`${base}/api/nope`, { method: 'POST', headers, body: '{}' })).status).toBe(404);
    expect((await fetch(`${base}/api/listRuns`, { method: 'POST', headers, body: '{not json' })).status).toBe(400);
  });

  it('streams run events to a client that has the token', async () => {
    wb = await openWorkbench({ dbPath: ':memory:', mode: 'web' });
    web = createWebServer({ api: wb.api, events: wb.events });
    const { port } = await web.listen(0);
    expect((await fetch(`http://127.0.0.1:${port}/api/events`)).status).toBe(401);
    const controller = new AbortController();
    const res = await fetch(`http://127.0.0.1:${port}/api/events?token=${web.token}`, { signal: controller.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    await reader.read(); // ": connected"
    wb.events.emit({ type: 'log', run_id: 1, t: 0, level: 'info', message: 'hello' });
    let text = '';
    while (!text.includes('hello')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain('"type":"log"');
    controller.abort();
  });
});
