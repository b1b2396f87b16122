// DPO, the "fast align" stage of VerIPO: one forward/backward over each (chosen, rejected)
// pair against a frozen reference, TRL's DPOTrainer names and semantics (`beta`,
// `loss_type` sigmoid | ipo | hinge, `label_smoothing`, `rpo_alpha`). The loss is a plain
// function over tensors (tested against hand-computed values); the trainer follows.

import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { adamWFromConfig, clippedStep, policyGradients } from '../model/optim';
import type { Policy } from '../model/policy';
import type { PolicyPrompt } from '../model/inputs';
import { collate } from '../model/inputs';
import { mulberry32 } from '../model/sample';
import { sequenceLogprobs } from '../model/forward';
import type { Tokenizer } from '../model/tokenizer';
import type { TrainEvent } from '../model/worker-protocol';
import type { HealthGuard } from './health';
import { DpoConfigSchema, type DpoConfig, type DpoConfigInput } from './config';
import { combineShardGrads, parallelShards, releaseShard, shardRows, startPeers, type DpoEncodedPair, type DpoShardInput, type GradientPeer, type ShardGradients } from './data-parallel';

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
// One batch's gradient, as shards: each thread takes some of the batch's pairs and returns
// the gradient of its part of the batch loss (its pairs' summed per-pair loss / the batch's
// pairs, plus rpo_alpha times its chosen tokens' summed NLL / the batch's chosen tokens), so
// the shards add up to the single-thread gradient.

/**
 * Gradient of the shard's part of the batch loss, one forward/backward over [chosen rows |
 * rejected rows] (TRL's concatenated forward), with the reference's log-probs computed
 * outside the tape. Statistics (TRL's keys) are sums divided by the batch's size.
 */
export function dpoShardGradients(policy: Policy, reference: Policy, input: DpoShardInput, cfg: DpoConfig): ShardGradients {
  const { pairs, batchPairs } = input;
  const B = pairs.length;
  const batch = collate(policy, [...pairs.map((r) => r.prompt), ...pairs.map((r) => r.prompt)], [...pairs.map((r) => r.chosen), ...pairs.map((r) => r.rejected)]);
  const reduce = (lp: tf.Tensor2D, mask: tf.Tensor2D) => {
    const seq = sequenceLogps(lp, mask, cfg.loss_type);
    return { chosen: tf.slice(seq, [0], [B]) as tf.Tensor1D, rejected: tf.slice(seq, [B], [B]) as tf.Tensor1D };
  };
  const ref = tf.tidy(() => {
    const sl = sequenceLogprobs(reference, batch);
    return reduce(sl.logprobs, sl.mask);
  });
  let stats: Record<string, number> = {};
  try {
    const { loss, grads } = policyGradients(policy, () => {
      const sl = sequenceLogprobs(policy, batch);
      const pol = reduce(sl.logprobs, sl.mask);
      const out = dpoLoss(
        { policyChosen: pol.chosen, policyRejected: pol.rejected, refChosen: ref.chosen, refRejected: ref.rejected },
        { beta: cfg.beta, loss_type: cfg.loss_type, label_smoothing: cfg.label_smoothing, rpo_alpha: null },
      );
      const sumOver = (t: tf.Tensor, n: number) => tf.sum(t).dataSync()[0]! / n;
      stats = {
        'rewards/chosen': sumOver(out.rewardsChosen, batchPairs),
        'rewards/rejected': sumOver(out.rewardsRejected, batchPairs),
        'rewards/margins': sumOver(out.margins, batchPairs),
        'rewards/accuracies': (out.accuracy.dataSync()[0]! * B) / batchPairs,
        'logps/chosen': sumOver(pol.chosen, batchPairs),
        'logps/rejected': sumOver(pol.rejected, batchPairs),
      };
      let shardLoss: tf.Tensor = tf.mul(out.loss, B / batchPairs);
      if (cfg.rpo_alpha !== null) {
        const chosenLogps = tf.slice(sl.logprobs, [0, 0], [B, batch.responseLen]);
        const chosenMask = tf.slice(sl.mask, [0, 0], [B, batch.responseLen]);
        const nll = tf.div(tf.neg(tf.sum(tf.mul(chosenLogps, chosenMask))), Math.max(input.batchChosenTokens, 1));
        stats.nll_loss = nll.dataSync()[0]!;
        shardLoss = tf.add(shardLoss, tf.mul(nll, cfg.rpo_alpha));
      }
      return shardLoss as tf.Scalar;
    });
    return { grads, lossSum: loss, tokens: 0, stats };
  } finally {
    tf.dispose([ref.chosen, ref.rejected]);
  }
}

