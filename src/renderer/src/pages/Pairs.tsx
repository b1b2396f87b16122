// Pairs: curate the verifier's preference pairs and manual ones at any scale. The list is paged
// from the server and windowed; decisions are keyboard-first, undoable, and go to the server at
// once. Filter, search and position survive a reload. Export takes what the curation says.
import { useCallback, useEffect, useRef, useState } from 'react';
import { api } from '../client';
import type { Pair } from '../../../shared/api';
import { ErrorNote, Loading, RunOptions, useApi } from '../lib';
import { VirtualList } from '../components/VirtualList';
import { ExportPairs } from '../components/ExportPairs';
import { EditChosen, Guidelines, PairHeader, SideBySide } from '../components/PairDetail';
import { usePagedList } from '../pagedList';

const PAGE = 200;
const VIEW_KEY = 'veripo.pairs.view';

interface View {
  runId: number | '';
  status: '' | Pair['status'];
  kind: string;
  search: string;
  index: number;
}

function savedView(): View {
  const fallback: View = { runId: '', status: '', kind: '', search: '', index: 0 };
  try {
    return { ...fallback, ...(JSON.parse(localStorage.getItem(VIEW_KEY) ?? '{}') as Partial<View>) };
  } catch {
    return fallback;
  }
}

type Action = 'accept' | 'reject' | 'swap' | 'reset';
const STATUS_OF: Record<'accept' | 'reject' | 'reset', Pair['status']> = { accept: 'accepted', reject: 'rejected', reset: 'pending' };
const ACTION_TO: Record<Pair['status'], 'accept' | 'reject' | 'reset'> = { accepted: 'accept', rejected: 'reject', pending: 'reset' };

interface UndoEntry {
  label: string;
  index: number | null;
  revert: () => Promise<unknown>;
}

