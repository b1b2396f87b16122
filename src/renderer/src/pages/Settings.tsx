// Settings: which compute backend is in use and why, where the data lives, and the LLM judge.
import { useEffect, useState } from 'react';
import { api, transport } from '../client';
import type { ApiResult } from '../client';
import { ErrorNote, Loading, useApi } from '../lib';

export function SettingsPage() {
  const info = useApi(() => api.info({}), []);
  // The backend a run used is recorded with the run; show the latest one as well.
  const lastRun = useApi(async () => {
    const runs = (await api.listRuns({})).filter((r) => r.backend);
    const last = runs[runs.length - 1];
    return last ? api.getRun({ run_id: last.id }) : null;
  }, []);
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Settings</h1>
      <ErrorNote error={info.error} what="info" />
      <Loading when={info.loading && !info.data} />
      {info.data && (
        <dl className="kv" aria-label="Workbench">
          <dt>Version</dt>
          <dd>{info.data.version}</dd>
          <dt>Mode</dt>
          <dd>
            {info.data.mode} <span className="muted small">(transport: {transport === 'ipc' ? 'Electron IPC' : 'HTTP + server-sent events'})</span>
          </dd>
          <dt>Database</dt>
          <dd className="mono">{info.data.db_path}</dd>
          <dt>Compute backend</dt>
          <dd>
            <strong>{info.data.backend.name ?? 'chosen when a run starts'}</strong>
            {info.data.backend.reasons.length > 0 ? (
              <ul className="small">
                {info.data.backend.reasons.map((r, i) => (
                  <li key={i}>{r}</li>
                ))}
              </ul>
            ) : (
              <div className="muted small">no backend probed yet in this process</div>
            )}
          </dd>
          <dt>Last run's backend</dt>
          <dd>
            {lastRun.data ? (
              <>
                <strong>{lastRun.data.backend}</strong> <span className="muted small">(run #{lastRun.data.id})</span>
                {lastRun.data.backend_reason && <div className="small">{lastRun.data.backend_reason}</div>}
              </>
            ) : (
              <span className="muted">no run yet</span>
            )}
          </dd>
        </dl>
      )}
      <JudgeForm initial={info.data?.judge ?? null} />
    </section>
  );
}

function JudgeForm({ initial }: { initial: { base_url: string | null; model: string | null } | null }) {
  const [baseUrl, setBaseUrl] = useState('http://127.0.0.1:11434/v1');
  const [model, setModel] = useState('qwen2.5:7b-instruct');
  const [apiKey, setApiKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<ApiResult<'testJudge'> | null>(null);
  const [error, setError] = useState<Error | null>(null);
  useEffect(() => {
    if (initial?.base_url) setBaseUrl(initial.base_url);
    if (initial?.model) setModel(initial.model);
  }, [initial?.base_url, initial?.model]);
  let urlError: string | null = null;
  try {
    const u = new URL(baseUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') urlError = 'the base URL must be http or https';
  } catch {
    urlError = 'not a URL';
  }
  return (
    <form
      className="panel"
      aria-label="LLM judge"
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        setResult(null);
        try {
          setResult(await api.testJudge({ base_url: baseUrl, model, ...(apiKey ? { api_key: apiKey } : {}) }));
        } catch (err) {
          setError(err as Error);
        } finally {
          setBusy(false);
        }
      }}
    >
      <h2>LLM judge (OpenAI-compatible endpoint)</h2>
      <p className="muted small">Used by the verifier's optional judge check. Runs read the endpoint from their rubric or config; this form tests one.</p>
      <div className="form-grid">
        <label className="field">
          <span>Base URL</span>
          <input value={baseUrl} onChange={(e) => setBaseUrl(e.target.value)} aria-invalid={urlError ? true : undefined} />
          {urlError && <span className="error small">{urlError}</span>}
        </label>
        <label className="field">
          <span>Model</span>
          <input value={model} onChange={(e) => setModel(e.target.value)} />
        </label>
        <label className="field">
          <span>API key</span>
          <input type="password" value={apiKey} onChange={(e) => setApiKey(e.target.value)} placeholder="optional" autoComplete="off" />
        </label>
      </div>
      <div className="toolbar">
        <button type="submit" className="primary" disabled={busy || !!urlError || !model.trim()}>
          {busy ? 'Testing…' : 'Test connection'}
        </button>
        {result && (
          <span role="status" className={result.ok ? 'ok' : 'bad'}>
            {result.ok ? 'Connected' : 'Failed'}
            {result.latency_ms != null ? ` in ${Math.round(result.latency_ms)} ms` : ''}: {result.message}
          </span>
        )}
      </div>
      <ErrorNote error={error} what="test connection" />
    </form>
  );
}
