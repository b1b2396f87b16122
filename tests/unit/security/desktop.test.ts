import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { APP_ORIGIN, externalUrlAllowed, guardWebContents, navigationAllowed, resolveAppUrl, windowPreferences, type GuardedContents } from '../../../src/main/desktop/policy';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const RENDERER = '/opt/veripo/out/renderer';
const { electronBinary } = (await import(join(ROOT, 'scripts/electron-binary.mjs'))) as { electronBinary(): { path: string | null } };

describe('desktop: openExternal allow-list', () => {
  it('opens only the project\'s documentation, over https, without look-alikes', () => {
    expect(externalUrlAllowed('https://arxiv.org/abs/2505.19000')).toBe(true);
    expect(externalUrlAllowed('https://huggingface.co/docs/trl/main/en/grpo_trainer#loss-types')).toBe(true);
    for (const url of [
      'https://evil.example/',
      'http://arxiv.org/abs/2505.19000',
      'https://arxiv.org/abs/2505.190001',
      'https://arxiv.org.evil.example/abs/2505.19000',
      'https://user:pw@arxiv.org/abs/2505.19000',
      'https://huggingface.co:8443/docs/trl/',
      'https://huggingface.co/docs/trl/../../evil',
      'https://huggingface.co/docs/trlx',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'not a url',
    ]) expect(externalUrlAllowed(url), url).toBe(false);
  });
});

describe('desktop: app:// protocol', () => {
  it('serves files of the renderer folder and refuses escapes', () => {
    expect(resolveAppUrl(`${APP_ORIGIN}/`, RENDERER)).toBe(`${RENDERER}/index.html`);
    expect(resolveAppUrl(`${APP_ORIGIN}/assets/index.js`, RENDERER)).toBe(`${RENDERER}/assets/index.js`);
    // URL parsing folds plain "../" into the root: it stays inside.
    expect(resolveAppUrl(`${APP_ORIGIN}/../../etc/passwd`, RENDERER)).toBe(`${RENDERER}/etc/passwd`);
    for (const url of [
      `${APP_ORIGIN}/..%2f..%2f..%2fetc%2fpasswd`,
      `${APP_ORIGIN}/%2e%2e%2f%2e%2e%2fetc/passwd`,
      `${APP_ORIGIN}/assets/%00.js`,
      `${APP_ORIGIN}/%E0%A4%A`,
      'app://other-host/index.html',
      'file:///etc/passwd',
      'https://workbench/index.html',
    ]) expect(resolveAppUrl(url, RENDERER), url).toBeNull();
  });
});

describe('desktop: navigation and window guards', () => {
  it('allows the app origin (and the dev server in development) only', () => {
    expect(navigationAllowed(`${APP_ORIGIN}/index.html#/runs`, null)).toBe(true);
    expect(navigationAllowed('app://elsewhere/index.html', null)).toBe(false);
    expect(navigationAllowed('http://localhost:5173/#/runs', 'http://localhost:5173/')).toBe(true);
    for (const url of ['http://localhost:5173/', 'https://evil.example/', 'file:///etc/passwd', 'data:text/html,<h1>x', 'javascript:alert(1)']) {
      expect(navigationAllowed(url, null), url).toBe(false);
    }
    expect(navigationAllowed('http://localhost:5174/', 'http://localhost:5173/')).toBe(false);
  });

  it('denies new windows, blocks navigation and webviews, opens allowed links externally', () => {
    const listeners = new Map<string, (e: { url: string; preventDefault(): void }) => void>();
    let openHandler: ((d: { url: string }) => { action: 'deny' }) | null = null;
    const contents: GuardedContents = {
      setWindowOpenHandler: (h) => void (openHandler = h),
      on: (event: string, l: (e: { url: string; preventDefault(): void }) => void) => listeners.set(event, l),
    };
    const opened: string[] = [];
    guardWebContents(contents, { devServerUrl: null, openExternal: (u) => opened.push(u) });
    const fire = (event: string, url: string) => {
      let prevented = false;
      listeners.get(event)!({ url, preventDefault: () => (prevented = true) });
      return prevented;
    };
    expect(fire('will-navigate', 'https://evil.example/')).toBe(true);
    expect(fire('will-redirect', 'file:///etc/passwd')).toBe(true);
    expect(fire('will-navigate', `${APP_ORIGIN}/index.html`)).toBe(false);
    expect(fire('will-attach-webview', `${APP_ORIGIN}/index.html`)).toBe(true);
    expect(openHandler!({ url: 'https://evil.example/' })).toEqual({ action: 'deny' });
    expect(openHandler!({ url: 'https://arxiv.org/abs/2505.19000' })).toEqual({ action: 'deny' });
    expect(opened).toEqual(['https://arxiv.org/abs/2505.19000']);
  });

  it('keeps the renderer isolated and turns DevTools off in packaged builds', () => {
    const packaged = windowPreferences({ preload: 'p.cjs', packaged: true });
    expect(packaged).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, webviewTag: false, devTools: false });
    expect(windowPreferences({ preload: 'p.cjs', packaged: false }).devTools).toBe(true);
  });

  it('the Electron entry loads app://, guards every web contents and uses these preferences', () => {
    const entry = readFileSync(join(ROOT, 'src/main/index.ts'), 'utf8');
    expect(entry).toMatch(/registerSchemesAsPrivileged\(\[\{ scheme: APP_SCHEME/);
    expect(entry).toMatch(/app\.on\('web-contents-created', \(_e, contents\) => guardWebContents\(contents/);
    expect(entry).toMatch(/webPreferences: windowPreferences\(\{ preload: .*, packaged: app\.isPackaged \}\)/);
    expect(entry).toMatch(/loadURL\(`\$\{APP_ORIGIN\}\/index\.html`\)/);
    expect(entry).not.toMatch(/loadFile|file:\/\//);
  });
});

describe('desktop: packaging', () => {
  it('sets the fuses: no RunAsNode, encrypted cookies, ASAR integrity, only app.asar, no file:// privileges', () => {
    const { FUSES } = createRequire(import.meta.url)(join(ROOT, 'scripts/electron-fuses.cjs'));
    const { FuseV1Options } = createRequire(import.meta.url)('@electron/fuses');
    expect(FUSES[FuseV1Options.RunAsNode]).toBe(false);
    expect(FUSES[FuseV1Options.EnableCookieEncryption]).toBe(true);
    expect(FUSES[FuseV1Options.EnableEmbeddedAsarIntegrityValidation]).toBe(true);
    expect(FUSES[FuseV1Options.OnlyLoadAppFromAsar]).toBe(true);
    expect(FUSES[FuseV1Options.EnableNodeOptionsEnvironmentVariable]).toBe(false);
    expect(FUSES[FuseV1Options.EnableNodeCliInspectArguments]).toBe(false);
    expect(FUSES[FuseV1Options.GrantFileProtocolExtraPrivileges]).toBe(false);
    const config = readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8');
    expect(config).toMatch(/^afterPack: scripts\/electron-fuses\.cjs$/m);
    expect(config).toMatch(/^asar: true$/m);
    expect(config).toMatch(/- AppImage\n\s+- deb/);
    expect(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.dist).toBe('node scripts/dist.mjs');
  });

  it.skipIf(electronBinary().path)('`npm run dist` without the Electron binary stops at once with the reason', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts/dist.mjs')], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot package the desktop app: the Electron binary is not installed/);
    expect(r.stderr).toMatch(/node node_modules\/electron\/install\.js/);
  });
});
