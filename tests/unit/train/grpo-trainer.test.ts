import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TrainEvent } from '../../../src/main/model/worker-protocol';
import { initBackend } from '../../../src/main/model/backend';
import { clonePolicy } from '../../../src/main/model/checkpoint';
import { createPolicy, parameterShapes, type Policy } from '../../../src/main/model/policy';
import { presetConfig } from '../../../src/main/model/config';
import type { PolicyPrompt } from '../../../src/main/model/inputs';
import { SPECIAL_TOKENS, Tokenizer } from '../../../src/main/model/tokenizer';
import { NonFiniteLossError } from '../../../src/main/model/optim';
import { GENERATION_ROWS, shuffleFrames, type TrainTask } from '../../../src/main/train/grpo-rollouts';
import { runGrpo, type GrpoRollout } from '../../../src/main/train/grpo';
import type { GrpoConfigInput } from '../../../src/main/train/config';
import { microBatchWeight, microBatches } from '../../../src/main/train/grpo-loss';

// A 10-token vocabulary: specials plus A, B. With no frames and a one-token prompt the
// policy is a tiny unconditional LM, so a few GRPO steps visibly move it.
const tokenizer = new Tokenizer([...SPECIAL_TOKENS, 'A', 'B']);
const H = 4;
const W = 4;
let config: ReturnType<typeof presetConfig>;

function task(id: string, frames = 0): TrainTask {
  const prompt: PolicyPrompt = {
    frames: frames ? Uint8Array.from({ length: frames * H * W * 3 }, (_, i) => (i * 29) % 256) : null,
    numFrames: frames,
    tokens: [tokenizer.bosId],
  };
  return { id, promptText: 'q', prompt, spec: { answer: 'A', answerType: 'mc', options: null } };
}

function freshPolicy(seed = 1): Policy {
  return createPolicy(config, seed);
}

const base: GrpoConfigInput = {
  steps: 2,
  per_step_prompts: 2,
  num_generations: 4,
  max_completion_length: 6,
  learning_rate: 1e-3,
};

function collect() {
  const metrics = new Map<string, number[]>();
  const rollouts: GrpoRollout[] = [];
  const onEvent = (ev: TrainEvent) => {
    if (ev.type === 'metric') metrics.set(ev.name, [...(metrics.get(ev.name) ?? []), ev.value]);
  };
  return { metrics, rollouts, onEvent, onRollouts: (rows: GrpoRollout[]) => rollouts.push(...rows) };
}

beforeAll(async () => {
  await initBackend();
  config = presetConfig('tiny', { vocab_size: tokenizer.size, frame_height: H, frame_width: W, max_frames: 4 }, { max_text_len: 32, d_model: 16, n_head: 2, d_ff: 32, tie_embeddings: false, patch_grid: 2 });
});

