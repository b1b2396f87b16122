// The loop's glue between the trainers, the store and the verifier: GRPO rollouts into the
// rollouts table (a T-GRPO twin under its own group key), the verify stage over them (verdicts,
// pairs, solved prompts), the DPO stage over those pairs, and GRPO's twins end to end.
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as store from '../../../src/main/store';
import { resolveRunConfig, type RunConfig } from '../../../src/main/loop/config';
import type { LoopContext, LoopEvent } from '../../../src/main/loop/stages/context';
import { grpoStage, storeRollouts } from '../../../src/main/loop/stages/grpo';
import { verifyStage } from '../../../src/main/loop/stages/verify';
import { dpoStage } from '../../../src/main/loop/stages/dpo';
import { initBackend } from '../../../src/main/model/backend';
import { presetConfig } from '../../../src/main/model/config';
import { createPolicy, disposePolicy } from '../../../src/main/model/policy';
import { benchmarkPolicyData, benchmarkTokenizer } from '../../../src/main/model/prompt';
import { sampleTasks, type Task } from '../../../src/main/video';
import type { GrpoRollout } from '../../../src/main/train/grpo';

beforeAll(async () => {
  await initBackend('cpu');
});

function context(config: RunConfig): LoopContext & { events: LoopEvent[] } {
  const dir = mkdtempSync(join(tmpdir(), 'veripo-stages-'));
  const db = store.openDb(join(dir, 'stages.db'));
  const runId = store.createRun(db, { experiment: 'stages', name: null, preset: 'smoke', config: config as unknown as Record<string, unknown>, seed: 0 });
  const events: LoopEvent[] = [];
  return { db, runId, config, dataDir: dir, cacheDir: join(dir, 'cache'), emit: (e) => events.push(e), shouldStop: () => false, events };
}

/** A GRPO rollout of `task` whose completion is `text`. */
function rollout(task: Task, text: string, o: Partial<GrpoRollout> = {}): GrpoRollout {
  return { step: 1, task_id: task.id, shuffled: false, group_index: 0, prompt: task.question, ground_truth: task.answer, text, tokens: [5, 6, 7], logprobs: [-0.5, -1.25, -0.1], reward: 0, reward_parts: { accuracy: 0 }, advantage: 0, truncated: false, ...o };
}

const wrongAnswer = (task: Task) => (task.options ? task.options.map((_, i) => String.fromCharCode(65 + i)).find((l) => l !== task.answer)! : String(Number(task.answer) + 3));

