// The checkpoint the smoke preset starts from: it loads with the benchmark's tokenizer, is the
// tiny policy, and writes well-formed chains of thought (greedy) on easy video questions.
import { beforeAll, describe, expect, it } from 'vitest';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../../src/main/model/backend';
import { loadCheckpoint } from '../../../src/main/model/checkpoint';
import { countParameters, disposePolicy } from '../../../src/main/model/policy';
import { benchmarkTokenizer } from '../../../src/main/model/prompt';
import { smokeCheckpoint } from '../../../src/main/model/shipped';
import { evaluatePolicy } from '../../../src/main/train/eval';
import { sampleTasks } from '../../../src/main/video';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('shipped smoke checkpoint', () => {
  it('is the tiny policy under 250 kB, with the benchmark tokenizer, and answers in the chain format', () => {
    const dir = smokeCheckpoint();
    expect(statSync(join(dir, 'weights.bin')).size).toBeLessThan(250_000);
    const { policy, tokenizer } = loadCheckpoint(dir);
    try {
      expect(tokenizer.size).toBe(benchmarkTokenizer().size);
      expect(policy.config.preset).toBe('tiny');
      expect(countParameters(policy.config)).toBeLessThan(70_000);
      const tasks = sampleTasks({ n: 12, seed: 7, split: 'val', modality: 'video', difficulty: 1 });
      const r = evaluatePolicy(policy, tokenizer, tasks, { temperature: 0, max_completion_length: 128 });
      expect(r.format_rate).toBeGreaterThanOrEqual(0.75);
      expect(r.samples.filter((s) => /^<think> frame \d+ : /.test(s.completion)).length).toBeGreaterThan(6);
    } finally {
      disposePolicy(policy);
    }
  }, 120_000);
});
