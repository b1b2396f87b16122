// DPO, the "fast align" stage of VerIPO: epochs over (chosen, rejected) pairs against a
// frozen reference whose log-probs are computed once before training, TRL's DPOTrainer names
// and semantics. Each epoch shuffles prompts, not pairs: the verifier makes several pairs
// per prompt, and a batch that holds them together encodes the prompt once and forwards a
// completion they share once (./dpo-loss), which makes a step cheaper without changing the
// loss of its pairs. With `workers` > 1 each batch's pairs (and the reference pass) are
// split across gradient peers (./dpo-parallel).

import * as tf from '@tensorflow/tfjs-core';
import { adamWFromConfig, clippedStep } from '../model/optim';
import type { Policy } from '../model/policy';
import type { PolicyPrompt } from '../model/inputs';
import { mulberry32 } from '../model/sample';
import type { Tokenizer } from '../model/tokenizer';
import type { TrainEvent } from '../model/worker-protocol';
import type { HealthGuard } from './health';
import { DpoConfigSchema, TRUNCATION_WARNING, type DpoConfigInput } from './config';
import type { EncodedPair } from './data-parallel';
import type { GradientPeer } from './gradient-peer';
import { releasePeers, startPeers } from './peer-pool';
import { dpoBatchGradients, dpoReferenceLogps } from './dpo-parallel';
import { epochOrder, promptGroups } from './dpo-loss';

export { chosenNll, dpoLoss, epochOrder, pairBatch, pairLogps, pairParts, promptGroups, referenceLogps, sequenceLogps, type DpoLossInputs, type PairBatch, type DpoLossOutput, type DpoLossParams, type DpoLossType } from './dpo-loss';
export type { EncodedPair } from './data-parallel';

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
 * DPO "fast align": epochs over the preference pairs in prompt-grouped order, batch_size
 * pairs a step, one forward/backward per batch over its distinct [chosen | rejected] rows
 * (TRL's concatenated forward), Adam, grad clipping.
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

  const groups = promptGroups(encoded);
  let order: number[] = [];
  let step = 0;
  let stoppedBy: DpoResult['stoppedBy'] = 'steps';
  let peers: GradientPeer[] = [];
  try {
    // No more threads than pairs per batch: a peer with no pairs would only copy weights.
    peers = await startPeers(Math.min(cfg.workers, cfg.batch_size, encoded.length), total, policy, tokenizer, { kind: 'dpo', dpo: cfg });
    if (peers.length > 0) emit({ type: 'log', level: 'info', message: `dpo: the reference pass and each batch's pairs split across ${peers.length + 1} threads (peers: ${peers[0]!.backend})` });
    const refStart = performance.now();
    const ref = await dpoReferenceLogps(peers, reference, encoded, cfg.precompute_ref_batch_size, cfg.loss_type);
    metric(1, 'ref_seconds', (performance.now() - refStart) / 1000);
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
      // New epoch: reshuffle by prompt, so a prompt's pairs share a batch (its prefix encoded
      // once, a completion its pairs share one row). A short tail batch is trained on.
      if (order.length === 0) order = epochOrder(groups, rand);
      const idx = order.splice(0, cfg.batch_size);
      const stepStart = performance.now();
      const { loss, grads, stats } = await dpoBatchGradients(peers, policy, idx.map((i) => encoded[i]!), { chosen: idx.map((i) => ref.chosen[i]!), rejected: idx.map((i) => ref.rejected[i]!) }, cfg);
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
    await releasePeers(peers);
  }
  return { steps: step, seconds: (performance.now() - t0) / 1000, stoppedBy, last, truncation_rate: truncation };
}