// Pairs: curate the verifier's preference pairs and manual ones. Chosen and rejected side by
// side with a word diff; accept / reject / swap / edit, all persisted through updatePair.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { api } from '../client';
import type { Pair } from '../../../shared/api';
import { ErrorNote, Loading, RunOptions, downloadText, useApi } from '../lib';
import { VirtualList } from '../components/VirtualList';
import { wordDiff } from '../components/diff';

const LIMIT = 5000;

export function PairsPage() {
  const runs = useApi(() => api.listRuns({}), []);
  const [runId, setRunId] = useState<number | ''>('');
  const [status, setStatus] = useState<'' | Pair['status']>('');
  const [kind, setKind] = useState('');
  const list = useApi(
    () => api.listPairs({ ...(runId ? { run_id: runId } : {}), ...(status ? { status } : {}), ...(kind ? { kind } : {}), limit: LIMIT }),
    [runId, status, kind],
  );
  const [pairs, setPairs] = useState<Pair[]>([]);
  const [index, setIndex] = useState(0);
  const [error, setError] = useState<Error | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const current = pairs[index] ?? null;
  // When the list reloads (filter change), stay on the pair the person was looking at if it is
  // still listed: a keystroke must never land on a different pair than the one on screen.
  const currentId = useRef<number | null>(null);
  currentId.current = current?.id ?? null;
  useEffect(() => {
    const next = list.data?.pairs ?? [];
    setPairs(next);
    const keep = currentId.current == null ? -1 : next.findIndex((p) => p.id === currentId.current);
    setIndex((i) => (keep >= 0 ? keep : Math.min(i, Math.max(0, next.length - 1))));
  }, [list.data]);
  useEffect(() => setEditing(null), [current?.id]);

  const act = useCallback(
    async (action: 'accept' | 'reject' | 'swap' | 'reset' | 'edit', text?: string) => {
      if (!current) return;
      setError(null);
      try {
        const updated = await api.updatePair(action === 'edit' ? { pair_id: current.id, action, chosen_text: text! } : { pair_id: current.id, action });
        setPairs((ps) => ps.map((p) => (p.id === updated.id ? updated : p)));
        if (action === 'accept' || action === 'reject') setIndex((i) => Math.min(i + 1, pairs.length - 1));
        if (action === 'edit') setEditing(null);
      } catch (err) {
        setError(err as Error);
      }
    },
    [current, pairs.length],
  );

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (t.closest('input, textarea, select, [contenteditable="true"]') || e.ctrlKey || e.metaKey || e.altKey) return;
      const k = e.key.toLowerCase();
      if (k === 'j') setIndex((i) => Math.min(i + 1, pairs.length - 1));
      else if (k === 'k') setIndex((i) => Math.max(i - 1, 0));
      else if (k === 'a') void act('accept');
      else if (k === 'r') void act('reject');
      else if (k === 's') void act('swap');
      else if (k === 'e' && current) setEditing(current.chosen_text);
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [act, pairs.length, current]);

  // Counts come from the server at load time; decisions made since then adjust them locally.
  const counts = useMemo(() => {
    const byStatus = { ...(list.data?.counts.by_status ?? {}) };
    for (const p of pairs) {
      const before = list.data?.pairs.find((q) => q.id === p.id);
      if (before && before.status !== p.status) {
        byStatus[before.status] = (byStatus[before.status] ?? 1) - 1;
        byStatus[p.status] = (byStatus[p.status] ?? 0) + 1;
      }
    }
    return { byStatus, byKind: list.data?.counts.by_kind ?? {} };
  }, [list.data, pairs]);

  return (
    <section aria-labelledby="page-title" className="pairs-page">
      <h1 id="page-title">Pairs</h1>
      <div className="toolbar">
        <label>
          Run{' '}
          <select aria-label="Run" value={runId} onChange={(e) => setRunId(e.target.value ? Number(e.target.value) : '')}>
            <RunOptions runs={runs.data ?? []} all />
          </select>
        </label>
        <label>
          Status{' '}
          <select aria-label="Status" value={status} onChange={(e) => setStatus(e.target.value as typeof status)}>
            <option value="">any</option>
            <option value="pending">pending</option>
            <option value="accepted">accepted</option>
            <option value="rejected">rejected</option>
          </select>
        </label>
        <label>
          Kind{' '}
          <select value={kind} onChange={(e) => setKind(e.target.value)}>
            <option value="">any</option>
            {Object.keys(counts.byKind).map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </label>
        <Export runId={runId || undefined} />
      </div>
      <div className="counts" aria-label="Pair counts">
        <span className="muted">status:</span>
        {['pending', 'accepted', 'rejected'].map((s) => (
          <span key={s} className={`badge status-${s}`} data-count-status={s}>
            {s} {counts.byStatus[s] ?? 0}
          </span>
        ))}
        <span className="muted">kind:</span>
        {Object.entries(counts.byKind).map(([k, n]) => (
          <span key={k} className="badge">
            {k} {n}
          </span>
        ))}
      </div>
      <p className="shortcuts small muted" aria-label="Keyboard shortcuts">
        Keys: <kbd>a</kbd> accept · <kbd>r</kbd> reject · <kbd>s</kbd> swap · <kbd>e</kbd> edit chosen · <kbd>j</kbd> next · <kbd>k</kbd> previous
      </p>
      <ErrorNote error={list.error} what="pairs" />
      <Loading when={list.loading && !list.data} />
      {list.data && pairs.length === 0 && <p className="muted">No pairs{status || kind ? ' match the filter' : ' yet: a verify stage builds them, or create one on the Rollouts page'}.</p>}
      <div className="split">
        <div className="list-pane">
          <div className="muted small">
            {list.data ? `${list.data.total} pairs${list.data.total > LIMIT ? ` (first ${LIMIT})` : ''}` : ''}
          </div>
          <VirtualList
            label="Pairs"
            count={pairs.length}
            rowHeight={34}
            height="calc(100vh - 260px)"
            renderRow={(i) => {
              const p = pairs[i]!;
              return (
                <button className={`rrow${i === index ? ' active' : ''}`} aria-pressed={i === index} aria-label={`Pair ${p.id}`} onClick={() => setIndex(i)}>
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
              <header className="toolbar">
                <h2>
                  Pair #{current.id} <span className="muted small">{current.kind} · {current.source}</span>
                </h2>
                <span className={`badge status-${current.status}`} aria-label="Pair status">
                  {current.status}
                </span>
                {current.edited && <span className="badge">edited</span>}
              </header>
              <div className="toolbar">
                <button onClick={() => void act('accept')} aria-keyshortcuts="a">
                  Accept <kbd>a</kbd>
                </button>
                <button onClick={() => void act('reject')} aria-keyshortcuts="r">
                  Reject <kbd>r</kbd>
                </button>
                <button onClick={() => void act('swap')} aria-keyshortcuts="s">
                  Swap <kbd>s</kbd>
                </button>
                <button onClick={() => setEditing(current.chosen_text)} aria-keyshortcuts="e">
                  Edit chosen <kbd>e</kbd>
                </button>
                {current.status !== 'pending' && <button onClick={() => void act('reset')}>Reset to pending</button>}
                <span className="muted small">
                  {index + 1} / {pairs.length}
                </span>
              </div>
              <ErrorNote error={error} />
              <p className="question">{current.prompt}</p>
              {current.reasons.length > 0 && (
                <ul className="reasons small">
                  {current.reasons.map((r, i) => (
                    <li key={i}>{r}</li>
                  ))}
                </ul>
              )}
              {editing != null ? (
                <div className="panel">
                  <label className="field">
                    <span>Chosen text</span>
                    <textarea rows={10} value={editing} onChange={(e) => setEditing(e.target.value)} />
                  </label>
                  <div className="toolbar">
                    <button className="primary" disabled={!editing.trim()} onClick={() => void act('edit', editing)}>
                      Save chosen
                    </button>
                    <button onClick={() => setEditing(null)}>Cancel</button>
                  </div>
                </div>
              ) : (
                <SideBySide chosen={current.chosen_text} rejected={current.rejected_text} />
              )}
            </article>
          )}
        </div>
      </div>
    </section>
  );
}

function SideBySide({ chosen, rejected }: { chosen: string; rejected: string }) {
  const diff = useMemo(() => wordDiff(rejected, chosen), [chosen, rejected]);
  return (
    <div className="side-by-side">
      <section aria-label="Chosen">
        <h3 className="ok">Chosen</h3>
        <div className="cot mono">{diff.filter((d) => d.op !== 'del').map((d, i) => (d.op === 'add' ? <ins key={i}>{d.text}</ins> : <span key={i}>{d.text}</span>))}</div>
      </section>
      <section aria-label="Rejected">
        <h3 className="bad">Rejected</h3>
        <div className="cot mono">{diff.filter((d) => d.op !== 'add').map((d, i) => (d.op === 'del' ? <del key={i}>{d.text}</del> : <span key={i}>{d.text}</span>))}</div>
      </section>
    </div>
  );
}

function Export({ runId }: { runId?: number }) {
  const [format, setFormat] = useState<'trl' | 'llamafactory'>('trl');
  const [error, setError] = useState<Error | null>(null);
  const [done, setDone] = useState<string | null>(null);
  return (
    <span className="export">
      <label>
        Export format{' '}
        <select value={format} onChange={(e) => setFormat(e.target.value as typeof format)}>
          <option value="trl">TRL (prompt/chosen/rejected)</option>
          <option value="llamafactory">LLaMA-Factory</option>
        </select>
      </label>
      <button
        onClick={async () => {
          setError(null);
          setDone(null);
          try {
            const out = await api.exportPairs({ format, ...(runId ? { run_id: runId } : {}) });
            downloadText(out.filename, out.content);
            setDone(`${out.count} pairs → ${out.filename}`);
          } catch (err) {
            setError(err as Error);
          }
        }}
      >
        Export
      </button>
      {done && (
        <span role="status" className="small">
          {done}
        </span>
      )}
      <ErrorNote error={error} what="export" />
    </span>
  );
}
