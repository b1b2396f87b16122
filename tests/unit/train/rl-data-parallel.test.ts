// GRPO and DPO on two threads (this one and a gradient peer) against one thread: the same
// samples, the same gradient, the same weights after a step.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mixedTasks, read, recordGrpo, relDiff, weights } from './grad-compare';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/main/model/backend';
import { clonePolicy } from '../../../src/main/model/checkpoint';
import { createPolicy, disposePolicy, type Policy } from '../../../src/main/model/policy';
import { presetConfig } from '../../../src/main/model/config';
import { BENCHMARK_FRAME, benchmarkTokenizer } from '../../../src/main/model/prompt';
import { generate } from '../../../src/main/model/sample';
import type { TrainEvent } from '../../../src/main/model/worker-protocol';
import { DpoConfigSchema, GrpoConfigSchema, type DpoConfig, type GrpoConfig } from '../../../src/main/train/config';
import type { EncodedPair } from '../../../src/main/train/data-parallel';
import { GradientPeer } from '../../../src/main/train/gradient-peer';
import { closeIdlePeers } from '../../../src/main/train/peer-pool';
import { encodeCompletion, referenceLogps, runDpo } from '../../../src/main/train/dpo';
import { dpoBatchGradients, dpoReferenceLogps } from '../../../src/main/train/dpo-parallel';
import { runGrpo } from '../../../src/main/train/grpo';
import { sampleGroupsLocally, shardedSampler, trainTaskOf, type TrainTask } from '../../../src/main/train/grpo-rollouts';
import { disposeChunkTensors, grpoChunkTensors, grpoParallelGradients, grpoUpdateChunks, splitChunks } from '../../../src/main/train/grpo-update';
import { sampleTasks } from '../../../src/main/video/tasks';

const tokenizer = benchmarkTokenizer();
const config = presetConfig('tiny', { vocab_size: tokenizer.size, ...BENCHMARK_FRAME });
let tasks: TrainTask[];



beforeAll(async () => {
  await initBackend();
  tasks = mixedTasks(tokenizer);
});

// Stages give their peers back to a pool; end its threads with the file.
afterAll(closeIdlePeers);

describe('per-prompt seeds', () => {
  it("a group's samples do not depend on the other prompts in the batch", () => {
    const policy = createPolicy(config, 5);
    const opts = { num_generations: 3, temperature: 1, max_completion_length: 10, eosId: tokenizer.eosId, padId: tokenizer.padId };
    const both = generate(policy, [tasks[0]!.prompt, tasks[2]!.prompt], { ...opts, seeds: [11, 12] });
    const alone = generate(policy, [tasks[2]!.prompt], { ...opts, seeds: [12] });
    expect(both.tokens.slice(3)).toEqual(alone.tokens);
    // A different seed gives a different group: the seed is really used.
    const other = generate(policy, [tasks[2]!.prompt], { ...opts, seeds: [13] });
    expect(other.tokens).not.toEqual(alone.tokens);
    expect(() => generate(policy, [tasks[2]!.prompt], { ...opts, seeds: [1, 2] })).toThrow(/2 seeds for 1 prompts/);
    disposePolicy(policy);
  });
});

