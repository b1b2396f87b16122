// Rubrics: edit a verifier rubric in Monaco with the rubric JSON Schema (markers, completion,
// hover docs), save versions (Ctrl+S), and dry-run an edit on stored rollouts against the saved
// version. Built-in rubrics open read-only and are duplicated to edit; any schema problem blocks
// Save and Dry run; leaving with unsaved edits asks first.
import { useEffect, useMemo, useRef, useState } from 'react';
import { api } from '../client';
import type { Rubric } from '../../../shared/api';
import type { ApiResult } from '../client';
import { ErrorNote, RunOptions, isUnavailable, useApi, useLeaveGuard } from '../lib';
import { lineDiff } from '../components/diff';

type Monaco = typeof import('monaco-editor/esm/vs/editor/editor.api');
type Editor = import('monaco-editor/esm/vs/editor/editor.api').editor.IStandaloneCodeEditor;
interface Problem {
  line: number;
  column: number;
  message: string;
  severity: 'error' | 'warning';
}

const MODEL_URI = 'inmemory://veripo/rubric.json';
const NEW_RUBRIC = JSON.stringify({ name: 'my-rubric', version: 1, checks: {} }, null, 2);

export function RubricsPage() {
  const rubrics = useApi(() => api.listRubrics({}), []);
  const builtins = useApi(() => api.listBuiltinRubrics({}), []);
  const [builtin, setBuiltin] = useState<string | null>(null);
  /** What the editor's text is compared with: the selected saved version or built-in, or what it was duplicated from. */
  const [baseline, setBaseline] = useState<{ label: string; body: string } | null>(null);
  const saveRef = useRef<() => void>(() => undefined);
  const schema = useApi(() => api.getRubricSchema({}), []);
  const runs = useApi(() => api.listRuns({}), []);
  const host = useRef<HTMLDivElement>(null);
  const editorRef = useRef<Editor | null>(null);
  const monacoRef = useRef<Monaco | null>(null);
  const [ready, setReady] = useState(false);
  const [loadError, setLoadError] = useState<Error | null>(null);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [selectedId, setSelectedId] = useState<number | null>(null);
  const [name, setName] = useState('default');
  const [dirty, setDirty] = useState(false);
  const [saveError, setSaveError] = useState<Error | null>(null);
  const [saved, setSaved] = useState<Rubric | null>(null);
  const bodyRef = useRef<string>('');

  // Create the editor once; Monaco is a separate chunk loaded on first visit.
  useEffect(() => {
    let disposed = false;
    let cleanup: (() => void) | null = null;
    import('../monaco').then(
      ({ monaco }) => {
        if (disposed || !host.current) return;
        monacoRef.current = monaco;
        const dark = window.matchMedia('(prefers-color-scheme: dark)');
        monaco.editor.setTheme(dark.matches ? 'vs-dark' : 'vs');
        const onTheme = () => monaco.editor.setTheme(dark.matches ? 'vs-dark' : 'vs');
        dark.addEventListener('change', onTheme);
        const model = monaco.editor.getModel(monaco.Uri.parse(MODEL_URI)) ?? monaco.editor.createModel('', 'json', monaco.Uri.parse(MODEL_URI));
        const editor = monaco.editor.create(host.current, {
          model,
          automaticLayout: true,
          minimap: { enabled: false },
          fontSize: 13,
          scrollBeyondLastLine: false,
          tabSize: 2,
          ariaLabel: 'Rubric JSON',
        });
        editorRef.current = editor;
        editor.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.KeyS, () => saveRef.current());
        const refreshMarkers = () => {
          const ms = monaco.editor.getModelMarkers({ resource: model.uri });
          setProblems(
            ms
              .filter((m) => m.severity >= monaco.MarkerSeverity.Warning)
              .map((m) => ({ line: m.startLineNumber, column: m.startColumn, message: m.message, severity: m.severity === monaco.MarkerSeverity.Error ? 'error' : 'warning' })),
          );
        };
        const sub1 = monaco.editor.onDidChangeMarkers((uris) => {
          if (uris.some((u) => u.toString() === model.uri.toString())) refreshMarkers();
        });
        const sub2 = model.onDidChangeContent(() => {
          bodyRef.current = model.getValue();
          setDirty(true);
        });
        setReady(true);
        cleanup = () => {
          dark.removeEventListener('change', onTheme);
          sub1.dispose();
          sub2.dispose();
          editor.dispose();
          model.dispose();
        };
      },
      (err: Error) => setLoadError(err),
    );
    return () => {
      disposed = true;
      cleanup?.();
    };
  }, []);

  // Attach the schema once both the editor and the schema are there.
  useEffect(() => {
    const monaco = monacoRef.current;
    if (!ready || !monaco || !schema.data) return;
    monaco.languages.json.jsonDefaults.setDiagnosticsOptions({
      validate: true,
      // A schema violation is an error, not a warning: the server would refuse the rubric.
      schemaValidation: 'error',
      allowComments: false,
      enableSchemaRequest: false,
      schemas: [{ uri: 'veripo://schemas/rubric.json', fileMatch: [MODEL_URI], schema: schema.data }],
    });
  }, [ready, schema.data]);

  // Pick the latest version when the list first arrives.
  const picked = useRef(false);
  useEffect(() => {
    if (!picked.current && selectedId == null && builtin == null && rubrics.data?.length) {
      picked.current = true;
      setSelectedId(rubrics.data[rubrics.data.length - 1]!.id);
    }
  }, [rubrics.data, selectedId, builtin]);
  const selected = rubrics.data?.find((r) => r.id === selectedId) ?? null;
  const builtinBody = builtin ? (builtins.data?.find((b) => b.name === builtin)?.body ?? null) : null;
  useEffect(() => {
    editorRef.current?.updateOptions({ readOnly: builtin != null });
  }, [builtin, ready]);

  const load = (body: string) => {
    const editor = editorRef.current;
    if (!editor) return;
    editor.getModel()!.setValue(body);
    bodyRef.current = body;
    setDirty(false);
  };
  useEffect(() => {
    if (!ready) return;
    if (builtin && builtinBody != null) {
      setName(builtin);
      setBaseline({ label: `built-in ${builtin}`, body: prettify(builtinBody) });
      load(prettify(builtinBody));
    } else if (selected) {
      setName(selected.name);
      setBaseline({ label: `${selected.name} v${selected.version}`, body: prettify(selected.body) });
      load(prettify(selected.body));
    } else if (!builtin && rubrics.data && rubrics.data.length === 0 && !dirty) load(NEW_RUBRIC);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ready, selected?.id, builtin, builtinBody, rubrics.data?.length === 0]);

  const duplicate = () => {
    if (!builtin) return;
    const body = bodyRef.current;
    setBuiltin(null);
    setSelectedId(null);
    setName(`${builtin}-copy`);
    editorRef.current?.updateOptions({ readOnly: false });
    editorRef.current?.getModel()!.setValue(body);
    setDirty(true);
    editorRef.current?.focus();
  };

  // Schema problems block saving as much as syntax errors: the server would refuse both.
  const errors = problems.length;
  useLeaveGuard(dirty, 'The rubric has unsaved changes. Leave and discard them?');
  const save = async () => {
    if (builtin || errors > 0 || !name.trim()) return;
    setSaveError(null);
    setSaved(null);
    try {
      JSON.parse(bodyRef.current);
    } catch (err) {
      setSaveError(new Error(`not valid JSON: ${(err as Error).message}`));
      return;
    }
    try {
      const r = await api.saveRubric({ name: name.trim(), body: bodyRef.current });
      setSaved(r);
      setDirty(false);
      setBuiltin(null);
      setSelectedId(r.id);
      rubrics.reload();
    } catch (err) {
      setSaveError(err as Error);
    }
  };

  saveRef.current = () => void save();
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 's') {
        e.preventDefault();
        saveRef.current();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const byName = useMemo(() => {
    const m = new Map<string, Rubric[]>();
    for (const r of rubrics.data ?? []) m.set(r.name, [...(m.get(r.name) ?? []), r]);
    return m;
  }, [rubrics.data]);

  return (
    <section aria-labelledby="page-title" className="rubrics-page">
      <h1 id="page-title">Rubrics</h1>
      <div className="toolbar">
        <label>
          Version{' '}
          <select
            aria-label="Version"
            value={builtin ? `builtin:${builtin}` : (selectedId ?? '')}
            onChange={(e) => {
              if (dirty && !window.confirm('Discard unsaved changes?')) return;
              const v = e.target.value;
              setDirty(false);
              if (v.startsWith('builtin:')) {
                setSelectedId(null);
                setBuiltin(v.slice('builtin:'.length));
              } else {
                setBuiltin(null);
                setSelectedId(v ? Number(v) : null);
              }
            }}
          >
            {rubrics.data?.length === 0 && !builtin && <option value="">no saved rubric</option>}
            {(builtins.data?.length ?? 0) > 0 && (
              <optgroup label="built-in (read-only)">
                {builtins.data!.map((b) => (
                  <option key={b.name} value={`builtin:${b.name}`}>
                    {b.name} (built-in)
                  </option>
                ))}
              </optgroup>
            )}
            {[...byName.entries()].map(([n, list]) => (
              <optgroup key={n} label={n}>
                {list.map((r) => (
                  <option key={r.id} value={r.id}>
                    {r.name} v{r.version} · {new Date(r.created_at).toLocaleString()}
                  </option>
                ))}
              </optgroup>
            ))}
          </select>
        </label>
        <label>
          Name <input value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        {builtin ? (
          <>
            <span className="badge" aria-label="Read-only">
              built-in · read-only
            </span>
            <button className="primary" onClick={duplicate} disabled={!ready}>
              Duplicate to edit
            </button>
          </>
        ) : (
          <button className="primary" onClick={() => void save()} disabled={!ready || errors > 0 || !name.trim()} aria-keyshortcuts="Control+S">
            Save as new version <kbd>Ctrl+S</kbd>
          </button>
        )}
        <button onClick={() => load(baseline?.body ?? NEW_RUBRIC)} disabled={!ready || !dirty}>
          Revert
        </button>
        <span role="status" aria-label="Problems" className={problems.length ? 'error' : 'ok'}>
          {problems.length === 1 ? '1 problem' : `${problems.length} problems`}
        </span>
        {dirty && <span className="muted small">unsaved changes</span>}
        {saved && <span role="status">Saved {saved.name} v{saved.version}</span>}
      </div>
      {schema.error && (
        <div className="note warn" role="alert">
          {isUnavailable(schema.error) ? 'The rubric schema is not available in this build: only JSON syntax is checked.' : `rubric schema: ${schema.error.message}`}
        </div>
      )}
      <ErrorNote error={rubrics.error} what="rubrics" />
      <ErrorNote error={loadError} what="editor" />
      <ErrorNote error={saveError} what="save" />
      <div className="rubric-layout">
        <div>
          <div ref={host} className="editor" aria-label="Rubric editor" role="region" />
          {problems.length > 0 && (
            <ul className="problems small" aria-label="Problem list">
              {problems.map((p, i) => (
                <li key={i} className={p.severity}>
                  <button className="link" onClick={() => (editorRef.current?.setPosition({ lineNumber: p.line, column: p.column }), editorRef.current?.revealLineInCenter(p.line), editorRef.current?.focus())}>
                    {p.line}:{p.column}
                  </button>{' '}
                  {p.message}
                </li>
              ))}
            </ul>
          )}
        </div>
        <DryRun getBody={() => bodyRef.current} baseline={baseline} runs={runs.data ?? []} disabled={!ready || errors > 0} />
      </div>
    </section>
  );
}

