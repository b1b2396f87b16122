// Comparison of selected runs: curves on an axis that makes runs comparable (RL step, RL
// wall-clock, prompts seen), the config keys that differ, final metrics with their standard
// error, and stage timelines on one shared time scale. Running runs refresh themselves.
import { useMemo, useState } from 'react';
import { api } from '../client';
import type { MetricSeries, RunDetail, RunSummary } from '../../../shared/api';
import { AXIS_LABELS, RL_KINDS, axisMapper, type StageKindName, type XAxis } from '../../../shared/axes';
import { ErrorNote, Loading, fmtDuration, fmtNum, useApi, useInterval } from '../lib';
import { LineChart, PALETTE, ema, paletteDash, type ChartSeries } from './LineChart';

/** Charts to compare: the first training metric a run has, plus its validation metric. */
const CHARTS: { title: string; y: string; rate?: boolean; train: string[]; val?: string }[] = [
  { title: 'Accuracy', y: 'fraction correct', rate: true, train: ['grpo/accuracy', 'accuracy', 'grpo/rewards/accuracy/mean', 'reward/accuracy'], val: 'val/accuracy' },
  { title: 'Mean response length', y: 'tokens', rate: true, train: ['grpo/completions/mean_length', 'completion_length', 'mean_length'], val: 'val/mean_length' },
  { title: 'Inconsistency rate', y: 'fraction inconsistent', rate: true, train: ['grpo/inconsistency_rate', 'inconsistency_rate', 'verify/inconsistency_rate'], val: 'val/inconsistency_rate' },
  { title: 'Reward', y: 'reward', train: ['grpo/reward', 'reward'] },
  { title: 'KL', y: 'KL (nats/token)', rate: true, train: ['grpo/kl', 'kl'] },
];

const STEP_KINDS: { label: string; kinds: StageKindName[] }[] = [
  { label: 'GRPO + DPO', kinds: [...RL_KINDS] },
  { label: 'GRPO only', kinds: ['grpo'] },
  { label: 'DPO only', kinds: ['dpo'] },
];

export function runColor(i: number): string {
  return PALETTE[i % PALETTE.length]!;
}

