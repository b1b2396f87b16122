// GRPO's loss as a plain function over tensors, in TRL's order (tested against hand-computed
// values), and the micro-batch arithmetic that makes accumulated gradients equal the full
// batch's for every loss_type.
import * as tf from '@tensorflow/tfjs-core';

export type GrpoLossType = 'grpo' | 'bnpo' | 'dr_grpo' | 'dapo';
export type ImportanceSamplingLevel = 'token' | 'sequence';

/** Sum of x over unmasked entries divided by their count (at least 1, as TRL's clamp(min=1)). */
export function maskedMean(x: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return tf.div(tf.sum(tf.mul(x, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
}

/** Per-row masked mean, [B, L] -> [B]. */
export function rowMaskedMean(x: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor1D {
  return tf.div(tf.sum(tf.mul(x, mask), 1), tf.maximum(tf.sum(mask, 1), 1)) as tf.Tensor1D;
}

/**
 * `mask_truncated_completions`: a completion cut at max_completion_length has no answer,
 * so its reward says nothing about its tokens; zero its whole row of the loss mask.
 */
export function maskTruncated(mask: tf.Tensor2D, truncated: readonly boolean[]): tf.Tensor2D {
  return tf.tidy(() => {
    const keep = tf.tensor2d(truncated.map((t) => [t ? 0 : 1]), [truncated.length, 1], 'float32');
    return tf.mul(mask, keep) as tf.Tensor2D;
  });
}

export interface GrpoLossInputs {
  /** [B, L] log-probs of the completion tokens under the policy being trained (on the tape). */
  logps: tf.Tensor2D;
  /** [B, L] log-probs under the policy that sampled the completions (constant). */
  oldLogps: tf.Tensor2D;
  /** [B, L] log-probs under the frozen reference; null when beta = 0. */
  refLogps: tf.Tensor2D | null;
  /** [B] one advantage per completion, or [B, L] one per token (reading credit added). */
  advantages: tf.Tensor1D | tf.Tensor2D;
  /** [B, L] 1 on completion tokens that count, 0 on padding (and truncated rows, if masked). */
  mask: tf.Tensor2D;
}

export interface GrpoLossParams {
  beta: number;
  epsilon: number;
  epsilon_high: number;
  loss_type: GrpoLossType;
  importance_sampling_level: ImportanceSamplingLevel;
  /** Only dr_grpo uses it: the constant normaliser B * max_completion_length. */
  max_completion_length: number;
}

export interface GrpoLossOutput {
  loss: tf.Scalar;
  /** Fraction of masked tokens whose ratio fell below 1-epsilon with A < 0 (TRL clip_ratio/low_mean). */
  clipLow: tf.Scalar;
  /** Fraction above 1+epsilon_high with A > 0 (clip_ratio/high_mean). */
  clipHigh: tf.Scalar;
  /** Either of the two (clip_ratio/region_mean). */
  clipRegion: tf.Scalar;
  /** Masked mean of the k3 KL estimate to the reference (0 when refLogps is null). */
  kl: tf.Scalar;
  /** Masked mean of the importance ratio. */
  ratioMean: tf.Scalar;
}

/**
 * TRL's GRPO loss (GRPOTrainer._compute_loss), per token:
 *   ratio  = exp(logp - old_logp)                        (token level), or
 *          = exp(masked mean over the row of (logp - old_logp))   (GSPO, sequence level)
 *   loss_t = -min(ratio * A, clip(ratio, 1 - epsilon, 1 + epsilon_high) * A)
 *            + beta * (exp(ref - logp) - (ref - logp) - 1)          (k3 KL, unbiased, >= 0)
 * aggregated by loss_type:
 *   grpo    : mean over each row's tokens, then mean over rows (long answers weigh less)
 *   bnpo    : sum over all tokens / number of tokens in the batch
 *   dr_grpo : sum over all tokens / (B * max_completion_length)   (no length bias at all)
 *   dapo    : sum / number of tokens in the *global* batch. TRL normalises by the token
 *             count across processes and gradient-accumulation steps; here a step is one
 *             process and one batch, so it equals bnpo. Kept as a name so configs map 1:1.
 */
export function grpoLoss(inp: GrpoLossInputs, p: GrpoLossParams): GrpoLossOutput {
  return tf.tidy(() => {
    const { logps, oldLogps, refLogps, mask } = inp;
    const [rows, cols] = logps.shape;
    const adv = inp.advantages.rank === 2 ? inp.advantages : tf.reshape(inp.advantages, [rows, 1]);
    const logRatio = tf.sub(logps, oldLogps);
    const logWeights: tf.Tensor =
      p.importance_sampling_level === 'sequence' ? tf.reshape(rowMaskedMean(logRatio as tf.Tensor2D, mask), [rows, 1]) : logRatio;
    const ratio = tf.exp(logWeights);
    const clipped = tf.clipByValue(ratio, 1 - p.epsilon, 1 + p.epsilon_high);
    let perToken: tf.Tensor = tf.neg(tf.minimum(tf.mul(ratio, adv), tf.mul(clipped, adv)));

    let kl: tf.Scalar = tf.scalar(0);
    if (refLogps !== null) {
      const d = tf.sub(refLogps, logps);
      const perTokenKl = tf.sub(tf.sub(tf.exp(d), d), 1);
      kl = maskedMean(perTokenKl, mask);
      if (p.beta !== 0) perToken = tf.add(perToken, tf.mul(perTokenKl, p.beta));
    } else if (p.beta !== 0) {
      throw new Error('grpo.ts grpoLoss: refLogps is null but beta is ' + p.beta);
    }

    let loss: tf.Scalar;
    switch (p.loss_type) {
      case 'grpo':
        loss = tf.mean(rowMaskedMean(perToken as tf.Tensor2D, mask)) as tf.Scalar;
        break;
      case 'bnpo':
      case 'dapo':
        loss = maskedMean(perToken, mask);
        break;
      case 'dr_grpo':
        loss = tf.div(tf.sum(tf.mul(perToken, mask)), rows * p.max_completion_length) as tf.Scalar;
        break;
      default:
        throw new Error(`grpo.ts grpoLoss: unknown loss_type ${String(p.loss_type)}`);
    }

    // Clip statistics as TRL logs them: a token counts as clipped only when clipping
    // actually removes its gradient (low side needs A < 0, high side A > 0).
    const ratioFull = tf.broadcastTo(ratio, [rows, cols]);
    const low = tf.logicalAnd(tf.less(ratioFull, 1 - p.epsilon), tf.less(adv, 0));
    const high = tf.logicalAnd(tf.greater(ratioFull, 1 + p.epsilon_high), tf.greater(adv, 0));
    const region = tf.logicalOr(low, high);
    return {
      loss,
      clipLow: maskedMean(tf.cast(low, 'float32'), mask),
      clipHigh: maskedMean(tf.cast(high, 'float32'), mask),
      clipRegion: maskedMean(tf.cast(region, 'float32'), mask),
      kl,
      ratioMean: maskedMean(ratioFull, mask),
    };
  });
}

// =========================================================================================
// Micro-batches (TRL's per_device_train_batch_size with gradient accumulation)

/** Consecutive row ranges of at most `size` rows. */
export function microBatches(rows: number, size: number): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (let start = 0; start < rows; start += size) out.push({ start, end: Math.min(rows, start + size) });
  return out;
}

/**
 * The factor on a micro-batch's own loss so that the micro-batches' weighted losses (and
 * so their gradients) sum to the full batch's loss for each loss_type: grpo and dr_grpo
 * average over rows, bnpo and dapo over the batch's unmasked tokens.
 */
export function microBatchWeight(lossType: GrpoLossType, c: { rows: number; totalRows: number; tokens: number; totalTokens: number }): number {
  if (lossType === 'grpo' || lossType === 'dr_grpo') return c.rows / c.totalRows;
  // maskedMean clamps an empty mask's count to 1; an all-masked batch has loss 0 either way.
  return c.totalTokens > 0 ? c.tokens / c.totalTokens : 0;
}
