// Gradient peers outlive their stage: the next stage of the same model reuses the thread,
// and what it computes is what a fresh peer (or one thread) computes; broken peers are closed.
import { describe, it, expect, beforeAll, afterAll, beforeEach } from 'vitest';
import type { Worker } from 'node:worker_threads';
import { mixedTasks, read, recordGrpo, relDiff, weights } from './grad-compare';
import { initBackend } from '../../../src/main/model/backend';
import { createPolicy, disposePolicy, type Policy } from '../../../src/main/model/policy';
import { presetConfig } from '../../../src/main/model/config';
import { BENCHMARK_FRAME, benchmarkTokenizer } from '../../../src/main/model/prompt';
import { DEFAULT_SFT_CONFIG, GrpoConfigSchema, type GrpoConfig } from '../../../src/main/train/config';
import { runDpo } from '../../../src/main/train/dpo';
import { sampleGroupsLocally, trainTaskOf, type TrainTask } from '../../../src/main/train/grpo-rollouts';
import { disposeChunkTensors, grpoChunkTensors, grpoParallelGradients, grpoUpdateChunks, splitChunks } from '../../../src/main/train/grpo-update';
import { GradientPeer } from '../../../src/main/train/gradient-peer';
import { closeIdlePeers, idlePeerThreads, releasePeers, startPeers } from '../../../src/main/train/peer-pool';
import { sampleTasks } from '../../../src/main/video/tasks';

const tokenizer = benchmarkTokenizer();
const config = presetConfig('tiny', { vocab_size: tokenizer.size, ...BENCHMARK_FRAME });
const sftJob = { kind: 'sft' as const, sft: { ...DEFAULT_SFT_CONFIG, batch_size: 4, workers: 2 } };
let tasks: TrainTask[];


beforeAll(async () => {
  await initBackend();
  tasks = mixedTasks(tokenizer);
});

beforeEach(closeIdlePeers);
afterAll(closeIdlePeers);

