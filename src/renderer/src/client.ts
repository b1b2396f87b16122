// The renderer's only door to the workbench: window.veripo (IPC) in Electron, HTTP + SSE in web
// mode. Pages import `api` from here and never know which transport is underneath.
import type { ApiArgs, ApiMethod, ApiResult, WorkbenchClient } from '../../shared/api';
import { API_METHODS } from '../../shared/api';
import type { RunEvent } from '../../shared/events';

export class ApiCallError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

const TOKEN_KEY = 'veripo.token';

/** Web mode: take ?token= from the URL once, keep it for the tab, and hide it from the address bar. */
export function webToken(): string | null {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    window.history.replaceState(null, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function createClient(): WorkbenchClient {
  const bridge = window.veripo;
  const token = bridge ? null : webToken();
  const listeners = new Set<(e: RunEvent) => void>();
  let source: EventSource | null = null;

  const call = async (method: ApiMethod, args: unknown): Promise<unknown> => {
    if (bridge) {
      const reply = await bridge.invoke(method, args ?? {});
      if (!reply.ok) throw new ApiCallError(reply.error?.message ?? 'unknown error', reply.error?.status ?? 500);
      return reply.result;
    }
    const res = await fetch(`/api/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token ?? ''}` },
      body: JSON.stringify(args ?? {}),
    });
    const body = (await res.json().catch(() => ({ error: res.statusText }))) as { error?: string };
    if (!res.ok) throw new ApiCallError(body.error ?? `HTTP ${res.status}`, res.status);
    return body;
  };

  const ensureStream = () => {
    if (bridge) return;
    if (source) return;
    source = new EventSource(`/api/events?token=${encodeURIComponent(token ?? '')}`);
    source.onmessage = (m) => {
      try {
        const event = JSON.parse(m.data) as RunEvent;
        for (const l of listeners) l(event);
      } catch {
        // ignore malformed frames
      }
    };
  };
  let unsubscribeBridge: (() => void) | null = null;

  const client = {
    onEvent(listener: (e: RunEvent) => void) {
      listeners.add(listener);
      if (bridge && !unsubscribeBridge) unsubscribeBridge = bridge.onEvent((e: unknown) => listeners.forEach((l) => l(e as RunEvent)));
      ensureStream();
      return () => {
        listeners.delete(listener);
      };
    },
  } as Record<string, unknown>;
  for (const m of API_METHODS) client[m] = (args: unknown) => call(m, args);
  return client as unknown as WorkbenchClient;
}

export const api: WorkbenchClient = createClient();
export const transport: 'ipc' | 'http' = typeof window !== 'undefined' && window.veripo ? 'ipc' : 'http';
export type { ApiArgs, ApiMethod, ApiResult };
