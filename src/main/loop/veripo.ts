// The VerIPO loop: [cold-start SFT] → (GRPO "slow search" → Rollout-Aware Verifier →
// DPO "fast align") × iterations → GRPO, with eval on val and a checkpoint after every
// stage. Continual GRPO (the baseline) runs the same number of GRPO stages without the
// verifier and DPO. Every stage is a row in SQLite; a run resumes after its last finished stage.
import { join } from 'node:path';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import * as store from '../store';
import type { RunConfig } from './config';
import { initBackend } from '../model/backend';
import { createPolicy, countParameters, disposePolicy, type Policy } from '../model/policy';
import { presetConfig } from '../model/config';
import { benchmarkTokenizer, benchmarkPolicyData } from '../model/prompt';
import { saveCheckpoint, loadCheckpoint } from '../model/checkpoint';
import type { HealthGuard } from '../train/health';
import type { TrainEvent } from '../model/worker-protocol';
import { sampleTasks, type Task, type Modality } from '../video';
import { mulberry32 } from '../video/prng';
import type { LoopStatus, ValMetrics } from '../../shared/api';
import { runGuarded, type Divergence } from './guard';
import { clearStageProgress, latestStageProgress } from './stage-checkpoint';
import type { LoopContext } from './stages/context';
import { dpoStage } from './stages/dpo';
import { evalStage, fixedEvalTasks, testRun } from './stages/eval';
import { grpoStage } from './stages/grpo';
import { sftStage } from './stages/sft';
import { verifyStage } from './stages/verify';

export type StageKind = 'sft' | 'grpo' | 'verify' | 'dpo';

export interface PlannedStage {
  kind: StageKind;
  iteration: number;
  /** GRPO on this modality (the curriculum); null = data.modality. */
  modality: Modality | null;
}

/** Stage plan of a run: what VerIPO and its baseline do, in order. */
export function planStages(config: RunConfig, hasInitCheckpoint: boolean): PlannedStage[] {
  const plan: PlannedStage[] = [];
  if (config.sft.steps > 0 && !hasInitCheckpoint) plan.push({ kind: 'sft', iteration: 0, modality: null });
  const iters = config.loop.iterations;
  const curriculum: (Modality | null)[] = config.loop.curriculum ? ['text', 'image'] : [];
  const modalityOf = (i: number) => curriculum[i] ?? null;
  for (let i = 0; i < iters; i++) {
    plan.push({ kind: 'grpo', iteration: i, modality: modalityOf(i) });
    if (config.loop.method === 'veripo') {
      plan.push({ kind: 'verify', iteration: i, modality: null });
      plan.push({ kind: 'dpo', iteration: i, modality: null });
    }
  }
  plan.push({ kind: 'grpo', iteration: iters, modality: modalityOf(iters) });
  return plan;
}

export interface LoopResult {
  status: LoopStatus;
  /** Why a diverged run stopped. */
  error?: string;
  stages: { kind: string; iteration: number; wall_s: number; val: ValMetrics | null }[];
}

function trainTasks(config: RunConfig, modality: Modality | null): Task[] {
  return sampleTasks({ n: config.data.train_size, seed: config.seed, split: 'train', modality: modality ?? config.data.modality, difficulty: config.data.difficulty });
}