export function Compare({ runIds, runs }: { runIds: number[]; runs: RunSummary[] }) {
  const [xAxis, setXAxis] = useState<XAxis>('rl_step');
  const [stepKinds, setStepKinds] = useState(0);
  const [smoothing, setSmoothing] = useState(0.6);
  const [extra, setExtra] = useState('');
  const key = runIds.join(',');
  const ids = runIds.slice(0, 32);
  const details = useApi(() => Promise.all(ids.map((id) => api.getRun({ run_id: id }))), [key]);
  const metrics = useApi(() => api.getMetrics({ run_ids: ids }), [key]);
  const axes = useApi(() => api.getAxes({ run_ids: ids }), [key]);
  const running = runs.some((r) => runIds.includes(r.id) && r.status === 'running');
  useInterval(
    () => {
      details.reload();
      metrics.reload();
      axes.reload();
    },
    running ? 3000 : null,
  );
  const allNames = useMemo(() => [...new Set((details.data ?? []).flatMap((d) => d.metric_names))].sort(), [details.data]);

  const charts = useMemo(() => {
    const list = CHARTS.map((c) => ({ ...c }));
    if (extra) list.push({ title: extra, y: 'value', train: [extra] });
    const byRun = new Map<number, Map<string, MetricSeries>>();
    for (const s of metrics.data ?? []) {
      if (!byRun.has(s.run_id)) byRun.set(s.run_id, new Map());
      byRun.get(s.run_id)!.set(s.name, s);
    }
    const mappers = new Map((axes.data ?? []).map((a) => [a.run_id, axisMapper(a, xAxis, STEP_KINDS[stepKinds]!.kinds)]));
    return list.map((chart) => {
      const series: ChartSeries[] = [];
      runIds.forEach((id, ri) => {
        const m = byRun.get(id);
        const map = mappers.get(id);
        if (!m || !map) return;
        const trainName = chart.train.find((n) => (m.get(n)?.points.length ?? 0) > 0);
        for (const name of [trainName, chart.val]) {
          const s = name ? m.get(name) : undefined;
          if (!s) continue;
          const pts = s.points.map((p) => ({ x: map(p, s.name), y: p.value })).filter((p): p is { x: number; y: number } => p.x != null);
          if (pts.length === 0) continue;
          const isVal = name!.startsWith('val/');
          series.push({
            label: `#${id} ${isVal ? 'val' : name}`,
            color: runColor(ri),
            dash: isVal ? [4, 3] : paletteDash(ri),
            points: isVal,
            x: pts.map((p) => p.x),
            // Validation points are sparse (one per stage): smoothing them would hide them.
            y: isVal ? pts.map((p) => p.y) : ema(pts.map((p) => p.y), smoothing),
          });
        }
      });
      return { title: chart.title, y: chart.y, rate: chart.rate ?? false, series };
    });
  }, [metrics.data, axes.data, runIds, xAxis, stepKinds, smoothing, extra]);

  const xLabel = xAxis === 'rl_step' && stepKinds > 0 ? `${STEP_KINDS[stepKinds]!.label.replace(' only', '')} step` : AXIS_LABELS[xAxis];
  return (
    <section aria-label="Comparison">
      <h2>
        Compare {runIds.length} run{runIds.length > 1 ? 's' : ''} {running && <span className="badge status-running">live</span>}
      </h2>
      <div className="toolbar">
        <fieldset className="segmented">
          <legend>X axis</legend>
          {(['rl_step', 'rl_wall', 'prompts', 'step'] as const).map((a) => (
            <label key={a}>
              <input type="radio" name="xaxis" checked={xAxis === a} onChange={() => setXAxis(a)} /> {AXIS_LABELS[a]}
            </label>
          ))}
        </fieldset>
        {xAxis === 'rl_step' && (
          <label>
            Count steps of{' '}
            <select value={stepKinds} onChange={(e) => setStepKinds(Number(e.target.value))}>
              {STEP_KINDS.map((k, i) => (
                <option key={k.label} value={i}>
                  {k.label}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          Smoothing <input type="range" min={0} max={0.99} step={0.01} value={smoothing} onChange={(e) => setSmoothing(Number(e.target.value))} />
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
      <ErrorNote error={axes.error} what="axes" />
      <Loading when={metrics.loading && !metrics.data} />
      <ul className="run-legend" aria-label="Run colours">
        {runIds.map((id, i) => (
          <li key={id}>
            <span className="swatch" style={{ background: runColor(i) }} /> #{id} {runs.find((r) => r.id === id)?.name ?? ''}
          </li>
        ))}
        <li className="muted small">dashed with dots: validation after each stage · hover a chart for every series' value</li>
      </ul>
      <div className="charts">
        {metrics.data && axes.data && charts.map((c) => <LineChart key={c.title} title={c.title} series={c.series} xLabel={xLabel} yLabel={c.y} nonNegative={c.rate} />)}
      </div>
      {details.data && <RunTable runs={details.data} />}
      <h2>Stage timelines</h2>
      {details.data && <StageTimelines runs={details.data} />}
    </section>
  );
}

function flatten(obj: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out[prefix] = JSON.stringify(obj);
  return out;
}

/** Binomial standard error of a rate measured on n items. */
function se(p: number, n: number | null): number | null {
  return n && n > 0 ? Math.sqrt((p * (1 - p)) / n) : null;
}

function RunTable({ runs }: { runs: RunDetail[] }) {
  const flat = runs.map((r) => flatten(r.config));
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort().filter((k) => new Set(flat.map((f) => f[k] ?? '—')).size > 1);
  const valSize = (r: RunDetail) => {
    const n = (r.config.data as { val_size?: unknown } | undefined)?.val_size;
    return typeof n === 'number' ? n : null;
  };
  const pm = (p: number | undefined, n: number | null) => (p == null ? '—' : `${fmtNum(p, 3)}${se(p, n) != null ? ` ± ${fmtNum(se(p, n)!, 2)}` : ''}`);
  return (
    <div className="table-wrap">
      <table aria-label="Selected runs">
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col" title="final validation accuracy ± binomial standard error over the val set">val accuracy ± SE</th>
            <th scope="col">val inconsistency ± SE</th>
            <th scope="col">val mean length</th>
            <th scope="col">wall</th>
            {keys.map((k) => (
              <th key={k} scope="col" className="mono small">
                {k}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {runs.map((r, i) => (
            <tr key={r.id}>
              <th scope="row">
                <span className="swatch" style={{ background: runColor(i) }} /> #{r.id} {r.name ?? r.preset ?? ''}
              </th>
              <td>{pm(r.final_val?.accuracy, valSize(r))}</td>
              <td>{pm(r.final_val?.inconsistency_rate, valSize(r))}</td>
              <td>{fmtNum(r.final_val?.mean_length)}</td>
              <td>{fmtDuration(r.wall_s)}</td>
              {keys.map((k) => (
                <td key={k} className="mono small">
                  {flat[i]![k] ?? '—'}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted small" aria-label="Config diff">
        {runs.length < 2 ? 'Select two runs or more to see how their configs differ.' : keys.length ? `${keys.length} config keys differ (only those are shown).` : 'The configs are identical.'}
      </p>
    </div>
  );
}

function stageSeconds(s: RunDetail['stages'][number]): number {
  if (s.wall_s != null) return s.wall_s;
  return Math.max(0, (Date.now() - Date.parse(s.started_at)) / 1000);
}

/** Every run on one time scale: equal widths mean equal seconds, across runs. */
export function StageTimelines({ runs }: { runs: RunDetail[] }) {
  const longest = Math.max(1, ...runs.map((r) => r.stages.reduce((a, s) => a + stageSeconds(s), 0)));
  return (
    <div className="timelines">
      {runs.map((run) => (
        <StageTimeline key={run.id} run={run} scale={longest} />
      ))}
      <div className="timeline-row">
        <div />
        <div className="timeline-axis muted small" aria-label="Time scale">
          <span>0</span>
          <span>{fmtDuration(longest / 2)}</span>
          <span>{fmtDuration(longest)}</span>
        </div>
      </div>
      <ul className="run-legend small" aria-label="Stage kinds">
        {['sft', 'grpo', 'verify', 'dpo', 'eval'].map((k) => (
          <li key={k}>
            <span className={`swatch stage-${k}`} /> {k.toUpperCase()}
          </li>
        ))}
      </ul>
    </div>
  );
}

export function StageTimeline({ run, scale }: { run: RunDetail; scale?: number }) {
  const total = scale ?? Math.max(1, run.stages.reduce((a, s) => a + stageSeconds(s), 0));
  return (
    <div className="timeline-row">
      <div className="timeline-label" title={`#${run.id} ${run.name ?? run.preset ?? ''}`}>
        #{run.id} {run.name ?? run.preset ?? ''}
      </div>
      <ol className="timeline" aria-label={`Stage timeline of run ${run.id}`}>
        {run.stages.map((s) => {
          const share = (stageSeconds(s) / total) * 100;
          const label = `${s.kind.toUpperCase()} ${fmtDuration(stageSeconds(s))}`;
          return (
            <li
              key={s.id}
              className={`stage stage-${s.kind} stage-${s.status}`}
              style={{ width: `${share}%` }}
              data-seconds={stageSeconds(s)}
              title={`${s.kind} (iteration ${s.iteration}) · ${s.status} · ${fmtDuration(stageSeconds(s))}${s.val ? ` · val acc ${fmtNum(s.val.accuracy)}` : ''}`}
              aria-label={`${s.kind} iteration ${s.iteration}, ${s.status}, ${fmtDuration(stageSeconds(s))}`}
            >
              {/* Narrow stages show no text rather than a cut one; the legend and tooltip name them. */}
              {share >= 9 ? label : share >= 4 ? s.kind.toUpperCase() : ''}
            </li>
          );
        })}
        {run.stages.length === 0 && <li className="muted">no stages</li>}
      </ol>
    </div>
  );
}
