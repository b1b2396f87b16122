// GRPO and DPO report each step to the health guard: at learning rate 1e6 the first update
// trips it (weights explode without a NaN), at a sane rate it stays quiet.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/main/model/backend';
import { clonePolicy } from '../../../src/main/model/checkpoint';
import { createPolicy } from '../../../src/main/model/policy';
import type { PolicyPrompt } from '../../../src/main/model/inputs';
import { presetConfig } from '../../../src/main/model/config';
import { SPECIAL_TOKENS, Tokenizer } from '../../../src/main/model/tokenizer';
import { weightNorm } from '../../../src/main/model/optim';
import { runGrpo } from '../../../src/main/train/grpo';
import { runDpo } from '../../../src/main/train/dpo';
import { createHealthGuard, DEFAULT_HEALTH_CONFIG, TrainingDivergedError, type StepHealth } from '../../../src/main/train/health';

const tokenizer = new Tokenizer([...SPECIAL_TOKENS, 'A', 'B']);
const prompt: PolicyPrompt = { frames: null, numFrames: 0, tokens: [tokenizer.bosId] };
let config: ReturnType<typeof presetConfig>;

beforeAll(async () => {
  await initBackend();
  config = presetConfig('tiny', { vocab_size: tokenizer.size, frame_height: 4, frame_width: 4, max_frames: 2 }, { max_text_len: 16, d_model: 16, n_head: 2, d_ff: 32, patch_grid: 2 });
});

/** A guard that also records what it was shown. */
function watched(policy: ReturnType<typeof createPolicy>, stage: string) {
  const seen: Omit<StepHealth, 'weightNorm'>[] = [];
  const guard = createHealthGuard(stage, DEFAULT_HEALTH_CONFIG, () => weightNorm(policy));
  return { seen, health: { check: (obs: Omit<StepHealth, 'weightNorm'>) => (seen.push(obs), guard.check(obs)) } };
}

const task = { id: 't', promptText: 'q', prompt, spec: { answer: 'A', answerType: 'mc' as const, options: null } };
// Length reward: rollouts of different lengths get different rewards, so every step updates.
const grpo = { steps: 3, per_step_prompts: 2, num_generations: 4, max_completion_length: 6, beta: 0.04, scale_rewards: 'none' as const, reward_weights: { length: 1 } };
const pairs = Array.from({ length: 6 }, () => ({ prompt, chosen: '<answer> A </answer>', rejected: '<answer> B </answer>' }));

describe('health guard in GRPO', () => {
  it('stops at learning rate 1e6 after the first update', async () => {
    const policy = createPolicy(config, 1);
    const { health } = watched(policy, 'grpo');
    const err = await runGrpo({ policy, reference: clonePolicy(policy), tokenizer, tasks: [task], config: { ...grpo, learning_rate: 1e6 }, health }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainingDivergedError);
    expect((err as TrainingDivergedError).problem).toMatchObject({ check: 'weight_norm', step: 1 });
  });

  it('reports loss, gradient norm, KL and reward spread each step and lets a sane rate train', async () => {
    const policy = createPolicy(config, 1);
    const { seen, health } = watched(policy, 'grpo');
    const r = await runGrpo({ policy, reference: clonePolicy(policy), tokenizer, tasks: [task], config: { ...grpo, learning_rate: 1e-3 }, health });
    expect(r.steps).toBe(3);
    expect(seen.map((o) => o.step)).toEqual([1, 2, 3]);
    for (const o of seen) for (const k of ['loss', 'gradNorm', 'kl', 'rewardStd'] as const) expect(Number.isFinite(o[k])).toBe(true);
  });
});

describe('health guard in DPO', () => {
  it('stops at learning rate 1e6 after the first update, and not at a sane rate', async () => {
    const policy = createPolicy(config, 2);
    const err = await runDpo({ policy, reference: clonePolicy(policy), tokenizer, pairs, config: { batch_size: 4, steps: 3, learning_rate: 1e6 }, health: watched(policy, 'dpo').health }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainingDivergedError);
    expect((err as TrainingDivergedError).problem).toMatchObject({ check: 'weight_norm', step: 1 });

    const sane = createPolicy(config, 2);
    const { seen, health } = watched(sane, 'dpo');
    const r = await runDpo({ policy: sane, reference: clonePolicy(sane), tokenizer, pairs, config: { batch_size: 4, steps: 3, learning_rate: 1e-2 }, health });
    expect(r.steps).toBe(3);
    expect(seen).toHaveLength(3);
  });
});
