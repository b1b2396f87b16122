// What the Runs page shows for a run while it trains, from the database alone, so a run started
// anywhere (this window, another one, `veripo run` in a terminal) is watched the same way:
// the planned stage strip, overall progress across stages with an ETA, and the log.
import type { Db } from '../store';
import * as store from '../store';
import { parseRunConfig } from '../loop/config';
import { planStages } from '../loop/veripo';
import type { ApiResult } from '../../shared/api';

type Live = ApiResult<'getLive'>;
type LiveStage = Live['stages'][number];

function plannedKinds(config: Record<string, unknown>): { kind: LiveStage['kind']; iteration: number }[] | null {
  try {
    const parsed = parseRunConfig(config, 'run config');
    return planStages(parsed, parsed.model.init_checkpoint != null).map((p) => ({ kind: p.kind, iteration: p.iteration }));
  } catch {
    return null; // an imported run, or a config from another version: show the stored stages only
  }
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

export function runLive(db: Db, runId: number, afterLogId: number | null, now = Date.now()): Live | null {
  const run = store.getRun(db, runId);
  if (!run) return null;
  const control = store.runControl(db, runId);
  const active = run.status === 'running' || run.status === 'pending';
  const stored: LiveStage[] = run.stages.map((s) => ({
    kind: s.kind,
    iteration: s.iteration,
    status: s.status,
    wall_s: s.status === 'running' ? Math.max(0, (now - Date.parse(s.started_at)) / 1000) : s.wall_s,
  }));
  const plan = active ? plannedKinds(run.config) : null;
  const stages = [...stored, ...(plan ?? []).slice(stored.length).map((p) => ({ ...p, status: 'planned' as const, wall_s: null }))];

  // Seconds left per stage: the running one from its step rate, planned ones from finished
  // stages of the same kind (else of any kind). Unknown until there is something to go by.
  const finished = stored.filter((s) => s.status === 'finished' && s.wall_s != null);
  const p = control.progress;
  let remaining: number | null = 0;
  let doneS = finished.reduce((a, s) => a + s.wall_s!, 0);
  for (const s of stages) {
    if (s.status === 'running') {
      const elapsed = s.wall_s ?? 0;
      doneS += elapsed;
      const onThisStage = p && p.stage.split(':')[0] === s.kind && p.iteration === s.iteration;
      if (onThisStage && p.step > 0 && p.total > 0) remaining = remaining == null ? null : remaining + (elapsed / p.step) * Math.max(0, p.total - p.step);
      else {
        const est = mean(finished.filter((f) => f.kind === s.kind).map((f) => f.wall_s!)) ?? mean(finished.map((f) => f.wall_s!));
        remaining = remaining == null || est == null ? null : remaining + Math.max(0, est - elapsed);
      }
    } else if (s.status === 'planned') {
      const est = mean(finished.filter((f) => f.kind === s.kind).map((f) => f.wall_s!)) ?? mean(finished.map((f) => f.wall_s!));
      remaining = remaining == null || est == null ? null : remaining + est;
    }
  }
  const stageCount = Math.max(1, stages.length);
  const byStages = (finished.length + (p && p.total > 0 ? Math.min(1, p.step / p.total) : 0)) / stageCount;
  const fraction = !active ? (run.status === 'finished' ? 1 : byStages) : remaining != null && doneS + remaining > 0 ? doneS / (doneS + remaining) : byStages;
  return {
    run_id: runId,
    status: run.status,
    error: run.error,
    stop_requested: control.stop_requested,
    current: p && active ? { stage: p.stage, iteration: p.iteration, step: p.step, total: p.total } : null,
    stages,
    fraction: Math.max(0, Math.min(1, fraction)),
    eta_s: active ? remaining : null,
    elapsed_s: doneS,
    logs: store.runLog(db, runId, afterLogId),
  };
}
