// Generation (batched, KV cache or naive prefix recompute) and teacher-forced log-probs.
//
// Log-prob convention, as TRL's GRPOTrainer: log-probs are taken under the
// temperature-scaled policy, log softmax(logits / temperature), over the FULL vocabulary
// (top_p only restricts which token is drawn, it does not renormalise the reported
// log-prob). `sequenceLogprobs(..., { temperature })` uses the same convention, so the
// log-probs the sampler returns equal the teacher-forced ones for the same tokens and
// temperature; GRPO's ratio is exactly 1 on its first inner iteration. Greedy decoding
// (temperature 0) reports log-probs under temperature 1.
import * as tf from '@tensorflow/tfjs-core';
import {
  attentionBias, batchMatMul, disposeCache, embedPrefix, embedTokens, newTextFeatures, nextTokenLogits, nextTokenParts, copyKeys, visualCopyTargets, packPrompts, prefixPositions, stepTextWalk, transformer, pointerStates,
  copyTextWalk, type CopyMemory, type EmbeddingTables, type KVCache, type TextFeatures, type Policy, type PolicyPrompt, type PromptPack,
} from './policy';

/** The benchmark's seeded PRNG: the same seed gives the same stream on every backend. */
import { mulberry32 } from '../video/prng';
export { mulberry32 };

/**
 * Draw one token from a logits row. Returns the token and its log-prob under
 * softmax(logits / temperature) (temperature 1 when greedy).
 */
export function sampleToken(logits: Float32Array, temperature: number, topP: number, u: number): { token: number; logprob: number } {
  const V = logits.length;
  const greedy = temperature <= 0;
  const invT = greedy ? 1 : 1 / temperature;
  let max = -Infinity;
  let argmax = 0;
  for (let i = 0; i < V; i++) {
    if (logits[i]! > max) {
      max = logits[i]!;
      argmax = i;
    }
  }
  const probs = new Float64Array(V);
  let z = 0;
  for (let i = 0; i < V; i++) {
    probs[i] = Math.exp((logits[i]! - max) * invT);
    z += probs[i]!;
  }
  const logZ = Math.log(z);
  const logprobOf = (i: number) => (logits[i]! - max) * invT - logZ;
  if (greedy) return { token: argmax, logprob: logprobOf(argmax) };

  let token = V - 1;
  if (topP >= 1) {
    let acc = 0;
    const target = u * z;
    for (let i = 0; i < V; i++) {
      acc += probs[i]!;
      if (acc > target) {
        token = i;
        break;
      }
    }
  } else {
    // Nucleus: the most probable tokens whose mass first reaches top_p, renormalised.
    const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => probs[b]! - probs[a]! || a - b);
    let kept = 0;
    let mass = 0;
    while (kept < V && mass < topP * z) mass += probs[order[kept++]!]!;
    const target = u * mass;
    let acc = 0;
    token = order[kept - 1]!;
    for (let r = 0; r < kept; r++) {
      acc += probs[order[r]!]!;
      if (acc > target) {
        token = order[r]!;
        break;
      }
    }
  }
  return { token, logprob: logprobOf(token) };
}

// ---------------------------------------------------------------------------------------
// Teacher forcing

/** Prompts and responses laid out for one forward pass; see the layout note in policy.ts. */
export interface ResponseBatch {
  pack: PromptPack;
  /** Longest response in the batch. */
  responseLen: number;
  /** [B * R] response ids, right-padded. */
  responseIds: Int32Array;
  responsePos: Int32Array;
  /** Frame and previous ids of each response slot (text_frames, prev_tokens). */
  responseText: TextFeatures;
  /** [B * R] 1 on real response tokens. */
  responseMask: Float32Array;
}

/** Text features of right-padded response ids [B * R], continuing each row's walk from its prompt. */
function responseFeatures(policy: Policy, pack: PromptPack, responseIds: Int32Array, R: number): TextFeatures {
  const out = newTextFeatures(policy.config, pack.batch * R);
  for (let b = 0; b < pack.batch; b++) {
    const walk = copyTextWalk(pack.walkAfterPrompt[b]!);
    for (let j = 0; j < R; j++) stepTextWalk(policy.config, walk, responseIds[b * R + j]!, out, b * R + j);
  }
  return out;
}

