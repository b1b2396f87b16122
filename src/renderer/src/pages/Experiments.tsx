// Experiments: every run in a sortable, filterable table; pick several to compare their
// curves, configs, final metrics and stage timelines (components/Compare).
import { useEffect, useMemo, useState } from 'react';
import { api } from '../client';
import type { RunSummary } from '../../../shared/api';
import { RunStatus } from '../../../shared/api';
import { ErrorNote, Loading, fmtDuration, fmtPct, useApi, useInterval } from '../lib';
import { Compare } from '../components/Compare';
import { ExperimentReport } from '../components/ExperimentReport';

type SortKey = 'id' | 'name' | 'preset' | 'seed' | 'backend' | 'status' | 'val_accuracy' | 'wall_s';
const COLUMNS: { key: SortKey; label: string }[] = [
  { key: 'id', label: 'Run' },
  { key: 'name', label: 'Name' },
  { key: 'preset', label: 'Preset' },
  { key: 'seed', label: 'Seed' },
  { key: 'backend', label: 'Backend' },
  { key: 'status', label: 'Status' },
  { key: 'val_accuracy', label: 'Final val accuracy' },
  { key: 'wall_s', label: 'Wall time' },
];

function sortValue(r: RunSummary, key: SortKey): string | number {
  switch (key) {
    case 'val_accuracy':
      return r.final_val?.accuracy ?? -1;
    case 'wall_s':
      return r.wall_s ?? -1;
    case 'name':
      return r.name ?? '';
    default:
      return (r[key] ?? '') as string | number;
  }
}

export function ExperimentsPage() {
  const runs = useApi(() => api.listRuns({}), []);
  const [sort, setSort] = useState<{ key: SortKey; dir: 1 | -1 }>({ key: 'id', dir: -1 });
  const [filter, setFilter] = useState('');
  const [status, setStatus] = useState('');
  const [selected, setSelected] = useState<number[] | null>(null);

  // Start with the two most recent finished runs that have curves (not imported rollout files).
  useEffect(() => {
    if (selected === null && runs.data) {
      const withCurves = runs.data.filter((r) => r.has_curves);
      const finished = withCurves.filter((r) => r.status === 'finished');
      setSelected((finished.length ? finished : withCurves).slice(-2).map((r) => r.id));
    }
  }, [runs.data, selected]);
  // Running runs change under the table: refresh while any is running.
  useInterval(runs.reload, runs.data?.some((r) => r.status === 'running') ? 5000 : null);

  const rows = useMemo(() => {
    const q = filter.trim().toLowerCase();
    const list = (runs.data ?? []).filter(
      (r) =>
        (!status || r.status === status) &&
        (!q || [r.name, r.preset, r.backend, r.status, r.experiment, String(r.seed), `#${r.id}`].some((v) => v?.toLowerCase().includes(q))),
    );
    return list.sort((a, b) => {
      const x = sortValue(a, sort.key);
      const y = sortValue(b, sort.key);
      return (x < y ? -1 : x > y ? 1 : 0) * sort.dir;
    });
  }, [runs.data, filter, status, sort]);

  const sel = selected ?? [];
  const toggle = (id: number) => setSelected(sel.includes(id) ? sel.filter((x) => x !== id) : [...sel, id]);

  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Experiments</h1>
      <div className="toolbar">
        <label>
          Filter runs <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="preset, backend, name…" />
        </label>
        <label>
          Status{' '}
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">any</option>
            {RunStatus.options.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <button onClick={runs.reload}>Refresh</button>
        <span className="muted">
          {rows.length} of {runs.data?.length ?? 0} runs · {sel.length} selected
        </span>
      </div>
      <ErrorNote error={runs.error} what="runs" />
      <Loading when={runs.loading && !runs.data} />
      <div className="table-wrap">
        <table aria-label="Runs">
          <thead>
            <tr>
              <th scope="col">Compare</th>
              {COLUMNS.map((c) => (
                <th key={c.key} scope="col" aria-sort={sort.key === c.key ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none'}>
                  <button
                    className="link"
                    onClick={() => setSort((s) => ({ key: c.key, dir: s.key === c.key ? ((-s.dir) as 1 | -1) : 1 }))}
                  >
                    {c.label}
                    {sort.key === c.key ? (sort.dir === 1 ? ' ▲' : ' ▼') : ''}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id} className={sel.includes(r.id) ? 'selected' : undefined}>
                <td>
                  <input type="checkbox" aria-label={`Compare run ${r.id}`} checked={sel.includes(r.id)} onChange={() => toggle(r.id)} />
                </td>
                <td>
                  <a href={`#/rollouts?run=${r.id}`} title="Open this run's rollouts">
                    #{r.id}
                  </a>
                </td>
                <td>
                  {r.name ?? <span className="muted">—</span>}
                  <div className="muted small">{r.experiment}</div>
                </td>
                <td>{r.preset ?? '—'}</td>
                <td>{r.seed}</td>
                <td>{r.backend ?? '—'}</td>
                <td>
                  <span className={`badge status-${r.status}`} title={r.error ?? undefined}>
                    {r.status}
                  </span>
                </td>
                <td>{fmtPct(r.final_val?.accuracy)}</td>
                <td>{fmtDuration(r.wall_s)}</td>
              </tr>
            ))}
            {runs.data && rows.length === 0 && (
              <tr>
                <td colSpan={COLUMNS.length + 1} className="muted">
                  No runs{runs.data.length ? ' match the filter' : ' yet: start one on the Runs page, or `veripo run --preset smoke`'}.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {sel.length > 0 && <Compare runIds={sel} runs={runs.data ?? []} />}
      <Reports onCompare={(experimentId) => setSelected((runs.data ?? []).filter((r) => r.experiment_id === experimentId).map((r) => r.id))} />
    </section>
  );
}

/** The reports `veripo experiment` stored: pick an experiment, read its report, compare its runs. */
function Reports({ onCompare }: { onCompare: (experimentId: number) => void }) {
  const experiments = useApi(() => api.listExperiments({}), []);
  const withReport = (experiments.data ?? []).filter((e) => e.has_report);
  const [picked, setPicked] = useState<number | null>(null);
  const current = picked ?? withReport.at(-1)?.id ?? null;
  const report = useApi(() => (current == null ? Promise.resolve(null) : api.getExperimentReport({ experiment_id: current })), [current]);
  if (!withReport.length) return null;
  return (
    <section aria-labelledby="reports-title">
      <h2 id="reports-title">Experiment reports</h2>
      <div className="toolbar">
        <label>
          Experiment{' '}
          <select value={current ?? ''} onChange={(e) => setPicked(Number(e.target.value))}>
            {withReport.map((e) => (
              <option key={e.id} value={e.id}>
                {e.name} ({e.run_count} runs)
              </option>
            ))}
          </select>
        </label>
        {current != null && <button onClick={() => onCompare(current)}>Compare its runs</button>}
      </div>
      <ErrorNote error={report.error} what="the report" />
      <Loading when={report.loading && !report.data} />
      {report.data && <ExperimentReport report={report.data} />}
    </section>
  );
}
