import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openWorkbench, type OpenedWorkbench } from '../../../src/main/app/workbench';
import { createWebServer, type WebServer } from '../../../src/main/transport/http';
import { allowedHosts, checkTokenStrength, originAllowed, sessionCookieName, MIN_TOKEN_LENGTH } from '../../../src/main/transport/http-guard';
import { command as serve } from '../../../src/main/cli/serve';
import { rawRequest } from './request';
import { connect } from 'node:net';

const TOKEN = 'x'.repeat(MIN_TOKEN_LENGTH);
let wb: OpenedWorkbench | null = null;
let web: WebServer | null = null;
afterEach(async () => {
  await web?.close();
  await wb?.close();
  web = wb = null;
});

async function start(opts: { maxBodyBytes?: number } = {}): Promise<number> {
  wb = await openWorkbench({ dbPath: ':memory:', mode: 'web' });
  const staticDir = mkdtempSync(join(tmpdir(), 'veripo-static-'));
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>app</title>');
  web = createWebServer({ api: wb.api, events: wb.events, token: TOKEN, staticDir, ...opts });
  return (await web.listen(0)).port;
}
const auth = { authorization: `Bearer ${TOKEN}` };

describe('web mode: Host header (DNS rebinding)', () => {
  it('answers only to the bound loopback name and port', async () => {
    const port = await start();
    expect((await rawRequest(port, { path: '/api/health', headers: auth })).status).toBe(200);
    expect((await rawRequest(port, { path: '/api/health', headers: { ...auth, host: `localhost:${port}` } })).status).toBe(200);
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1:${port + 1}`, `127.0.0.1`]) {
      const res = await rawRequest(port, { path: '/api/health', headers: { ...auth, host } });
      expect(res.status, host).toBe(421);
      expect(res.text).toContain(`127.0.0.1:${port}`);
    }
    // The UI itself is refused too: a rebound page must not load the app shell.
    expect((await rawRequest(port, { path: '/', headers: { host: `evil.example:${port}` } })).status).toBe(421);
  });

  it('accepts the --host given, and this machine\'s addresses on a wildcard bind', () => {
    expect(allowedHosts('192.168.1.5', 8000).has('192.168.1.5:8000')).toBe(true);
    expect(allowedHosts('192.168.1.5', 8000).has('evil.example:8000')).toBe(false);
    const wild = allowedHosts('0.0.0.0', 8000, () => ['10.0.0.7', 'fe80::1']);
    expect([...wild].sort()).toEqual(['10.0.0.7:8000', '127.0.0.1:8000', '[::1]:8000', '[fe80::1]:8000', 'localhost:8000'].sort());
  });
});

describe('web mode: requests the HTTP parser refuses', () => {
  it('answers a malformed request with a JSON 400 that names the parser\'s reason', async () => {
    const port = await start();
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(`GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nnot a header line\r\n\r\n`));
      let text = '';
      socket.on('data', (c) => (text += c.toString('utf8')));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(raw.startsWith('HTTP/1.1 400 Bad Request\r\n')).toBe(true);
    expect(raw).toContain('content-type: application/json');
    const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { error: string };
    expect(body.error).toMatch(/could not be parsed \(HPE_[A-Z_]+\)/);
  });
});

describe('web mode: Origin on API requests', () => {
  it('refuses POSTs from another origin, accepts its own origin or none', async () => {
    const port = await start();
    const post = (headers: Record<string, string>) => rawRequest(port, { method: 'POST', path: '/api/listRuns', headers: { ...auth, 'content-type': 'application/json', ...headers }, body: '{}' });
    expect((await post({})).status).toBe(200);
    expect((await post({ origin: `http://127.0.0.1:${port}` })).status).toBe(200);
    for (const origin of ['http://evil.example', 'null', `http://127.0.0.1:${port + 1}`, `https://127.0.0.1:${port}`]) {
      const res = await post({ origin });
      expect(res.status, origin).toBe(403);
      expect(res.json().error).toMatch(/origin/);
    }
  });

  it('decides same-origin by scheme, host and port', () => {
    expect(originAllowed(undefined, '127.0.0.1:80')).toBe(true);
    expect(originAllowed('http://LOCALHOST:80', 'localhost:80')).toBe(true);
    expect(originAllowed('http://localhost:81', 'localhost:80')).toBe(false);
  });
});