export async function runLoop(ctx: LoopContext): Promise<LoopResult> {
  const { db, runId, config } = ctx;
  const log = (level: 'info' | 'warn' | 'error', message: string) => ctx.emit({ type: 'log', level, message });

  const backend = await initBackend(config.model.backend ?? undefined);
  store.markRunStarted(db, runId, { backend: backend.backend, backendReason: backend.reasons.join('; '), pid: process.pid });
  log('info', `backend ${backend.backend} (${backend.reasons.join('; ')})`);

  const tokenizer = benchmarkTokenizer();
  const plan = planStages(config, config.model.init_checkpoint != null);
  const done = store.listStages(db, runId).filter((s) => s.status === 'finished');
  const runDir = join(ctx.dataDir, 'runs', String(runId));
  mkdirSync(runDir, { recursive: true });

  // ---- policy: resume from the last finished stage's checkpoint, or start fresh ----------
  let policy: Policy;
  const resumeFrom = store.latestCheckpoint(db, runId);
  if (resumeFrom && existsSync(join(resumeFrom.path, 'model.json'))) {
    policy = loadCheckpoint(resumeFrom.path).policy;
    log('info', `resuming from ${resumeFrom.path} after ${done.length} finished stage(s)`);
  } else if (config.model.init_checkpoint) {
    policy = loadCheckpoint(config.model.init_checkpoint).policy;
  } else {
    const pc = presetConfig(config.model.preset, benchmarkPolicyData(tokenizer));
    policy = createPolicy(pc, config.seed);
    log('info', `policy ${config.model.preset}: ${countParameters(pc).toLocaleString('en-US')} parameters`);
  }

  const val = fixedEvalTasks(config, 'val');
  const rand = mulberry32(config.seed ^ 0x51ed);
  // The GRPO prompt pool; discard_solved shrinks it between stages.
  let dropped = new Set<string>();
  for (const s of done) for (const id of ((s.summary?.dropped as string[] | undefined) ?? [])) dropped.add(id);

  const results: LoopResult['stages'] = [];
  for (const s of store.listStages(db, runId)) if (s.status === 'finished') results.push({ kind: s.kind, iteration: s.iteration, wall_s: s.wall_s ?? 0, val: s.val });

  // loop.max_seconds budgets the RL stages' training time (GRPO, verifier, DPO; not SFT, not
  // eval), so methods with different stage counts get the same time to learn.
  let rlSpent = done.filter((s) => s.kind !== 'sft').reduce((a, s) => a + Number(s.summary?.train_s ?? s.wall_s ?? 0), 0);
  const grpoStagesLeft = () => plan.slice(ordinal).filter((p) => p.kind === 'grpo').length;
  const secondsLeft = () => (config.loop.max_seconds == null ? null : Math.max(1, config.loop.max_seconds - rlSpent));

  let ordinal = 0;
  let lastGrpoStageId: number | null = done.filter((s) => s.kind === 'grpo').at(-1)?.id ?? null;
  let lastVerifyStageId: number | null = done.filter((s) => s.kind === 'verify').at(-1)?.id ?? null;
  for (; ordinal < plan.length; ordinal++) {
    const stage = plan[ordinal]!;
    if (done.some((d) => d.ordinal === ordinal)) continue;
    if (ctx.shouldStop()) return { status: 'stopped', stages: results };

    // A stage cut short after an in-stage checkpoint continues from it, on the same metric steps.
    const saved = stage.kind === 'sft' ? latestStageProgress(runDir, ordinal, stage.kind) : null;
    const reopened = saved ? store.reopenStage(db, runId, ordinal, saved.stepBase + saved.step) : null;
    const resume = reopened != null ? saved : null;
    if (saved && !resume) clearStageProgress(runDir, ordinal, stage.kind);
    const stageId = reopened ?? store.startStage(db, runId, ordinal, stage.iteration, stage.kind);
    const started = performance.now();
    ctx.emit({ type: 'stage_started', stage_id: stageId, stage: stage.kind, iteration: stage.iteration });
    const metricBuffer: store.MetricPoint[] = [];
    const flush = () => {
      if (metricBuffer.length) store.insertMetrics(db, runId, metricBuffer.splice(0));
    };
    // Metric steps are global per run so curves of successive stages line up on one axis.
    const stepBase = resume ? resume.stepBase : store.nextMetricStep(db, runId);
    const onTrainEvent = (ev: TrainEvent) => {
      if (ev.type === 'metric') {
        const step = stepBase + ev.step;
        metricBuffer.push({ stage_id: stageId, step, name: `${stage.kind}/${ev.name}`, value: ev.value, wall_s: (performance.now() - started) / 1000 });
        ctx.emit({ type: 'metric', stage: stage.kind, step, name: `${stage.kind}/${ev.name}`, value: ev.value });
        if (metricBuffer.length >= 64) flush();
      } else if (ev.type === 'progress') {
        ctx.emit({ type: 'progress', stage: stage.kind, iteration: stage.iteration, step: ev.step, total: ev.total });
      } else {
        ctx.emit({ type: 'log', level: ev.level, message: ev.message });
      }
    };

    let summary: Record<string, unknown> = {};
    let status: 'finished' | 'failed' = 'finished';
    let diverged: Divergence | null = null;
    // Training stages run under the health guard: on divergence the stage's starting weights come back.
    const guarded = async (train: (health: HealthGuard) => Promise<Record<string, unknown>>) => {
      const out = await runGuarded(policy, stage.kind, config.health, train);
      diverged = out.diverged;
      return out.value ?? {};
    };
    if (stage.kind === 'sft') {
      summary = await guarded((health) => sftStage(ctx, policy, tokenizer, { onEvent: onTrainEvent, health, runDir, ordinal, stepBase, resume, flushMetrics: flush }));
    } else if (stage.kind === 'grpo') {
      const pool = trainTasks(config, stage.modality).filter((t) => !dropped.has(t.id));
      const left = secondsLeft();
      const maxSeconds = left == null ? config.grpo.max_seconds : Math.min(config.grpo.max_seconds ?? Infinity, left / Math.max(1, grpoStagesLeft()));
      summary = await guarded((health) => grpoStage(ctx, policy, tokenizer, { stageId, ordinal, pool, maxSeconds, stepBase, onEvent: onTrainEvent, health }));
      lastGrpoStageId = stageId;
    } else if (stage.kind === 'verify') {
      if (lastGrpoStageId == null) throw new Error('verify stage without a GRPO stage before it');
      summary = await verifyStage(ctx, stageId, lastGrpoStageId, rand);
      for (const id of summary.dropped as string[]) dropped.add(id);
      lastVerifyStageId = stageId;
    } else if (stage.kind === 'dpo') {
      summary = await guarded((health) => dpoStage(ctx, policy, tokenizer, lastVerifyStageId, ordinal, onTrainEvent, health));
    }
    const divergence = diverged as Divergence | null;
    let error: string | null = null;
    if (divergence) {
      status = 'failed';
      error = `${divergence.stage}: ${divergence.message}; stopping the stage; restored the stage's starting weights`;
      summary = { ...summary, diverged: divergence, error };
      log('error', error);
      clearStageProgress(runDir, ordinal, stage.kind);
    }
    if (summary.interrupted === true) {
      // Stopped mid-stage after saving its progress: resume continues the stage from there.
      flush();
      store.finishStage(db, stageId, { status: 'interrupted', wall_s: (performance.now() - started) / 1000, summary });
      disposePolicy(policy);
      return { status: 'stopped', stages: results };
    }
    flush();
    const trainSeconds = (performance.now() - started) / 1000;
    summary.train_s = trainSeconds;
    if (stage.kind !== 'sft') rlSpent += trainSeconds;

    let valMetrics: ValMetrics | null = null;
    if (stage.kind !== 'verify') {
      if (!divergence) {
        ctx.emit({ type: 'progress', stage: `${stage.kind}:eval`, iteration: stage.iteration, step: 0, total: val.length });
        valMetrics = evalStage(ctx, policy, tokenizer, val, stageId, () => (performance.now() - started) / 1000);
      }
      const dir = join(runDir, `stage-${ordinal}-${stage.kind}`);
      rmSync(dir, { recursive: true, force: true });
      saveCheckpoint(dir, policy, tokenizer, { run_id: runId, stage: stage.kind, iteration: stage.iteration, ordinal });
      // A failed stage's checkpoint would be the restored one: still record it so resume starts there.
      store.addCheckpoint(db, runId, stageId, dir);
    }
    const wall = (performance.now() - started) / 1000;
    store.finishStage(db, stageId, { status, wall_s: wall, val: valMetrics, summary });
    results.push({ kind: stage.kind, iteration: stage.iteration, wall_s: wall, val: valMetrics });
    ctx.emit({ type: 'stage_finished', stage_id: stageId, stage: stage.kind, iteration: stage.iteration, wall_s: wall, val: valMetrics });
    if (error) {
      // Later stages would build on a policy that could not train: end the run here.
      disposePolicy(policy);
      return { status: 'diverged', error, stages: results };
    }
  }

  if (config.loop.final_test) {
    const test = testRun(ctx, policy, tokenizer, runDir);
    log('info', `test: accuracy ${test.greedy.accuracy.toFixed(3)}${test.sampled ? `, pass@1 ${test.sampled.accuracy.toFixed(3)} (k=${test.sampled.k})` : ''}, mean length ${test.greedy.mean_length.toFixed(1)}, inconsistency ${test.greedy.inconsistency_rate.toFixed(3)}`);
  }
  disposePolicy(policy);
  return { status: 'finished', stages: results };
}