describe('loop stages', () => {
  const config = resolveRunConfig({ preset: 'smoke', sets: [['verifier.rubric', 'lenient'], ['loop.discard_solved', 1], ['dpo.steps', 1], ['dpo.batch_size', 2]] });
  const [task] = sampleTasks({ n: 1, seed: 3, split: 'train', modality: 'video', difficulty: 1 });

  it('stores GRPO rollouts with the stage\'s step offset, a T-GRPO twin under its own group key and nothing else marking it', () => {
    const ctx = context(config);
    const stageId = store.startStage(ctx.db, ctx.runId, 0, 0, 'grpo');
    storeRollouts(ctx.db, ctx.runId, stageId, 100, [rollout(task!, 'a'), rollout(task!, 'b', { shuffled: true, group_index: 1 })]);
    const rows = store.rolloutsForStage(ctx.db, stageId);
    expect(rows.map((r) => [r.step, r.prompt_id, r.task_id, r.token_count, r.meta])).toEqual([
      [101, task!.id, task!.id, 3, { word_logprobs: [-0.5] }],
      [101, `${task!.id}#shuffled`, task!.id, 3, { word_logprobs: [-0.5] }],
    ]);
    expect(rows.map((r) => store.isShuffledTwin(r.prompt_id))).toEqual([false, true]);
  });

  it('verify judges the ordered rollouts only, pairs the right chain over the wrong one, and drops the solved prompt', async () => {
    const ctx = context(config);
    const grpoId = store.startStage(ctx.db, ctx.runId, 0, 0, 'grpo');
    const right = task!.cot.gold;
    const wrong = right.replace(/<answer>[\s\S]*<\/answer>/, `<answer>${wrongAnswer(task!)}</answer>`);
    expect(wrong).not.toBe(right);
    storeRollouts(ctx.db, ctx.runId, grpoId, 0, [
      rollout(task!, right, { group_index: 0 }),
      rollout(task!, wrong, { group_index: 1 }),
      rollout(task!, right, { group_index: 0, shuffled: true }),
    ]);
    const verifyId = store.startStage(ctx.db, ctx.runId, 1, 0, 'verify');
    const summary = await verifyStage(ctx, verifyId, grpoId, () => 0);
    const rows = store.rolloutsForStage(ctx.db, grpoId);
    expect(rows.map((r) => r.verdict !== null)).toEqual([true, true, false]);
    const pairs = store.pairsForTraining(ctx.db, ctx.runId, verifyId);
    expect(pairs.length).toBeGreaterThan(0);
    // The right chain over the wrong one (and maybe a reflective pair built from them); the twin is never in one.
    expect(pairs.some((p) => p.chosen_rollout_id === rows[0]!.id && p.rejected_rollout_id === rows[1]!.id && p.chosen_text === right)).toBe(true);
    expect(pairs.every((p) => p.rejected_text === wrong && p.chosen_rollout_id !== rows[2]!.id)).toBe(true);
    // One of two right: not solved, so nothing is dropped even at discard_solved 1.
    expect(summary.dropped).toEqual([]);

    // Both right: the prompt is solved and discard_solved 1 drops it.
    const ctx2 = context(config);
    const g2 = store.startStage(ctx2.db, ctx2.runId, 0, 0, 'grpo');
    storeRollouts(ctx2.db, ctx2.runId, g2, 0, [rollout(task!, right), rollout(task!, right, { group_index: 1 })]);
    const v2 = store.startStage(ctx2.db, ctx2.runId, 1, 0, 'verify');
    expect((await verifyStage(ctx2, v2, g2, () => 0)).dropped).toEqual([task!.id]);
  });

  it('verify with the default rubric checks readings against the scene: hard negatives, a reflective pair, pairs by kind as metrics', async () => {
    const ctx = context(resolveRunConfig({ preset: 'smoke', sets: [['verifier.rubric', 'default']] }));
    const [t] = sampleTasks({ n: 1, seed: 11, split: 'train', modality: 'video', difficulty: 2, family: 'rotation' });
    const grpoId = store.startStage(ctx.db, ctx.runId, 0, 0, 'grpo');
    const wrong = t!.cot.gold.replace(/so the answer is \S+ <\/think><answer>[^<]*<\/answer>$/, `so the answer is ${wrongAnswer(t!)} </think><answer>${wrongAnswer(t!)}</answer>`);
    storeRollouts(ctx.db, ctx.runId, grpoId, 0, [t!.cot.gold, t!.cot.hallucinated, t!.cot.reflective, wrong].map((text, i) => rollout(t!, text, { group_index: i })));
    const verifyId = store.startStage(ctx.db, ctx.runId, 1, 0, 'verify');
    const summary = (await verifyStage(ctx, verifyId, grpoId, () => 0)) as { pairs: Record<string, number>; self_corrected: number };
    expect(summary.self_corrected).toBe(1);
    expect(summary.pairs).toMatchObject({ reflective: 1, reflective_constructed: 0 });
    expect(summary.pairs.hard_negative).toBeGreaterThan(0);
    const pairs = store.pairsForTraining(ctx.db, ctx.runId, verifyId);
    expect(pairs.some((p) => p.chosen_text === t!.cot.hallucinated)).toBe(false);
    const metrics = Object.fromEntries(store.getMetrics(ctx.db, [ctx.runId]).map((m) => [m.name, m.points.map((p) => p.value)]));
    expect(metrics['verify/pairs_reflective']).toEqual([1]);
    expect(metrics['verify/pairs_hard_negative']).toEqual([summary.pairs.hard_negative]);
    expect(metrics['verify/pairs_total']).toEqual([pairs.length]);
  });

  it('DPO trains on the verify stage\'s pairs, and skips the update when there are none', async () => {
    const ctx = context(config);
    const grpoId = store.startStage(ctx.db, ctx.runId, 0, 0, 'grpo');
    const right = task!.cot.gold;
    const wrong = right.replace(/<answer>[\s\S]*<\/answer>/, `<answer>${wrongAnswer(task!)}</answer>`);
    storeRollouts(ctx.db, ctx.runId, grpoId, 0, [rollout(task!, right), rollout(task!, wrong, { group_index: 1 })]);
    const verifyId = store.startStage(ctx.db, ctx.runId, 1, 0, 'verify');
    await verifyStage(ctx, verifyId, grpoId, () => 0);
    const tokenizer = benchmarkTokenizer();
    const policy = createPolicy(presetConfig('tiny', benchmarkPolicyData(tokenizer)), 0);
    try {
      const metrics: string[] = [];
      const r = await dpoStage(ctx, policy, tokenizer, verifyId, 2, (ev) => ev.type === 'metric' && metrics.push(ev.name));
      expect(r).toMatchObject({ pairs: store.pairsForTraining(ctx.db, ctx.runId, verifyId).length, steps: 1 });
      expect(metrics).toContain('loss');
      const none = await dpoStage(context(config), policy, tokenizer, null, 2, () => {});
      expect(none).toEqual({ pairs: 0, steps: 0 });
    } finally {
      disposePolicy(policy);
    }
  });

  it('T-GRPO stores one twin group per video prompt, untrained, beside the ordered groups', async () => {
    const tconfig = resolveRunConfig({
      preset: 'smoke',
      sets: [['grpo.temporal', true], ['grpo.steps', 1], ['grpo.per_step_prompts', 2], ['grpo.num_generations', 2], ['grpo.max_completion_length', 4], ['grpo.beta', 0]],
    });
    const ctx = context(tconfig);
    const tokenizer = benchmarkTokenizer();
    const policy = createPolicy(presetConfig('tiny', benchmarkPolicyData(tokenizer)), 0);
    try {
      const stageId = store.startStage(ctx.db, ctx.runId, 0, 0, 'grpo');
      const pool = sampleTasks({ n: 2, seed: 5, split: 'train', modality: 'video', difficulty: 1 });
      await grpoStage(ctx, policy, tokenizer, { stageId, ordinal: 0, pool, maxSeconds: null, stepBase: 0, onEvent: () => {} });
      const rows = store.rolloutsForStage(ctx.db, stageId);
      const twins = rows.filter((r) => store.isShuffledTwin(r.prompt_id));
      expect(rows).toHaveLength(8);
      expect(twins).toHaveLength(4);
      expect(twins.every((r) => r.advantage === 0 && r.prompt_id === `${r.task_id}#shuffled`)).toBe(true);
      expect(new Set(twins.map((r) => r.task_id))).toEqual(new Set(pool.map((t) => t.id)));
    } finally {
      disposePolicy(policy);
    }
  });
});
