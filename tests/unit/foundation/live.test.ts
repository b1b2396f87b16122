import { describe, it, expect } from 'vitest';
import { openDb, createRun, markRunStarted, startStage, finishStage, requestStop, stopRequested, clearStopRequest, recordProgress, appendRunLog, markRunFinished } from '../../../src/main/store';
import { createWorkbench } from '../../../src/main/api';
import { createEventHub } from '../../../src/main/events';
import { runLive } from '../../../src/main/app/live';
import { resolveRunConfig } from '../../../src/main/loop/config';

function runningRun() {
  const db = openDb(':memory:');
  const config = resolveRunConfig({ preset: 'smoke' }) as unknown as Record<string, unknown>;
  const runId = createRun(db, { experiment: 'e', preset: 'smoke', config, seed: 1 });
  markRunStarted(db, runId, { backend: 'cpu', backendReason: '', pid: process.pid });
  return { db, runId };
}

describe('watching and stopping a run from any process', () => {
  it('a stop request is stored for the training process to poll, and cleared when a run restarts', async () => {
    const { db, runId } = runningRun();
    const api = createWorkbench({ db, dbPath: ':memory:', mode: 'web', events: createEventHub() });
    expect(stopRequested(db, runId)).toBe(false);
    // No launcher in this process (the run trains elsewhere): the request still goes through.
    expect(await api.stopRun({ run_id: runId })).toEqual({ stopped: true });
    expect(stopRequested(db, runId)).toBe(true);
    clearStopRequest(db, runId);
    expect(stopRequested(db, runId)).toBe(false);
    markRunFinished(db, runId, 'finished');
    expect(await api.stopRun({ run_id: runId })).toEqual({ stopped: false });
  });

  it('overall progress spans every planned stage, with an ETA from the step rate and finished stages', () => {
    const { db, runId } = runningRun();
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const sft = startStage(db, runId, 0, 0, 'sft');
    finishStage(db, sft, { status: 'finished', wall_s: 10, val: null, summary: null });
    startStage(db, runId, 1, 0, 'grpo');
    db.prepare('UPDATE stages SET started_at = ? WHERE run_id = ? AND ordinal = 1').run(new Date(t0).toISOString(), runId);
    recordProgress(db, runId, { stage: 'grpo', iteration: 0, step: 5, total: 10, t: 0 });
    appendRunLog(db, runId, { t: 1, level: 'info', message: 'backend cpu' });
    const live = runLive(db, runId, null, t0 + 20_000)!;
    expect(live.stages[0]).toMatchObject({ kind: 'sft', status: 'finished', wall_s: 10 });
    expect(live.stages[1]).toMatchObject({ kind: 'grpo', status: 'running', wall_s: 20 });
    // The smoke preset plans more stages than the two stored: they are listed as planned.
    expect(live.stages.length).toBeGreaterThan(2);
    expect(live.stages.slice(2).every((s) => s.status === 'planned')).toBe(true);
    expect(live.current).toEqual({ stage: 'grpo', iteration: 0, step: 5, total: 10 });
    // 10 s SFT + 20 s GRPO done; 20 s left of this GRPO stage plus the planned stages.
    expect(live.eta_s).toBeGreaterThan(20);
    expect(live.fraction).toBeGreaterThan(0);
    expect(live.fraction).toBeLessThan(30 / (30 + 20));
    expect(live.logs.map((l) => l.message)).toEqual(['backend cpu']);
    expect(runLive(db, runId, live.logs[0]!.id, t0 + 20_000)!.logs).toEqual([]);
  });
});

describe('deep links to a rollout', () => {
  it('locateRollout gives the index the unfiltered listing shows it at', async () => {
    const { openDb: open, createRun: create, insertRollouts, queryRollouts, locateRollout } = await import('../../../src/main/store');
    const db = open(':memory:');
    const runId = create(db, { experiment: 'e', config: {}, seed: 0, status: 'finished' });
    const { startStage } = await import('../../../src/main/store');
    const s1 = startStage(db, runId, 1, 0, 'grpo');
    const s2 = startStage(db, runId, 3, 1, 'grpo');
    const row = (step: number | null, prompt: string, g: number, stage: number | null = null) => ({ stage_id: stage, step, prompt_id: prompt, task_id: null, group_index: g, prompt: 'q', ground_truth: null, text: 't', token_count: 1, reward: null, reward_parts: null, truncated: false, verdict: null, meta: null });
    insertRollouts(db, runId, [row(2, 'b', 1), row(1, 'z', 0), row(null, 'a', 0), row(2, 'b', 0), row(2, 'a', 3), row(1, 'z', 0)]);
    // Two stages that drew the same prompt at the same step: each stage's group stays contiguous.
    insertRollouts(db, runId, [row(0, 'p', 0, s2), row(0, 'p', 0, s1), row(0, 'p', 1, s2), row(0, 'p', 1, s1), row(null, 'a', 0, s1)]);
    const listed = queryRollouts(db, { run_id: runId, offset: 0, limit: 100 }).rollouts;
    expect(listed.map((r) => `${r.stage_id ?? '-'}:${r.step ?? '-'}:${r.prompt_id}:${r.group_index}`)).toEqual([
      '-:-:a:0', '-:1:z:0', '-:1:z:0', '-:2:a:3', '-:2:b:0', '-:2:b:1',
      `${s1}:-:a:0`, `${s1}:0:p:0`, `${s1}:0:p:1`, `${s2}:0:p:0`, `${s2}:0:p:1`,
    ]);
    for (const [i, r] of listed.entries()) expect(locateRollout(db, r.id)).toEqual({ run_id: runId, index: i });
    expect(locateRollout(db, 999)).toBeNull();
  });
});
