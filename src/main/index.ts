// Electron entry: one window, secure defaults, the API wired to IPC. Thin on purpose:
// everything it serves is the same object web mode and the CLI use.
import { app, BrowserWindow, ipcMain, session, shell } from 'electron';
import { join } from 'node:path';
import { CONTENT_SECURITY_POLICY } from '../shared/csp';
import { registerIpc } from './transport/ipc';
import { openAppWorkbench } from './app/services';

async function main(): Promise<void> {
  await app.whenReady();
  const dbPath = process.env.VERIPO_DB ?? join(app.getPath('userData'), 'veripo.db');
  const { api, events } = await openAppWorkbench({ dbPath, mode: 'electron' });

  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } });
  });
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));

  const win = new BrowserWindow({
    width: 1400,
    height: 900,
    minWidth: 1280,
    minHeight: 800,
    title: 'VerIPO Workbench',
    show: false,
    webPreferences: {
      preload: join(import.meta.dirname, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  });
  win.once('ready-to-show', () => win.show());
  // Links open in the user's browser; the app window never navigates away from the app.
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https?:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  win.webContents.on('will-navigate', (e) => e.preventDefault());

  registerIpc(ipcMain, api, events, () => win.webContents, (sender) => sender === win.webContents);

  if (process.env.ELECTRON_RENDERER_URL) await win.loadURL(process.env.ELECTRON_RENDERER_URL);
  else await win.loadFile(join(import.meta.dirname, '../renderer/index.html'));

  app.on('window-all-closed', () => app.quit());
}

main().catch((err) => {
  console.error(err);
  app.exit(1);
});
