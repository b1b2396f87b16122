import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/main/model/backend';
import { clonePolicy } from '../../../src/main/model/checkpoint';
import { createPolicy } from '../../../src/main/model/policy';
import { presetConfig } from '../../../src/main/model/config';
import type { PolicyPrompt } from '../../../src/main/model/inputs';
import { SPECIAL_TOKENS, Tokenizer } from '../../../src/main/model/tokenizer';
import { DpoConfigSchema } from '../../../src/main/train/config';
import { encodeCompletion, epochOrder, promptGroups, runDpo, type DpoPair, type EncodedPair } from '../../../src/main/train/dpo';
import { referenceBatches } from '../../../src/main/train/dpo-loss';
import { mulberry32 } from '../../../src/main/model/sample';
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

  describe('batches by prompt', () => {
    // 11 pairs over 5 prompt objects, a prompt's pairs not adjacent in the input; two prompts
    // have equal tokens but are different objects (different groups).
    const objs: PolicyPrompt[] = [[1, 2], [3], [1, 2], [4, 5, 6], [7]].map((tokens) => ({ frames: null, numFrames: 0, tokens }));
    const of = [0, 1, 0, 2, 3, 0, 1, 4, 2, 3, 0];
    const stage: EncodedPair[] = of.map((p, i) => ({ prompt: objs[p]!, chosen: Array.from({ length: 1 + (i % 4) }, () => 9), rejected: [8], cut: 0 }));
    /** Every group's pairs form one run of `order`, in their original order. */
    const expectGrouped = (order: number[], groups: number[][]) => {
      for (const g of groups) {
        const at = order.indexOf(g[0]!);
        expect(order.slice(at, at + g.length)).toEqual(g);
      }
    };

    it('groups pairs by prompt object, in order of first appearance', () => {
      expect(promptGroups(stage)).toEqual([[0, 2, 5, 10], [1, 6], [3, 8], [4, 9], [7]]);
    });

    it("each epoch's order is a permutation that keeps a prompt's pairs together and changes across epochs and seeds", () => {
      const groups = promptGroups(stage);
      const orders: string[] = [];
      for (const seed of [1, 2]) {
        const rand = mulberry32(seed);
        for (let epoch = 0; epoch < 3; epoch++) {
          const order = epochOrder(groups, rand);
          expect([...order].sort((a, b) => a - b)).toEqual(stage.map((_, i) => i));
          expectGrouped(order, groups);
          orders.push(order.join(','));
        }
      }
      // Five groups have 120 orders: six draws all alike would mean no shuffle.
      expect(new Set(orders).size).toBeGreaterThan(3);
      expect(orders.slice(0, 3)).not.toEqual(orders.slice(3));
    });

    it("reference batches keep a prompt's pairs together and cover every pair once", () => {
      const groups = promptGroups(stage);
      const batches = referenceBatches(stage, 3);
      expect(batches.every((b) => b.length <= 3)).toBe(true);
      const order = batches.flat();
      expect([...order].sort((a, b) => a - b)).toEqual(stage.map((_, i) => i));
      // Within a group, shortest completion first; across groups, shortest prompt first.
      for (const g of groups) {
        const at = Math.min(...g.map((i) => order.indexOf(i)));
        const run = order.slice(at, at + g.length);
        expect([...run].sort((a, b) => a - b)).toEqual(g);
        const lens = run.map((i) => stage[i]!.chosen.length);
        expect(lens).toEqual([...lens].sort((a, b) => a - b));
      }
      const promptLens = order.map((i) => stage[i]!.prompt.tokens.length);
      expect(promptLens).toEqual([...promptLens].sort((a, b) => a - b));
    });

    it('a stage of pairs sharing prompts and completions trains for ceil(pairs / batch_size) * epochs steps', async () => {
      const shared: DpoPair[] = [0, 1, 0, 0, 1, 0, 1].map((k, i) => ({ prompt: k === 0 ? prompt : { frames: null, numFrames: 0, tokens: [tokenizer.bosId, tokenizer.id('A')] }, chosen: '<answer> A </answer>', rejected: i % 2 ? '<answer> B </answer>' : 'B' }));
      const policy = createPolicy(config, 2);
      const c = collect();
      const res = await runDpo({ policy, reference: clonePolicy(policy), tokenizer, pairs: shared, seed: 3, config: { batch_size: 3, epochs: 2, rpo_alpha: 0.5 }, ...c });
      expect(res.steps).toBe(6);
      expect(c.metrics.get('loss')![0]).toBeCloseTo(Math.log(2) + 0.5 * c.metrics.get('nll_loss')![0]!, 4);
    });
  });

  it('encodeCompletion ends in <eos> unless it had to cut', () => {
    expect(encodeCompletion(tokenizer, 'A B', 10)).toEqual([tokenizer.id('A'), tokenizer.id('B'), tokenizer.eosId]);
    expect(encodeCompletion(tokenizer, 'A B A B', 3)).toEqual([tokenizer.id('A'), tokenizer.id('B')]);
  });
});