describe('data-parallel grpo', () => {
  const cfg: GrpoConfig = GrpoConfigSchema.parse({ num_generations: 4, max_completion_length: 12, per_device_train_batch_size: 4, beta: 0.04, workers: 2 });
  let policy: Policy;
  let reference: Policy;
  let peer: GradientPeer;

  beforeAll(async () => {
    policy = createPolicy(config, 7);
    reference = createPolicy(config, 8);
    peer = await GradientPeer.start(policy, tokenizer, { kind: 'grpo', grpo: cfg }, 'gradient peer', reference);
  });

  afterAll(async () => {
    await peer?.close();
    disposePolicy(policy);
    disposePolicy(reference);
  });

  it('the peer samples its prompts exactly as this thread would', async () => {
    const prompts = tasks.slice(0, 5).map((t) => t.prompt);
    const seeds = [3, 1, 4, 1, 5];
    const single = sampleGroupsLocally(policy, tokenizer, cfg, prompts, seeds);
    const two = await shardedSampler([peer], policy, tokenizer, cfg)(prompts, seeds);
    expect(two.promptIndex).toEqual(single.promptIndex);
    expect(two.tokens).toEqual(single.tokens);
    expect(two.truncated).toEqual(single.truncated);
    two.logprobs.flat().forEach((l, i) => expect(l).toBeCloseTo(single.logprobs.flat()[i]!, 4));
  });

  it('gives the single-thread gradient of the same rollouts, for every loss type and both iterations', async () => {
    const sampled = sampleGroupsLocally(policy, tokenizer, cfg, tasks.map((t) => t.prompt), tasks.map((_, i) => 100 + i));
    const rows = sampled.tokens.map((tokens, i) => ({ prompt: tasks[sampled.promptIndex[i]!]!.prompt, tokens, truncated: sampled.truncated[i]!, advantage: Math.sin(i + 1) }));
    for (const loss_type of ['grpo', 'bnpo'] as const) {
      const c: GrpoConfig = { ...cfg, loss_type, num_iterations: 2, mask_truncated_completions: loss_type === 'bnpo' };
      const chunks = grpoUpdateChunks(rows, c);
      const all = grpoChunkTensors(policy, reference, chunks, c);
      const [own, ...remote] = splitChunks(policy, chunks, 2);
      expect(own!.length).toBeGreaterThan(0);
      expect(remote[0]!.length).toBeGreaterThan(0);
      const mine = grpoChunkTensors(policy, reference, own!, c);
      // The peer computes with the config of its stage, set by configure.
      await peer.configure({ kind: 'grpo', grpo: c }, reference);
      for (const iteration of [0, 1]) {
        const single = await grpoParallelGradients([], policy, all, [], 1, iteration, c);
        const two = await grpoParallelGradients([peer], policy, mine, remote, 1, iteration, c);
        expect(two.loss).toBeCloseTo(single.loss, 6);
        for (const k of Object.keys(single.stats)) expect(two.stats[k]).toBeCloseTo(single.stats[k]!, 6);
        expect(relDiff(read(single.grads), read(two.grads))).toBeLessThan(1e-5);
      }
      disposeChunkTensors(all);
      disposeChunkTensors(mine);
    }
  });

  it('runGrpo with 2 workers samples the same rollouts and ends with the weights of 1 worker', async () => {
    const run = async (workers: number) => {
      const p = createPolicy(config, 3);
      const ref = clonePolicy(p);
      const rec = await recordGrpo(p, ref, tokenizer, tasks, { workers });
      disposePolicy(ref);
      return { p, ...rec };
    };
    const before = weights(createPolicy(config, 3));
    const one = await run(1);
    const two = await run(2);
    expect(two.logs.join('\n')).toMatch(/split across 2 threads/);
    expect(one.logs.join('\n')).not.toMatch(/split across/);
    expect(two.rollouts.map((r) => r.tokens)).toEqual(one.rollouts.map((r) => r.tokens));
    expect(one.losses.length).toBe(2);
    two.losses.forEach((l, i) => expect(l).toBeCloseTo(one.losses[i]!, 5));
    // The step moved the weights far more than the two runs differ.
    expect(relDiff(before, weights(one.p))).toBeGreaterThan(1e-4);
    expect(relDiff(weights(one.p), weights(two.p))).toBeLessThan(1e-5);
    disposePolicy(one.p);
    disposePolicy(two.p);
  });
});

