// Runs sandboxed with contextIsolation: exposes only invoke(method, args) for the API's own
// methods and an event subscription. No Node, no ipcRenderer, no arbitrary channels.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { API_METHODS } from '../shared/api';
import type { VeripoBridge } from './api';

const allowed = new Set<string>(API_METHODS);

const bridge: VeripoBridge = {
  invoke(method, args) {
    if (!allowed.has(method)) return Promise.reject(new Error(`unknown API method "${method}"`));
    return ipcRenderer.invoke(`veripo:${method}`, args);
  },
  onEvent(listener) {
    const handler = (_e: IpcRendererEvent, event: unknown) => listener(event);
    ipcRenderer.on('veripo:event', handler);
    return () => ipcRenderer.removeListener('veripo:event', handler);
  },
};

contextBridge.exposeInMainWorld('veripo', bridge);
