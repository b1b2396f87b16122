// Generation: batched sampling with a KV cache (or naive prefix recompute, for benchmarks and
// equality tests). Log-probs follow the convention in forward.ts, so the log-probs the
// sampler returns equal the teacher-forced ones for the same tokens and temperature.
import * as tf from '@tensorflow/tfjs-core';
import { copyKeys, copyKeysOf, copySlots, nextTokenLogits, pointerStates, visualTargetsOf, withVisual, type CopyMemory, type VisualTargets } from './copy-head';
import { embedPrefix, embedTokens } from './embed';
import { forwardFull, nextTokensAt } from './forward';
import { copyTextWalk, newTextFeatures, packPrompts, prefixPositions, responseFeatures, stepTextWalk, type PolicyPrompt, type PromptPack } from './inputs';
import type { Policy } from './policy';
import { attentionBias, disposeCache, transformer, type KVCache } from './transformer';

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


export interface GenerateOptions {
  num_generations?: number;
  /** 0 = greedy. */
  temperature?: number;
  top_p?: number;
  max_completion_length: number;
  seed?: number;
  /**
   * One seed per prompt: each prompt's rows draw from their own stream, so a group's samples
   * do not depend on which other prompts share the batch (or the thread). Replaces `seed`.
   */
  seeds?: readonly number[];
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
  if (opts.seeds && opts.seeds.length !== prompts.length) throw new Error(`generate: ${opts.seeds.length} seeds for ${prompts.length} prompts`);
  const groupRands = opts.seeds?.map((s) => mulberry32(s)) ?? null;
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
      // Drawn for every row so streams do not depend on which rows finished.
      const u = groupRands ? groupRands[promptIndex[b]!]!() : rand();
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