export function collate(policy: Policy, prompts: readonly PolicyPrompt[], responses: readonly (readonly number[])[]): ResponseBatch {
  if (prompts.length !== responses.length) throw new Error(`collate: ${prompts.length} prompts but ${responses.length} responses`);
  const pack = packPrompts(policy, prompts);
  const R = Math.max(1, ...responses.map((r) => r.length));
  const B = prompts.length;
  const responseIds = new Int32Array(B * R);
  const responsePos = new Int32Array(B * R);
  const responseMask = new Float32Array(B * R);
  responses.forEach((r, b) => {
    const start = pack.responseStart[b]!;
    if (start + r.length > policy.config.max_text_len) {
      throw new Error(`collate: row ${b} has ${start} prompt + ${r.length} response tokens, max_text_len is ${policy.config.max_text_len}`);
    }
    for (let j = 0; j < r.length; j++) {
      responseIds[b * R + j] = r[j]!;
      responsePos[b * R + j] = start + j;
      responseMask[b * R + j] = 1;
    }
  });
  return { pack, responseLen: R, responseIds, responsePos, responseText: responseFeatures(policy, pack, responseIds, R), responseMask };
}

/** Text positions [B * (V + P + R)] of a batch's rows: visual 0, prompt, then response. */
function fullPositions(batch: ResponseBatch): Int32Array {
  const { pack, responseLen: R } = batch;
  const prefix = prefixPositions(pack);
  const L = pack.visualLen + pack.promptLen;
  const out = new Int32Array(pack.batch * (L + R));
  for (let b = 0; b < pack.batch; b++) {
    out.set(prefix.subarray(b * L, (b + 1) * L), b * (L + R));
    out.set(batch.responsePos.subarray(b * R, (b + 1) * R), b * (L + R) + L);
  }
  return out;
}

/**
 * Token ids [B * (V+P+R)] of rows laid out as [visual | prompt | response], and per row which
 * slots the copy head may point at: real text tokens (never visual slots or padding); the
 * slot whose hidden state keys each slot, and which slots are option letters.
 */
function copySlots(policy: Policy, pack: PromptPack, responseIds: Int32Array, responseMask: Float32Array, R: number): { ids: Int32Array; mask: Float32Array[]; keySlot: Int32Array; labels: Float32Array } {
  const V = pack.visualLen;
  const P = pack.promptLen;
  const L = V + P + R;
  const shift = policy.config.induction_keys ? 1 : 0; // a response slot is never a row's first text token
  const ids = new Int32Array(pack.batch * L);
  const keySlot = new Int32Array(pack.batch * L);
  const labels = new Float32Array(pack.batch * L);
  const mask = pack.keyMask.map((m, b) => {
    const row = new Float32Array(L);
    for (let j = 0; j < L; j++) keySlot[b * L + j] = j;
    for (let j = 0; j < P; j++) {
      ids[b * L + V + j] = pack.promptIds[b * P + j]!;
      keySlot[b * L + V + j] = pack.promptKeySlot[b * P + j]!;
      labels[b * L + V + j] = pack.promptLabels[b * P + j]!;
      row[V + j] = m[V + j]!;
    }
    for (let j = 0; j < R; j++) {
      ids[b * L + V + P + j] = responseIds[b * R + j]!;
      keySlot[b * L + V + P + j] = V + P + j - shift;
      row[V + P + j] = responseMask[b * R + j]!;
    }
    return row;
  });
  return { ids, mask, keySlot, labels };
}

/**
 * Copy keys [B, S, d] of the first S slots of hidden [B, L, d], slot j keyed by the hidden
 * state of keySlot[j], plus the label role where labels[j] (see copySlots).
 */
function copyKeysOf(policy: Policy, hidden: tf.Tensor3D, slots: { keySlot: Int32Array; labels: Float32Array }, S: number): tf.Tensor3D {
  const [B, L, d] = hidden.shape;
  return tf.tidy(() => {
    const src = new Int32Array(B * S);
    const labels = new Float32Array(B * S);
    let moved = false;
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < S; j++) {
        src[b * S + j] = slots.keySlot[b * L + j]!;
        labels[b * S + j] = slots.labels[b * L + j]!;
        if (src[b * S + j] !== j) moved = true;
      }
    }
    const lab = labels.includes(1) ? labels : undefined;
    if (!moved) return copyKeys(policy, tf.slice(hidden, [0, 0, 0], [B, S, d]) as tf.Tensor3D, lab);
    // A one-hot selection matmul: unlike gather, its gradient needs no scatter kernel. Through
    // batchMatMul, like every other rank-3 matmul, so wasm runs it on XNNPACK.
    const select = tf.reshape(tf.oneHot(tf.tensor1d(src, 'int32'), L), [B, S, L]) as tf.Tensor3D;
    return copyKeys(policy, batchMatMul(select, hidden), lab);
  });
}

