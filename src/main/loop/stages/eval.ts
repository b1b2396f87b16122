// Eval on the fixed val (after every stage but verify) or test split (at the end), stored as
// val/* or test/* metrics.
import type { Policy } from '../../model/policy';
import type { Tokenizer } from '../../model/tokenizer';
import * as store from '../../store';
import { evaluatePolicy } from '../../train/eval';
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

/** The final test split, stored as test/* metrics of no stage. */
export function testRun(ctx: LoopContext, policy: Policy, tokenizer: Tokenizer): ValMetrics {
  const { db, runId, config } = ctx;
  const test = evaluate(policy, tokenizer, fixedEvalTasks(config, 'test'), config);
  const step = store.lastMetricStep(db, runId);
  store.insertMetrics(db, runId, [
    { stage_id: null, step, name: 'test/accuracy', value: test.accuracy, wall_s: null },
    { stage_id: null, step, name: 'test/mean_length', value: test.mean_length, wall_s: null },
    { stage_id: null, step, name: 'test/inconsistency_rate', value: test.inconsistency_rate, wall_s: null },
  ]);
  return test;
}
