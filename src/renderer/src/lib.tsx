// Small pieces every page uses: loading API data with error state, and how errors are shown.
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiCallError } from './client';
import type { RunSummary } from '../../shared/api';

export interface Loaded<T> {
  data: T | null;
  error: Error | null;
  loading: boolean;
  reload: () => void;
}

/** Run an API call when deps change; keep the last data while reloading. Stale answers are dropped. */
export function useApi<T>(fn: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: Error | null; loading: boolean }>({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  useEffect(() => {
    const mine = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    fn().then(
      (data) => mine === seq.current && setState({ data, error: null, loading: false }),
      (error: Error) => mine === seq.current && setState({ data: null, error, loading: false }),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** Call fn every `ms` while ms is not null (live views of running runs). */
export function useInterval(fn: () => void, ms: number | null): void {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    if (ms == null) return;
    const t = setInterval(() => ref.current(), ms);
    return () => clearInterval(t);
  }, [ms]);
}

let leaveGuard: (() => boolean) | null = null;

/** While `dirty`, leaving the page (another page, reload, closing the tab) asks first. */
export function useLeaveGuard(dirty: boolean, message: string): void {
  useEffect(() => {
    if (!dirty) return;
    const guard = () => window.confirm(message);
    leaveGuard = guard;
    const onUnload = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', onUnload);
    return () => {
      if (leaveGuard === guard) leaveGuard = null;
      window.removeEventListener('beforeunload', onUnload);
    };
  }, [dirty, message]);
}

/** Asked by the app shell before it switches pages. */
export function mayLeave(): boolean {
  return leaveGuard ? leaveGuard() : true;
}

export function isUnavailable(err: unknown): boolean {
  return err instanceof ApiCallError && err.status === 503;
}

/** An error box; a 503 means the feature is not wired into this build, which is not a crash. */
export function ErrorNote({ error, what }: { error: Error | null; what?: string }) {
  if (!error) return null;
  if (isUnavailable(error)) {
    return (
      <div className="note warn" role="alert">
        {what ? `${what}: ` : ''}not available in this build ({error.message})
      </div>
    );
  }
  return (
    <div className="note error" role="alert">
      {what ? `${what}: ` : ''}
      {error.message}
    </div>
  );
}

export function Loading({ when, children }: { when: boolean; children?: ReactNode }) {
  return when ? <div className="muted" role="status">{children ?? 'Loading…'}</div> : null;
}

export function fmtNum(v: number | null | undefined, digits = 3): string {
  if (v == null || !Number.isFinite(v)) return '—';
  if (Math.abs(v) >= 1000) return v.toFixed(0);
  return Number(v.toPrecision(digits)).toString();
}

export function fmtPct(v: number | null | undefined): string {
  return v == null || !Number.isFinite(v) ? '—' : `${(v * 100).toFixed(1)} %`;
}

export function fmtDuration(s: number | null | undefined): string {
  if (s == null || !Number.isFinite(s)) return '—';
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** Trigger a browser download of text content (export, no server round trip). */
export function downloadText(filename: string, content: string, type = 'application/jsonl'): void {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Hash route parameters: #/rollouts?run=3 ⇄ { run: '3' }. */
export function hashParams(): URLSearchParams {
  const q = window.location.hash.split('?')[1] ?? '';
  return new URLSearchParams(q);
}

/** The <option>s of a run picker (Rollouts, Pairs, rubric dry run): `#id name`, optionally its status. */
export function RunOptions({ runs, all, status }: { runs: readonly (Pick<RunSummary, 'id' | 'name' | 'preset'> & Partial<Pick<RunSummary, 'status'>>)[]; all?: boolean; status?: boolean }) {
  return (
    <>
      {all && <option value="">all runs</option>}
      {runs.map((r) => (
        <option key={r.id} value={r.id}>
          #{r.id} {r.name ?? r.preset ?? ''}
          {status && r.status ? ` (${r.status})` : ''}
        </option>
      ))}
    </>
  );
}
