// DPO's math as plain functions over tensors, TRL's DPOTrainer names and semantics (`beta`,
// `loss_type` sigmoid | ipo | hinge, `label_smoothing`, `rpo_alpha`; tested against
// hand-computed values), and how pairs become one batch: rows [chosen x B | rejected x B]
// (TRL's concatenated forward), each pair's prompt encoded once for both its completions.
import * as tf from '@tensorflow/tfjs-core';
import type { Policy } from '../model/policy';
import { collate, type ResponseBatch } from '../model/inputs';
import { sequenceLogprobs } from '../model/forward';
import type { EncodedPair } from './data-parallel';

export type DpoLossType = 'sigmoid' | 'ipo' | 'hinge';

export interface DpoLossInputs {
  /** [B] log pi(chosen | prompt): summed token log-probs (averaged for ipo, see sequenceLogps). */
  policyChosen: tf.Tensor1D;
  policyRejected: tf.Tensor1D;
  refChosen: tf.Tensor1D;
  refRejected: tf.Tensor1D;
  /** Mean per-token NLL of the chosen completions; required when rpo_alpha is set. */
  chosenNll?: tf.Scalar;
}

export interface DpoLossParams {
  beta: number;
  loss_type: DpoLossType;
  label_smoothing: number;
  rpo_alpha: number | null;
}

export interface DpoLossOutput {
  loss: tf.Scalar;
  /** [B] implicit reward beta * (log pi - log ref) of chosen (TRL rewards/chosen). */
  rewardsChosen: tf.Tensor1D;
  rewardsRejected: tf.Tensor1D;
  /** [B] rewardsChosen - rewardsRejected (TRL rewards/margins is its mean). */
  margins: tf.Tensor1D;
  /** Fraction of pairs whose implicit reward ranks chosen above rejected (rewards/accuracies). */
  accuracy: tf.Scalar;
}

/**
 * Reduce per-token log-probs to one number per sequence as TRL's concatenated_forward
 * does: a sum, except for ipo, which TRL length-normalises (mean over tokens) so that its
 * squared target 1/(2 beta) does not depend on the completion length.
 */
export function sequenceLogps(tokenLogps: tf.Tensor2D, mask: tf.Tensor2D, lossType: DpoLossType): tf.Tensor1D {
  return tf.tidy(() => {
    const sum = tf.sum(tf.mul(tokenLogps, mask), 1);
    return (lossType === 'ipo' ? tf.div(sum, tf.maximum(tf.sum(mask, 1), 1)) : sum) as tf.Tensor1D;
  });
}

/** RPO's NLL term: mean over all chosen tokens in the batch of -log pi(token). */
export function chosenNll(tokenLogps: tf.Tensor2D, mask: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.div(tf.neg(tf.sum(tf.mul(tokenLogps, mask))), tf.maximum(tf.sum(mask), 1)) as tf.Scalar);
}

/**
 * With m = (pi_c - ref_c) - (pi_r - ref_r), per pair:
 *   sigmoid : -(1 - ls) * logsigmoid(beta m) - ls * logsigmoid(-beta m)   (ls = label_smoothing, cDPO)
 *   ipo     : (m - 1 / (2 beta))^2
 *   hinge   : relu(1 - beta m)
 * loss = mean over pairs, plus rpo_alpha * NLL(chosen) when rpo_alpha is set.
 */
/**
 * log(sigmoid(x)) = -softplus(-x), stable for large |x|. Not tf.logSigmoid: its custom
 * gradient closes over its input, which a surrounding tf.tidy disposes before backprop.
 */
function logSigmoid(x: tf.Tensor): tf.Tensor {
  return tf.neg(tf.softplus(tf.neg(x)));
}

export function dpoLoss(inp: DpoLossInputs, p: DpoLossParams): DpoLossOutput {
  return tf.tidy(() => {
    const chosenLogRatio = tf.sub(inp.policyChosen, inp.refChosen);
    const rejectedLogRatio = tf.sub(inp.policyRejected, inp.refRejected);
    const m = tf.sub(chosenLogRatio, rejectedLogRatio);
    const bm = tf.mul(m, p.beta);
    let perPair: tf.Tensor;
    switch (p.loss_type) {
      case 'sigmoid':
        perPair = tf.sub(
          tf.mul(logSigmoid(bm), -(1 - p.label_smoothing)),
          tf.mul(logSigmoid(tf.neg(bm)), p.label_smoothing),
        );
        break;
      case 'ipo':
        perPair = tf.square(tf.sub(m, 1 / (2 * p.beta)));
        break;
      case 'hinge':
        perPair = tf.relu(tf.sub(1, bm));
        break;
      default:
        throw new Error(`dpo.ts dpoLoss: unknown loss_type ${String(p.loss_type)}`);
    }
    let loss = tf.mean(perPair) as tf.Scalar;
    if (p.rpo_alpha !== null) {
      if (!inp.chosenNll) throw new Error('dpo.ts dpoLoss: rpo_alpha is set but chosenNll was not given');
      loss = tf.add(loss, tf.mul(inp.chosenNll, p.rpo_alpha));
    }
    // Rewards are statistics, not part of the objective.
    const rewardsChosen = tf.mul(chosenLogRatio, p.beta) as tf.Tensor1D;
    const rewardsRejected = tf.mul(rejectedLogRatio, p.beta) as tf.Tensor1D;
    return {
      loss,
      rewardsChosen,
      rewardsRejected,
      margins: tf.sub(rewardsChosen, rewardsRejected) as tf.Tensor1D,
      accuracy: tf.mean(tf.cast(tf.greater(rewardsChosen, rewardsRejected), 'float32')) as tf.Scalar,
    };
  });
}


