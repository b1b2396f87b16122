// Eval on the fixed val (after every stage but verify) or test split (at the end), stored as
// val/* or test/* metrics.
import type { Policy } from '../../model/policy';
import type { Tokenizer } from '../../model/tokenizer';
import * as store from '../../store';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluatePolicy } from '../../train/eval';
import { familyMeans, meanOf, sampledAccuracy } from '../../train/paired';
import { sampleTasks, type Task } from '../../video';
import type { ValMetrics } from '../../../shared/api';
import type { RunConfig } from '../config';
import type { LoopContext } from './context';

/** Fixed eval sets: every run, whatever its seed, is measured on the same val and test tasks. */
const EVAL_SEED = 20_250_525;

export function fixedEvalTasks(config: RunConfig, split: 'val' | 'test'): Task[] {
  return sampleTasks({
    n: split === 'val' ? config.data.val_size : config.data.test_size,
    seed: EVAL_SEED,
    split,
    modality: config.data.modality,
    difficulty: config.data.difficulty,
  });
}

export function evaluate(policy: Policy, tokenizer: Tokenizer, tasks: Task[], config: RunConfig): ValMetrics {
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

/** Val metrics after a stage, stored at the run's last step; `wall` is the stage's seconds so far. */
export function evalStage(ctx: LoopContext, policy: Policy, tokenizer: Tokenizer, val: Task[], stageId: number, wall: () => number): ValMetrics {
  const { db, runId, config } = ctx;
  const valMetrics = evaluate(policy, tokenizer, val, config);
  const evalStep = store.lastMetricStep(db, runId);
  const t = wall();
  store.insertMetrics(db, runId, [
    { stage_id: stageId, step: evalStep, name: 'val/accuracy', value: valMetrics.accuracy, wall_s: t },
    { stage_id: stageId, step: evalStep, name: 'val/mean_length', value: valMetrics.mean_length, wall_s: t },
    { stage_id: stageId, step: evalStep, name: 'val/inconsistency_rate', value: valMetrics.inconsistency_rate, wall_s: t },
    ...(valMetrics.format_rate != null ? [{ stage_id: stageId, step: evalStep, name: 'val/format_rate', value: valMetrics.format_rate, wall_s: t }] : []),
  ]);
  return valMetrics;
}

/** Per-task test results of a run (runs/<id>/test.json next to the DB): what experiments pair on. */
export interface TestResults {
  task_ids: string[];
  families: string[];
  greedy: { per_task: number[]; accuracy: number; mean_length: number; inconsistency_rate: number; grounding_rate: number; format_rate: number; by_family: Record<string, number> };
  /** pass@1 over k samples at the GRPO temperature; null when loop.test_samples is 0. */
  sampled: { k: number; temperature: number; per_task: number[]; accuracy: number; mean_length: number; inconsistency_rate: number; grounding_rate: number; by_family: Record<string, number> } | null;
}

export const TEST_RESULTS_FILE = 'test.json';

/** The final test split, greedy and (loop.test_samples > 0) sampled, stored as test/* metrics of no stage and as runDir/test.json. */
export function testRun(ctx: LoopContext, policy: Policy, tokenizer: Tokenizer, runDir: string): TestResults {
  const { db, runId, config } = ctx;
  const tasks = fixedEvalTasks(config, 'test');
  const k = config.loop.test_samples;
  const progress = (step: number) => ctx.emit({ type: 'progress', stage: 'test', iteration: 0, step, total: 1 + k });
  progress(0);
  const g = evaluatePolicy(policy, tokenizer, tasks, { temperature: 0, max_completion_length: config.grpo.max_completion_length, seed: EVAL_SEED });
  progress(1);
  const families = tasks.map((t) => t.family);
  let sampled: TestResults['sampled'] = null;
  if (k > 0) {
    const temperature = config.grpo.temperature;
    const { perTask, runs } = sampledAccuracy(policy, tokenizer, tasks, { k, temperature, top_p: config.grpo.top_p, max_completion_length: config.grpo.max_completion_length, onSample: (s) => progress(1 + s) });
    sampled = {
      k,
      temperature,
      per_task: perTask,
      accuracy: meanOf(perTask),
      mean_length: meanOf(runs.map((r) => r.mean_length)),
      inconsistency_rate: meanOf(runs.map((r) => r.inconsistency_rate)),
      grounding_rate: meanOf(runs.map((r) => r.grounding_rate)),
      by_family: familyMeans(families, perTask),
    };
  }
  const results: TestResults = {
    task_ids: tasks.map((t) => t.id),
    families,
    greedy: { per_task: g.samples.map((x) => x.accuracy), accuracy: g.accuracy, mean_length: g.mean_length, inconsistency_rate: g.inconsistency_rate, grounding_rate: g.grounding_rate, format_rate: g.format_rate, by_family: g.by_family },
    sampled,
  };
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, TEST_RESULTS_FILE), JSON.stringify(results));
  const step = store.lastMetricStep(db, runId);
  const metric = (name: string, value: number) => ({ stage_id: null, step, name: `test/${name}`, value, wall_s: null });
  store.insertMetrics(db, runId, [
    metric('accuracy', g.accuracy),
    metric('mean_length', g.mean_length),
    metric('inconsistency_rate', g.inconsistency_rate),
    metric('grounding_rate', g.grounding_rate),
    metric('format_rate', g.format_rate),
    ...(sampled ? [metric('pass@1', sampled.accuracy)] : []),
  ]);
  return results;
}
