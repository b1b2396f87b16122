import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/main/model/backend';
import { createPolicy, type Policy } from '../../../src/main/model/policy';
import { presetConfig } from '../../../src/main/model/config';
import { visualTokens, packPrompts } from '../../../src/main/model/inputs';
import { BENCHMARK_FRAME, benchmarkTokenizer, taskPrompt } from '../../../src/main/model/prompt';
import { collate } from '../../../src/main/model/inputs';
import { sequenceLogprobs } from '../../../src/main/model/forward';
import { generateTask } from '../../../src/main/video/tasks';

const tokenizer = benchmarkTokenizer();
const data = { vocab_size: tokenizer.size, ...BENCHMARK_FRAME };

let policy: Policy;
beforeAll(async () => {
  await initBackend();
  policy = createPolicy(presetConfig('tiny', data), 1);
});

describe('visual tokens with patch pruning', () => {
  it('keeps exactly the cells that hold an object, after one whole-frame token per frame', () => {
    for (const seed of [3, 10, 17, 24]) {
      const task = generateTask(seed, { modality: 'video', difficulty: 3 });
      const c = policy.config;
      const vis = visualTokens(c, task.frames!, task.frameShape[0]);
      const g = c.patch_grid;
      for (let t = 0; t < task.frameShape[0]; t++) {
        const cells = vis.cells.filter((_, i) => vis.frames[i] === t);
        expect(cells[0]).toBe(g * g); // the whole-frame token leads each frame
        const want = [...new Set(task.facts.frames[t]!.map((o) => o.y * g + o.x))].sort((a, b) => a - b);
        expect(cells.slice(1)).toEqual(want.slice(0, c.keep_patches));
      }
    }
  });

  it('caps a video frame at keep_patches but keeps a lone image whole', () => {
    const c = { ...policy.config, keep_patches: 1 };
    const task = generateTask(20, { modality: 'video', difficulty: 3 });
    const vis = visualTokens(c, task.frames!, task.frameShape[0]);
    for (let t = 0; t < task.frameShape[0]; t++) expect(vis.frames.filter((f) => f === t).length).toBeLessThanOrEqual(2);
    const trail = generateTask(7, { modality: 'image', family: 'direction', difficulty: 3 });
    const img = visualTokens(c, trail.frames!, 1);
    expect(img.count).toBeGreaterThan(2);
  });

  it('keeps every patch when keep_patches is 0 (checkpoints from before pruning)', () => {
    const c = { ...policy.config, patch_grid: 2, keep_patches: 0 };
    const task = generateTask(5, { modality: 'video' });
    const vis = visualTokens(c, task.frames!, task.frameShape[0]);
    expect(vis.count).toBe(task.frameShape[0] * 4);
    expect(vis.cells.slice(0, 5)).toEqual([0, 1, 2, 3, 0]);
  });

  it('a row scores the same alone and padded next to rows with more or no visual tokens', () => {
    const tasks = [
      generateTask(11, { modality: 'video', difficulty: 1 }),
      generateTask(12, { modality: 'video', difficulty: 3 }),
      generateTask(13, { modality: 'text', difficulty: 1 }),
      generateTask(14, { modality: 'image', difficulty: 2 }),
    ];
    const prompts = tasks.map((t) => taskPrompt(t, tokenizer));
    const responses = tasks.map((t) => tokenizer.encode(t.cot.gold));
    const pack = packPrompts(policy, prompts);
    expect(new Set(pack.keyMask.map((m) => m.subarray(0, pack.visualLen).reduce((a, b) => a + b, 0))).size).toBeGreaterThan(2);
    const score = (idx: number[]) => {
      const { logprobs, mask } = sequenceLogprobs(policy, collate(policy, idx.map((i) => prompts[i]!), idx.map((i) => responses[i]!)));
      const out = tf.sum(logprobs, 1).arraySync() as number[];
      tf.dispose([logprobs, mask]);
      return out;
    };
    const together = score([0, 1, 2, 3]);
    [0, 1, 2, 3].forEach((i) => expect(Math.abs(score([i])[0]! - together[i]!)).toBeLessThan(1e-3));
  });
});

describe('rotary positions', () => {
  it('make a query-key score depend only on the offset between their positions', async () => {
    const { rotaryTables, rotate } = await import('../../../src/main/model/transformer');
    const dh = 8;
    const q = tf.randomNormal([1, 1, 1, dh], 0, 1, 'float32', 1) as tf.Tensor4D;
    const k = tf.randomNormal([1, 1, 1, dh], 0, 1, 'float32', 2) as tf.Tensor4D;
    const score = (pq: number, pk: number) =>
      tf.tidy(() => tf.sum(tf.mul(rotate(q, rotaryTables(Int32Array.of(pq), 1, 1, dh)), rotate(k, rotaryTables(Int32Array.of(pk), 1, 1, dh)))).dataSync()[0]!);
    expect(score(7, 3)).toBeCloseTo(score(104, 100), 4);
    expect(score(0, 0)).toBeCloseTo(score(50, 50), 4);
    expect(Math.abs(score(7, 3) - score(7, 5))).toBeGreaterThan(1e-3);
    // Position 0 is the identity: visual tokens are not rotated.
    const id = tf.tidy(() => tf.max(tf.abs(tf.sub(rotate(q, rotaryTables(Int32Array.of(0), 1, 1, dh)), q))).dataSync()[0]!);
    expect(id).toBeLessThan(1e-6);
  });
});
