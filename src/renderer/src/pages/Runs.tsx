// Runs: start a run from a preset with overrides (TRL-aligned dotted keys), stop it, and
// watch it live from the event stream. Events are buffered and applied a few times a
// second so a chatty trainer cannot make the page sluggish.
import { useEffect, useMemo, useRef, useState } from 'react';
import { api } from '../client';
import type { RunEvent } from '../../../shared/events';
import type { Preset, RunSummary } from '../../../shared/api';
import { parseOverride, type ConfigField as Field } from '../../../shared/config-fields';
import { ErrorNote, fmtDuration, fmtNum, useApi } from '../lib';

/** Config sections unfolded by default: the ones a researcher tunes most. */
const OPEN_SECTIONS = ['grpo', 'loop'];

interface Live {
  run_id: number;
  stage: string | null;
  iteration: number | null;
  step: number;
  total: number;
  eta_s: number | null;
  metrics: Record<string, number>;
  logs: { level: string; message: string }[];
  status: string;
  error: string | null;
  stages: { stage: string; iteration: number; wall_s: number | null }[];
  updated: number;
}

function emptyLive(runId: number, status = 'running'): Live {
  return { run_id: runId, stage: null, iteration: null, step: 0, total: 0, eta_s: null, metrics: {}, logs: [], status, error: null, stages: [], updated: Date.now() };
}

export function applyEvent(live: Live, e: RunEvent): Live {
  const next = { ...live, updated: Date.now() };
  switch (e.type) {
    case 'progress':
      Object.assign(next, { stage: e.stage, iteration: e.iteration, step: e.step, total: e.total, eta_s: e.eta_s });
      break;
    case 'stage_started':
      next.stage = e.stage;
      next.iteration = e.iteration;
      next.step = 0;
      next.total = 0;
      next.stages = [...live.stages, { stage: e.stage, iteration: e.iteration, wall_s: null }];
      break;
    case 'stage_finished':
      next.stages = live.stages.map((s, i) => (i === live.stages.length - 1 && s.stage === e.stage ? { ...s, wall_s: e.wall_s } : s));
      break;
    case 'metric':
      next.metrics = { ...live.metrics, [e.name]: e.value };
      break;
    case 'log':
      next.logs = [...live.logs.slice(-49), { level: e.level, message: e.message }];
      break;
    case 'run_finished':
      next.status = e.status;
      next.error = e.error;
      break;
  }
  return next;
}

export function RunsPage() {
  const presets = useApi(() => api.listPresets({}), []);
  const runs = useApi(() => api.listRuns({}), []);
  const [live, setLive] = useState<Record<number, Live>>({});
  const buffer = useRef<RunEvent[]>([]);

  useEffect(() => {
    const off = api.onEvent((e) => buffer.current.push(e));
    // Apply buffered events at most 5 times a second.
    const timer = setInterval(() => {
      if (buffer.current.length === 0) return;
      const events = buffer.current;
      buffer.current = [];
      let finished = false;
      setLive((prev) => {
        const next = { ...prev };
        for (const e of events) {
          next[e.run_id] = applyEvent(next[e.run_id] ?? emptyLive(e.run_id), e);
          if (e.type === 'run_finished') finished = true;
        }
        return next;
      });
      if (finished || events.some((e) => e.type === 'stage_started')) runs.reload();
    }, 200);
    return () => {
      off();
      clearInterval(timer);
    };
  }, [runs.reload]);

  const active = useMemo(() => {
    const ids = new Set<number>(Object.keys(live).map(Number));
    for (const r of runs.data ?? []) if (r.status === 'running' || r.status === 'pending') ids.add(r.id);
    return [...ids].sort((a, b) => b - a);
  }, [live, runs.data]);

  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Runs</h1>
      <h2 id="live-heading">Live</h2>
      {active.length === 0 && <p className="muted">No run is in progress.</p>}
      {active.map((id) => (
        <LiveRun key={id} live={live[id] ?? emptyLive(id, runs.data?.find((r) => r.id === id)?.status ?? 'running')} summary={runs.data?.find((r) => r.id === id)} />
      ))}
      <StartForm
        presets={presets.data ?? []}
        loading={presets.loading}
        error={presets.error}
        onStarted={(id) => {
          setLive((prev) => ({ ...prev, [id]: prev[id] ?? emptyLive(id, 'pending') }));
          runs.reload();
          document.getElementById('live-heading')?.scrollIntoView({ block: 'start' });
        }}
      />
      <h2>Recent runs</h2>
      <ErrorNote error={runs.error} what="runs" />
      <table aria-label="Recent runs">
        <thead>
          <tr>
            <th>Run</th>
            <th>Name</th>
            <th>Preset</th>
            <th>Status</th>
            <th>Started</th>
            <th>Wall time</th>
          </tr>
        </thead>
        <tbody>
          {(runs.data ?? [])
            .slice(-10)
            .reverse()
            .map((r) => (
              <tr key={r.id}>
                <td>#{r.id}</td>
                <td>{r.name ?? '—'}</td>
                <td>{r.preset ?? '—'}</td>
                <td>
                  <span className={`badge status-${r.status}`} title={r.error ?? undefined}>
                    {r.status}
                  </span>
                </td>
                <td>{r.started_at ? new Date(r.started_at).toLocaleString() : '—'}</td>
                <td>{fmtDuration(r.wall_s)}</td>
              </tr>
            ))}
        </tbody>
      </table>
    </section>
  );
}

