import { describe, it, expect, beforeAll } from 'vitest';
import { initBackend } from '../../../src/main/model/backend';
import { createPolicy, presetConfig } from '../../../src/main/model/policy';
import { BENCHMARK_FRAME, benchmarkTokenizer } from '../../../src/main/model/prompt';
import { learningRateAt, NonFiniteLossError } from '../../../src/main/model/optim';
import * as tf from '@tensorflow/tfjs-core';
import { DEFAULT_SFT_CONFIG, pickVariant, runSft, sftBatch, validateSftConfig } from '../../../src/main/train/sft';
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
