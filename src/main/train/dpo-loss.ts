// DPO's math as plain functions over tensors, TRL's DPOTrainer names and semantics (`beta`,
// `loss_type` sigmoid | ipo | hinge, `label_smoothing`, `rpo_alpha`; tested against
// hand-computed values), and how pairs become batches. The verifier makes several pairs per
// prompt, often one chosen completion against several rejected ones, so a prompt's pairs
// are kept in one batch (epochOrder, referenceBatches), and a batch is TRL's concatenated
// forward over [chosen | rejected] with each prompt encoded once and each distinct
// (prompt, completion) one row (pairBatch): the per-pair values and the loss are those of
// forwarding every pair's two rows, for fewer rows and prefixes.
import * as tf from '@tensorflow/tfjs-core';
import type { Policy } from '../model/policy';
import { collate, type PolicyPrompt, type ResponseBatch } from '../model/inputs';
import { sequenceLogprobs } from '../model/forward';
import { shuffle } from '../video/prng';
import { paddedCost, prefixLength, type EncodedPair } from './data-parallel';

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
 * A prompt's pairs in a stage: the indices of the pairs that share each prompt object, in
 * order of first appearance. The verifier pairs one prompt's rollouts several times (often
 * one chosen against several rejected), and the stage gives all of them the same object.
 */
export function promptGroups(pairs: readonly { prompt: PolicyPrompt }[]): number[][] {
  const groups = new Map<PolicyPrompt, number[]>();
  pairs.forEach((p, i) => {
    const g = groups.get(p.prompt);
    if (g) g.push(i);
    else groups.set(p.prompt, [i]);
  });
  return [...groups.values()];
}

/**
 * One epoch's pair order: the prompt groups shuffled (Fisher-Yates with `rand`), each
 * group's pairs kept together and in order. Batches taken from it hold a prompt's pairs
 * together (a group is split only where a batch ends), so the prompt is encoded once per
 * batch and a completion shared by its pairs is one row (pairBatch). With no shared prompts
 * this is the plain shuffle of the pairs, draw for draw.
 */
export function epochOrder(groups: readonly (readonly number[])[], rand: () => number): number[] {
  return shuffle(rand, groups).flatMap((g) => [...g]);
}

/** B pairs as the distinct rows forward passes compute, and where each pair's completions are. */
export interface PairBatch {
  /**
   * The distinct (prompt object, completion ids) rows in order of length, cut into parts of
   * similar lengths (pairParts): each part is one forward pass, padded to its own longest row.
   */
  parts: ResponseBatch[];
  /** [B] row of each pair's chosen completion, counting rows through the parts in order. */
  chosenRow: Int32Array;
  /** [B] row of each pair's rejected completion. */
  rejectedRow: Int32Array;
}

/**
 * A forward pass's fixed cost in token slots (see paddedCost): its kernels that do not grow
 * with rows, about 15 ms on the small policy against ~0.7 ms per slot of a forward/backward.
 */
const PART_OVERHEAD_SLOTS = 24;

/**
 * Rows sorted by length cut into contiguous parts that minimise the padded slots of all the
 * parts' forward passes (each prompt's prefix is encoded once per part it appears in, plus
 * PART_OVERHEAD_SLOTS each), so that a long chosen chain does not pad every short rejected one.
 * Returns the parts (row indices) and the slots they cost.
 */
export function pairParts(lengths: readonly number[], prefixes: readonly { prompt: unknown; length: number }[]): { parts: number[][]; cost: number } {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const n = order.length;
  const partCost = (a: number, b: number) => {
    const rows = order.slice(a, b);
    const prompts = new Map(rows.map((r) => [prefixes[r]!.prompt, prefixes[r]!.length]));
    return PART_OVERHEAD_SLOTS + paddedCost([...prompts.values()], rows.map((r) => lengths[r]!));
  };
  const best = new Float64Array(n + 1).fill(Infinity);
  const cut = new Int32Array(n + 1);
  best[0] = 0;
  for (let b = 1; b <= n; b++) {
    for (let a = 0; a < b; a++) {
      const v = best[a]! + partCost(a, b);
      if (v < best[b]!) {
        best[b] = v;
        cut[b] = a;
      }
    }
  }
  const parts: number[][] = [];
  for (let b = n; b > 0; b = cut[b]!) parts.unshift(order.slice(cut[b]!, b));
  return { parts, cost: best[n]! };
}

/**
 * The distinct (prompt object, completion ids) rows of pairs, in order of first appearance:
 * each row's prompt and completion, and the row of each pair's chosen and rejected.
 */
function distinctRows(pairs: readonly EncodedPair[]): { prompts: PolicyPrompt[]; completions: number[][]; chosen: number[]; rejected: number[] } {
  const prompts: PolicyPrompt[] = [];
  const completions: number[][] = [];
  const seen = new Map<PolicyPrompt, Map<string, number>>();
  const rowOf = (prompt: PolicyPrompt, ids: number[]): number => {
    let rows = seen.get(prompt);
    if (!rows) seen.set(prompt, (rows = new Map()));
    const key = ids.join(',');
    let row = rows.get(key);
    if (row === undefined) {
      rows.set(key, (row = prompts.length));
      prompts.push(prompt);
      completions.push(ids);
    }
    return row;
  };
  const chosen = pairs.map((p) => rowOf(p.prompt, p.chosen));
  const rejected = pairs.map((p) => rowOf(p.prompt, p.rejected));
  return { prompts, completions, chosen, rejected };
}