describe('web mode: token strength', () => {
  it('refuses empty and short tokens, with the rule in the message', async () => {
    expect(() => checkTokenStrength('')).toThrow(/empty/);
    expect(() => checkTokenStrength('a')).toThrow(/1 characters; at least 32/);
    expect(() => checkTokenStrength('y'.repeat(31))).toThrow(/at least 32/);
    expect(() => checkTokenStrength('y'.repeat(32))).not.toThrow();
    wb = await openWorkbench({ dbPath: ':memory:', mode: 'web' });
    expect(() => createWebServer({ api: wb!.api, events: wb!.events, token: 'a' })).toThrow(/at least 32/);
    expect(() => createWebServer({ api: wb!.api, events: wb!.events, token: '' })).toThrow(/empty/);
  });

  it('`veripo serve --token \'\'` and `--token a` exit with a usage error before serving', async () => {
    await expect(serve.run(['--token', '', '--db', ':memory:'])).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/--token is empty/) });
    await expect(serve.run(['--token', 'a', '--db', ':memory:'])).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/--token has 1 characters/) });
  });
});

describe('web mode: malformed requests get 4xx, not 500', () => {
  it('answers 400 to malformed percent-encoding in a path', async () => {
    const port = await start();
    for (const path of ['/%E0%A4%A', '/%', '/assets/%ZZ.js', '/%C0%AF']) {
      const res = await rawRequest(port, { path });
      expect(res.status, path).toBe(400);
      expect(res.text).toMatch(/percent-encoding/);
    }
    expect((await rawRequest(port, { path: '/..%2f..%2f..%2fetc%2fpasswd' })).status).toBe(403);
    expect((await rawRequest(port, { path: '/%2e%2e/%2e%2e/etc/passwd' })).text).not.toMatch(/root:/);
  });

  it('answers 413 to a body over the limit, from Content-Length or from the stream', async () => {
    const port = await start({ maxBodyBytes: 1000 });
    const big = JSON.stringify({ name: 'x'.repeat(2000) });
    const res = await rawRequest(port, { method: 'POST', path: '/api/listRuns', headers: { ...auth, 'content-type': 'application/json' }, body: big });
    expect(res.status).toBe(413);
    expect(res.json().error).toMatch(/larger than 1000 bytes/);
    const chunked = await rawRequest(port, { method: 'POST', path: '/api/listRuns', headers: { ...auth, 'transfer-encoding': 'chunked' }, body: big });
    expect(chunked.status).toBe(413);
  });
});

describe('web mode: session cookie', () => {
  it('exchanges the URL token for an HttpOnly, SameSite=Strict cookie that then authenticates alone', async () => {
    const port = await start();
    const page = await rawRequest(port, { path: `/?token=${TOKEN}` });
    expect(page.status).toBe(200);
    const setCookie = String(page.headers['set-cookie'] ?? '');
    expect(setCookie).toMatch(new RegExp(`^${sessionCookieName(port)}=[0-9a-f]{64}; `));
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).not.toContain(TOKEN);
    const cookie = setCookie.split(';')[0]!;
    // A new tab: no token anywhere, only the cookie the browser keeps.
    expect((await rawRequest(port, { path: '/api/health', headers: { cookie } })).status).toBe(200);
    expect((await rawRequest(port, { method: 'POST', path: '/api/listRuns', headers: { cookie, origin: `http://127.0.0.1:${port}` }, body: '{}' })).status).toBe(200);
    expect((await rawRequest(port, { path: '/api/health', headers: { cookie: `${sessionCookieName(port)}=${'0'.repeat(64)}` } })).status).toBe(401);
    expect((await rawRequest(port, { path: '/api/health', headers: { cookie: `${sessionCookieName(port + 1)}=${cookie.split('=')[1]}` } })).status).toBe(401);
    expect((await rawRequest(port, { path: '/api/health' })).status).toBe(401);
    // The URL token keeps working; a wrong one sets no cookie.
    expect((await rawRequest(port, { path: `/api/health?token=${TOKEN}` })).status).toBe(200);
    expect((await rawRequest(port, { path: `/?token=${'z'.repeat(32)}` })).headers['set-cookie']).toBeUndefined();
  });
});
