import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/main/model/backend';
import { clonePolicy } from '../../../src/main/model/checkpoint';
import { createPolicy } from '../../../src/main/model/policy';
import { presetConfig } from '../../../src/main/model/config';
import type { PolicyPrompt } from '../../../src/main/model/inputs';
import { SPECIAL_TOKENS, Tokenizer } from '../../../src/main/model/tokenizer';
import { DpoConfigSchema } from '../../../src/main/train/config';
import { encodeCompletion, runDpo, type DpoPair } from '../../../src/main/train/dpo';
import type { TrainEvent } from '../../../src/main/model/worker-protocol';
import { NonFiniteLossError } from '../../../src/main/model/optim';

const tokenizer = new Tokenizer([...SPECIAL_TOKENS, 'A', 'B']);
let config: ReturnType<typeof presetConfig>;
const prompt: PolicyPrompt = { frames: null, numFrames: 0, tokens: [tokenizer.bosId] };
const pairs: DpoPair[] = Array.from({ length: 6 }, () => ({ prompt, chosen: '<answer> A </answer>', rejected: '<answer> B </answer>' }));

function collect() {
  const metrics = new Map<string, number[]>();
  return { metrics, onEvent: (ev: TrainEvent) => { if (ev.type === 'metric') metrics.set(ev.name, [...(metrics.get(ev.name) ?? []), ev.value]); } };
}

beforeAll(async () => {
  await initBackend();
  config = presetConfig('tiny', { vocab_size: tokenizer.size, frame_height: 4, frame_width: 4, max_frames: 2 }, { max_text_len: 16, d_model: 16, n_head: 2, d_ff: 32, patch_grid: 2 });
});

describe('runDpo', () => {
  it('TRL defaults', () => {
    const c = DpoConfigSchema.parse({});
    expect([c.beta, c.loss_type, c.label_smoothing, c.rpo_alpha]).toEqual([0.1, 'sigmoid', 0, null]);
    expect(() => DpoConfigSchema.parse({ betaa: 1 })).toThrow();
  });

  it('starts at margin 0 (reference = policy) and separates chosen from rejected', async () => {
    const policy = createPolicy(config, 2);
    const c = collect();
    const res = await runDpo({ policy, reference: clonePolicy(policy), tokenizer, pairs, config: { batch_size: 4, steps: 15, learning_rate: 1e-2 }, ...c });
    expect(res.steps).toBe(15);
    const margins = c.metrics.get('rewards/margins')!;
    expect(margins[0]).toBeCloseTo(0, 5);
    expect(c.metrics.get('loss')![0]).toBeCloseTo(Math.log(2), 4); // -logsigmoid(0)
    expect(margins.at(-1)!).toBeGreaterThan(0.1);
    expect(c.metrics.get('rewards/accuracies')!.at(-1)).toBe(1);
    expect(c.metrics.get('rewards/chosen')!.at(-1)!).toBeGreaterThan(c.metrics.get('rewards/rejected')!.at(-1)!);
  });

  it('epochs and batch size set the step count; ipo, hinge and rpo run', async () => {
    for (const extra of [{ loss_type: 'ipo' as const }, { loss_type: 'hinge' as const }, { rpo_alpha: 1 }, { label_smoothing: 0.1 }]) {
      const policy = createPolicy(config, 2);
      const c = collect();
      const res = await runDpo({ policy, reference: clonePolicy(policy), tokenizer, pairs, config: { batch_size: 4, epochs: 2, ...extra }, ...c });
      expect(res.steps).toBe(4); // ceil(6 / 4) * 2
      expect(c.metrics.get('loss')!.every(Number.isFinite)).toBe(true);
      if ('rpo_alpha' in extra) expect(c.metrics.get('nll_loss')).toHaveLength(4);
    }
  });

  it('reports how many completions max_completion_length cut, and warns above 5 %', async () => {
    const policy = createPolicy(config, 2);
    const logs: string[] = [];
    const c = collect();
    const long: DpoPair[] = [...pairs.slice(0, 3), { prompt, chosen: 'A B A B A B', rejected: 'B' }];
    const res = await runDpo({
      policy, reference: clonePolicy(policy), tokenizer, pairs: long, config: { batch_size: 4, steps: 1, max_completion_length: 4 },
      onEvent: (ev) => { c.onEvent(ev); if (ev.type === 'log' && ev.level === 'warn') logs.push(ev.message); },
    });
    // '<answer> A </answer>' is 3 tokens + <eos>: it fits in 4. 'A B A B A B' does not.
    expect(res.truncation_rate).toBeCloseTo(1 / 8, 10);
    expect(c.metrics.get('completions/clipped_ratio')).toEqual([1 / 8]);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/12\.5% .*max_completion_length 4/);
    const fits = await runDpo({ policy, reference: clonePolicy(policy), tokenizer, pairs, config: { batch_size: 4, steps: 1, max_completion_length: 4 } });
    expect(fits.truncation_rate).toBe(0);
  });

  it('leaks no tensors', async () => {
    const policy = createPolicy(config, 2);
    const reference = clonePolicy(policy);
    const before = tf.memory().numTensors;
    await runDpo({ policy, reference, tokenizer, pairs, config: { batch_size: 4, steps: 3, rpo_alpha: 0.5 } });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('throws NonFiniteLossError on NaN weights', async () => {
    const policy = createPolicy(config, 2);
    const reference = clonePolicy(policy);
    tf.tidy(() => policy.params.get('lnf_g')!.assign(tf.fill([config.d_model], NaN)));
    await expect(runDpo({ policy, reference, tokenizer, pairs, config: { steps: 1 } })).rejects.toBeInstanceOf(NonFiniteLossError);
  });

  it('encodeCompletion ends in <eos> unless it had to cut', () => {
    expect(encodeCompletion(tokenizer, 'A B', 10)).toEqual([tokenizer.id('A'), tokenizer.id('B'), tokenizer.eosId]);
    expect(encodeCompletion(tokenizer, 'A B A B', 3)).toEqual([tokenizer.id('A'), tokenizer.id('B')]);
  });
});
