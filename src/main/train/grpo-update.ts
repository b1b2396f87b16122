// GRPO's update as shards: a step's completions go through forward/backward in micro-batches
// whose weighted losses add up to the full batch's loss (microBatchWeight), so any split of
// the micro-batches between threads sums to the same gradient. This thread and each gradient
// peer call grpoShardGradients on their micro-batches; the optimizer step stays in grpo.ts.
import * as tf from '@tensorflow/tfjs-core';
import { policyGradients } from '../model/optim';
import { collate, type ResponseBatch } from '../model/inputs';
import { stopGradient } from '../model/layers';
import { sequenceLogprobs } from '../model/forward';
import type { Policy } from '../model/policy';
import type { GrpoConfig } from './config';
import { grpoLoss, maskTruncated, microBatches, microBatchWeight } from './grpo-loss';
import { balancedSplit, combineShardGrads, paddedCost, parallelShards, prefixLength, releaseShard, type GrpoUpdateChunk, type GrpoUpdateRow, type ShardGradients } from './data-parallel';
import type { GradientPeer } from './gradient-peer';

/** The step's micro-batches of per_device_train_batch_size rows, weighted against the whole step. */
export function grpoUpdateChunks(rows: readonly GrpoUpdateRow[], cfg: GrpoConfig): GrpoUpdateChunk[] {
  const trainedTokens = (part: readonly GrpoUpdateRow[]) => part.reduce((s, r) => s + (cfg.mask_truncated_completions && r.truncated ? 0 : r.tokens.length), 0);
  const totalTokens = trainedTokens(rows);
  return microBatches(rows.length, cfg.per_device_train_batch_size).map(({ start, end }) => {
    const part = rows.slice(start, end);
    const tokens = trainedTokens(part);
    return {
      rows: part,
      weight: microBatchWeight(cfg.loss_type, { rows: part.length, totalRows: rows.length, tokens, totalTokens }),
      tokenShare: totalTokens > 0 ? tokens / totalTokens : 0,
    };
  });
}

/** A micro-batch's tensors, kept across a step's num_iterations updates. */
export interface GrpoChunkTensors {
  chunk: GrpoUpdateChunk;
  batch: ResponseBatch;
  mask: tf.Tensor2D;
  advantages: tf.Tensor1D;
  refLogps: tf.Tensor2D | null;
  /** Log-probs of the sampling policy, saved at iteration 0 when num_iterations > 1. */
  oldLogps: tf.Tensor2D | null;
}

export function grpoChunkTensors(policy: Policy, reference: Policy | null, chunks: readonly GrpoUpdateChunk[], cfg: GrpoConfig): GrpoChunkTensors[] {
  return chunks.map((chunk) => {
    const part = chunk.rows;
    // A group's completions share their prompt object (also after crossing to a peer: one
    // message keeps shared references): its prefix is encoded once per pass.
    const batch = collate(policy, part.map((r) => r.prompt), part.map((r) => r.tokens), { sharePrefix: true });
    const baseMask = tf.tensor2d(batch.responseMask, [part.length, batch.responseLen]);
    const mask = cfg.mask_truncated_completions ? maskTruncated(baseMask, part.map((r) => r.truncated)) : baseMask;
    if (mask !== baseMask) baseMask.dispose();
    return {
      chunk,
      batch,
      mask,
      advantages: tf.tensor1d(part.map((r) => r.advantage)),
      // The reference never trains: its log-probs are computed once, outside the tape.
      refLogps: cfg.beta > 0 && reference ? tf.tidy(() => sequenceLogprobs(reference, batch, { temperature: cfg.temperature }).logprobs) : null,
      oldLogps: null,
    };
  });
}

export function disposeChunkTensors(chunks: readonly GrpoChunkTensors[]): void {
  tf.dispose(chunks.flatMap((c) => [c.advantages, c.mask, ...(c.refLogps ? [c.refLogps] : []), ...(c.oldLogps ? [c.oldLogps] : [])]));
}

/** Statistics a shard returns, each already weighted by its tokens' share of the step. */
export const GRPO_SHARD_STATS = ['clipLow', 'clipHigh', 'clipRegion', 'kl', 'ratio'] as const;

