// The full forward pass over [visual | prompt | response] and teacher-forced log-probs.
//
// Log-prob convention, as TRL's GRPOTrainer: log-probs are taken under the
// temperature-scaled policy, log softmax(logits / temperature), over the FULL vocabulary
// (top_p only restricts which token is drawn, it does not renormalise the reported
// log-prob). `sequenceLogprobs(..., { temperature })` uses the same convention, so the
// log-probs the sampler returns equal the teacher-forced ones for the same tokens and
// temperature; GRPO's ratio is exactly 1 on its first inner iteration. Greedy decoding
// (temperature 0) reports log-probs under temperature 1.
import * as tf from '@tensorflow/tfjs-core';
import { copyKeysOf, copySlots, nextTokenLogits, nextTokenParts, pointerStates, visualTargetsOf, withVisual, type CopyMemory } from './copy-head';
import { embedFull, embedPrefix, embedTokens } from './embed';
import { fullPositions, prefixPositions, type ResponseBatch, type SharedPrefix } from './inputs';
import type { Policy } from './policy';
import { attentionBias, transformer, type KVCache } from './transformer';

/**
 * The states the copy head reads for full-sequence hidden states [B, L, d]: pointerStates
 * of every slot when pointer_layers > 0, else the hidden states themselves.
 */
function pointerStatesFull(policy: Policy, batch: ResponseBatch, hidden: tf.Tensor3D): tf.Tensor3D {
  if (policy.config.pointer_layers === 0) return hidden;
  return tf.tidy(() => pointerStates(policy, embedFull(policy, batch, 'pointer'), hidden));
}

/**
 * Logits [B * n, vocab] (and the copy head's pointer distribution) at the n positions from
 * `from` of full-sequence hidden states [B, L, d]; the copy head (if any) points at text
 * slots up to each position.
 */
export function nextTokensAt(policy: Policy, hidden: tf.Tensor3D, batch: ResponseBatch, from: number, n: number, pointerStates?: tf.Tensor3D): { logits: tf.Tensor2D; pointer: tf.Tensor2D | null; vocab: tf.Tensor2D | null } {
  const [B, , d] = hidden.shape;
  const [logits, pointer, vocab] = tf.tidy(() => {
    const h = tf.slice(hidden, [0, from, 0], [B, n, d]) as tf.Tensor3D;
    if (!policy.config.copy_head) return [nextTokenLogits(policy, h, null)];
    const states = pointerStates ?? pointerStatesFull(policy, batch, hidden);
    const S = from + n;
    const slots = copySlots(policy, batch.pack, batch.responseIds, batch.responseMask, batch.responseLen);
    const L = hidden.shape[1];
    const ids = new Int32Array(B * S);
    for (let b = 0; b < B; b++) ids.set(slots.ids.subarray(b * L, b * L + S), b * S);
    const memory: CopyMemory = {
      keys: copyKeysOf(policy, states, slots, S),
      ids,
      bias: attentionBias(slots.mask, from, n),
    };
    const queries = tf.slice(states, [0, from, 0], [B, n, d]) as tf.Tensor3D;
    const parts = nextTokenParts(policy, h, withVisual(memory, visualTargetsOf(policy, batch.pack, states), n), queries);
    return [parts.logits, parts.pointer!, parts.vocab!];
  });
  return { logits: logits!, pointer: pointer ?? null, vocab: vocab ?? null };
}

/** Hidden states [B, V+P+R, d] of a full (uncached) forward pass over prompt and response. */
export function forwardFull(policy: Policy, batch: ResponseBatch): tf.Tensor3D {
  const { pack, responseLen: R } = batch;
  const B = pack.batch;
  const prefixLen = pack.visualLen + pack.promptLen;
  const keyMask = pack.keyMask.map((m, b) => {
    const row = new Float32Array(prefixLen + R);
    row.set(m);
    row.set(batch.responseMask.subarray(b * R, (b + 1) * R), prefixLen);
    return row;
  });
  return tf.tidy(() => transformer(policy, embedFull(policy, batch), attentionBias(keyMask, 0, prefixLen + R), null, false, fullPositions(batch)).hidden);
}

/**
 * forwardFull, plus the copy head's pointer states, for rows that share prompts: the trunk
 * runs over each distinct [visual | prompt] prefix once, its keys and values (and its hidden
 * and pointer states) are copied out to the rows that read it, and only the responses run
 * row by row, attending to the copied keys. Prefix slots never attend to response slots, so
 * this equals the full pass up to float rounding. The copy is a one-hot matmul: its gradient
 * sums each prompt's rows back into the one encoding, as the full pass's would.
 */
