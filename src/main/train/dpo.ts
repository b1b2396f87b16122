// DPO, the "fast align" stage of VerIPO: one forward/backward over each (chosen, rejected)
// pair against a frozen reference, TRL's DPOTrainer names and semantics (`beta`,
// `loss_type` sigmoid | ipo | hinge, `label_smoothing`, `rpo_alpha`). The loss is a plain
// function over tensors (tested against hand-computed values); the trainer follows.

import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { adamWFromConfig, clippedStep, policyGradients } from '../model/optim';
import type { Policy } from '../model/policy';
import { collate, type PolicyPrompt, type ResponseBatch } from '../model/inputs';
import { mulberry32 } from '../model/sample';
import { sequenceLogprobs } from '../model/forward';
import type { Tokenizer } from '../model/tokenizer';
import type { TrainEvent } from '../model/worker-protocol';
import type { HealthGuard } from './health';
import { DpoConfigSchema, TRUNCATION_WARNING, type DpoConfigInput } from './config';

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

// =========================================================================================
// Config (TRL DPOConfig names; the run config nests it under `dpo.*`)



// =========================================================================================
// Trainer

export interface DpoPair {
  /** Encoded prompt (frames + tokens), the same one the completions answered. */
  prompt: PolicyPrompt;
  chosen: string;
  rejected: string;
}

export interface DpoContext {
  policy: Policy;
  /** Frozen copy of the policy taken at the start of the stage. */
  reference: Policy;
  tokenizer: Tokenizer;
  pairs: readonly DpoPair[];
  config: DpoConfigInput;
  onEvent?: (ev: TrainEvent) => void;
  shouldStop?: () => boolean;
  /** Checked after every step (./health); throws to stop a diverged stage. */
  health?: HealthGuard;
  seed?: number;
}

export interface DpoResult {
  steps: number;
  seconds: number;
  stoppedBy: 'steps' | 'max_seconds' | 'shouldStop';
  last: Record<string, number>;
  /** Fraction of the pairs' completions cut to max_completion_length (a cut chain lost its answer). */
  truncation_rate: number;
}

/** Completion text -> token ids ending in <eos> (the policy must learn to stop), cut to fit. */
export function encodeCompletion(tokenizer: Tokenizer, text: string, maxTokens: number): number[] {
  const ids = tokenizer.encode(text);
  const body = ids.slice(0, Math.max(0, maxTokens - 1));
  return body.length === ids.length ? [...body, tokenizer.eosId] : body; // a cut completion has no <eos>
}

/** A pair as the trainer uses it: tokenised once, for every epoch and the reference pass. */
export interface EncodedPair {
  prompt: PolicyPrompt;
  chosen: number[];
  rejected: number[];
  /** How many of the two completions were cut to fit (0, 1 or 2). */
  cut: number;
}