export function PairsPage() {
  const runs = useApi(() => api.listRuns({}), []);
  const [view, setView] = useState<View>(savedView);
  const { runId, status, kind, index } = view;
  const [searchInput, setSearchInput] = useState(view.search);
  useEffect(() => localStorage.setItem(VIEW_KEY, JSON.stringify(view)), [view]);
  useEffect(() => {
    const t = setTimeout(() => setView((v) => (v.search === searchInput ? v : { ...v, search: searchInput, index: 0 })), 250);
    return () => clearTimeout(t);
  }, [searchInput]);
  const setFilter = (patch: Partial<View>) => setView((v) => ({ ...v, ...patch, index: 0 }));
  const setIndex = useCallback((f: (i: number) => number) => setView((v) => ({ ...v, index: f(v.index) })), []);

  const query = { ...(runId ? { run_id: runId } : {}), ...(status ? { status } : {}), ...(kind ? { kind } : {}), ...(view.search ? { search: view.search } : {}) };
  const queryKey = JSON.stringify(query);
  const list = usePagedList<Pair>(queryKey, (offset, limit) => api.listPairs({ ...query, offset, limit }).then((r) => ({ total: r.total, rows: r.pairs })), PAGE);
  const [countsTick, setCountsTick] = useState(0);
  const counts = useApi(() => api.listPairs({ ...(runId ? { run_id: runId } : {}), limit: 1 }), [runId, countsTick]);
  const refreshCounts = () => setCountsTick((t) => t + 1);

  const total = list.total ?? 0;
  const current = list.at(index);
  const [error, setError] = useState<Error | null>(null);
  const [editing, setEditing] = useState(false);
  useEffect(() => setEditing(false), [current?.id]);
  useEffect(() => {
    if (list.total != null && index >= list.total) setIndex(() => Math.max(0, list.total! - 1));
  }, [list.total, index, setIndex]);
  const { onRange } = list;
  useEffect(() => onRange(Math.max(0, index - 8), index + 8), [index, onRange]);

  const undo = useRef<UndoEntry[]>([]);
  const [undoLabel, setUndoLabel] = useState<string | null>(null);
  const pushUndo = (e: UndoEntry) => {
    undo.current.push(e);
    if (undo.current.length > 100) undo.current.shift();
    setUndoLabel(e.label);
  };
  const replace = (updated: Pair) => list.patch((p) => (p.id === updated.id ? updated : p));

  const act = useCallback(
    (action: Action | 'edit', text?: string) => {
      const pair = current;
      if (!pair) return;
      setError(null);
      const at = index;
      if (action === 'accept' || action === 'reject' || action === 'reset') {
        // Optimistic: the next keystroke already lands on the next pair.
        replace({ ...pair, status: STATUS_OF[action] });
        if (action !== 'reset') setIndex((i) => Math.min(i + 1, Math.max(0, total - 1)));
      }
      if (action === 'edit') setEditing(false);
      const call = action === 'edit' ? api.updatePair({ pair_id: pair.id, action, chosen_text: text! }) : api.updatePair({ pair_id: pair.id, action });
      call.then(
        (updated) => {
          replace(updated);
          refreshCounts();
        },
        (err: Error) => {
          replace(pair);
          setError(err);
        },
      );
      const revert =
        action === 'swap'
          ? () => api.updatePair({ pair_id: pair.id, action: 'swap' })
          : action === 'edit'
            ? () => api.updatePair({ pair_id: pair.id, action: 'edit', chosen_text: pair.chosen_text })
            : () => api.updatePair({ pair_id: pair.id, action: ACTION_TO[pair.status] });
      pushUndo({ label: `${action} pair #${pair.id}`, index: at, revert });
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [current, index, total],
  );

  const undoLast = useCallback(async () => {
    const e = undo.current.pop();
    setUndoLabel(undo.current.at(-1)?.label ?? null);
    if (!e) return;
    try {
      const out = await e.revert();
      if (out && typeof out === 'object' && 'id' in out) replace(out as Pair);
      else list.reload();
      if (e.index != null) setIndex(() => e.index!);
      refreshCounts();
    } catch (err) {
      setError(err as Error);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [list, setIndex]);

  const bulk = async (action: 'accept' | 'reject') => {
    setError(null);
    try {
      const { count } = await api.bulkUpdatePairs({ ...query, action, preview: true });
      if (!window.confirm(`${action === 'accept' ? 'Accept' : 'Reject'} all ${count} pairs the filter lists?`)) return;
      const { previous } = await api.bulkUpdatePairs({ ...query, action });
      pushUndo({ label: `${action} ${previous.length} pairs`, index: null, revert: () => api.restorePairStatuses({ changes: previous }) });
      list.reload();
      refreshCounts();
    } catch (err) {
      setError(err as Error);
    }
  };

  const search = useRef<HTMLInputElement>(null);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'z' && !(e.target as HTMLElement).closest('input, textarea, [contenteditable="true"]')) {
        e.preventDefault();
        void undoLast();
        return;
      }
      const t = e.target as HTMLElement;
      if (t.closest('input, textarea, select, [contenteditable="true"], [role="dialog"]') || e.ctrlKey || e.metaKey || e.altKey) return;
      const k = e.key.toLowerCase();
      if (k === 'j' || e.key === 'ArrowDown') setIndex((i) => Math.min(i + 1, Math.max(0, total - 1)));
      else if (k === 'k' || e.key === 'ArrowUp') setIndex((i) => Math.max(i - 1, 0));
      else if (k === 'a') act('accept');
      else if (k === 'r') act('reject');
      else if (k === 's') act('swap');
      else if (k === 'u') act('reset');
      else if (k === 'e' && current) setEditing(true);
      else if (k === '/') search.current?.focus();
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [act, undoLast, total, current, setIndex]);

  const byStatus = counts.data?.counts.by_status ?? {};
  const byKind = counts.data?.counts.by_kind ?? {};

  return (
    <section aria-labelledby="page-title" className="pairs-page">
      <h1 id="page-title">Pairs</h1>
      <div className="toolbar">
        <label>
          Run{' '}
          <select aria-label="Run" value={runId} onChange={(e) => setFilter({ runId: e.target.value ? Number(e.target.value) : '' })}>
            <RunOptions runs={runs.data ?? []} all />
          </select>
        </label>
        <label>
          Status{' '}
          <select aria-label="Status" value={status} onChange={(e) => setFilter({ status: e.target.value as View['status'] })}>
            <option value="">any</option>
            <option value="pending">pending</option>
            <option value="accepted">accepted</option>
            <option value="rejected">rejected</option>
          </select>
        </label>
        <label>
          Kind{' '}
          <select value={kind} onChange={(e) => setFilter({ kind: e.target.value })}>
            <option value="">any</option>
            {Object.keys(byKind).map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </label>
        <label>
          Search <input ref={search} type="search" aria-label="Search pairs" placeholder="prompt or text…  ( / )" value={searchInput} onChange={(e) => setSearchInput(e.target.value)} />
        </label>
        <ExportPairs filter={{ run_id: runId || undefined, status: status || undefined, kind: kind || undefined, search: view.search || undefined }} />
      </div>
      <div className="counts toolbar" aria-label="Pair counts">
        <span className="muted">status:</span>
        {['pending', 'accepted', 'rejected'].map((s) => (
          <span key={s} className={`badge status-${s}`} data-count-status={s}>
            {s} {byStatus[s] ?? 0}
          </span>
        ))}
        <span className="muted">kind:</span>
        {Object.entries(byKind).map(([k, n]) => (
          <span key={k} className="badge">
            {k} {n}
          </span>
        ))}
        <button onClick={() => void bulk('accept')} disabled={!total}>
          Accept all listed
        </button>
        <button onClick={() => void bulk('reject')} disabled={!total}>
          Reject all listed
        </button>
        <button onClick={() => void undoLast()} disabled={!undoLabel} title="Ctrl+Z">
          Undo{undoLabel ? `: ${undoLabel}` : ''}
        </button>
      </div>
      <p className="shortcuts small muted" aria-label="Keyboard shortcuts">
        Keys: <kbd>a</kbd> accept · <kbd>r</kbd> reject · <kbd>s</kbd> swap · <kbd>u</kbd> back to pending · <kbd>e</kbd> edit chosen · <kbd>j</kbd> next · <kbd>k</kbd> previous · <kbd>Ctrl+Z</kbd> undo · <kbd>/</kbd> search
      </p>
      <ErrorNote error={list.error} what="pairs" />
      <ErrorNote error={error} />
      <Loading when={list.total == null && !list.error} />
      {list.total === 0 && <p className="muted">No pairs{status || kind || view.search ? ' match the filter' : ' yet: a verify stage builds them, or create one on the Rollouts page'}.</p>}
      <div className="split pairs-split">
        <div className="list-pane">
          <div className="muted small" role="status" aria-label="Pair list count">
            {list.total != null ? `${list.total} pairs` : ''}
          </div>
          <VirtualList
            label="Pairs"
            count={total}
            rowHeight={34}
            height="calc(100vh - 280px)"
            onRange={list.onRange}
            focusIndex={index}
            renderRow={(i) => {
              const p = list.at(i);
              if (!p) return null;
              return (
                <button className={`rrow${i === index ? ' active' : ''}`} aria-pressed={i === index} aria-label={`Pair ${p.id}`} onClick={() => setIndex(() => i)}>
                  <span className="mono small">#{p.id}</span>
                  <span className="small">{p.kind}</span>
                  <span className={`badge status-${p.status}`}>{p.status}</span>
                  {p.source === 'manual' && <span className="badge">manual</span>}
                  {p.edited && <span className="badge">edited</span>}
                </button>
              );
            }}
          />
        </div>
        <div className="detail-pane">
          {current && (
            <article aria-label={`Pair ${current.id}`}>
              <PairHeader pair={current} />
              <div className="toolbar">
                <button onClick={() => act('accept')} aria-keyshortcuts="a">
                  Accept <kbd>a</kbd>
                </button>
                <button onClick={() => act('reject')} aria-keyshortcuts="r">
                  Reject <kbd>r</kbd>
                </button>
                <button onClick={() => act('swap')} aria-keyshortcuts="s">
                  Swap <kbd>s</kbd>
                </button>
                <button onClick={() => setEditing(true)} aria-keyshortcuts="e">
                  Edit chosen <kbd>e</kbd>
                </button>
                {current.status !== 'pending' && (
                  <button onClick={() => act('reset')} aria-keyshortcuts="u">
                    Reset to pending <kbd>u</kbd>
                  </button>
                )}
                <span className="muted small" aria-label="Position">
                  {index + 1} / {total}
                </span>
              </div>
              <p className="question">{current.prompt}</p>
              {current.reasons.length > 0 && (
                <ul className="reasons small">
                  {current.reasons.map((r, i) => (
                    <li key={i}>{r}</li>
                  ))}
                </ul>
              )}
              {editing ? (
                <EditChosen initial={current.chosen_text} onSave={(text) => act('edit', text)} onCancel={() => setEditing(false)} />
              ) : (
                <SideBySide chosen={current.chosen_text} rejected={current.rejected_text} />
              )}
            </article>
          )}
        </div>
        <Guidelines />
      </div>
    </section>
  );
}