function prettify(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

function DryRun({ getBody, baseline, runs, disabled }: { getBody: () => string; baseline: { label: string; body: string } | null; runs: { id: number; name: string | null; preset: string | null }[]; disabled: boolean }) {
  const [diff, setDiff] = useState<ReturnType<typeof lineDiff> | null>(null);
  const [runId, setRunId] = useState<number | ''>('');
  const [sample, setSample] = useState(200);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<ApiResult<'dryRunRubric'> | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const run = async () => {
    setBusy(true);
    setError(null);
    // A result on screen while the next one is computed would be read as the new one.
    setResult(null);
    try {
      const body = getBody();
      setDiff(baseline ? lineDiff(baseline.body, body) : null);
      setResult(await api.dryRunRubric({ body, sample, ...(runId ? { run_id: runId } : {}), ...(baseline ? { compare_body: baseline.body } : {}) }));
    } catch (err) {
      setError(err as Error);
      setResult(null);
    } finally {
      setBusy(false);
    }
  };
  const keys = result ? [...new Set([...Object.keys(result.counts), ...Object.keys(result.baseline_counts ?? {})])].sort() : [];
  return (
    <aside className="panel dry-run" aria-label="Dry run">
      <h2>Dry run</h2>
      <p className="muted small">Verify a sample of stored rollouts with the edited rubric{baseline ? ` and compare with ${baseline.label}` : ''}.</p>
      <div className="toolbar">
        <label>
          Rollouts from{' '}
          <select value={runId} onChange={(e) => setRunId(e.target.value ? Number(e.target.value) : '')}>
            <RunOptions runs={runs} all />
          </select>
        </label>
        <label>
          Sample <input type="number" min={1} max={5000} value={sample} onChange={(e) => setSample(Math.max(1, Math.min(5000, Number(e.target.value) || 1)))} style={{ width: 80 }} />
        </label>
        <button onClick={() => void run()} disabled={disabled || busy}>
          {busy ? 'Running…' : 'Dry run'}
        </button>
      </div>
      <ErrorNote error={error} what="dry run" />
      {diff && (
        <details className="rubric-diff" open>
          <summary>Changes against {baseline?.label}</summary>
          <pre className="mono small" aria-label="Rubric diff">
            {diff.some((d) => d.op !== 'same')
              ? diff
                  .filter((d) => d.op !== 'same')
                  .flatMap((d) => d.text.replace(/\n$/, '').split('\n').map((line, i) => <div key={`${d.op}${i}${line}`} className={d.op === 'add' ? 'ok' : 'bad'}>{`${d.op === 'add' ? '+' : '-'} ${line}`}</div>))
              : 'no changes'}
          </pre>
        </details>
      )}
      {result && (
        <div aria-label="Dry run result">
          <p role="status">
            {result.n} rollouts verified · {result.changed.length} change verdict
          </p>
          <table aria-label="Verdict counts">
            <thead>
              <tr>
                <th>verdict</th>
                <th>edited</th>
                {result.baseline_counts && <th>saved</th>}
                {result.baseline_counts && <th>Δ</th>}
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => {
                const a = result.counts[k] ?? 0;
                const b = result.baseline_counts?.[k] ?? 0;
                return (
                  <tr key={k}>
                    <td>{k}</td>
                    <td>{a}</td>
                    {result.baseline_counts && <td>{b}</td>}
                    {result.baseline_counts && <td className={a - b > 0 ? 'ok' : a - b < 0 ? 'bad' : 'muted'}>{a - b > 0 ? `+${a - b}` : a - b}</td>}
                  </tr>
                );
              })}
            </tbody>
          </table>
          {result.changed.length > 0 && (
            <>
              <h3>Changed verdicts</h3>
              <ul className="changed small" aria-label="Changed verdicts">
                {result.changed.slice(0, 200).map((c) => (
                  <li key={c.rollout_id}>
                    <a href={`#/rollouts?run=${c.run_id}&rollout=${c.rollout_id}`} title="Open this rollout on the Rollouts page">
                      rollout #{c.rollout_id}
                    </a>
                    :{' '}
                    {c.flipped.length > 0 ? (
                      c.flipped.map((f) => (
                        <span key={f.check} className="flip" data-check={f.check}>
                          {f.check} <span className={f.before ? 'ok' : 'bad'}>{f.before == null ? '—' : f.before ? 'pass' : 'fail'}</span> →{' '}
                          <span className={f.after ? 'ok' : 'bad'}>{f.after == null ? '—' : f.after ? 'pass' : 'fail'}</span>
                        </span>
                      ))
                    ) : (
                      <span className="muted">no check flipped</span>
                    )}{' '}
                    <span className="muted small">
                      ({c.before} → {c.after})
                    </span>
                  </li>
                ))}
                {result.changed.length > 200 && <li className="muted">… {result.changed.length - 200} more</li>}
              </ul>
            </>
          )}
        </div>
      )}
    </aside>
  );
}
