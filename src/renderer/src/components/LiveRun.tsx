// One running run, read from the database every second or two: wherever it was started (this
// window, another one, `veripo run` in a terminal) it shows the same stage strip, overall
// progress with an ETA, live curves of the stage running and its log, and a reload loses nothing.
import { useEffect, useMemo, useRef, useState } from 'react';
import { api } from '../client';
import type { ApiResult, RunSummary } from '../../../shared/api';
import { ErrorNote, fmtDuration, fmtNum, useInterval } from '../lib';
import { LineChart, type ChartSeries } from './LineChart';

type Live = ApiResult<'getLive'>;
const ACTIVE = ['running', 'pending'];
/** The curves worth watching while a stage of this kind trains. */
const LIVE_CURVES: Record<string, string[]> = {
  sft: ['sft/loss'],
  grpo: ['grpo/reward', 'grpo/accuracy', 'grpo/kl'],
  dpo: ['dpo/loss', 'dpo/rewards/margins'],
};

export function LiveRun({ runId, summary, onFinished }: { runId: number; summary?: RunSummary; onFinished?: () => void }) {
  const [live, setLive] = useState<Live | null>(null);
  const [logs, setLogs] = useState<Live['logs']>([]);
  const [error, setError] = useState<Error | null>(null);
  const [stopError, setStopError] = useState<Error | null>(null);
  const [curves, setCurves] = useState<ChartSeries[]>([]);
  const lastLog = useRef<number | undefined>(undefined);
  const active = live == null || ACTIVE.includes(live.status);

  const poll = async () => {
    try {
      const next = await api.getLive({ run_id: runId, ...(lastLog.current != null ? { after_log_id: lastLog.current } : {}) });
      if (next.logs.length) {
        lastLog.current = next.logs.at(-1)!.id;
        setLogs((prev) => [...prev, ...next.logs].slice(-200));
      }
      setLive((prev) => {
        if (prev && ACTIVE.includes(prev.status) && !ACTIVE.includes(next.status)) onFinished?.();
        return next;
      });
      setError(null);
    } catch (err) {
      setError(err as Error);
    }
  };
  useEffect(() => {
    void poll();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [runId]);
  useInterval(() => void poll(), active ? 1500 : null);

  // Live curves of the stage running (or the last one), refreshed every few seconds.
  const kind = live?.current?.stage.split(':')[0] ?? live?.stages.filter((s) => s.status !== 'planned').at(-1)?.kind ?? null;
  const loadCurves = async () => {
    const names = kind ? LIVE_CURVES[kind] : undefined;
    if (!names) return setCurves([]);
    const series = await api.getMetrics({ run_ids: [runId], names });
    setCurves(
      series
        .filter((s) => s.points.length > 0)
        .map((s, i) => ({ label: s.name, color: ['#332288', '#CC6677', '#117733'][i % 3]!, x: s.points.map((p) => p.step), y: s.points.map((p) => p.value) })),
    );
  };
  useEffect(() => {
    void loadCurves().catch(() => undefined);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [kind, runId]);
  useInterval(() => void loadCurves().catch(() => undefined), active ? 3000 : null);

  const stop = async () => {
    if (!window.confirm(`Stop run #${runId}? It stops after the current step; its finished stages are kept and it can be resumed.`)) return;
    setStopError(null);
    try {
      await api.stopRun({ run_id: runId });
      void poll();
    } catch (err) {
      setStopError(err as Error);
    }
  };

  const status = live?.status ?? summary?.status ?? 'pending';
  const pct = (live?.fraction ?? 0) * 100;
  const cur = live?.current;
  const totalStages = live?.stages.length ?? 0;
  const stageNo = live ? live.stages.findIndex((s) => s.status === 'running') + 1 : 0;
  const longest = useMemo(() => Math.max(1, ...(live?.stages ?? []).map((s) => s.wall_s ?? 0)), [live]);
  return (
    <article className="panel live" aria-label={`Live run ${runId}`}>
      <header className="toolbar">
        <strong>
          Run #{runId} {summary?.name ?? summary?.preset ?? ''}
        </strong>
        <span className={`badge status-${status}`} aria-label="Run status" title={live?.error ?? undefined}>
          {status}
        </span>
        <span aria-label="Current stage">
          {cur ? `${cur.stage.toUpperCase()} · iteration ${cur.iteration} · step ${cur.step}/${cur.total || '?'}` : active ? 'starting…' : ''}
        </span>
        {active && (
          <button disabled={live?.stop_requested} onClick={() => void stop()}>
            {live?.stop_requested ? 'Stopping…' : 'Stop'}
          </button>
        )}
      </header>
      <div className="progress-row">
        <progress aria-label={`Run ${runId} progress`} max={100} value={pct} />
        <span className="mono" aria-label="Overall progress">
          {active
            ? `${pct.toFixed(0)} % of the run${stageNo > 0 ? ` · stage ${stageNo}/${totalStages}` : ''} · ${fmtDuration(live?.elapsed_s)} elapsed · ETA ${live?.eta_s != null ? fmtDuration(live.eta_s) : 'after the first stage'}`
            : `${status}${summary?.wall_s != null ? ` in ${fmtDuration(summary.wall_s)}` : ''}`}
        </span>
      </div>
      {status === 'diverged' && (
        <p className="small" role="note" aria-label="Why the run diverged">
          The health guard stopped training and restored the stage&apos;s starting weights: {live?.error ?? summary?.error}
        </p>
      )}
      {live && live.stages.length > 0 && (
        <ol className="timeline" aria-label={`Stages of run ${runId}`}>
          {live.stages.map((s, i) => (
            <li
              key={i}
              className={`stage stage-${s.kind} stage-${s.status}`}
              style={{ flex: `${Math.max(s.wall_s ?? longest * 0.5, longest * 0.08)} 1 0` }}
              title={`${s.kind} (iteration ${s.iteration}) · ${s.status}${s.wall_s != null ? ` · ${fmtDuration(s.wall_s)}` : ''}`}
            >
              {s.kind.toUpperCase()} <span className="small">{s.status === 'planned' ? '' : s.wall_s != null ? fmtDuration(s.wall_s) : '…'}</span>
            </li>
          ))}
        </ol>
      )}
      {curves.length > 0 && (
        <div className="live-curves">
          <LineChart title={`${kind?.toUpperCase()} curves (live)`} series={curves} xLabel="step" yLabel="value" height={160} />
        </div>
      )}
      {curves.length > 0 && (
        <dl className="metric-grid" aria-label={`Latest metrics of run ${runId}`}>
          {curves.map((c) => (
            <div key={c.label}>
              <dt>{c.label}</dt>
              <dd>{fmtNum(c.y.at(-1), 4)}</dd>
            </div>
          ))}
        </dl>
      )}
      {live?.error && <div className="note error">{live.error}</div>}
      <ErrorNote error={error} what="live view" />
      <ErrorNote error={stopError} what="stop" />
      {logs.length > 0 && (
        <pre className="log" aria-label={`Log of run ${runId}`}>
          {logs.slice(-12).map((l) => `[${l.level}] ${l.message}`).join('\n')}
        </pre>
      )}
    </article>
  );
}
