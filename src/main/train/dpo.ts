// DPO, the "fast align" stage of VerIPO: one forward/backward over each (chosen, rejected)
// pair against a frozen reference, TRL's DPOTrainer names and semantics (`beta`,
// `loss_type` sigmoid | ipo | hinge, `label_smoothing`, `rpo_alpha`). The loss is a plain
// function over tensors (tested against hand-computed values); the trainer follows.

import * as tf from '@tensorflow/tfjs-core';

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
