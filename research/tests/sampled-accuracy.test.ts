import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/main/model/backend';
import { createPolicy, disposePolicy, type Policy } from '../../src/main/model/policy';
import { presetConfig } from '../../src/main/model/config';
import { BENCHMARK_FRAME, benchmarkTokenizer } from '../../src/main/model/prompt';
import { DEFAULT_EVAL_CONFIG, evalTasks, evaluatePolicy } from '../../src/main/train/eval';
import { sampledAccuracy } from '../lib/stats';

const tokenizer = benchmarkTokenizer();
const tasks = evalTasks({ ...DEFAULT_EVAL_CONFIG, n: 3 });
let policy: Policy;

beforeAll(async () => {
  await initBackend();
  policy = createPolicy(presetConfig('tiny', { vocab_size: tokenizer.size, ...BENCHMARK_FRAME }), 5);
  return () => disposePolicy(policy);
});

describe('sampledAccuracy (grpo-run.ts --val-samples)', () => {
  const o = { k: 3, temperature: 1.5, max_completion_length: 12 };

  const texts = (r: { samples: { completion: string }[] }) => r.samples.map((x) => x.completion);

  it('is, per task, the mean over k sampled evaluations at fixed seeds', () => {
    const { perTask, runs } = sampledAccuracy(policy, tokenizer, tasks, o);
    expect(perTask).toHaveLength(tasks.length);
    expect(runs).toHaveLength(3);
    // Sample s is evaluatePolicy at seed 200 + s, and the k samples differ from each other.
    runs.forEach((r, s) => expect(texts(r)).toEqual(texts(evaluatePolicy(policy, tokenizer, tasks, { temperature: 1.5, max_completion_length: 12, seed: 200 + s }))));
    expect(new Set(runs.map((r) => texts(r).join('\n'))).size).toBe(3);
    perTask.forEach((v, i) => expect(v).toBeCloseTo(runs.reduce((a, r) => a + r.samples[i]!.accuracy, 0) / 3, 10));
  });

  it('draws the same random numbers every call, so before/after comparisons are paired', () => {
    const a = sampledAccuracy(policy, tokenizer, tasks, o);
    const b = sampledAccuracy(policy, tokenizer, tasks, o);
    expect(b.runs.map(texts)).toEqual(a.runs.map(texts));
    expect(b.perTask).toEqual(a.perTask);
  });

  it('rejects k < 1 and greedy temperatures', () => {
    expect(() => sampledAccuracy(policy, tokenizer, tasks, { ...o, k: 0 })).toThrow(/k must be a positive integer/);
    expect(() => sampledAccuracy(policy, tokenizer, tasks, { ...o, temperature: 0 })).toThrow(/temperature must be > 0/);
  });
});
