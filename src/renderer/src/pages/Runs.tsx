// Runs: start a run from a preset with overrides (TRL-aligned dotted keys), and watch and
// stop every run in the database that is training, wherever it was started (components/LiveRun).
import { useEffect, useMemo, useState } from 'react';
import { api } from '../client';
import type { Preset, RunSummary } from '../../../shared/api';
import { parseOverride, type ConfigField as Field } from '../../../shared/config-fields';
import { ErrorNote, fmtDuration, useApi, useInterval } from '../lib';
import { LiveRun } from '../components/LiveRun';

/** Config sections unfolded by default: the ones a researcher tunes most. */
const OPEN_SECTIONS = ['grpo', 'loop'];

export function RunsPage() {
  const presets = useApi(() => api.listPresets({}), []);
  const runs = useApi(() => api.listRuns({}), []);
  const [started, setStarted] = useState<number[]>([]);
  // Runs started anywhere (another window, `veripo run` in a terminal) appear within seconds.
  useInterval(runs.reload, 3000);
  // A run seen training on this page stays listed after it ends, with how it ended.
  useEffect(() => {
    const now = (runs.data ?? []).filter((r) => r.status === 'running' || r.status === 'pending').map((r) => r.id);
    if (now.some((id) => !started.includes(id))) setStarted((prev) => [...new Set([...prev, ...now])]);
  }, [runs.data, started]);
  const active = useMemo(() => [...new Set(started)].sort((a, b) => b - a), [started]);

  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Runs</h1>
      <h2 id="live-heading">Live</h2>
      {active.length === 0 && <p className="muted">No run is in progress.</p>}
      {active.map((id) => (
        <LiveRun key={id} runId={id} summary={runs.data?.find((r) => r.id === id)} onFinished={runs.reload} />
      ))}
      <StartForm
        presets={presets.data ?? []}
        loading={presets.loading}
        error={presets.error}
        onStarted={(id) => {
          setStarted((prev) => [...prev, id]);
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
