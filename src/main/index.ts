// Electron entry: one window, secure defaults, the API wired to IPC. Thin on purpose:
// everything it serves is the same object web mode and the CLI use; the rules for what a
// window may load, open or navigate to live in ./desktop/policy (unit-tested).
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, session, shell } from 'electron';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CONTENT_SECURITY_POLICY } from '../shared/csp';
import { registerIpc } from './transport/ipc';
import { contentTypeFor } from './transport/static-files';
import { openAppWorkbench } from './app/services';
import type { PathPolicy } from './app/paths';
import { APP_ORIGIN, APP_SCHEME, guardWebContents, navigationAllowed, resolveAppUrl, windowPreferences } from './desktop/policy';

// Must happen before `ready`: app:// behaves like https (secure context, fetch, relative URLs).
protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

const devServer = app.isPackaged ? null : (process.env.ELECTRON_RENDERER_URL ?? null);

function serveRenderer(): void {
  const root = join(import.meta.dirname, '../renderer');
  protocol.handle(APP_SCHEME, async (request) => {
    const file = resolveAppUrl(request.url, root);
    if (!file) return new Response('not found', { status: 404 });
    try {
      const body = await readFile(file);
      return new Response(body, { headers: { 'content-type': contentTypeFor(file), 'content-security-policy': CONTENT_SECURITY_POLICY } });
    } catch {
      return new Response('not found', { status: 404 });
    }
  });
}

/** The user, not the renderer, widens which folders API calls may read: a native dialog. */
function installMenu(paths: PathPolicy): void {
  const allowFolder = async () => {
    const picked = await dialog.showOpenDialog({ title: 'Allow a folder for rubrics and checkpoints', properties: ['openDirectory'] });
    for (const dir of picked.filePaths) paths.allow(dir);
  };
  Menu.setApplicationMenu(
    Menu.buildFromTemplate([
      { label: 'File', submenu: [{ label: 'Allow a Folder for Rubrics and Checkpoints…', click: () => void allowFolder() }, { type: 'separator' }, { role: 'quit' }] },
      { role: 'editMenu' },
      { label: 'View', submenu: [{ role: 'reload' }, ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' as const }]), { type: 'separator' }, { role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }] },
    ]),
  );
}

async function main(): Promise<void> {
  app.on('web-contents-created', (_e, contents) => guardWebContents(contents, { devServerUrl: devServer, openExternal: (url) => void shell.openExternal(url) }));
  await app.whenReady();
  const dbPath = process.env.VERIPO_DB ?? join(app.getPath('userData'), 'veripo.db');
  const { api, events, paths } = await openAppWorkbench({ dbPath, mode: 'electron' });

  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } });
  });
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  serveRenderer();
  installMenu(paths);

  const win = new BrowserWindow({
    width: 1400,
    height: 900,
    minWidth: 1280,
    minHeight: 800,
    title: 'VerIPO Workbench',
    show: false,
    webPreferences: windowPreferences({ preload: join(import.meta.dirname, '../preload/index.cjs'), packaged: app.isPackaged }),
  });
  win.once('ready-to-show', () => win.show());

  registerIpc(ipcMain, api, events, () => win.webContents, (sender) => sender === win.webContents && navigationAllowed(sender.getURL(), devServer));

  if (devServer) await win.loadURL(devServer);
  else await win.loadURL(`${APP_ORIGIN}/index.html`);

  app.on('window-all-closed', () => app.quit());
}

main().catch((err) => {
  console.error(err);
  app.exit(1);
});
