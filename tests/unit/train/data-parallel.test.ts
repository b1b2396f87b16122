import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { read, relDiff } from './grad-compare';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/main/model/backend';
import { createPolicy, disposePolicy, type Policy } from '../../../src/main/model/policy';
import { presetConfig } from '../../../src/main/model/config';
import { BENCHMARK_FRAME, benchmarkTokenizer } from '../../../src/main/model/prompt';
import { policyGradients } from '../../../src/main/model/optim';
import type { Tokenizer } from '../../../src/main/model/tokenizer';
import { DEFAULT_SFT_CONFIG, type SftConfig } from '../../../src/main/train/config';
import { runSft, sftBatch, sftDataParallelGradients, sftLoss, validateSftConfig } from '../../../src/main/train/sft';
import { shardRows } from '../../../src/main/train/data-parallel';
import { GradientPeer } from '../../../src/main/train/gradient-peer';
import { closeIdlePeers } from '../../../src/main/train/peer-pool';

const tokenizer = benchmarkTokenizer();
const config = presetConfig('tiny', { vocab_size: tokenizer.size, ...BENCHMARK_FRAME });
const sft: SftConfig = { ...DEFAULT_SFT_CONFIG, batch_size: 5, steps: 3, warmup_steps: 1, workers: 2 };


beforeAll(async () => {
  await initBackend();
});

// Stages give their peers back to a pool; end its threads with the file.
afterAll(closeIdlePeers);

describe('sft shards', () => {
  it('splits rows contiguously, larger slices to the peers', () => {
    expect(shardRows(8, 2)).toEqual([{ start: 0, end: 4 }, { start: 4, end: 8 }]);
    expect(shardRows(5, 2)).toEqual([{ start: 0, end: 2 }, { start: 2, end: 5 }]);
    expect(shardRows(2, 4)).toEqual([{ start: 0, end: 1 }, { start: 1, end: 2 }]);
    expect(shardRows(3, 1)).toEqual([{ start: 0, end: 3 }]);
  });

  it('a row range of a batch has the same tasks and variants as the full batch', () => {
    const policy = createPolicy(config, 1);
    for (const step of [0, 1, 2]) {
      const full = sftBatch(policy, tokenizer, sft, step);
      const tail = sftBatch(policy, tokenizer, sft, step, { start: 2, end: 5 });
      expect(tail.tasks.map((t) => t.id)).toEqual(full.tasks.slice(2).map((t) => t.id));
      expect(tail.variants).toEqual(full.variants.slice(2));
    }
    expect(() => sftBatch(policy, tokenizer, sft, 0, { start: 3, end: 9 })).toThrow(/rows \[3, 9\)/);
    disposePolicy(policy);
  });

  it('validates workers', () => {
    expect(() => validateSftConfig({ ...sft, workers: 0 })).toThrow(/sft\.workers/);
    expect(() => validateSftConfig({ ...sft, workers: 1.5 })).toThrow(/sft\.workers/);
  });
});

describe('data-parallel sft', () => {
  let peer: GradientPeer;
  let policy: Policy;

  beforeAll(async () => {
    policy = createPolicy(config, 7);
    peer = await GradientPeer.start(policy, tokenizer, { kind: 'sft', sft });
  });

  afterAll(async () => {
    await peer?.close();
    disposePolicy(policy);
  });

  it('gives the single-thread gradient of the mean loss, for every modality', async () => {
    // Steps 0, 1, 2 cycle text, image, video.
    for (const step of [0, 1, 2]) {
      const { batch } = sftBatch(policy, tokenizer, sft, step);
      const single = policyGradients(policy, () => sftLoss(policy, batch, sft.pointer_loss_weight, sft.vocab_loss_weight));
      const parallel = await sftDataParallelGradients([peer], policy, tokenizer, sft, step);
      expect(parallel.loss).toBeCloseTo(single.loss, 5);
      expect(parallel.tokens).toBe(batch.responseMask.reduce((s, m) => s + m, 0));
      expect(relDiff(read(single.grads), read(parallel.grads))).toBeLessThan(1e-5);
    }
  });

  it('uses the weights the policy has now', async () => {
    const other = createPolicy(config, 8);
    const { batch } = sftBatch(other, tokenizer, sft, 1);
    const single = policyGradients(other, () => sftLoss(other, batch, sft.pointer_loss_weight, sft.vocab_loss_weight));
    // The peer's replica held `policy`'s weights; this request must bring `other`'s.
    const parallel = await sftDataParallelGradients([peer], other, tokenizer, sft, 1);
    expect(relDiff(read(single.grads), read(parallel.grads))).toBeLessThan(1e-5);
    disposePolicy(other);
  });

  it('a bad shard fails with an error naming the peer, and the peer keeps serving', async () => {
    await expect(peer.shardGrads(policy, { step: 0, rows: { start: 3, end: 99 } })).rejects.toThrow(/^gradient peer: sft: rows \[3, 99\)/);
    const ok = await peer.shardGrads(policy, { step: 0, rows: { start: 3, end: 5 } });
    expect(ok.tokens).toBeGreaterThan(0);
    tf.dispose([...ok.grads.values()]);
  });

  it('3 data-parallel steps give the weights of 3 single-thread steps', async () => {
    const one = createPolicy(config, 3);
    const two = createPolicy(config, 3);
    const a = await runSft(one, tokenizer, { ...sft, workers: 1 });
    const logs: string[] = [];
    const b = await runSft(two, tokenizer, { ...sft, workers: 2 }, { onEvent: (ev) => ev.type === 'log' && logs.push(ev.message) });
    expect(logs.join('\n')).toMatch(/split across 2 threads/);
    expect(b.response_tokens).toBe(a.response_tokens);
    b.losses.forEach((l, i) => expect(l).toBeCloseTo(a.losses[i]!, 4));
    const weights = (p: Policy) => new Map([...p.params].map(([k, v]) => [k, v.dataSync() as Float32Array]));
    expect(relDiff(weights(one), weights(two))).toBeLessThan(1e-4);
    disposePolicy(one);
    disposePolicy(two);
  });
});

describe('gradient peer failures', () => {
  it('a peer that cannot start rejects with its name instead of hanging', async () => {
    const policy = createPolicy(config, 1);
    const broken = { tokens: ['only-one-token'] } as unknown as Tokenizer;
    await expect(GradientPeer.start(policy, broken, { kind: 'sft', sft }, 'gradient peer 1')).rejects.toThrow(/^gradient peer 1: tokenizer/);
    disposePolicy(policy);
  });

  it('a closed peer rejects requests', async () => {
    const policy = createPolicy(config, 1);
    const peer = await GradientPeer.start(policy, tokenizer, { kind: 'sft', sft });
    const inFlight = expect(peer.shardGrads(policy, { step: 0, rows: { start: 0, end: 5 } })).rejects.toThrow(/gradient peer was closed/);
    await peer.close();
    await inFlight;
    await expect(peer.shardGrads(policy, { step: 0, rows: { start: 0, end: 5 } })).rejects.toThrow(/closed/);
    disposePolicy(policy);
  });
});