/**
 * B pairs as one batch, rows [chosen x B | rejected x B] (TRL's concatenated forward). With
 * sharePrefix each pair's prompt (visual tokens and question) is encoded once and read by
 * both its completions.
 */
export function pairBatch(policy: Policy, pairs: readonly EncodedPair[], sharePrefix = true): ResponseBatch {
  const prompts = pairs.map((p) => p.prompt);
  return collate(policy, [...prompts, ...prompts], [...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)], { sharePrefix });
}

/** Sequence log-probs [B] of a pairBatch's chosen and rejected rows, and the token log-probs behind them. */
export function pairLogps(policy: Policy, batch: ResponseBatch, lossType: DpoLossType): { chosen: tf.Tensor1D; rejected: tf.Tensor1D; logprobs: tf.Tensor2D; mask: tf.Tensor2D } {
  const B = batch.pack.batch / 2;
  const sl = sequenceLogprobs(policy, batch);
  const [chosen, rejected] = tf.tidy(() => {
    const seq = sequenceLogps(sl.logprobs, sl.mask, lossType);
    return [tf.slice(seq, [0], [B]) as tf.Tensor1D, tf.slice(seq, [B], [B]) as tf.Tensor1D];
  });
  return { chosen: chosen!, rejected: rejected!, logprobs: sl.logprobs, mask: sl.mask };
}

/**
 * TRL's precompute_ref_log_probs: the reference is frozen, so each pair's reference
 * log-probs are computed once, before the first step, however many epochs follow. Pairs go
 * through in length order, so a batch pads little (the order does not change the values).

/**
 * TRL's precompute_ref_log_probs batches: pair indices in length order, batchSize at a time,
 * so a batch pads little. Threads that share the reference pass take whole batches, so each
 * pair's value is the same whatever the number of threads.
 */
export function referenceBatches(pairs: readonly EncodedPair[], batchSize: number): number[][] {
  const len = (p: EncodedPair) => p.prompt.tokens.length + Math.max(p.chosen.length, p.rejected.length);
  const order = pairs.map((_, i) => i).sort((a, b) => len(pairs[a]!) - len(pairs[b]!));
  const out: number[][] = [];
  for (let s = 0; s < order.length; s += batchSize) out.push(order.slice(s, s + batchSize));
  return out;
}

/** Sequence log-probs of each batch's chosen and rejected completions under `policy` (no tape). */
export function batchSequenceLogps(policy: Policy, batches: readonly (readonly EncodedPair[])[], lossType: DpoLossType): { chosen: number[][]; rejected: number[][] } {
  const chosen: number[][] = [];
  const rejected: number[][] = [];
  for (const pairs of batches) {
    const [c, r] = tf.tidy(() => {
      const out = pairLogps(policy, pairBatch(policy, pairs), lossType);
      return [out.chosen, out.rejected];
    });
    chosen.push(Array.from(c!.dataSync()));
    rejected.push(Array.from(r!.dataSync()));
    tf.dispose([c!, r!]);
  }
  return { chosen, rejected };
}

/**
 * TRL's precompute_ref_log_probs: the reference is frozen, so each pair's reference
 * log-probs are computed once, before the first step, however many epochs follow (the
 * order and batching do not change the values beyond float rounding).
 */
export function referenceLogps(reference: Policy, pairs: readonly EncodedPair[], batchSize: number, lossType: DpoLossType): { chosen: Float32Array; rejected: Float32Array } {
  const batches = referenceBatches(pairs, batchSize);
  return scatterLogps(pairs.length, batches, batchSequenceLogps(reference, batches.map((idx) => idx.map((i) => pairs[i]!)), lossType));
}

/** Per-batch values back to one value per pair. */
export function scatterLogps(n: number, batches: readonly number[][], values: { chosen: number[][]; rejected: number[][] }): { chosen: Float32Array; rejected: Float32Array } {
  const chosen = new Float32Array(n);
  const rejected = new Float32Array(n);
  batches.forEach((idx, b) =>
    idx.forEach((i, k) => {
      chosen[i] = values.chosen[b]![k]!;
      rejected[i] = values.rejected[b]![k]!;
    }),
  )
  return { chosen, rejected };
}