type VisualTargets = ReturnType<typeof visualCopyTargets>;

/** A copy memory over text slots with the patch tokens' cell targets (if any) in front. */
function withVisual(text: CopyMemory, vis: VisualTargets | null, n: number): CopyMemory {
  if (!vis) return text;
  const [B, S] = text.keys.shape;
  const W = vis.keys.shape[1];
  const ids = new Int32Array(B * (W + S));
  const bias = new Float32Array(B * W);
  for (let b = 0; b < B; b++) {
    ids.set(vis.ids.subarray(b * W, (b + 1) * W), b * (W + S));
    ids.set(text.ids.subarray(b * S, (b + 1) * S), b * (W + S) + W);
    for (let j = 0; j < W; j++) bias[b * W + j] = vis.mask[b * W + j]! > 0 ? 0 : -1e9;
  }
  return {
    keys: tf.concat([vis.keys, text.keys], 1) as tf.Tensor3D,
    ids,
    bias: tf.concat([tf.tile(tf.tensor4d(bias, [B, 1, 1, W]), [1, 1, n, 1]), text.bias], 3) as tf.Tensor4D,
  };
}

/** Cell targets of a pack's patch tokens from hidden states whose first V slots are visual. */
function visualTargetsOf(policy: Policy, pack: PromptPack, hidden: tf.Tensor3D): VisualTargets | null {
  if (!policy.config.cell_tokens || pack.visualLen === 0) return null;
  const [B, , d] = hidden.shape;
  return visualCopyTargets(policy, pack, tf.slice(hidden, [0, 0, 0], [B, pack.visualLen, d]) as tf.Tensor3D);
}

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
function nextTokensAt(policy: Policy, hidden: tf.Tensor3D, batch: ResponseBatch, from: number, n: number): { logits: tf.Tensor2D; pointer: tf.Tensor2D | null; vocab: tf.Tensor2D | null } {
  const [B, , d] = hidden.shape;
  const [logits, pointer, vocab] = tf.tidy(() => {
    const h = tf.slice(hidden, [0, from, 0], [B, n, d]) as tf.Tensor3D;
    if (!policy.config.copy_head) return [nextTokenLogits(policy, h, null)];
    const states = pointerStatesFull(policy, batch, hidden);
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
function forwardFull(policy: Policy, batch: ResponseBatch): tf.Tensor3D {
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

/** Embeddings [B, V+P+R, d] of a batch's [visual | prompt | response] slots. */
function embedFull(policy: Policy, batch: ResponseBatch, tables: EmbeddingTables = 'trunk'): tf.Tensor3D {
  const { pack, responseLen: R } = batch;
  return tf.tidy(() => R > 0
    ? tf.concat([embedPrefix(policy, pack, tables), embedTokens(policy, batch.responseIds, batch.responsePos, pack.batch, R, batch.responseText, tables)], 1) as tf.Tensor3D
    : embedPrefix(policy, pack, tables));
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
    const hidden = forwardFull(policy, batch);
    // Position prefixLen - 1 + j predicts response token j.
    const next = nextTokensAt(policy, hidden, batch, prefixLen - 1, R);
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

// ---------------------------------------------------------------------------------------
// Generation

export interface GenerateOptions {
  num_generations?: number;
  /** 0 = greedy. */
  temperature?: number;
  top_p?: number;
  max_completion_length: number;
  seed?: number;
  eosId: number;
  padId?: number;
  /** false = recompute the whole prefix every step (for benchmarks and equality tests). */
  useCache?: boolean;
}

export interface GenerateResult {
  /** Rows are prompt-major: row p * num_generations + g. Includes the EOS token when one was sampled. */
  tokens: number[][];
  logprobs: number[][];
  /** True when a row hit max_completion_length without EOS. */
  truncated: boolean[];
  /** Index of the prompt each row answers. */
  promptIndex: number[];
}

export function generate(policy: Policy, prompts: readonly PolicyPrompt[], opts: GenerateOptions): GenerateResult {
  const G = opts.num_generations ?? 1;
  const temperature = opts.temperature ?? 1;
  const topP = opts.top_p ?? 1;
  let maxLen = opts.max_completion_length;
  const padId = opts.padId ?? 0;
  const useCache = opts.useCache ?? true;
  const rand = mulberry32(opts.seed ?? 0);
  const rows: PolicyPrompt[] = [];
  const promptIndex: number[] = [];
  prompts.forEach((pr, i) => {
    for (let g = 0; g < G; g++) {
      rows.push(pr);
      promptIndex.push(i);
    }
  });
  const B = rows.length;
  const pack = packPrompts(policy, rows);
  // A prompt near the position limit shortens the completion budget rather than failing
  // a whole batch; rows cut there are reported as truncated.
  const longest = Math.max(...pack.responseStart);
  maxLen = Math.min(maxLen, policy.config.max_text_len - longest);
  if (maxLen < 1) throw new Error(`generate: prompt of ${longest} tokens leaves no room under max_text_len ${policy.config.max_text_len}`);
  const prefixLen = pack.visualLen + pack.promptLen;
  const V = policy.config.vocab_size;
  const keyMask = pack.keyMask.map((m) => {
    const row = new Float32Array(prefixLen + maxLen);
    row.set(m);
    return row;
  });
  const tokens: number[][] = rows.map(() => []);
  const logprobs: number[][] = rows.map(() => []);
  const done: boolean[] = rows.map(() => false);
  const walks = pack.walkAfterPrompt.map(copyTextWalk);
  // The copy head's memory while sampling: keys of every slot so far, and the slots' ids and
  // copy masks laid out like keyMask (visual slots never copyable).
  const copyHead = policy.config.copy_head;
  const total = prefixLen + maxLen;
  const none = new Int32Array(0);
  const prefixSlots = copyHead ? copySlots(policy, pack, none, new Float32Array(0), 0) : null;
  const slotIds = new Int32Array(B * total);
  const copyMask = keyMask.map((_, b) => {
    const row = new Float32Array(total);
    if (prefixSlots) {
      row.set(prefixSlots.mask[b]!);
      slotIds.set(prefixSlots.ids.subarray(b * prefixLen, (b + 1) * prefixLen), b * total);
    }
    return row;
  });
  let copyKeyCache: tf.Tensor3D | null = null;
  // With induction_keys, the last position's pointer state keys the next token's slot.
  const inductionKeys = copyHead && policy.config.induction_keys;
  let lastPointerState: tf.Tensor3D | null = null;
  const ownPointer = policy.config.pointer_layers > 0;
  let visualTargets: VisualTargets | null = null;
  /** Copy memory over the first S slots for n queries ending at slot S - 1 (keys given). */
  const memory = (keys: tf.Tensor3D, S: number, n: number): CopyMemory => {
    const ids = new Int32Array(B * S);
    for (let b = 0; b < B; b++) ids.set(slotIds.subarray(b * total, b * total + S), b * S);
    return withVisual({ keys, ids, bias: attentionBias(copyMask, S - n, n) }, visualTargets, n);
  };

  let cache: KVCache | null = null;
  let lastLogits: Float32Array;
  if (useCache) {
    const out = tf.tidy(() => {
      const bias = attentionBias(keyMask, 0, prefixLen);
      const { hidden, cache: c } = transformer(policy, embedPrefix(policy, pack), bias, null, true, prefixPositions(pack));
      const lastOf = (t: tf.Tensor3D) => tf.slice(t, [0, prefixLen - 1, 0], [B, 1, policy.config.d_model]) as tf.Tensor3D;
      const states = ownPointer ? pointerStates(policy, embedPrefix(policy, pack, 'pointer'), hidden) : hidden;
      const keys = prefixSlots ? copyKeysOf(policy, states, prefixSlots, prefixLen) : null;
      if (inductionKeys) lastPointerState = tf.keep(lastOf(states));
      if (copyHead) {
        visualTargets = visualTargetsOf(policy, pack, states);
        if (visualTargets) tf.keep(visualTargets.keys);
      }
      const logits = nextTokenLogits(policy, lastOf(hidden), keys ? memory(keys, prefixLen, 1) : null, ownPointer ? lastOf(states) : undefined);
      return { logits, k: c!.k, v: c!.v, keys: keys ?? undefined };
    });
    cache = { k: out.k, v: out.v, length: prefixLen };
    copyKeyCache = out.keys ?? null;
    lastLogits = out.logits.dataSync() as Float32Array;
    out.logits.dispose();
  } else {
    lastLogits = naiveLastLogits(policy, pack, tokens, keyMask, 0, padId);
  }

  for (let step = 0; step < maxLen; step++) {
    const fed = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      const u = rand(); // drawn for every row so streams do not depend on which rows finished
      if (done[b]) {
        fed[b] = padId;
        continue;
      }
      const { token, logprob } = sampleToken(lastLogits.subarray(b * V, (b + 1) * V), temperature, topP, u);
      tokens[b]!.push(token);
      logprobs[b]!.push(logprob);
      fed[b] = token;
      keyMask[b]![prefixLen + step] = 1;
      copyMask[b]![prefixLen + step] = 1;
      slotIds[b * total + prefixLen + step] = token;
      if (token === opts.eosId) done[b] = true;
    }
    if (done.every(Boolean) || step === maxLen - 1) break;
    if (useCache) {
      const pos = new Int32Array(B);
      const text = newTextFeatures(policy.config, B);
      for (let b = 0; b < B; b++) {
        pos[b] = Math.min(pack.responseStart[b]! + step, policy.config.max_text_len - 1);
        stepTextWalk(policy.config, walks[b]!, fed[b]!, text, b);
      }
      const out = tf.tidy(() => {
        const x = embedTokens(policy, fed, pos, B, 1, text);
        const bias = attentionBias(keyMask, cache!.length, 1);
        const { hidden, cache: c } = transformer(policy, x, bias, cache, true, pos);
        const states = ownPointer ? pointerStates(policy, embedTokens(policy, fed, pos, B, 1, text, 'pointer'), hidden) : hidden;
        const keys = copyKeyCache ? tf.concat([copyKeyCache, copyKeys(policy, inductionKeys ? lastPointerState! : states)], 1) as tf.Tensor3D : null;
        if (inductionKeys) {
          lastPointerState!.dispose();
          lastPointerState = tf.keep(states);
        }
        const logits = nextTokenLogits(policy, hidden, keys ? memory(keys, cache!.length + 1, 1) : null, ownPointer ? states : undefined);
        return { logits, k: c!.k, v: c!.v, keys: keys ?? undefined };
      });
      const next: KVCache = { k: out.k, v: out.v, length: cache!.length + 1 };
      disposeCache(cache);
      cache = next;
      copyKeyCache?.dispose();
      copyKeyCache = out.keys ?? null;
      lastLogits = out.logits.dataSync() as Float32Array;
      out.logits.dispose();
    } else {
      lastLogits = naiveLastLogits(policy, pack, tokens, keyMask, step + 1, padId);
    }
  }
  disposeCache(cache);
  copyKeyCache?.dispose();
  (lastPointerState as tf.Tensor3D | null)?.dispose();
  (visualTargets as VisualTargets | null)?.keys.dispose();
  return { tokens, logprobs, truncated: done.map((d) => !d), promptIndex };
}

/** Next-token logits [B * V] after recomputing the prefix plus `len` generated tokens. */
function naiveLastLogits(policy: Policy, pack: PromptPack, tokens: number[][], keyMask: Float32Array[], len: number, padId: number): Float32Array {
  const B = pack.batch;
  const prefixLen = pack.visualLen + pack.promptLen;
  const responseIds = new Int32Array(B * len);
  const responsePos = new Int32Array(B * len);
  const responseMask = new Float32Array(B * len);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < len; j++) {
      responseIds[b * len + j] = tokens[b]![j] ?? padId;
      responsePos[b * len + j] = Math.min(pack.responseStart[b]! + j, policy.config.max_text_len - 1);
      responseMask[b * len + j] = keyMask[b]![prefixLen + j]!;
    }
  }
  const logits = tf.tidy(() => {
    const responseText = responseFeatures(policy, pack, responseIds, len);
    const batch = { pack, responseLen: len, responseIds, responsePos, responseText, responseMask };
    return nextTokensAt(policy, forwardFull(policy, batch), batch, prefixLen + len - 1, 1).logits;
  });
  const data = logits.dataSync() as Float32Array;
  logits.dispose();
  return data;
}