export function encodePairs(policy: Policy, tokenizer: Tokenizer, pairs: readonly DpoPair[], maxCompletionLength: number | null): EncodedPair[] {
  return pairs.map((p, i) => {
    const room = policy.config.max_text_len - p.prompt.tokens.length;
    const max = Math.min(room, maxCompletionLength ?? room);
    if (max < 2) throw new Error(`dpo.ts runDpo: pair ${i} prompt has ${p.prompt.tokens.length} tokens, no room for a completion (max_text_len ${policy.config.max_text_len})`);
    const chosen = encodeCompletion(tokenizer, p.chosen, max);
    const rejected = encodeCompletion(tokenizer, p.rejected, max);
    const cut = Number(chosen.at(-1) !== tokenizer.eosId) + Number(rejected.at(-1) !== tokenizer.eosId);
    return { prompt: p.prompt, chosen, rejected, cut };
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
 */
export function referenceLogps(reference: Policy, pairs: readonly EncodedPair[], batchSize: number, lossType: DpoLossType): { chosen: Float32Array; rejected: Float32Array } {
  const chosen = new Float32Array(pairs.length);
  const rejected = new Float32Array(pairs.length);
  const len = (p: EncodedPair) => p.prompt.tokens.length + Math.max(p.chosen.length, p.rejected.length);
  const order = pairs.map((_, i) => i).sort((a, b) => len(pairs[a]!) - len(pairs[b]!));
  for (let s = 0; s < order.length; s += batchSize) {
    const idx = order.slice(s, s + batchSize);
    const [c, r] = tf.tidy(() => {
      const out = pairLogps(reference, pairBatch(reference, idx.map((i) => pairs[i]!)), lossType);
      return [out.chosen, out.rejected];
    });
    const cv = c!.dataSync();
    const rv = r!.dataSync();
    idx.forEach((i, k) => {
      chosen[i] = cv[k]!;
      rejected[i] = rv[k]!;
    });
    tf.dispose([c!, r!]);
  }
  return { chosen, rejected };
}

/**
 * DPO "fast align": epochs over the preference pairs, one forward/backward per batch over
 * [chosen rows | rejected rows] (TRL's concatenated forward), Adam, grad clipping.
 */
export async function runDpo(ctx: DpoContext): Promise<DpoResult> {
  const cfg = DpoConfigSchema.parse(ctx.config);
  const { policy, reference, tokenizer } = ctx;
  if (ctx.pairs.length === 0) throw new Error('dpo.ts runDpo: no preference pairs');
  const emit = ctx.onEvent ?? (() => {});
  const rand = mulberry32((ctx.seed ?? 0) ^ 0x85ebca6b);
  const stepsPerEpoch = Math.ceil(ctx.pairs.length / cfg.batch_size);
  const total = cfg.steps ?? stepsPerEpoch * cfg.epochs;
  const optimizer = adamWFromConfig(policy, cfg);
  const last: Record<string, number> = {};
  const metric = (step: number, name: string, value: number) => {
    last[name] = value;
    emit({ type: 'metric', stage: 'dpo', step, name, value });
  };

  const t0 = performance.now();
  const encoded = encodePairs(policy, tokenizer, ctx.pairs, cfg.max_completion_length);
  const truncation = encoded.reduce((n, p) => n + p.cut, 0) / (2 * encoded.length);
  metric(1, 'completions/clipped_ratio', truncation);
  if (truncation > TRUNCATION_WARNING) {
    emit({ type: 'log', level: 'warn', message: `dpo: ${(100 * truncation).toFixed(1)}% of the pairs' completions are cut at max_completion_length ${cfg.max_completion_length ?? 'of the model'}; a cut chain has lost its answer` });
  }
  const ref = referenceLogps(reference, encoded, cfg.batch_size, cfg.loss_type);
  metric(1, 'ref_seconds', (performance.now() - t0) / 1000);

  let order: number[] = [];
  let step = 0;
  let stoppedBy: DpoResult['stoppedBy'] = 'steps';
  try {
    while (step < total) {
      // Yield so a worker thread can receive `stop` between steps.
      await new Promise((resolve) => setImmediate(resolve));
      if (ctx.shouldStop?.()) {
        stoppedBy = 'shouldStop';
        break;
      }
      if (cfg.max_seconds !== null && (performance.now() - t0) / 1000 >= cfg.max_seconds) {
        stoppedBy = 'max_seconds';
        break;
      }
      step++;
      if (order.length === 0) {
        // New epoch: reshuffle. A short tail batch is trained on rather than dropped.
        order = Array.from({ length: encoded.length }, (_, i) => i);
        for (let i = order.length - 1; i > 0; i--) {
          const j = Math.floor(rand() * (i + 1));
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
      }
      const idx = order.splice(0, cfg.batch_size);
      const stepStart = performance.now();
      const B = idx.length;
      const batch = pairBatch(policy, idx.map((i) => encoded[i]!));
      const refChosen = tf.tensor1d(idx.map((i) => ref.chosen[i]!));
      const refRejected = tf.tensor1d(idx.map((i) => ref.rejected[i]!));
      let stats: Record<string, number> = {};
      const { loss, grads } = policyGradients(policy, () => {
        const pol = pairLogps(policy, batch, cfg.loss_type);
        const nll = cfg.rpo_alpha !== null
          ? chosenNll(tf.slice(pol.logprobs, [0, 0], [B, batch.responseLen]) as tf.Tensor2D, tf.slice(pol.mask, [0, 0], [B, batch.responseLen]) as tf.Tensor2D)
          : undefined;
        const out = dpoLoss(
          { policyChosen: pol.chosen, policyRejected: pol.rejected, refChosen, refRejected, chosenNll: nll },
          { beta: cfg.beta, loss_type: cfg.loss_type, label_smoothing: cfg.label_smoothing, rpo_alpha: cfg.rpo_alpha },
        );
        const mean = (t: tf.Tensor) => tf.mean(t).dataSync()[0]!;
        stats = {
          'rewards/chosen': mean(out.rewardsChosen),
          'rewards/rejected': mean(out.rewardsRejected),
          'rewards/margins': mean(out.margins),
          'rewards/accuracies': out.accuracy.dataSync()[0]!,
          'logps/chosen': mean(pol.chosen),
          'logps/rejected': mean(pol.rejected),
          ...(nll ? { nll_loss: nll.dataSync()[0]! } : {}),
        };
        return out.loss;
      });
      tf.dispose([refChosen, refRejected]);
      const gradNorm = clippedStep(optimizer, grads, loss, { maxGradNorm: cfg.max_grad_norm, lr: cfg.learning_rate, stage: 'dpo', step });
      metric(step, 'loss', loss);
      for (const [k, v] of Object.entries(stats)) metric(step, k, v);
      metric(step, 'grad_norm', gradNorm);
      ctx.health?.check({ step, loss, gradNorm });
      metric(step, 'step_seconds', (performance.now() - stepStart) / 1000);
      emit({ type: 'progress', stage: 'dpo', step, total });
    }
  } finally {
    optimizer.dispose();
  }
  return { steps: step, seconds: (performance.now() - t0) / 1000, stoppedBy, last, truncation_rate: truncation };
}