describe('peer pool', () => {
  it('a GRPO stage with a KL reference after a DPO stage reuses its thread and gives the weights of one worker', async () => {
    const dpoPairs = (['video', 'text'] as const)
      .flatMap((modality, i) => sampleTasks({ n: 2, seed: 60 + i, split: 'train', modality }))
      .map((t) => ({ prompt: trainTaskOf(t, tokenizer).prompt, chosen: t.cot.gold, rejected: t.cot.inconsistent }));
    const dpoPolicy = createPolicy(config, 2);
    const dpoRef = createPolicy(config, 2);
    await runDpo({ policy: dpoPolicy, reference: dpoRef, tokenizer, pairs: dpoPairs, seed: 1, config: { batch_size: 4, steps: 1, max_completion_length: 60, workers: 2 } });
    disposePolicy(dpoPolicy);
    disposePolicy(dpoRef);
    const pooled = idlePeerThreads();
    expect(pooled).toHaveLength(1);

    const run = async (workers: number) => {
      const p = createPolicy(config, 3);
      // A reference other than the starting policy, so the KL term pulls from step 1.
      const ref = createPolicy(config, 4);
      const rec = await recordGrpo(p, ref, tokenizer, tasks, { beta: 0.5, workers });
      disposePolicy(ref);
      return { p, ...rec };
    };
    const one = await run(1);
    const two = await run(2);
    expect(two.logs.join('\n')).toMatch(/split across 2 threads/);
    // The DPO stage's thread served the GRPO stage and went back to the pool; none was spawned.
    expect(idlePeerThreads()).toEqual(pooled);
    expect(two.rollouts.map((r) => r.tokens)).toEqual(one.rollouts.map((r) => r.tokens));
    expect(one.losses.length).toBe(2);
    two.losses.forEach((l, i) => expect(l).toBeCloseTo(one.losses[i]!, 5));
    expect(relDiff(weights(one.p), weights(two.p))).toBeLessThan(1e-5);
    disposePolicy(one.p);
    disposePolicy(two.p);
  });

  it("configure replaces the reference and drops the last stage's GRPO step", async () => {
    const cfg: GrpoConfig = GrpoConfigSchema.parse({ num_generations: 4, max_completion_length: 12, per_device_train_batch_size: 4, beta: 0.5, num_iterations: 2, workers: 2 });
    const policy = createPolicy(config, 7);
    const refA = createPolicy(config, 8);
    const refB = createPolicy(config, 9);
    const sampled = sampleGroupsLocally(policy, tokenizer, cfg, tasks.map((t) => t.prompt), tasks.map((_, i) => 100 + i));
    const rows = sampled.tokens.map((tokens, i) => ({ prompt: tasks[sampled.promptIndex[i]!]!.prompt, tokens, truncated: sampled.truncated[i]!, advantage: Math.sin(i + 1) }));
    const chunks = grpoUpdateChunks(rows, cfg);
    const [own, ...remote] = splitChunks(policy, chunks, 2);
    const peer = await GradientPeer.start(policy, tokenizer, { kind: 'grpo', grpo: cfg }, 'gradient peer', refA);
    try {
      // Step 1 with reference A: the peer caches the step's tensors for its next iteration.
      const mineA = grpoChunkTensors(policy, refA, own!, cfg);
      read((await grpoParallelGradients([peer], policy, mineA, remote, 1, 0, cfg)).grads);
      disposeChunkTensors(mineA);
      // A new stage with reference B and another loss, whose first request is step 1 again.
      const cfgB: GrpoConfig = { ...cfg, loss_type: 'bnpo' };
      await peer.configure({ kind: 'grpo', grpo: cfgB }, refB);
      const chunksB = grpoUpdateChunks(rows, cfgB);
      const gradsWith = async (ref: Policy) => {
        const all = grpoChunkTensors(policy, ref, chunksB, cfgB);
        const g = read((await grpoParallelGradients([], policy, all, [], 1, 1, cfgB)).grads);
        disposeChunkTensors(all);
        return g;
      };
      const [ownB, ...remoteB] = splitChunks(policy, chunksB, 2);
      const mineB = grpoChunkTensors(policy, refB, ownB!, cfgB);
      const two = read((await grpoParallelGradients([peer], policy, mineB, remoteB, 1, 1, cfgB)).grads);
      disposeChunkTensors(mineB);
      const withB = await gradsWith(refB);
      expect(relDiff(withB, two)).toBeLessThan(1e-5);
      // The reference matters here, so a peer still holding A would have failed the check above.
      expect(relDiff(withB, await gradsWith(refA))).toBeGreaterThan(1e-3);
    } finally {
      await peer.close();
      [policy, refA, refB].forEach(disposePolicy);
    }
  });

  it('reuses idle peers of the same model only, and closes peers that failed or were still working', async () => {
    const policy = createPolicy(config, 1);
    const [healthy] = await startPeers(2, 1, policy, tokenizer, sftJob);
    const [erred] = await startPeers(2, 1, policy, tokenizer, sftJob);
    const [busy] = await startPeers(2, 1, policy, tokenizer, sftJob);
    const threads = [healthy!, erred!, busy!].map((p) => p.threadId);
    expect(new Set(threads).size).toBe(3);
    await expect(erred!.shardGrads(policy, { step: 0, rows: { start: 3, end: 99 } })).rejects.toThrow(/rows \[3, 99\)/);
    const inFlight = expect(busy!.shardGrads(policy, { step: 0, rows: { start: 0, end: 4 } })).rejects.toThrow(/was closed/);
    await releasePeers([healthy!, erred!, busy!]);
    await inFlight;
    expect(idlePeerThreads()).toEqual([healthy!.threadId]);

    // Another model does not fit the pooled replica: a new thread, and both stay pooled.
    const small = createPolicy({ ...config, n_layer: 1 }, 1);
    const [other] = await startPeers(2, 1, small, tokenizer, sftJob);
    expect(threads).not.toContain(other!.threadId);
    await releasePeers([other!]);
    expect(idlePeerThreads()).toEqual([healthy!.threadId, other!.threadId]);

    // A pooled peer whose thread dies leaves the pool: the next stage starts a new one.
    await (healthy as unknown as { worker: Worker }).worker.terminate();
    expect(idlePeerThreads()).toEqual([other!.threadId]);
    const [fresh] = await startPeers(2, 1, policy, tokenizer, sftJob);
    expect([...threads, other!.threadId]).not.toContain(fresh!.threadId);
    const ok = await fresh!.shardGrads(policy, { step: 0, rows: { start: 0, end: 4 } });
    expect(ok.tokens).toBeGreaterThan(0);
    read(ok.grads);
    await releasePeers([fresh!]);
    disposePolicy(policy);
    disposePolicy(small);
  });
});
