// What the desktop window may load, open and navigate to. Plain functions without Electron, so
// the rules are unit-tested; src/main/index.ts applies them to every web contents.
import { resolveStaticPath } from '../transport/static-files';

/** The app is served from app://workbench/ (a standard, secure scheme), never from file://. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'workbench';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

/**
 * The only pages a link in the app may open in the user's browser: the project's documentation
 * (the method's paper and TRL's trainer docs, the settings' reference). Prefix match on a
 * parsed https URL, so look-alike hosts, credentials and "../" tricks do not pass.
 */
export const EXTERNAL_ALLOW_LIST = ['https://arxiv.org/abs/2505.19000', 'https://huggingface.co/docs/trl/', 'https://www.electronjs.org/docs/latest/tutorial/security'];

export function externalUrlAllowed(raw: string, allow: readonly string[] = EXTERNAL_ALLOW_LIST): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:' || url.username || url.password || url.port) return false;
  const plain = `${url.origin}${url.pathname}`;
  return allow.some((prefix) => {
    const p = new URL(prefix);
    return url.origin === p.origin && (plain === `${p.origin}${p.pathname}` || (p.pathname.endsWith('/') && url.pathname.startsWith(p.pathname)));
  });
}

/** The file app://workbench/<path> serves from the built renderer, or null (refused or malformed). */
export function resolveAppUrl(raw: string, rendererRoot: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return null;
  const r = resolveStaticPath(rendererRoot, url.pathname);
  return r.ok ? r.path : null;
}

/**
 * Where a frame may navigate: within the app's own origin (a reload), or the dev server's
 * origin in development. Everything else (http(s) pages, file:, data:, javascript:) is refused.
 */
export function navigationAllowed(raw: string, devServerUrl: string | null): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.protocol === `${APP_SCHEME}:`) return url.host === APP_HOST;
  if (devServerUrl) {
    try {
      return url.origin === new URL(devServerUrl).origin;
    } catch {
      return false;
    }
  }
  return false;
}

/** The main window's web preferences; DevTools exist only in development builds. */
export function windowPreferences(opts: { preload: string; packaged: boolean }) {
  return {
    preload: opts.preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    devTools: !opts.packaged,
  } as const;
}

/** The part of Electron's WebContents the guards use (structural, so tests pass a fake). */
export interface GuardedContents {
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
  on(event: 'will-navigate' | 'will-redirect', listener: (e: { url: string; preventDefault(): void }) => void): unknown;
  on(event: 'will-attach-webview', listener: (e: { preventDefault(): void }) => void): unknown;
}

/**
 * Guards for every web contents the app creates (app 'web-contents-created'): no new windows
 * (allowed documentation links go to the user's browser), no navigation away from the app,
 * no <webview>.
 */
export function guardWebContents(contents: GuardedContents, opts: { devServerUrl: string | null; openExternal(url: string): void }): void {
  contents.setWindowOpenHandler(({ url }) => {
    if (externalUrlAllowed(url)) opts.openExternal(url);
    return { action: 'deny' };
  });
  const refuse = (e: { url: string; preventDefault(): void }) => {
    if (!navigationAllowed(e.url, opts.devServerUrl)) e.preventDefault();
  };
  contents.on('will-navigate', refuse);
  contents.on('will-redirect', refuse);
  contents.on('will-attach-webview', (e) => e.preventDefault());
}