describe('data-parallel dpo', () => {
  const cfg: DpoConfig = DpoConfigSchema.parse({ batch_size: 5, rpo_alpha: 0.5, workers: 2 });
  let pairs: EncodedPair[];
  let policy: Policy;
  let reference: Policy;
  let peer: GradientPeer;

  beforeAll(async () => {
    policy = createPolicy(config, 17);
    reference = createPolicy(config, 18);
    peer = await GradientPeer.start(policy, tokenizer, { kind: 'dpo', dpo: cfg });
    const raw = (['video', 'text', 'image'] as const).flatMap((modality, i) => sampleTasks({ n: 2, seed: 60 + i, split: 'train', modality })).slice(0, 4);
    const prompts = raw.map((t) => trainTaskOf(t, tokenizer).prompt);
    pairs = raw.map((t, i) => ({ prompt: prompts[i]!, chosen: encodeCompletion(tokenizer, t.cot.gold, 60), rejected: encodeCompletion(tokenizer, t.cot.inconsistent, 60), cut: 0 }));
    // The first prompt's gold chain chosen again, against another wrong one (the verifier's
    // one chosen against several rejected): the same prompt object and completion ids.
    pairs.splice(1, 0, { ...pairs[0]!, rejected: encodeCompletion(tokenizer, raw[0]!.cot.hallucinated, 60) });
  });

  afterAll(async () => {
    await peer?.close();
    disposePolicy(policy);
    disposePolicy(reference);
  });

  it('the reference pass gives every pair the single-thread values', async () => {
    // Batches of 2 in reference order: 3 batches, split between the threads by their work.
    const single = referenceLogps(reference, pairs, 2, cfg.loss_type);
    const two = await dpoReferenceLogps([peer], reference, pairs, 2, cfg.loss_type);
    expect(Array.from(two.chosen)).toEqual(Array.from(single.chosen));
    expect(Array.from(two.rejected)).toEqual(Array.from(single.rejected));
    // The reference's weights travelled with the request: the policy's give other values.
    const policyValues = await dpoReferenceLogps([peer], policy, pairs, 2, cfg.loss_type);
    expect(Array.from(policyValues.chosen)).not.toEqual(Array.from(single.chosen));
  });

  it('gives the single-thread loss, statistics and gradient, for every loss type', async () => {
    for (const loss_type of ['sigmoid', 'ipo'] as const) {
      const c = { ...cfg, loss_type };
      const r = referenceLogps(reference, pairs, 5, loss_type);
      const ref = { chosen: Array.from(r.chosen), rejected: Array.from(r.rejected) };
      const single = await dpoBatchGradients([], policy, pairs, ref, c);
      // The peer computes with the config of its stage, set by configure.
      await peer.configure({ kind: 'dpo', dpo: c }, null);
      const two = await dpoBatchGradients([peer], policy, pairs, ref, c);
      expect(two.loss).toBeCloseTo(single.loss, 5);
      expect(Object.keys(two.stats).sort()).toEqual(Object.keys(single.stats).sort());
      for (const k of Object.keys(single.stats)) expect(two.stats[k]).toBeCloseTo(single.stats[k]!, 4);
      expect(relDiff(read(single.grads), read(two.grads))).toBeLessThan(1e-5);
    }
  });

  it('a dpo shard sent to a peer started for another stage fails with a clear error', async () => {
    const grpoPeer = await GradientPeer.start(policy, tokenizer, { kind: 'grpo', grpo: GrpoConfigSchema.parse({}) });
    try {
      await expect(grpoPeer.shardGrads(policy, { kind: 'dpo', input: { pairs, refChosen: [0, 0, 0, 0, 0], refRejected: [0, 0, 0, 0, 0], batchPairs: 5, batchChosenTokens: 100 } })).rejects.toThrow(/gradient peer: a dpo shard sent to a grpo peer/);
    } finally {
      await grpoPeer.close();
    }
  });

  it('runDpo with 2 workers ends with the weights of 1 worker', async () => {
    const dpoPairs = pairs.map((p, i) => ({ prompt: p.prompt, chosen: tokenizer.decode(p.chosen), rejected: tokenizer.decode(p.rejected), i }));
    const run = async (workers: number) => {
      const p = createPolicy(config, 3);
      const ref = clonePolicy(p);
      const logs: string[] = [];
      const losses: number[] = [];
      await runDpo({
        policy: p,
        reference: ref,
        tokenizer,
        pairs: dpoPairs,
        seed: 4,
        // DPO's default rate. Adam moves every weight by about the rate whatever its gradient's
        // size, so where a gradient is ~0 the two runs' rounding can flip its sign; at 1e-3
        // that alone is ~1e-4 of the largest weight (the gradients themselves agree to 1e-5, above).
        config: { batch_size: 4, steps: 2, max_completion_length: 60, workers },
        onEvent: (ev: TrainEvent) => {
          if (ev.type === 'log') logs.push(ev.message);
          if (ev.type === 'metric' && ev.name === 'loss') losses.push(ev.value);
        },
      });
      disposePolicy(ref);
      return { p, logs, losses };
    };
    const before = weights(createPolicy(config, 3));
    const one = await run(1);
    const two = await run(2);
    expect(two.logs.join('\n')).toMatch(/split across 2 threads/);
    expect(one.losses.length).toBe(2);
    two.losses.forEach((l, i) => expect(l).toBeCloseTo(one.losses[i]!, 5));
    expect(relDiff(before, weights(one.p))).toBeGreaterThan(1e-5);
    expect(relDiff(weights(one.p), weights(two.p))).toBeLessThan(1e-5);
    disposePolicy(one.p);
    disposePolicy(two.p);
  });
});