function StartForm({ presets, loading, error, onStarted }: { presets: Preset[]; loading: boolean; error: Error | null; onStarted: (id: number) => void }) {
  const [preset, setPreset] = useState('');
  const [values, setValues] = useState<Record<string, string>>({});
  const [experiment, setExperiment] = useState('');
  const [name, setName] = useState('');
  const [serverError, setServerError] = useState<Error | null>(null);
  const [started, setStarted] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!preset && presets[0]) setPreset(presets[0].name);
  }, [presets, preset]);
  const current = presets.find((p) => p.name === preset);
  const fields = useMemo(() => current?.fields ?? [], [current]);
  const errors = useMemo(() => {
    const out: Record<string, string> = {};
    for (const f of fields) {
      const raw = values[f.key];
      if (raw == null || raw === '') continue;
      const r = parseOverride(f, raw);
      if ('error' in r) out[f.key] = r.error;
    }
    return out;
  }, [fields, values]);
  const changed = Object.entries(values).filter(([, v]) => v !== '').length;
  const sections = useMemo(() => {
    const m = new Map<string, Field[]>();
    for (const f of fields) {
      const section = f.key.includes('.') ? f.key.split('.')[0]! : 'run';
      m.set(section, [...(m.get(section) ?? []), f]);
    }
    return [...m.entries()];
  }, [fields]);

  const start = async () => {
    setServerError(null);
    setStarted(null);
    // Sent as typed: the server parses text the same way (one parser), so both agree.
    const overrides: Record<string, string> = {};
    for (const f of fields) {
      const raw = values[f.key];
      if (raw == null || raw === '') continue;
      overrides[f.key] = raw;
    }
    setBusy(true);
    try {
      const { run_id } = await api.startRun({ preset, overrides, ...(experiment.trim() ? { experiment: experiment.trim() } : {}), ...(name.trim() ? { name: name.trim() } : {}) });
      setStarted(run_id);
      onStarted(run_id);
    } catch (err) {
      setServerError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="panel"
      aria-label="Start a run"
      onSubmit={(e) => {
        e.preventDefault();
        void start();
      }}
    >
      <h2>Start a run</h2>
      <ErrorNote error={error} what="presets" />
      {!loading && !error && presets.length === 0 && <p className="note warn">No presets: this workbench was started without a run launcher.</p>}
      <div className="toolbar">
        <label>
          Preset{' '}
          <select aria-label="Preset" value={preset} onChange={(e) => (setPreset(e.target.value), setValues({}))} disabled={presets.length === 0}>
            {presets.map((p) => (
              <option key={p.name}>{p.name}</option>
            ))}
          </select>
        </label>
        <label>
          Experiment <input value={experiment} onChange={(e) => setExperiment(e.target.value)} placeholder="default" />
        </label>
        <label>
          Run name <input value={name} onChange={(e) => setName(e.target.value)} placeholder="optional" />
        </label>
      </div>
      {current && <p className="muted">{current.description}</p>}
      {fields.length > 0 && (
        <div className="overrides" role="group" aria-label="Overrides">
          <p className="small muted">
            Overrides ({changed} changed): TRL-aligned keys, defaults shown greyed; leave empty to keep the default.
          </p>
          {sections.map(([section, list]) => (
            <details key={section} open={OPEN_SECTIONS.includes(section) || list.some((f) => values[f.key])}>
              <summary>
                <span className="mono">{section}</span> <span className="muted small">({list.length})</span>
              </summary>
              <div className="override-grid">
                {list.map((f) => (
                  <label key={f.key} className={errors[f.key] ? 'field invalid' : 'field'}>
                    <span className="mono">{f.key}</span>
                    {f.kind === 'boolean' || f.kind === 'enum' ? (
                      <select aria-label={f.key} value={values[f.key] ?? ''} onChange={(e) => setValues({ ...values, [f.key]: e.target.value })}>
                        <option value="">default ({String(f.default)})</option>
                        {(f.kind === 'boolean' ? ['true', 'false'] : f.options ?? []).map((o) => (
                          <option key={o} value={o}>
                            {o}
                          </option>
                        ))}
                      </select>
                    ) : (
                      <input
                        aria-label={f.key}
                        aria-invalid={errors[f.key] ? true : undefined}
                        inputMode={f.kind === 'number' ? 'decimal' : f.kind === 'integer' ? 'numeric' : undefined}
                        value={values[f.key] ?? ''}
                        placeholder={f.kind === 'json' ? JSON.stringify(f.default) : String(f.default)}
                        onChange={(e) => setValues({ ...values, [f.key]: e.target.value })}
                      />
                    )}
                    {errors[f.key] && <span className="error small">{errors[f.key]}</span>}
                  </label>
                ))}
              </div>
            </details>
          ))}
        </div>
      )}
      <div className="toolbar">
        <button type="submit" className="primary" disabled={!preset || busy || Object.keys(errors).length > 0}>
          Start run
        </button>
        {Object.keys(errors).length > 0 && <span className="error">{Object.keys(errors).length} invalid field(s)</span>}
        {started != null && <span role="status">Started run #{started}</span>}
      </div>
      <ErrorNote error={serverError} what="the server refused the run" />
    </form>
  );
}

function LiveRun({ live, summary }: { live: Live; summary?: RunSummary }) {
  const [stopError, setStopError] = useState<Error | null>(null);
  const [stopping, setStopping] = useState(false);
  const status = live.status === 'running' || live.status === 'pending' ? summary?.status ?? live.status : live.status;
  const done = !['running', 'pending'].includes(status);
  const pct = live.total > 0 ? Math.min(100, (live.step / live.total) * 100) : 0;
  const metricEntries = Object.entries(live.metrics).sort(([a], [b]) => a.localeCompare(b));
  return (
    <article className="panel live" aria-label={`Live run ${live.run_id}`}>
      <header className="toolbar">
        <strong>
          Run #{live.run_id} {summary?.name ?? summary?.preset ?? ''}
        </strong>
        <span className={`badge status-${status}`} aria-label="Run status" title={live.error ?? summary?.error ?? undefined}>
          {status}
        </span>
        <span aria-label="Current stage">
          {live.stage ? `${live.stage.toUpperCase()} · iteration ${live.iteration}` : done ? '' : 'waiting for the first event…'}
        </span>
        {!done && (
          <button
            disabled={stopping}
            onClick={async () => {
              setStopping(true);
              try {
                await api.stopRun({ run_id: live.run_id });
              } catch (err) {
                setStopError(err as Error);
              } finally {
                setStopping(false);
              }
            }}
          >
            {stopping ? 'Stopping…' : 'Stop'}
          </button>
        )}
      </header>
      <div className="progress-row">
        <progress aria-label={`Run ${live.run_id} progress`} max={Math.max(1, live.total)} value={done && status === 'finished' ? Math.max(1, live.total) : live.step} />
        <span className="mono">
          {done ? `${status}${summary?.wall_s != null ? ` in ${fmtDuration(summary.wall_s)}` : ''}` : `step ${live.step}/${live.total || '?'} · ${pct.toFixed(0)} %${live.eta_s != null ? ` · ETA ${fmtDuration(live.eta_s)}` : ''}`}
        </span>
      </div>
      {status === 'diverged' && (
        <p className="small" role="note" aria-label="Why the run diverged">
          The health guard stopped training and restored the stage&apos;s starting weights: {live.error ?? summary?.error}
        </p>
      )}
      {live.stages.length > 0 && (
        <ol className="timeline" aria-label={`Stages of run ${live.run_id}`}>
          {live.stages.map((s, i) => (
            <li key={i} className={`stage stage-${s.stage}`} style={{ flexGrow: s.wall_s ?? 1 }}>
              <span>{s.stage.toUpperCase()}</span> <span className="small">{s.wall_s != null ? fmtDuration(s.wall_s) : '…'}</span>
            </li>
          ))}
        </ol>
      )}
      {metricEntries.length > 0 && (
        <dl className="metric-grid" aria-label={`Latest metrics of run ${live.run_id}`}>
          {metricEntries.map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{fmtNum(v, 4)}</dd>
            </div>
          ))}
        </dl>
      )}
      {live.error && <div className="note error">{live.error}</div>}
      <ErrorNote error={stopError} what="stop" />
      {live.logs.length > 0 && (
        <pre className="log" aria-label={`Log of run ${live.run_id}`}>
          {live.logs.slice(-8).map((l) => `[${l.level}] ${l.message}`).join('\n')}
        </pre>
      )}
    </article>
  );
}