/**
 * Gradient of these micro-batches' part of the step's loss (the sum of their weighted
 * losses) for update `iteration` of num_iterations, and their weighted statistics.
 */
export function grpoShardGradients(policy: Policy, chunks: readonly GrpoChunkTensors[], iteration: number, cfg: GrpoConfig): ShardGradients {
  const stats: Record<string, number> = Object.fromEntries(GRPO_SHARD_STATS.map((k) => [k, 0]));
  let lossSum = 0;
  const shards: ShardGradients[] = [];
  try {
    for (const chunk of chunks) {
      const out = policyGradients(policy, () => {
        const sl = sequenceLogprobs(policy, chunk.batch, { temperature: cfg.temperature });
        // Iteration 0: the policy still equals the sampler, so old = detached current
        // (ratio exactly 1, as TRL); later iterations reuse those values.
        const old = chunk.oldLogps ?? (stopGradient(sl.logprobs) as tf.Tensor2D);
        if (iteration === 0 && cfg.num_iterations > 1) chunk.oldLogps = tf.keep(tf.clone(old)) as tf.Tensor2D;
        const o = grpoLoss(
          { logps: sl.logprobs, oldLogps: old, refLogps: chunk.refLogps, advantages: chunk.advantages, mask: chunk.mask },
          {
            beta: cfg.beta,
            epsilon: cfg.epsilon,
            epsilon_high: cfg.epsilon_high ?? cfg.epsilon,
            loss_type: cfg.loss_type,
            importance_sampling_level: cfg.importance_sampling_level,
            max_completion_length: cfg.max_completion_length,
          },
        );
        // Token-level statistics are masked means: weight them by the chunk's tokens.
        const share = chunk.chunk.tokenShare;
        stats.clipLow! += o.clipLow.dataSync()[0]! * share;
        stats.clipHigh! += o.clipHigh.dataSync()[0]! * share;
        stats.clipRegion! += o.clipRegion.dataSync()[0]! * share;
        stats.kl! += o.kl.dataSync()[0]! * share;
        stats.ratio! += o.ratioMean.dataSync()[0]! * share;
        return tf.mul(o.loss, chunk.chunk.weight) as tf.Scalar;
      });
      lossSum += out.loss;
      shards.push({ grads: out.grads, lossSum: out.loss, tokens: 0 });
    }
  } catch (err) {
    shards.forEach(releaseShard);
    throw err;
  }
  const { grads } = combineShardGrads(policy, shards, 1);
  return { grads, lossSum, tokens: 0, stats };
}

/**
 * A step's update gradient with its micro-batches split between this thread (`local`) and
 * the peers, each computing grpoShardGradients on its own. `local` may be a function that
 * builds this thread's tensors (their reference pass included): it runs after the peers'
 * requests are posted, so they work meanwhile.
 */
export async function grpoParallelGradients(
  peers: readonly GradientPeer[],
  policy: Policy,
  local: readonly GrpoChunkTensors[] | (() => readonly GrpoChunkTensors[]),
  remote: readonly GrpoUpdateChunk[][],
  step: number,
  iteration: number,
  cfg: GrpoConfig,
): Promise<{ loss: number; grads: Map<string, tf.Tensor>; stats: Record<string, number> }> {
  const shards = await parallelShards(
    peers,
    policy,
    remote.map((chunks) => ({ kind: 'grpo' as const, step, iteration, chunks })),
    (peer, task) => peer.shardGrads(policy, task),
    () => grpoShardGradients(policy, typeof local === 'function' ? local() : local, iteration, cfg),
    releaseShard,
  );
  return combineShardGrads(policy, shards, 1);
}

/**
 * Micro-batches per thread: contiguous runs of about equal work (each micro-batch is its own
 * forward pass, padded to its longest completion), the cheapest run this thread's.
 */
export function splitChunks(policy: Policy, chunks: readonly GrpoUpdateChunk[], threads: number): GrpoUpdateChunk[][] {
  const costs = chunks.map((c) => paddedCost([...new Set(c.rows.map((r) => r.prompt))].map((p) => prefixLength(policy, p)), c.rows.map((r) => r.tokens.length)));
  return balancedSplit(costs, threads).map(({ start, end }) => chunks.slice(start, end));
}
