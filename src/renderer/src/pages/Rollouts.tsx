// Rollouts: choose run → stage/step, filter by verdict, scroll a windowed list of every
// rollout (pages fetched by offset/limit as they come into view), and read one prompt group:
// the video, the question, and each rollout's rewards, verdict and highlighted reasoning.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { api } from '../client';
import type { Rollout } from '../../../shared/api';
import { ErrorNote, RunOptions, fmtNum, hashParams, useApi } from '../lib';
import { VirtualList } from '../components/VirtualList';
import { usePagedList } from '../pagedList';
import { GroupView, flag } from '../components/GroupView';

const PAGE = 200;

const sameGroup = (a: Rollout, b: Rollout) => a.stage_id === b.stage_id && a.step === b.step && a.prompt_id === b.prompt_id;
const ROW_H = 34;
type Tri = '' | 'yes' | 'no';

export function RolloutsPage() {
  const runs = useApi(() => api.listRuns({}), []);
  const [runId, setRunId] = useState<number | null>(() => Number(hashParams().get('run')) || null);
  useEffect(() => {
    if (runId == null && runs.data?.length) {
      const withRollouts = [...runs.data].reverse().find((r) => r.status === 'finished') ?? runs.data[runs.data.length - 1]!;
      setRunId(withRollouts.id);
    }
  }, [runs.data, runId]);
  const steps = useApi(() => (runId ? api.listRolloutSteps({ run_id: runId }) : Promise.resolve([])), [runId]);
  const [where, setWhere] = useState(''); // '' | 'stage:ID' | 'step:ID:STEP'
  const [filters, setFilters] = useState<{ correct: Tri; consistent: Tri; repetitive: Tri; reflective: Tri; in_pair: '' | 'chosen' | 'rejected' }>({
    correct: '',
    consistent: '',
    repetitive: '',
    reflective: '',
    in_pair: '',
  });

  const stages = useMemo(() => {
    const m = new Map<string, { stage_id: number | null; kind: string | null; iteration: number | null; count: number; steps: { step: number | null; count: number }[] }>();
    for (const s of steps.data ?? []) {
      const k = String(s.stage_id);
      if (!m.has(k)) m.set(k, { stage_id: s.stage_id, kind: s.kind, iteration: s.iteration, count: 0, steps: [] });
      const e = m.get(k)!;
      e.count += s.count;
      e.steps.push({ step: s.step, count: s.count });
    }
    return [...m.values()];
  }, [steps.data]);

  const query = useMemo(() => {
    if (!runId) return null;
    const q: Parameters<typeof api.listRollouts>[0] = { run_id: runId };
    const [kind, a, b] = where.split(':');
    if ((kind === 'stage' || kind === 'step') && a && a !== 'null') q.stage_id = Number(a);
    if (kind === 'step' && b && b !== 'null') q.step = Number(b);
    for (const k of ['correct', 'consistent', 'repetitive', 'reflective'] as const) if (filters[k]) q[k] = filters[k] === 'yes';
    if (filters.in_pair) q.in_pair = filters.in_pair;
    return q;
  }, [runId, where, filters]);

  // Pages of the current query, fetched as rows come into view; a new query starts a new cache.
  const queryKey = query ? JSON.stringify(query) : null;
  const list = usePagedList<Rollout>(queryKey, (offset, limit) => api.listRollouts({ ...query!, offset, limit }).then((r) => ({ total: r.total, rows: r.rollouts })), PAGE);
  const { total, error, onRange, at } = list;
  const [selected, setSelected] = useState<number | null>(null);
  // A deep link (#/rollouts?run=3&rollout=812) opens that rollout where the listing has it.
  const focusId = useRef<number | null>(Number(hashParams().get('rollout')) || null);
  useEffect(() => {
    if (focusId.current == null) return;
    api.locateRollout({ rollout_id: focusId.current }).then(
      (loc) => {
        setRunId(loc.run_id);
        setWhere('');
        setFilters({ correct: '', consistent: '', repetitive: '', reflective: '', in_pair: '' });
        pendingIndex.current = loc.index;
        setSelected(loc.index);
      },
      () => (focusId.current = null),
    );
  }, []);
  const pendingIndex = useRef<number | null>(null);
  useEffect(() => {
    setSelected(pendingIndex.current);
    pendingIndex.current = null;
  }, [queryKey]);
  // The address follows the selection, so a copied link opens what is on screen.
  useEffect(() => {
    if (!runId) return;
    const r = selected != null ? at(selected) : null;
    const q = new URLSearchParams({ run: String(runId), ...(r ? { rollout: String(r.id) } : {}) });
    window.history.replaceState(null, '', `#/rollouts?${q}`);
  }, [runId, selected, at]);

  // The group of the selected row: neighbours from the same stage, step and prompt (rows are ordered by stage, step, prompt, group index).
  const group = useMemo(() => {
    if (selected == null) return [];
    const r = at(selected);
    if (!r) return [];
    const out: Rollout[] = [r];
    for (let i = selected - 1; i >= 0; i--) {
      const o = at(i);
      if (!o || !sameGroup(o, r)) break;
      out.unshift(o);
    }
    for (let i = selected + 1; total != null && i < total; i++) {
      const o = at(i);
      if (!o || !sameGroup(o, r)) break;
      out.push(o);
    }
    return out;
  }, [selected, at, total]);
  useEffect(() => {
    if (selected != null) onRange(Math.max(0, selected - 32), selected + 32);
  }, [selected, onRange]);

  // Keyboard: j/k (or ↓/↑) the next/previous rollout, Shift+J/K the next/previous prompt group.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.target as HTMLElement).closest('input, textarea, select, [contenteditable="true"], [role="dialog"]') || e.ctrlKey || e.metaKey || e.altKey) return;
      const n = total ?? 0;
      if (n === 0) return;
      const cur = selected ?? -1;
      const key = e.key;
      const groupOf = (i: number) => {
        const r = at(i);
        return r ? `${r.stage_id}|${r.step}|${r.prompt_id}` : null;
      };
      let next: number | null = null;
      if (key === 'j' || key === 'ArrowDown') next = Math.min(n - 1, cur + 1);
      else if (key === 'k' || key === 'ArrowUp') next = Math.max(0, cur - 1);
      else if (key === 'J') {
        const g = groupOf(Math.max(0, cur));
        next = Math.max(0, cur);
        while (next < n - 1 && groupOf(next) === g) next++;
      } else if (key === 'K') {
        let i = Math.max(0, cur);
        const g = groupOf(i);
        while (i > 0 && groupOf(i) === g) i--;
        const prev = groupOf(i);
        while (i > 0 && groupOf(i - 1) === prev) i--;
        next = i;
      } else return;
      e.preventDefault();
      setSelected(next);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [selected, total, at]);

  const renderRow = useCallback(
    (i: number) => {
      const r = at(i);
      if (!r) return null;
      const prev = i > 0 ? at(i - 1) : null;
      const first = !prev || !sameGroup(prev, r);
      const correct = flag(r, 'correct');
      const consistent = flag(r, 'consistent');
      return (
        <button
          className={`rrow rgrid${first ? ' group-start' : ''}${selected === i ? ' active' : ''}`}
          aria-pressed={selected === i}
          aria-label={`Rollout ${r.id}, prompt ${r.prompt_id}, generation ${r.group_index}`}
          onClick={() => setSelected(i)}
        >
          <span className="mono small col-step">{r.step ?? '—'}</span>
          <span className="mono small col-prompt" title={r.prompt_id}>
            {first ? r.prompt_id : ''}
          </span>
          <span className="mono small">g{r.group_index}</span>
          <span className="mono small col-reward">{fmtNum(r.reward, 3)}</span>
          <span className="col-verdict">
            <span className={correct ? 'ok' : correct === false ? 'bad' : 'muted'}>{correct ? '✓ correct' : correct === false ? '✗ wrong' : 'unverified'}</span>
            {consistent === false && <span className="bad small" title="inconsistent: the reasoning concludes something else than the answer">incons.</span>}
            {flag(r, 'repetitive') && <span className="warn small" title="repetitive">rep.</span>}
            {flag(r, 'reflective') && <span className="ok small" title="reflective: corrects itself">refl.</span>}
            {r.truncated && <span className="warn small" title="truncated at max_completion_length">trunc.</span>}
          </span>
        </button>
      );
    },
    [at, selected],
  );

  const setF = (k: keyof typeof filters, v: string) => setFilters((f) => ({ ...f, [k]: v }));

  return (
    <section aria-labelledby="page-title" className="rollouts-page">
      <h1 id="page-title">Rollouts</h1>
      <div className="toolbar">
        <label>
          Run{' '}
          <select aria-label="Run" value={runId ?? ''} onChange={(e) => (setRunId(Number(e.target.value)), setWhere(''))}>
            <RunOptions runs={runs.data ?? []} status />
          </select>
        </label>
        <label>
          Stage / step{' '}
          <select aria-label="Stage / step" value={where} onChange={(e) => setWhere(e.target.value)}>
            <option value="">all stages</option>
            {stages.map((s) => (
              <optgroup key={String(s.stage_id)} label={s.kind ? `${s.kind.toUpperCase()} · iteration ${s.iteration}` : 'imported'}>
                <option value={`stage:${s.stage_id}`}>
                  all steps ({s.count})
                </option>
                {s.steps.map((st) => (
                  <option key={String(st.step)} value={`step:${s.stage_id}:${st.step}`}>
                    step {st.step ?? '—'} ({st.count})
                  </option>
                ))}
              </optgroup>
            ))}
          </select>
        </label>
        {(['correct', 'consistent', 'repetitive', 'reflective'] as const).map((k) => (
          <label key={k}>
            {k[0]!.toUpperCase() + k.slice(1)}{' '}
            <select aria-label={k[0]!.toUpperCase() + k.slice(1)} value={filters[k]} onChange={(e) => setF(k, e.target.value)}>
              <option value="">any</option>
              <option value="yes">yes</option>
              <option value="no">no</option>
            </select>
          </label>
        ))}
        <label>
          In pair{' '}
          <select aria-label="In pair" value={filters.in_pair} onChange={(e) => setF('in_pair', e.target.value)}>
            <option value="">any</option>
            <option value="chosen">chosen</option>
            <option value="rejected">rejected</option>
          </select>
        </label>
      </div>
      <ErrorNote error={runs.error ?? steps.error} />
      <ErrorNote error={error} what="rollouts" />
      <div className="split">
        <div className="list-pane">
          <div className="muted small" role="status" aria-label="Rollout count">
            {total == null ? 'loading…' : `${total} rollouts`}
          </div>
          <div className="rrow rgrid header small muted" aria-hidden>
            <span className="col-step">step</span>
            <span className="col-prompt">prompt</span>
            <span>gen</span>
            <span className="col-reward">reward</span>
            <span className="col-verdict">verdict</span>
          </div>
          <VirtualList label="Rollouts" count={total ?? 0} rowHeight={ROW_H} height="calc(100vh - 230px)" renderRow={renderRow} onRange={onRange} focusIndex={selected} />
        </div>
        <div className="detail-pane">
          {group.length > 0 ? <GroupView filtered={group} focus={at(selected!)?.id ?? null} filterOn={Object.values(filters).some(Boolean)} /> : <p className="muted">Select a rollout to see its prompt group.</p>}
        </div>
      </div>
    </section>
  );
}
