// Electron IPC: one channel per API method ("veripo:<method>"), arguments validated with the
// shared zod schemas; anything else is refused. Events go to the window on "veripo:event".
import type { IpcMain, WebContents } from 'electron';
import { API_METHODS, parseApiArgs, ApiValidationError, isApiMethod, type WorkbenchApi } from '../../shared/api';
import type { EventHub } from '../events';
import { ApiError } from '../api';

export const IPC_PREFIX = 'veripo:';
export const IPC_EVENT_CHANNEL = 'veripo:event';

export interface IpcReply {
  ok: boolean;
  result?: unknown;
  error?: { message: string; status: number; issues?: { path: string; message: string }[] };
}

/** The handler for one invoke, separated from Electron so tests can call it. */
export async function handleIpcCall(api: WorkbenchApi, channel: string, raw: unknown): Promise<IpcReply> {
  const name = channel.startsWith(IPC_PREFIX) ? channel.slice(IPC_PREFIX.length) : '';
  if (!isApiMethod(name)) return { ok: false, error: { message: `unknown channel "${channel}"`, status: 404 } };
  try {
    const args = parseApiArgs(name, raw);
    const fn = api[name] as (a: unknown) => Promise<unknown>;
    return { ok: true, result: await fn(args) };
  } catch (err) {
    if (err instanceof ApiValidationError) return { ok: false, error: { message: err.message, status: 400, issues: err.issues } };
    if (err instanceof ApiError) return { ok: false, error: { message: err.message, status: err.status } };
    return { ok: false, error: { message: (err as Error).message ?? String(err), status: 500 } };
  }
}

export function registerIpc(ipcMain: IpcMain, api: WorkbenchApi, events: EventHub, target: () => WebContents | null, isTrustedSender: (sender: WebContents) => boolean): () => void {
  for (const method of API_METHODS) {
    ipcMain.handle(IPC_PREFIX + method, (event, raw) => {
      if (!isTrustedSender(event.sender)) return { ok: false, error: { message: 'untrusted sender', status: 403 } } satisfies IpcReply;
      return handleIpcCall(api, IPC_PREFIX + method, raw);
    });
  }
  const unsubscribe = events.subscribe((event) => {
    const wc = target();
    if (wc && !wc.isDestroyed()) wc.send(IPC_EVENT_CHANNEL, event);
  });
  return () => {
    unsubscribe();
    for (const method of API_METHODS) ipcMain.removeHandler(IPC_PREFIX + method);
  };
}
