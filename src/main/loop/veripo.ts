// The VerIPO loop: [cold-start SFT] → (GRPO "slow search" → Rollout-Aware Verifier →
// DPO "fast align") × iterations → GRPO, with eval on val and a checkpoint after every
// stage. Continual GRPO (the baseline) runs the same number of GRPO stages without the
// verifier and DPO. Every stage is a row in SQLite; a run resumes after its last finished stage.
import { join } from 'node:path';
import { existsSync, mkdirSync, rmSync, cpSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { Db } from '../store';
import * as store from '../store';
import type { RunConfig } from './config';
import { initBackend } from '../model/backend';
import { createPolicy, presetConfig, countParameters, disposePolicy, type Policy } from '../model/policy';
import { benchmarkTokenizer, benchmarkPolicyData, taskPrompt } from '../model/prompt';
import { saveCheckpoint, loadCheckpoint, clonePolicy, copyWeights } from '../model/checkpoint';
import type { Tokenizer } from '../model/tokenizer';
import { runSft } from '../train/sft';
import { runGrpo, trainTaskOf, type RolloutRow } from '../train/grpo';
import { NonFiniteLossError } from '../model/optim';
import { runDpo, type DpoPair } from '../train/dpo';
import { evaluatePolicy } from '../train/eval';
import type { TrainEvent } from '../model/worker-protocol';
import { sampleTasks, scoreGrounding, type Task, type Modality } from '../video';
import { resolveRubricRef, loadRubricRef } from './rubric-ref';
import { verifyAll } from '../verifier/verify';
import { buildAllPairs } from '../verifier/pairs';
import { discardSolved } from '../verifier/discard';
import { summarise } from '../verifier/summary';
import { mulberry32 } from '../video/prng';
import { taskFromId, toVerifierRollout } from './tasks';
import type { ValMetrics } from '../../shared/api';

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

export interface LoopEvent {
  type: 'progress' | 'stage_started' | 'stage_finished' | 'metric' | 'log';
  [k: string]: unknown;
}

export interface LoopContext {
  db: Db;
  runId: number;
  config: RunConfig;
  /** Checkpoints and caches live here (next to the DB). */
  dataDir: string;
  cacheDir: string;
  emit: (event: LoopEvent) => void;
  shouldStop: () => boolean;
}

export interface LoopResult {
  status: 'finished' | 'stopped';
  stages: { kind: string; iteration: number; wall_s: number; val: ValMetrics | null }[];
}

/** Fixed eval sets: every run, whatever its seed, is measured on the same val and test tasks. */
const EVAL_SEED = 20_250_525;

function fixedEvalTasks(config: RunConfig, split: 'val' | 'test'): Task[] {
  return sampleTasks({
    n: split === 'val' ? config.data.val_size : config.data.test_size,
    seed: EVAL_SEED,
    split,
    modality: config.data.modality,
    difficulty: config.data.difficulty,
  });
}

function trainTasks(config: RunConfig, modality: Modality | null): Task[] {
  return sampleTasks({ n: config.data.train_size, seed: config.seed, split: 'train', modality: modality ?? config.data.modality, difficulty: config.data.difficulty });
}

function sftCacheKey(config: RunConfig): string {
  // workers changes how a batch is computed, not what is learned (up to float rounding).
  const { cache: _cache, workers: _workers, ...sft } = config.sft;
  return createHash('sha256').update(JSON.stringify({ model: config.model.preset, sft, seed: config.seed, v: 1 })).digest('hex').slice(0, 16);
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

    const stageId = store.startStage(db, runId, ordinal, stage.iteration, stage.kind);
    const started = performance.now();
    ctx.emit({ type: 'stage_started', stage_id: stageId, stage: stage.kind, iteration: stage.iteration });
    const metricBuffer: store.MetricPoint[] = [];
    const flush = () => {
      if (metricBuffer.length) store.insertMetrics(db, runId, metricBuffer.splice(0));
    };
    // Metric steps are global per run so curves of successive stages line up on one axis.
    const stepBase = (db.prepare('SELECT COALESCE(MAX(step) + 1, 0) AS s FROM metrics WHERE run_id = ?').get(runId) as { s: number }).s;
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
    try {
      if (stage.kind === 'sft') {
        summary = await sftStage(ctx, policy, tokenizer, onTrainEvent);
      } else if (stage.kind === 'grpo') {
        const pool = trainTasks(config, stage.modality).filter((t) => !dropped.has(t.id));
        const reference = config.grpo.beta > 0 ? clonePolicy(policy, { trainable: false }) : null;
        const left = secondsLeft();
        const maxSeconds = left == null ? config.grpo.max_seconds : Math.min(config.grpo.max_seconds ?? Infinity, left / Math.max(1, grpoStagesLeft()));
        try {
          const r = await runGrpo({
            policy,
            reference,
            tokenizer,
            tasks: pool.map((t) => trainTaskOf(t, tokenizer)),
            config: { ...config.grpo, max_seconds: maxSeconds },
            seed: config.seed * 1000 + ordinal,
            onEvent: onTrainEvent,
            shouldStop: ctx.shouldStop,
            onRollouts: (rows) => storeRollouts(db, runId, stageId, stepBase, rows),
          });
          summary = { steps: r.steps, stopped_by: r.stoppedBy, prompts: pool.length, last: r.last };
        } finally {
          if (reference) disposePolicy(reference);
        }
        lastGrpoStageId = stageId;
      } else if (stage.kind === 'verify') {
        if (lastGrpoStageId == null) throw new Error('verify stage without a GRPO stage before it');
        summary = await verifyStage(ctx, stageId, lastGrpoStageId, rand);
        for (const id of summary.dropped as string[]) dropped.add(id);
        lastVerifyStageId = stageId;
      } else if (stage.kind === 'dpo') {
        summary = await dpoStage(ctx, policy, tokenizer, lastVerifyStageId, ordinal, onTrainEvent);
      }
    } catch (err) {
      if (!(err instanceof NonFiniteLossError)) throw err;
      // Guard rail: a NaN/Inf loss ends the stage; the policy goes back to the last good checkpoint.
      status = 'failed';
      const good = store.latestCheckpoint(db, runId);
      const message = `${(err as Error).message}; ${good ? `restored ${good.path}` : 'no checkpoint yet: kept the initial policy'}`;
      if (good) {
        const restored = loadCheckpoint(good.path).policy;
        copyWeights(restored, policy);
        disposePolicy(restored);
      }
      summary = { error: message };
      log('warn', message);
    }
    flush();
    const trainSeconds = (performance.now() - started) / 1000;
    summary.train_s = trainSeconds;
    if (stage.kind !== 'sft') rlSpent += trainSeconds;

    let valMetrics: ValMetrics | null = null;
    if (stage.kind !== 'verify') {
      ctx.emit({ type: 'progress', stage: `${stage.kind}:eval`, iteration: stage.iteration, step: 0, total: val.length });
      valMetrics = evaluate(policy, tokenizer, val, config);
      const evalStep = (db.prepare('SELECT COALESCE(MAX(step), 0) AS s FROM metrics WHERE run_id = ?').get(runId) as { s: number }).s;
      const t = (performance.now() - started) / 1000;
      store.insertMetrics(db, runId, [
        { stage_id: stageId, step: evalStep, name: 'val/accuracy', value: valMetrics.accuracy, wall_s: t },
        { stage_id: stageId, step: evalStep, name: 'val/mean_length', value: valMetrics.mean_length, wall_s: t },
        { stage_id: stageId, step: evalStep, name: 'val/inconsistency_rate', value: valMetrics.inconsistency_rate, wall_s: t },
        ...(valMetrics.format_rate != null ? [{ stage_id: stageId, step: evalStep, name: 'val/format_rate', value: valMetrics.format_rate, wall_s: t }] : []),
      ]);
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
  }

  if (config.loop.final_test) {
    const test = evaluate(policy, tokenizer, fixedEvalTasks(config, 'test'), config);
    const step = (db.prepare('SELECT COALESCE(MAX(step), 0) AS s FROM metrics WHERE run_id = ?').get(runId) as { s: number }).s;
    store.insertMetrics(db, runId, [
      { stage_id: null, step, name: 'test/accuracy', value: test.accuracy, wall_s: null },
      { stage_id: null, step, name: 'test/mean_length', value: test.mean_length, wall_s: null },
      { stage_id: null, step, name: 'test/inconsistency_rate', value: test.inconsistency_rate, wall_s: null },
    ]);
    log('info', `test: accuracy ${test.accuracy.toFixed(3)}, mean length ${test.mean_length.toFixed(1)}, inconsistency ${test.inconsistency_rate.toFixed(3)}`);
  }
  disposePolicy(policy);
  return { status: 'finished', stages: results };
}

function evaluate(policy: Policy, tokenizer: Tokenizer, tasks: Task[], config: RunConfig): ValMetrics {
  const r = evaluatePolicy(policy, tokenizer, tasks, {
    temperature: config.loop.eval_temperature,
    max_completion_length: config.grpo.max_completion_length,
    seed: EVAL_SEED,
  });
  return {
    accuracy: r.accuracy,
    mean_length: r.mean_length,
    inconsistency_rate: r.inconsistency_rate,
    format_rate: r.format_rate,
    grounding_rate: r.grounding_rate,
    by_family: r.by_family,
  };
}

async function sftStage(ctx: LoopContext, policy: Policy, tokenizer: Tokenizer, onEvent: (ev: TrainEvent) => void): Promise<Record<string, unknown>> {
  const { config } = ctx;
  const cacheDir = join(ctx.cacheDir, `sft-${sftCacheKey(config)}`);
  if (config.sft.cache && existsSync(join(cacheDir, 'model.json'))) {
    const cached = loadCheckpoint(cacheDir).policy;
    copyWeights(cached, policy);
    disposePolicy(cached);
    ctx.emit({ type: 'log', level: 'info', message: `sft: reused the cached cold-start checkpoint ${cacheDir}` });
    return { cached: cacheDir };
  }
  const { cache: _cache, ...sft } = config.sft;
  const r = await runSft(policy, tokenizer, { ...sft, seed: config.seed }, { onEvent, shouldStop: ctx.shouldStop });
  if (config.sft.cache && !r.stopped) {
    const tmp = `${cacheDir}.tmp-${process.pid}`;
    saveCheckpoint(tmp, policy, tokenizer, { sft: sft });
    rmSync(cacheDir, { recursive: true, force: true });
    cpSync(tmp, cacheDir, { recursive: true });
    rmSync(tmp, { recursive: true, force: true });
  }
  return { steps: r.steps, final_loss: r.losses.at(-1) ?? null, response_tokens: r.response_tokens };
}

function storeRollouts(db: Db, runId: number, stageId: number, stepBase: number, rows: RolloutRow[]): void {
  store.insertRollouts(
    db,
    runId,
    rows.map((r) => ({
      stage_id: stageId,
      step: stepBase + r.step,
      prompt_id: r.shuffled ? `${r.promptId}#shuffled` : r.promptId,
      task_id: r.taskId,
      group_index: r.groupIndex,
      prompt: r.promptText,
      ground_truth: r.groundTruth,
      text: r.text,
      token_count: r.tokenCount,
      reward: r.reward,
      reward_parts: r.rewardParts,
      advantage: r.advantage,
      truncated: r.truncated,
      meta: r.shuffled ? { shuffled: true } : null,
    })),
  );
}

/** The Rollout-Aware Verifier over one GRPO stage's rollouts: verdicts, pairs, solved prompts. */
async function verifyStage(ctx: LoopContext, stageId: number, grpoStageId: number, rand: () => number): Promise<Record<string, unknown>> {
  const { db, runId, config } = ctx;
  const rubric = await loadRubricRef(resolveRubricRef(db, config.verifier.rubric));
  if (!config.verifier.judge) rubric.checks.judge.enabled = false;
  const rows = store.rolloutsForStage(db, grpoStageId).filter((r) => !(r.meta as { shuffled?: boolean } | null)?.shuffled);
  const tasks = new Map<string, Task>();
  const taskOf = (id: string | null) => {
    if (!id) return null;
    if (!tasks.has(id)) tasks.set(id, taskFromId(id));
    return tasks.get(id)!;
  };
  const inputs = rows.map((r, index) => toVerifierRollout(r, index, taskOf));
  const verdicts = await verifyAll(inputs, rubric, {
    grounding: (text, rollout) => {
      const task = taskOf(rows[rollout.index]!.task_id);
      if (!task || task.modality === 'image') return null;
      const g = scoreGrounding(text, task.facts);
      return { total: g.total, grounded: g.grounded, rate: g.rate, ungrounded: g.ungrounded.map((c) => c.span) };
    },
    onProgress: (n) => ctx.emit({ type: 'progress', stage: 'verify', iteration: 0, step: n, total: inputs.length }),
  });
  store.setVerdicts(db, verdicts.map((v, i) => ({ rollout_id: rows[i]!.id, verdict: v as unknown as Record<string, unknown> })));

  const pairs = buildAllPairs(inputs, verdicts, rubric);
  store.insertPairs(
    db,
    runId,
    pairs.map((p) => {
      const chosen = p.chosen_index != null ? rows[p.chosen_index] : undefined;
      const rejected = p.rejected_index != null ? rows[p.rejected_index] : undefined;
      const anyRow = chosen ?? rejected ?? rows.find((r) => `${r.step}:${r.prompt_id}` === p.prompt_id)!;
      return {
        stage_id: stageId,
        prompt_id: anyRow.prompt_id,
        prompt: p.prompt,
        chosen_rollout_id: chosen?.id ?? null,
        rejected_rollout_id: rejected?.id ?? null,
        chosen_text: p.chosen,
        rejected_text: p.rejected,
        kind: p.kind,
        source: 'auto' as const,
        reasons: p.reasons,
        meta: { task_id: anyRow.task_id, ground_truth: anyRow.ground_truth },
      };
    }),
  );

  // Group accuracy per prompt over the whole stage: prompts every rollout solved.
  const byTask = new Map<string, { n: number; correct: number }>();
  verdicts.forEach((v, i) => {
    const id = rows[i]!.task_id ?? rows[i]!.prompt_id;
    const acc = byTask.get(id) ?? { n: 0, correct: 0 };
    acc.n++;
    if (v.correct) acc.correct++;
    byTask.set(id, acc);
  });
  const ids = [...byTask.keys()];
  const { dropped } = discardSolved(ids, (id) => byTask.get(id)!.correct / byTask.get(id)!.n, config.loop.discard_solved, rand);
  const summary = { ...summarise(verdicts, pairs, 0), dropped };
  ctx.emit({ type: 'log', level: 'info', message: `verify: ${verdicts.length} rollouts, ${pairs.length} pairs, ${dropped.length} solved prompts dropped` });
  return summary;
}

async function dpoStage(
  ctx: LoopContext,
  policy: Policy,
  tokenizer: Tokenizer,
  verifyStageId: number | null,
  ordinal: number,
  onEvent: (ev: TrainEvent) => void,
): Promise<Record<string, unknown>> {
  const { db, runId, config } = ctx;
  const stored = store.pairsForTraining(db, runId, verifyStageId);
  const pairs: DpoPair[] = [];
  for (const p of stored) {
    const taskId = (p.meta as { task_id?: string } | null)?.task_id;
    if (!taskId) continue;
    pairs.push({ prompt: taskPrompt(taskFromId(taskId), tokenizer), chosen: p.chosen_text, rejected: p.rejected_text });
  }
  if (pairs.length === 0) {
    ctx.emit({ type: 'log', level: 'warn', message: 'dpo: the verifier found no preference pairs; skipping the update' });
    return { pairs: 0, steps: 0 };
  }
  const reference = clonePolicy(policy, { trainable: false });
  try {
    const r = await runDpo({
      policy,
      reference,
      tokenizer,
      pairs,
      config: { ...config.dpo, max_completion_length: config.dpo.max_completion_length ?? config.grpo.max_completion_length + 1 },
      seed: config.seed * 1000 + ordinal,
      onEvent,
      shouldStop: ctx.shouldStop,
    });
    return { pairs: pairs.length, steps: r.steps, stopped_by: r.stoppedBy, last: r.last };
  } finally {
    disposePolicy(reference);
  }
}