function forwardShared(policy: Policy, batch: ResponseBatch, shared: SharedPrefix): { hidden: tf.Tensor3D; states: tf.Tensor3D } {
  const pre = shared.pack;
  const prefixLen = pre.visualLen + pre.promptLen;
  const { responseLen: R } = batch;
  const B = batch.pack.batch;
  const [hidden, states] = tf.tidy(() => {
    const prefix = transformer(policy, embedPrefix(policy, pre), attentionBias(pre.keyMask, 0, prefixLen), null, true, prefixPositions(pre));
    // tf.oneHot needs depth >= 2 (one prompt gets a zero column it never selects); and cast,
    // not its dtype argument, which tfjs-wasm ignores (it writes int32 bits into floats).
    const rows = tf.cast(tf.slice(tf.oneHot(tf.tensor1d(shared.rowPrefix, 'int32'), Math.max(2, pre.batch)), [0, 0], [B, pre.batch]), 'float32') as tf.Tensor2D;
    const expand = <T extends tf.Tensor>(t: T): T => tf.reshape(tf.matMul(rows, tf.reshape(t, [pre.batch, -1]) as tf.Tensor2D), [B, ...t.shape.slice(1)]) as T;
    const past: KVCache = { k: prefix.cache!.k.map(expand), v: prefix.cache!.v.map(expand), length: prefixLen };
    tf.dispose([...prefix.cache!.k, ...prefix.cache!.v]);
    const keyMask = batch.pack.keyMask.map((m, b) => {
      const row = new Float32Array(prefixLen + R);
      row.set(m);
      row.set(batch.responseMask.subarray(b * R, (b + 1) * R), prefixLen);
      return row;
    });
    const embed = (tables: 'trunk' | 'pointer') => embedTokens(policy, batch.responseIds, batch.responsePos, B, R, batch.responseText, tables);
    const response = transformer(policy, embed('trunk'), attentionBias(keyMask, prefixLen, R), past, false, batch.responsePos).hidden;
    const full = tf.concat([expand(prefix.hidden), response], 1) as tf.Tensor3D;
    if (!policy.config.copy_head || policy.config.pointer_layers === 0) return [full, full];
    // Pointer states are per slot, so the prefix's are computed once too.
    const prefixStates = pointerStates(policy, embedPrefix(policy, pre, 'pointer'), prefix.hidden);
    return [full, tf.concat([expand(prefixStates), pointerStates(policy, embed('pointer'), response)], 1) as tf.Tensor3D];
  });
  return { hidden: hidden!, states: states! };
}

export interface SequenceLogprobs {
  /** [B, R] log p(response token | everything before it); 0 on padding. Differentiable. */
  logprobs: tf.Tensor2D;
  /** [B, R] 1 on real response tokens. */
  mask: tf.Tensor2D;
  /** [B, R] entropy of the next-token distribution at each response position (when asked). */
  entropy: tf.Tensor2D | null;
  /**
   * With copy_head (when asked): [B, R] log of the copy pointer's own probability of each
   * response token, before the gate, and [B, R] 1 where the token was there to copy.
   */
  pointer: { logprobs: tf.Tensor2D; mask: tf.Tensor2D } | null;
  /** With copy_head (when asked): [B, R] log p of each response token under the vocabulary head alone. */
  vocab: tf.Tensor2D | null;
}

/**
 * Teacher-forced per-token log-probs of each response under the policy at `temperature`
 * (see the convention at the top of this file). Call inside tf.variableGrads /
 * optimizer.minimize to differentiate; the caller disposes the returned tensors.
 */
export function sequenceLogprobs(policy: Policy, batch: ResponseBatch, opts: { temperature?: number; entropy?: boolean; pointer?: boolean; vocab?: boolean } = {}): SequenceLogprobs {
  const temperature = opts.temperature && opts.temperature > 0 ? opts.temperature : 1;
  const { pack, responseLen: R } = batch;
  const B = pack.batch;
  const V = policy.config.vocab_size;
  const prefixLen = pack.visualLen + pack.promptLen;
  const wantPointer = !!opts.pointer && policy.config.copy_head;
  // tidy keeps every tensor of the returned object, so only what was asked for is built.
  const parts = tf.tidy(() => {
    const shared = batch.shared ? forwardShared(policy, batch, batch.shared) : null;
    const hidden = shared?.hidden ?? forwardFull(policy, batch);
    // Position prefixLen - 1 + j predicts response token j.
    const next = nextTokensAt(policy, hidden, batch, prefixLen - 1, R, shared?.states);
    const logp = tf.logSoftmax(temperature !== 1 ? tf.div(next.logits, temperature) : next.logits);
    const target = tf.oneHot(tf.tensor1d(batch.responseIds, 'int32'), V);
    const mask = tf.tensor2d(batch.responseMask, [B, R]);
    const picked = tf.mul(tf.reshape(tf.sum(tf.mul(logp, target), -1), [B, R]), mask) as tf.Tensor2D;
    const entropy = opts.entropy ? (tf.mul(tf.reshape(tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), -1)), [B, R]), mask) as tf.Tensor2D) : undefined;
    const vocab = opts.vocab && next.vocab ? (tf.mul(tf.reshape(tf.sum(tf.mul(tf.logSoftmax(next.vocab), target), -1), [B, R]), mask) as tf.Tensor2D) : undefined;
    if (!wantPointer || !next.pointer) return { logprobs: picked, mask, entropy, vocab };
    const p = tf.reshape(tf.sum(tf.mul(next.pointer, target), -1), [B, R]);
    // Masked-out slots get exactly 0 from the softmax, so p > 0 means "was there to copy".
    // Read back as data: the mask is a constant, not a path for gradients.
    const pv = p.dataSync();
    const m = batch.responseMask.map((real, i) => (real > 0 && pv[i]! > 0 ? 1 : 0));
    const there = tf.tensor2d(m, [B, R]);
    return { logprobs: picked, mask, entropy, vocab, pointer: { logprobs: tf.mul(tf.log(tf.add(p, 1e-20)), there) as tf.Tensor2D, mask: there } };
  });
  return { logprobs: parts.logprobs, mask: parts.mask, entropy: parts.entropy ?? null, pointer: parts.pointer ?? null, vocab: parts.vocab ?? null };
}