describe('runGrpo', () => {
  it('reports the truncation rate and warns in the log when the first step is cut above 5 %', async () => {
    const logs: { level: string; message: string }[] = [];
    const c = collect();
    // A fresh policy rarely samples <eos> within 3 tokens: nearly every completion is cut.
    const res = await runGrpo({
      policy: freshPolicy(), reference: null, tokenizer, tasks: [task('t1'), task('t2')], seed: 5,
      config: { ...base, beta: 0, max_completion_length: 3 },
      onEvent: (ev) => { c.onEvent(ev); if (ev.type === 'log') logs.push(ev); },
    });
    const clipped = c.metrics.get('completions/clipped_ratio')!;
    expect(clipped).toHaveLength(2);
    expect(res.truncation_rate_start).toBe(clipped[0]);
    expect(res.truncation_rate).toBeCloseTo((clipped[0]! + clipped[1]!) / 2, 10);
    expect(res.truncation_rate_start).toBeGreaterThan(0.05);
    // Once, at the stage's start, not at every step.
    expect(logs.filter((l) => l.level === 'warn' && /grpo: .*max_completion_length 3/.test(l.message))).toHaveLength(1);
  });

  it('runs every loss type and level, logs TRL-style metrics and whole groups of rollouts', async () => {
    for (const [loss_type, importance_sampling_level] of [['grpo', 'token'], ['bnpo', 'token'], ['dr_grpo', 'sequence'], ['dapo', 'token']] as const) {
      const policy = freshPolicy();
      const c = collect();
      const res = await runGrpo({
        policy, reference: clonePolicy(policy), tokenizer, tasks: [task('t1'), task('t2'), task('t3')],
        config: { ...base, loss_type, importance_sampling_level, epsilon_high: 0.28 }, seed: 5, ...c,
      });
      expect(res.steps).toBe(2);
      expect(c.rollouts).toHaveLength(2 * 2 * 4);
      for (const name of ['reward', 'reward_std', 'rewards/accuracy/mean', 'rewards/format/std', 'accuracy', 'completions/mean_length',
        'clip_ratio/region_mean', 'kl', 'entropy', 'grad_norm', 'gen_seconds', 'update_seconds']) {
        expect(c.metrics.get(name), `${loss_type}: ${name}`).toHaveLength(2);
      }
      // Advantages sum to ~0 inside each group (group-centred).
      for (let g = 0; g < c.rollouts.length; g += 4) {
        const s = c.rollouts.slice(g, g + 4).reduce((a, r) => a + r.advantage, 0);
        expect(Math.abs(s)).toBeLessThan(1e-6);
      }
    }
  });

  it('samples more completions than GENERATION_ROWS in chunks: every group whole, on its own prompt', async () => {
    const policy = freshPolicy();
    const c = collect();
    const tasks = Array.from({ length: 12 }, (_, i) => task(`t${i}`));
    const prompts = Math.ceil((GENERATION_ROWS + 1) / 4); // 9 prompts x 4 = 36 completions: two chunks
    await runGrpo({ policy, reference: null, tokenizer, tasks, config: { ...base, steps: 1, per_step_prompts: prompts, beta: 0 }, seed: 3, ...c });
    expect(c.rollouts).toHaveLength(prompts * 4);
    for (let g = 0; g < c.rollouts.length; g += 4) {
      const group = c.rollouts.slice(g, g + 4);
      expect(group.map((r) => r.group_index)).toEqual([0, 1, 2, 3]);
      expect(new Set(group.map((r) => r.task_id)).size).toBe(1);
    }
    expect(new Set(c.rollouts.map((r) => r.task_id)).size).toBe(prompts);
  });

  it('ratio is 1 on a single inner iteration; KL to a reference equal to the policy is 0 at the first step', async () => {
    const policy = freshPolicy();
    const c = collect();
    await runGrpo({ policy, reference: clonePolicy(policy), tokenizer, tasks: [task('t')], config: { ...base, steps: 1 }, ...c });
    expect(c.metrics.get('ratio_mean')![0]).toBeCloseTo(1, 6);
    expect(c.metrics.get('kl')![0]).toBeCloseTo(0, 6);
    // With two inner iterations the second one sees an updated policy.
    const c2 = collect();
    const p2 = freshPolicy();
    await runGrpo({ policy: p2, reference: clonePolicy(p2), tokenizer, tasks: [task('t')], config: { ...base, steps: 1, num_iterations: 2, learning_rate: 1e-2, scale_rewards: 'none', reward_weights: { accuracy: 0, format: 0, length: 1 }, length_target: 20 }, ...c2 });
    expect(Math.abs(c2.metrics.get('ratio_mean')![0]! - 1)).toBeGreaterThan(1e-6);
  });

  it('learns: a length reward makes completions longer', async () => {
    const policy = freshPolicy(3);
    // Make <eos> likely at the start so there is something to learn: a constant feature
    // after the final LayerNorm that the (untied) head maps to the <eos> logit.
    tf.tidy(() => {
      const d = config.d_model;
      const onFirst = tf.oneHot(tf.tensor1d([0], 'int32'), d, 1, 0, 'float32');
      policy.params.get('lnf_b')!.assign(tf.reshape(onFirst, [d]));
      const head = policy.params.get('lm_head')!;
      const eosCell = tf.reshape(tf.oneHot(tf.tensor1d([tokenizer.eosId], 'int32'), tokenizer.size, 1, 0, 'float32'), [1, tokenizer.size]);
      head.assign(tf.add(head, tf.mul(tf.reshape(onFirst, [d, 1]), tf.mul(eosCell, 2.5))));
    });
    const c = collect();
    await runGrpo({
      policy, reference: null, tokenizer, tasks: [task('t')], seed: 1, ...c,
      config: { ...base, steps: 25, beta: 0, per_step_prompts: 2, num_generations: 8, max_completion_length: 8, learning_rate: 3e-2,
        reward_weights: { accuracy: 0, format: 0, length: 1 }, length_target: 8 },
    });
    const len = c.metrics.get('completions/mean_length')!;
    const first = (len[0]! + len[1]! + len[2]!) / 3;
    const lastL = (len[22]! + len[23]! + len[24]!) / 3;
    expect(lastL).toBeGreaterThan(first + 1);
  });

  it('T-GRPO logs a shuffled group per prompt and the temporal metrics', async () => {
    const policy = freshPolicy();
    const c = collect();
    await runGrpo({ policy, reference: clonePolicy(policy), tokenizer, tasks: [task('v1', 3), task('v2', 3)], config: { ...base, steps: 1, temporal: true }, ...c });
    const shuffled = c.rollouts.filter((r) => r.shuffled);
    expect(shuffled).toHaveLength(2 * 4);
    expect(shuffled.every((r) => r.advantage === 0)).toBe(true);
    // Each twin group answers one of the step's ordered prompts.
    expect(new Set(shuffled.map((r) => r.task_id))).toEqual(new Set(['v1', 'v2']));
    expect(c.metrics.get('temporal/bonus_rate')).toHaveLength(1);
    expect(c.rollouts.filter((r) => !r.shuffled).every((r) => 'temporal' in r.reward_parts)).toBe(true);
    // Prompts without a video get no shuffled twin and no bonus.
    const c2 = collect();
    await runGrpo({ policy, reference: clonePolicy(policy), tokenizer, tasks: [task('text1'), task('text2')], config: { ...base, steps: 1, temporal: true }, ...c2 });
    expect(c2.rollouts.filter((r) => r.shuffled)).toHaveLength(0);
    expect(c2.rollouts.every((r) => r.reward_parts.temporal === 0)).toBe(true);
  });

  it('dynamic sampling skips groups with equal rewards (all zero here) and says so', async () => {
    const policy = freshPolicy();
    const c = collect();
    const logs: string[] = [];
    await runGrpo({
      policy, reference: null, tokenizer, tasks: [task('t')], ...c,
      onEvent: (ev) => { c.onEvent(ev); if (ev.type === 'log') logs.push(ev.message); },
      // accuracy only: a random 10-token LM essentially never writes <answer>A</answer> in 3 tokens
      config: { ...base, steps: 1, beta: 0, max_completion_length: 3, dynamic_sampling: true, dynamic_sampling_max_rounds: 1, reward_weights: { format: 0 } },
    });
    expect(c.metrics.get('frac_groups_dropped')![0]).toBe(1);
    expect(logs.some((m) => /no update/.test(m))).toBe(true);
  });

  it('throws NonFiniteLossError on a NaN loss', async () => {
    const policy = freshPolicy();
    tf.tidy(() => policy.params.get('lnf_g')!.assign(tf.fill([config.d_model], NaN)));
    await expect(
      runGrpo({ policy, reference: null, tokenizer, tasks: [task('t')], config: { ...base, beta: 0, steps: 1, scale_rewards: 'none', reward_weights: { length: 1 } } }),
    ).rejects.toBeInstanceOf(NonFiniteLossError);
  });

  it('leaks no tensors across steps (GSPO, two inner iterations, masked truncation, KL, T-GRPO)', async () => {
    const policy = freshPolicy();
    const reference = clonePolicy(policy);
    const before = tf.memory().numTensors;
    await runGrpo({ policy, reference, tokenizer, tasks: [task('v', 2)], config: { ...base, steps: 3, num_iterations: 2, importance_sampling_level: 'sequence', mask_truncated_completions: true, temporal: true } });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('shuffleFrames permutes whole frames and never returns the identity', () => {
    const frames = Uint8Array.from({ length: 3 * 4 }, (_, i) => Math.floor(i / 4));
    let s = 0.1;
    for (let k = 0; k < 20; k++) {
      const out = shuffleFrames({ frames, numFrames: 3, tokens: [1] }, () => (s = (s * 9301 + 0.49297) % 1));
      const order = [0, 1, 2].map((t) => out.frames![t * 4]!);
      expect([...order].sort()).toEqual([0, 1, 2]);
      expect(order).not.toEqual([0, 1, 2]);
      for (let t = 0; t < 3; t++) expect(new Set(out.frames!.subarray(t * 4, t * 4 + 4)).size).toBe(1);
    }
  });
});

describe('GRPO micro-batches (per_device_train_batch_size)', () => {
  it('weigh each micro-batch by its share of rows (grpo, dr_grpo) or of unmasked tokens (bnpo, dapo)', () => {
    const c = { rows: 3, totalRows: 8, tokens: 10, totalTokens: 40 };
    expect(microBatchWeight('grpo', c)).toBe(3 / 8);
    expect(microBatchWeight('dr_grpo', c)).toBe(3 / 8);
    expect(microBatchWeight('bnpo', c)).toBe(1 / 4);
    expect(microBatchWeight('dapo', { ...c, totalTokens: 0, tokens: 0 })).toBe(0);
    expect(microBatches(8, 3)).toEqual([{ start: 0, end: 3 }, { start: 3, end: 6 }, { start: 6, end: 8 }]);
  });

  it('give the same update as one full batch, for every loss type', async () => {
    const flat = (p: Policy) => [...p.params.values()].flatMap((v) => Array.from(v.dataSync()));
    for (const loss_type of ['grpo', 'bnpo', 'dr_grpo', 'dapo'] as const) {
      const after = async (per_device_train_batch_size: number) => {
        const policy = freshPolicy(2);
        // Rows of different lengths and a truncated one, so the token weighting matters.
        await runGrpo({
          policy, reference: clonePolicy(policy), tokenizer, tasks: [task('t1'), task('t2', 2)], seed: 3,
          config: { ...base, steps: 1, loss_type, num_iterations: 2, mask_truncated_completions: true, learning_rate: 1e-2, per_device_train_batch_size,
            scale_rewards: 'none', reward_weights: { accuracy: 0, format: 0, length: 1 }, length_target: 20 },
        });
        return flat(policy);
      };
      const before = flat(freshPolicy(2));
      const full = await after(8);
      const micro = await after(3);
      const moved = Math.max(...full.map((x, i) => Math.abs(x - before[i]!)));
      const diff = Math.max(...full.map((x, i) => Math.abs(x - micro[i]!)));
      expect(moved, loss_type).toBeGreaterThan(1e-4);
      expect(diff, loss_type).toBeLessThan(1e-5);
    }
  });
});
