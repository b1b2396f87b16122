// DPO across threads. A batch's gradient as shards: each thread takes some of the batch's
// pairs and returns the gradient of its part of the batch loss (its pairs' summed per-pair
// loss / the batch's pairs, plus rpo_alpha times its chosen tokens' summed NLL / the batch's
// chosen tokens), so the shards add up to the single-thread gradient. Shards are contiguous
// runs of the batch, where a prompt's pairs are adjacent, so a shard keeps them together
// (postMessage's structured clone keeps a prompt object shared within one request). The
// reference pass, once per stage, is split by whole batches, so its values do not depend on
// the thread count.
import * as tf from '@tensorflow/tfjs-core';
import { policyGradients } from '../model/optim';
import type { Policy } from '../model/policy';
import type { DpoConfig } from './config';
import { batchSequenceLogps, dpoLoss, pairBatch, pairLogps, pairsCost, promptGroups, referenceBatches, scatterLogps, type DpoLossType } from './dpo-loss';
import { balancedRanges, balancedSplit, combineShardGrads, parallelShards, releaseShard, type DpoShardInput, type EncodedPair, type ShardGradients } from './data-parallel';
import type { GradientPeer } from './gradient-peer';

/**
 * Gradient of the shard's part of the batch loss: one forward/backward over its pairs'
 * distinct rows (pairBatch), against the reference values it was given. Statistics (TRL's
 * keys) are sums divided by the batch's size, so they add up over shards.
 */
export function dpoShardGradients(policy: Policy, input: DpoShardInput, cfg: DpoConfig): ShardGradients {
  const { pairs, batchPairs } = input;
  const B = pairs.length;
  if (input.refChosen.length !== B || input.refRejected.length !== B) throw new Error(`dpo shard: ${B} pairs but ${input.refChosen.length} and ${input.refRejected.length} reference values`);
  const batch = pairBatch(policy, pairs);
  const refChosen = tf.tensor1d(input.refChosen);
  const refRejected = tf.tensor1d(input.refRejected);
  let stats: Record<string, number> = {};
  try {
    const { loss, grads } = policyGradients(policy, () => {
      const pol = pairLogps(policy, batch, cfg.loss_type);
      const out = dpoLoss(
        { policyChosen: pol.chosen, policyRejected: pol.rejected, refChosen, refRejected },
        { beta: cfg.beta, loss_type: cfg.loss_type, label_smoothing: cfg.label_smoothing, rpo_alpha: null },
      );
      const sumOver = (t: tf.Tensor) => tf.sum(t).dataSync()[0]! / batchPairs;
      stats = {
        'rewards/chosen': sumOver(out.rewardsChosen),
        'rewards/rejected': sumOver(out.rewardsRejected),
        'rewards/margins': sumOver(out.margins),
        'rewards/accuracies': (out.accuracy.dataSync()[0]! * B) / batchPairs,
        'logps/chosen': sumOver(pol.chosen),
        'logps/rejected': sumOver(pol.rejected),
      };
      let shardLoss: tf.Tensor = tf.mul(out.loss, B / batchPairs);
      if (cfg.rpo_alpha !== null) {
        // RPO's NLL is a mean over the whole batch's chosen tokens (chosenNll on one thread).
        const nll = tf.div(tf.neg(tf.sum(pol.chosenTokenSum)), Math.max(input.batchChosenTokens, 1));
        stats.nll_loss = nll.dataSync()[0]!;
        shardLoss = tf.add(shardLoss, tf.mul(nll, cfg.rpo_alpha));
      }
      return shardLoss as tf.Scalar;
    });
    return { grads, lossSum: loss, tokens: 0, stats };
  } finally {
    tf.dispose([refChosen, refRejected]);
  }
}

/**
 * A batch's pairs (indices) as one shard per thread of about equal work, the cheapest first
 * (this thread's). Pairs go by prompt (a prompt's pairs share a prefix and rows), prompts in order of
 * their longest completion and a prompt's pairs likewise, so long rows share passes with
 * long rows; balancedRanges then cuts that order where the shards' passes (pairsCost) are
 * most even, inside a prompt's pairs too when that pays for its prefix and rows twice.
 */
export function dpoShards(policy: Policy, pairs: readonly EncodedPair[], threads: number): number[][] {
  const longest = (i: number) => Math.max(pairs[i]!.chosen.length, pairs[i]!.rejected.length);
  const byLength = (a: number, b: number) => longest(b) - longest(a) || a - b;
  const groups = promptGroups(pairs).map((group) => [...group].sort(byLength));
  const order = groups.sort((a, b) => byLength(a[0]!, b[0]!)).flat();
  return balancedRanges(order.length, threads, (a, b) => pairsCost(policy, order.slice(a, b).map((i) => pairs[i]!))).map(({ start, end }) => order.slice(start, end));
}

/**
 * Mean loss and gradient over a batch of pairs, split between this thread and the peers
 * (dpoShards). `ref` holds the reference's values of the same pairs, in order.
 */
export async function dpoBatchGradients(
  peers: readonly GradientPeer[],
  policy: Policy,
  pairs: readonly EncodedPair[],
  ref: { chosen: readonly number[]; rejected: readonly number[] },
  cfg: DpoConfig,
): Promise<{ loss: number; grads: Map<string, tf.Tensor>; stats: Record<string, number> }> {
  const totals = { batchPairs: pairs.length, batchChosenTokens: pairs.reduce((s, p) => s + p.chosen.length, 0) };
  const [own, ...rest] = dpoShards(policy, pairs, peers.length + 1).map((idx) => ({
    pairs: idx.map((i) => pairs[i]!),
    refChosen: idx.map((i) => ref.chosen[i]!),
    refRejected: idx.map((i) => ref.rejected[i]!),
    ...totals,
  }));
  const shards = await parallelShards(
    peers,
    policy,
    rest.map((input) => ({ kind: 'dpo' as const, input })),
    (peer, task) => peer.shardGrads(policy, task),
    () => dpoShardGradients(policy, own!, cfg),
    releaseShard,
  );
  return combineShardGrads(policy, shards, 1);
}

/**
 * referenceLogps with its batches (precompute_ref_batch_size pairs, the same whatever the
 * number of threads, so are the values) split between this thread and the peers, which load
 * the reference's weights for the request, in contiguous runs of about equal work.
 */
export async function dpoReferenceLogps(
  peers: readonly GradientPeer[],
  reference: Policy,
  pairs: readonly EncodedPair[],
  batchSize: number,
  lossType: DpoLossType,
): Promise<{ chosen: Float32Array; rejected: Float32Array }> {
  const batches = referenceBatches(pairs, batchSize);
  const ranges = balancedSplit(batches.map((idx) => pairsCost(reference, idx.map((i) => pairs[i]!))), peers.length + 1);
  const [own, ...rest] = ranges.map(({ start, end }) => batches.slice(start, end).map((idx) => idx.map((i) => pairs[i]!)));
  const parts = await parallelShards(peers, reference, rest, (peer, task) => peer.pairLogps(reference, task), () => batchSequenceLogps(reference, own!, lossType));
  // The values come back in thread order (the cheapest run first), batch by batch.
  const order = ranges.flatMap(({ start, end }) => batches.slice(start, end));
  return scatterLogps(pairs.length, order, { chosen: parts.flatMap((p) => p.chosen), rejected: parts.flatMap((p) => p.rejected) });
}

