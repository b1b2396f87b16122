import { describe, it, expect, beforeAll } from 'vitest';
import { initBackend } from '../../../src/main/model/backend';
import { createPolicy } from '../../../src/main/model/policy';
import { presetConfig } from '../../../src/main/model/config';
import { BENCHMARK_FRAME, benchmarkTokenizer } from '../../../src/main/model/prompt';
import { learningRateAt, NonFiniteLossError } from '../../../src/main/model/optim';
import * as tf from '@tensorflow/tfjs-core';
import { DEFAULT_SFT_CONFIG } from '../../../src/main/train/config';
import { pickVariant, runSft, sftBatch, sftLossSum, validateSftConfig } from '../../../src/main/train/sft';
import { policyGradients } from '../../../src/main/model/optim';
import { sequenceLogprobs } from '../../../src/main/model/forward';
import { scoreCompletions } from '../../../src/main/train/eval';
import { sampleTasks } from '../../../src/main/video/tasks';

beforeAll(async () => {
  await initBackend();
});

describe('sft', () => {
  const tokenizer = benchmarkTokenizer();
  const config = presetConfig('tiny', { vocab_size: tokenizer.size, ...BENCHMARK_FRAME });

  it('decreases the loss on a tiny problem', async () => {
    const policy = createPolicy(config, 1);
    // Fresh tasks every step, one modality and difficulty: the shared format and phrasing are learnable fast.
    const sft = { ...DEFAULT_SFT_CONFIG, steps: 25, batch_size: 4, learning_rate: 1e-2, warmup_steps: 2, modalities: ['image' as const], difficulties: [1] };
    const events: string[] = [];
    const r = await runSft(policy, tokenizer, sft, { onEvent: (ev) => events.push(ev.type) });
    expect(r.steps).toBe(25);
    const first = r.losses.slice(0, 3).reduce((a, b) => a + b) / 3;
    const last = r.losses.slice(-3).reduce((a, b) => a + b) / 3;
    expect(last).toBeLessThan(first * 0.7);
    expect(events).toContain('progress');
    expect(events).toContain('metric');
  });

  it('a NaN loss throws NonFiniteLossError before any weight changes', async () => {
    const policy = createPolicy(config, 3);
    tf.tidy(() => policy.params.get('lnf_g')!.assign(tf.fill([config.d_model], NaN)));
    const before = policy.params.get('wte')!.dataSync().slice();
    await expect(runSft(policy, tokenizer, { ...DEFAULT_SFT_CONFIG, steps: 2, batch_size: 2 })).rejects.toBeInstanceOf(NonFiniteLossError);
    expect(policy.params.get('wte')!.dataSync()).toEqual(before);
  });

  it('stops when asked', async () => {
    const policy = createPolicy(config, 2);
    let calls = 0;
    const r = await runSft(policy, tokenizer, { ...DEFAULT_SFT_CONFIG, steps: 50, batch_size: 2 }, { shouldStop: () => ++calls > 2 });
    expect(r.stopped).toBe(true);
    expect(r.steps).toBe(2);
  });

  it('puts loss on response tokens only, and batches are deterministic per step', () => {
    const policy = createPolicy(config, 3);
    const a = sftBatch(policy, tokenizer, DEFAULT_SFT_CONFIG, 5);
    const b = sftBatch(policy, tokenizer, DEFAULT_SFT_CONFIG, 5);
    expect(a.tasks.map((t) => t.id)).toEqual(b.tasks.map((t) => t.id));
    expect(a.variants).toEqual(b.variants);
    // The mask covers exactly the response tokens (+ EOS) of each row.
    a.tasks.forEach((t, i) => {
      const n = tokenizer.encode(t.cot[a.variants[i]!]).length + 1;
      const row = a.batch.responseMask.subarray(i * a.batch.responseLen, (i + 1) * a.batch.responseLen);
      expect(row.reduce((s, m) => s + m, 0)).toBe(n);
    });
  });

  it("the vocabulary-head loss adds that head's own NLL and trains it where the gate shuts it out", () => {
    const policy = createPolicy(config, 2);
    const { batch } = sftBatch(policy, tokenizer, { ...DEFAULT_SFT_CONFIG, batch_size: 2 }, 0);
    const gate = policy.params.get('copy_gate_b')!;
    gate.assign(tf.tensor1d([-40])); // the mixture is the pointer alone
    const parts = sequenceLogprobs(policy, batch, { vocab: true });
    const mixNll = -tf.sum(parts.logprobs).dataSync()[0]!;
    const vocabNll = -tf.sum(parts.vocab!).dataSync()[0]!;
    tf.dispose([parts.logprobs, parts.mask, parts.vocab!]);
    expect(vocabNll).toBeGreaterThan(0);
    const sum = (w: number) => tf.tidy(() => sftLossSum(policy, batch, 0, w).dataSync()[0]!);
    expect(sum(0)).toBeCloseTo(mixNll, 2);
    expect(sum(0.5)).toBeCloseTo(mixNll + 0.5 * vocabNll, 2);
    const headGrad = (w: number) => {
      const { grads } = policyGradients(policy, () => sftLossSum(policy, batch, 0, w));
      const g = grads.get('wte');
      const norm = g ? tf.tidy(() => tf.sum(tf.abs(g)).dataSync()[0]!) : 0;
      tf.dispose([...grads.values()]);
      return norm;
    };
    // wte is also the tied vocabulary head: shut out by the gate, only the embedding path is
    // left; the vocabulary loss adds the head's own gradient on top.
    expect(headGrad(1)).toBeGreaterThan(headGrad(0) * 1.5);
    expect(() => validateSftConfig({ ...DEFAULT_SFT_CONFIG, vocab_loss_weight: -1 })).toThrow(/vocab_loss_weight/);
  });

  it('mix weights and schedule behave', () => {
    expect(pickVariant({ gold: 1, direct: 0 }, 0.99)).toBe('gold');
    expect(pickVariant({ gold: 0.5, direct: 0.5 }, 0.75)).toBe('direct');
    expect(() => validateSftConfig({ ...DEFAULT_SFT_CONFIG, mix: { bogus: 1 } as never })).toThrow(/sft\.mix\.bogus/);
    expect(learningRateAt(0, { lr: 1, warmup: 10, total: 100 })).toBeCloseTo(0.1);
    expect(learningRateAt(10, { lr: 1, warmup: 10, total: 100 })).toBeCloseTo(1);
    expect(learningRateAt(100, { lr: 1, warmup: 10, total: 100, min_ratio: 0.1 })).toBeCloseTo(0.1);
  });
});

describe('eval scoring', () => {
  it('scores gold, inconsistent, hallucinated and broken completions', () => {
    const tasks = sampleTasks({ n: 4, seed: 9, split: 'val', modality: 'video', family: 'direction' });
    const completions = [tasks[0]!.cot.gold, tasks[1]!.cot.inconsistent, tasks[2]!.cot.hallucinated, 'frame 1 : red'];
    const r = scoreCompletions(tasks, completions, [10, 20, 30, 40], [false, false, false, true]);
    expect(r.samples.map((s) => s.accuracy)).toEqual([1, 1, 1, 0]);
    expect(r.format_rate).toBe(0.75);
    expect(r.inconsistency_base).toBe(3);
    expect(r.inconsistency_rate).toBeCloseTo(1 / 3);
    expect(r.grounding_rate).toBeLessThan(1);
    expect(r.mean_length).toBe(25);
    expect(r.truncated_rate).toBe(0.25);
    expect(r.by_family.direction).toBe(0.75);
  });
});