/**
 * Mean loss and gradient over a batch of pairs, split between this thread (the first pairs)
 * and the peers; the peers hold their own replica of the reference.
 */
export async function dpoBatchGradients(
  peers: readonly GradientPeer[],
  policy: Policy,
  reference: Policy,
  pairs: readonly DpoEncodedPair[],
  cfg: DpoConfig,
): Promise<{ loss: number; grads: Map<string, tf.Tensor>; stats: Record<string, number> }> {
  const totals = { batchPairs: pairs.length, batchChosenTokens: pairs.reduce((s, p) => s + p.chosen.length, 0) };
  const [own, ...rest] = shardRows(pairs.length, peers.length + 1).map(({ start, end }) => ({ pairs: pairs.slice(start, end), ...totals }));
  const shards = await parallelShards(
    peers,
    policy,
    rest.map((input) => ({ kind: 'dpo' as const, input })),
    (peer, task) => peer.shardGrads(policy, task),
    () => dpoShardGradients(policy, reference, own!, cfg),
    releaseShard,
  );
  return combineShardGrads(policy, shards, 1);
}

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
}

/** Completion text -> token ids ending in <eos> (the policy must learn to stop), cut to fit. */
export function encodeCompletion(tokenizer: Tokenizer, text: string, maxTokens: number): number[] {
  const ids = tokenizer.encode(text);
  const body = ids.slice(0, Math.max(0, maxTokens - 1));
  return body.length === ids.length ? [...body, tokenizer.eosId] : body; // a cut completion has no <eos>
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

  const encoded = ctx.pairs.map((p, i) => {
    const room = policy.config.max_text_len - p.prompt.tokens.length;
    const max = Math.min(room, cfg.max_completion_length ?? room);
    if (max < 2) throw new Error(`dpo.ts runDpo: pair ${i} prompt has ${p.prompt.tokens.length} tokens, no room for a completion (max_text_len ${policy.config.max_text_len})`);
    return { prompt: p.prompt, chosen: encodeCompletion(tokenizer, p.chosen, max), rejected: encodeCompletion(tokenizer, p.rejected, max) };
  });

  let order: number[] = [];
  const t0 = performance.now();
  let step = 0;
  let stoppedBy: DpoResult['stoppedBy'] = 'steps';
  let peers: GradientPeer[] = [];
  try {
    // No more threads than pairs per batch: a peer with no pairs would only copy weights.
    peers = await startPeers(Math.min(cfg.workers, cfg.batch_size, encoded.length), total, policy, tokenizer, { kind: 'dpo', dpo: cfg }, reference);
    if (peers.length > 0) emit({ type: 'log', level: 'info', message: `dpo: each batch's pairs split across ${peers.length + 1} threads (peers: ${peers[0]!.backend})` });
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
      const rows = order.splice(0, cfg.batch_size).map((i) => encoded[i]!);
      const stepStart = performance.now();
      const { loss, grads, stats } = await dpoBatchGradients(peers, policy, reference, rows, cfg);
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
    await Promise.all(peers.map((p) => p.close()));
  }
  return { steps: step, seconds: (performance.now() - t0) / 1000, stoppedBy, last };
}