/** The rows of pairs cut as pairBatch cuts them. */
function pairCut(policy: Policy, pairs: readonly EncodedPair[]) {
  const rows = distinctRows(pairs);
  return { rows, ...pairParts(rows.completions.map((c) => c.length), rows.prompts.map((p) => ({ prompt: p, length: prefixLength(policy, p) }))) };
}

/** Token slots the forward passes of pairBatch(pairs) run on, with their overheads: the work of a batch (or shard) of pairs. */
export function pairsCost(policy: Policy, pairs: readonly EncodedPair[]): number {
  return pairCut(policy, pairs).cost;
}

/**
 * B pairs as forward passes over their distinct rows: TRL's concatenated forward over
 * [chosen | rejected], but a completion that several pairs of one prompt use (the verifier's
 * one chosen against several rejected) is one row, its log-probs read by each of those pairs
 * (pairLogps), and rows go in parts of similar length (pairParts). With sharePrefix each
 * prompt object (visual tokens and question) is encoded once per part for all its rows.
 */
export function pairBatch(policy: Policy, pairs: readonly EncodedPair[], sharePrefix = true): PairBatch {
  const { rows, parts } = pairCut(policy, pairs);
  const position = new Int32Array(rows.completions.length);
  parts.flat().forEach((row, k) => (position[row] = k));
  return {
    parts: parts.map((part) => collate(policy, part.map((r) => rows.prompts[r]!), part.map((r) => rows.completions[r]!), { sharePrefix })),
    chosenRow: Int32Array.from(rows.chosen, (r) => position[r]!),
    rejectedRow: Int32Array.from(rows.rejected, (r) => position[r]!),
  };
}

/**
 * [B, N]: row b selects row rows[b] of an [N, ...] tensor by a matmul. Not tf.gather: its
 * gradient needs UnsortedSegmentSum, which the wasm backend lacks. Exact for finite values
 * (one term times 1, the rest times 0); the gradient adds each pair's share into its row.
 */
function selection(rows: Int32Array, n: number): tf.Tensor2D {
  const sel = new Float32Array(rows.length * n);
  rows.forEach((r, b) => (sel[b * n + r] = 1));
  return tf.tensor2d(sel, [rows.length, n]);
}

/**
 * Per pair [B]: the sequence log-probs of its chosen and rejected completions, read from the
 * batch's distinct rows, and the summed token log-probs of its chosen completion (RPO's NLL
 * counts each pair's chosen tokens, as TRL's concatenated batch does).
 */
export function pairLogps(policy: Policy, batch: PairBatch, lossType: DpoLossType): { chosen: tf.Tensor1D; rejected: tf.Tensor1D; chosenTokenSum: tf.Tensor1D } {
  return tf.tidy(() => {
    const sums: tf.Tensor[] = [];
    const seqs: tf.Tensor[] = [];
    for (const part of batch.parts) {
      const sl = sequenceLogprobs(policy, part);
      seqs.push(sequenceLogps(sl.logprobs, sl.mask, lossType));
      // ipo's sequence value is a mean; RPO still needs each chosen row's sum.
      if (lossType === 'ipo') sums.push(sequenceLogps(sl.logprobs, sl.mask, 'sigmoid'));
    }
    const column = (t: tf.Tensor[]) => tf.reshape(t.length === 1 ? t[0]! : tf.concat(t), [-1, 1]) as tf.Tensor2D;
    const seq = column(seqs);
    const N = seq.shape[0];
    const pickChosen = selection(batch.chosenRow, N);
    const perPair = (sel: tf.Tensor2D, values: tf.Tensor2D) => tf.reshape(tf.matMul(sel, values), [sel.shape[0]]) as tf.Tensor1D;
    return {
      chosen: perPair(pickChosen, seq),
      rejected: perPair(selection(batch.rejectedRow, N), seq),
      chosenTokenSum: lossType === 'ipo' ? perPair(pickChosen, column(sums)) : perPair(pickChosen, seq),
    };
  });
}

/**
 * TRL's precompute_ref_log_probs batches, batchSize pairs at a time: pairs ordered by prompt
 * length, then prompt group, then completion length, so a batch pads little and a prompt's
 * pairs sit together (its prefix encoded once, a shared completion one row). Threads that
 * share the reference pass take whole batches, so each pair's value is the same whatever
 * the number of threads.
 */
export function referenceBatches(pairs: readonly EncodedPair[], batchSize: number): number[][] {
  const group = new Int32Array(pairs.length);
  promptGroups(pairs).forEach((g, k) => g.forEach((i) => (group[i] = k)));
  const promptLen = (i: number) => pairs[i]!.prompt.tokens.length;
  const completionLen = (i: number) => Math.max(pairs[i]!.chosen.length, pairs[i]!.rejected.length);
  const order = pairs.map((_, i) => i).sort((a, b) => promptLen(a) - promptLen(b) || group[a]! - group[b]! || completionLen(a) - completionLen(b) || a - b);
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
