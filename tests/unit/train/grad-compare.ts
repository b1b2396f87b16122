// Comparing two sets of parameters or gradients, as the data-parallel tests do.
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import type { Policy } from '../../../src/main/model/policy';
import type { Tokenizer } from '../../../src/main/model/tokenizer';
import { trainTaskOf, type TrainTask } from '../../../src/main/train/grpo-rollouts';
import { runGrpo, type GrpoRollout } from '../../../src/main/train/grpo';
import type { GrpoConfigInput } from '../../../src/main/train/config';
import { sampleTasks } from '../../../src/main/video/tasks';

/** max |a - b| / max |a| over every tensor at once. */
export function relDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  let diff = 0;
  let scale = 0;
  for (const [name, x] of a) {
    const y = b.get(name)!;
    for (let i = 0; i < x.length; i++) {
      diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
      scale = Math.max(scale, Math.abs(x[i]!));
    }
  }
  return diff / scale;
}

/** The gradients' values, the tensors disposed. */
export function read(grads: Map<string, tf.Tensor>): Map<string, Float32Array> {
  const out = new Map([...grads].map(([k, g]) => [k, g.dataSync() as Float32Array]));
  tf.dispose([...grads.values()]);
  return out;
}

/** A policy's parameter values by name. */
export const weights = (p: Policy) => new Map([...p.params].map(([k, v]) => [k, v.dataSync() as Float32Array]));

/** Video, text and image prompts (two each) of different lengths, so shards pad differently. */
export function mixedTasks(tokenizer: Tokenizer): TrainTask[] {
  return (['video', 'text', 'image'] as const).flatMap((modality, i) => sampleTasks({ n: 2, seed: 40 + i, split: 'train', modality })).map((t) => trainTaskOf(t, tokenizer));
}

/**
 * Two short GRPO steps on a tiny policy with a length reward (a random policy's groups then
 * have unequal rewards, so every step updates); what a 1-vs-2-worker comparison looks at.
 */
export async function recordGrpo(policy: Policy, reference: Policy, tokenizer: Tokenizer, tasks: TrainTask[], config: GrpoConfigInput): Promise<{ logs: string[]; rollouts: GrpoRollout[]; losses: number[] }> {
  const logs: string[] = [];
  const rollouts: GrpoRollout[] = [];
  const losses: number[] = [];
  await runGrpo({
    policy,
    reference,
    tokenizer,
    tasks,
    seed: 9,
    config: { steps: 2, per_step_prompts: 3, num_generations: 4, max_completion_length: 12, learning_rate: 1e-3, reward_weights: { accuracy: 0, format: 0, length: 1 }, length_target: 8, ...config },
    onEvent: (ev) => {
      if (ev.type === 'log') logs.push(ev.message);
      if (ev.type === 'metric' && ev.name === 'loss') losses.push(ev.value);
    },
    onRollouts: (r) => rollouts.push(...r),
  });
  return { logs, rollouts, losses };
}
