// Experiments: every run in a sortable, filterable table; pick several to compare their
// curves (step or wall-clock, EMA smoothing) and their stage timelines.
import { useEffect, useMemo, useState } from 'react';
import { api } from '../client';
import type { MetricSeries, RunDetail, RunSummary } from '../../../shared/api';
import { RunStatus } from '../../../shared/api';
import { ErrorNote, Loading, fmtDuration, fmtPct, useApi } from '../lib';
import { LineChart, PALETTE, ema, type ChartSeries } from '../components/LineChart';

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

/** Charts to compare: the first training metric that a run has, plus its validation metric. */
const CHARTS: { title: string; train: string[]; val?: string }[] = [
  { title: 'Accuracy', train: ['grpo/accuracy', 'accuracy', 'grpo/rewards/accuracy/mean', 'reward/accuracy'], val: 'val/accuracy' },
  { title: 'Mean response length', train: ['grpo/completions/mean_length', 'completion_length', 'mean_length'], val: 'val/mean_length' },
  { title: 'Inconsistency rate', train: ['grpo/inconsistency_rate', 'inconsistency_rate', 'verify/inconsistency_rate'], val: 'val/inconsistency_rate' },
  { title: 'Reward', train: ['grpo/reward', 'reward'] },
  { title: 'KL', train: ['grpo/kl', 'kl'] },
];

export function ExperimentsPage() {
  const runs = useApi(() => api.listRuns({}), []);
  const [sort, setSort] = useState<{ key: SortKey; dir: 1 | -1 }>({ key: 'id', dir: -1 });
  const [filter, setFilter] = useState('');
  const [status, setStatus] = useState('');
  const [selected, setSelected] = useState<number[] | null>(null);

  // Start with the two most recent finished runs selected so the comparison is not empty.
  useEffect(() => {
    if (selected === null && runs.data) {
      setSelected(
        runs.data
          .filter((r) => r.status === 'finished' && r.preset != null)
          .slice(-2)
          .map((r) => r.id),
      );
    }
  }, [runs.data, selected]);

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
    </section>
  );
}

function Compare({ runIds, runs }: { runIds: number[]; runs: RunSummary[] }) {
  const [xAxis, setXAxis] = useState<'step' | 'wall'>('step');
  const [smoothing, setSmoothing] = useState(0.6);
  const [extra, setExtra] = useState('');
  const key = runIds.join(',');
  const details = useApi(() => Promise.all(runIds.map((id) => api.getRun({ run_id: id }))), [key]);
  const metrics = useApi(() => api.getMetrics({ run_ids: runIds.slice(0, 32) }), [key]);
  const allNames = useMemo(() => [...new Set((details.data ?? []).flatMap((d) => d.metric_names))].sort(), [details.data]);

  const charts = useMemo(() => {
    const list = CHARTS.map((c) => ({ ...c }));
    if (extra) list.push({ title: extra, train: [extra] });
    const byRun = new Map<number, Map<string, MetricSeries>>();
    for (const s of metrics.data ?? []) {
      if (!byRun.has(s.run_id)) byRun.set(s.run_id, new Map());
      byRun.get(s.run_id)!.set(s.name, s);
    }
    return list.map((chart) => {
      const series: ChartSeries[] = [];
      runIds.forEach((id, ri) => {
        const m = byRun.get(id);
        if (!m) return;
        const color = PALETTE[ri % PALETTE.length]!;
        const trainName = chart.train.find((n) => (m.get(n)?.points.length ?? 0) > 0);
        for (const name of [trainName, chart.val]) {
          const s = name ? m.get(name) : undefined;
          if (!s || s.points.length === 0) continue;
          const pts = xAxis === 'wall' ? s.points.filter((p) => p.wall_s != null) : s.points;
          if (pts.length === 0) continue;
          const isVal = name!.startsWith('val/');
          series.push({
            label: `#${id} ${isVal ? 'val' : name}`,
            color,
            dash: isVal ? [4, 3] : undefined,
            points: isVal,
            x: pts.map((p) => (xAxis === 'wall' ? p.wall_s! : p.step)),
            // Validation points are sparse (one per stage): smoothing them would hide them.
            y: isVal ? pts.map((p) => p.value) : ema(pts.map((p) => p.value), smoothing),
          });
        }
      });
      return { title: chart.title, series };
    });
  }, [metrics.data, runIds, runs, xAxis, smoothing, extra]);

  return (
    <section aria-label="Comparison">
      <h2>Compare {runIds.length} run{runIds.length > 1 ? 's' : ''}</h2>
      <div className="toolbar">
        <fieldset className="segmented">
          <legend>X axis</legend>
          <label>
            <input type="radio" name="xaxis" checked={xAxis === 'step'} onChange={() => setXAxis('step')} /> Step
          </label>
          <label>
            <input type="radio" name="xaxis" checked={xAxis === 'wall'} onChange={() => setXAxis('wall')} /> Wall-clock
          </label>
        </fieldset>
        <label>
          Smoothing{' '}
          <input type="range" min={0} max={0.99} step={0.01} value={smoothing} onChange={(e) => setSmoothing(Number(e.target.value))} />
          <output>{smoothing.toFixed(2)}</output>
        </label>
        <label>
          More metric{' '}
          <select value={extra} onChange={(e) => setExtra(e.target.value)}>
            <option value="">none</option>
            {allNames.map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </label>
      </div>
      <ErrorNote error={metrics.error} what="metrics" />
      <ErrorNote error={details.error} what="run details" />
      <Loading when={metrics.loading && !metrics.data} />
      <p className="muted small">
        One colour per run ({runIds.map((id, i) => `#${id} ${['blue', 'orange', 'green', 'purple', 'amber', 'teal', 'pink', 'olive'][i % 8]}`).join(', ')}); dashed with dots: validation after each stage.
      </p>
      <div className="charts">
        {metrics.data && charts.map((c) => <LineChart key={c.title} title={c.title} series={c.series} xLabel={xAxis === 'wall' ? 'wall-clock (s)' : 'step'} />)}
      </div>
      <h2>Stage timelines</h2>
      {details.data?.map((d) => <StageTimeline key={d.id} run={d} />)}
    </section>
  );
}

export function StageTimeline({ run }: { run: RunDetail }) {
  const total = run.stages.reduce((a, s) => a + (s.wall_s ?? 0), 0) || 1;
  return (
    <div className="timeline-row">
      <div className="timeline-label">
        #{run.id} {run.name ?? run.preset ?? ''}
      </div>
      <ol className="timeline" aria-label={`Stage timeline of run ${run.id}`}>
        {run.stages.map((s) => (
          <li
            key={s.id}
            className={`stage stage-${s.kind} stage-${s.status}`}
            style={{ flexGrow: Math.max(s.wall_s ?? 0, total * 0.02) }}
            title={`${s.kind} (iteration ${s.iteration}) · ${s.status} · ${fmtDuration(s.wall_s)}${s.val ? ` · val acc ${fmtPct(s.val.accuracy)}` : ''}`}
          >
            <span>{s.kind.toUpperCase()}</span> <span className="small">{fmtDuration(s.wall_s)}</span>
          </li>
        ))}
        {run.stages.length === 0 && <li className="muted">no stages yet</li>}
      </ol>
    </div>
  );
}
