// The output head: the vocabulary head mixed with a copy pointer over earlier text slots and
// the patch tokens' cells (pointer-generator, see PolicyConfig.copy_head), and the copy
// memory's layout (which slot keys which, which slots may be copied).
import * as tf from '@tensorflow/tfjs-core';
import type { PromptPack } from './inputs';
import { gelu, layerNorm, linear, stopGradient } from './layers';
import { batchMatMul } from './matmul';
import { param, type Policy } from './policy';

/**
 * The copy head's own states [B, n, d] (pointer_layers > 0) of slots embedded through the
 * pointer tables (x) whose trunk hidden states are `hidden`: residual MLP blocks over x, a
 * final LayerNorm, plus the trunk states with their gradient stopped. Each slot is
 * processed alone, so sampling needs no cache for it.
 */
export function pointerStates(policy: Policy, x: tf.Tensor3D, hidden: tf.Tensor3D): tf.Tensor3D {
  const c = policy.config;
  const [B, n, d] = x.shape;
  return tf.tidy(() => {
    let h: tf.Tensor = tf.reshape(x, [B * n, d]);
    for (let l = 0; l < c.pointer_layers; l++) {
      const L = (s: string) => param(policy, `ptr${l}.${s}`);
      const m = layerNorm(h, L('ln_g'), L('ln_b'));
      h = tf.add(h, linear(gelu(linear(m, L('mlp_fc_w'), L('mlp_fc_b'))), L('mlp_proj_w'), L('mlp_proj_b')));
    }
    const own = tf.reshape(layerNorm(h, param(policy, 'ptr.lnf_g'), param(policy, 'ptr.lnf_b')), [B, n, d]);
    return tf.add(own, stopGradient(hidden)) as tf.Tensor3D;
  });
}

/**
 * Copy-head keys [B, S, d] of the states the pointer reads [B, S, d] (the final hidden
 * states, or pointerStates with pointer_layers; kept in the cache while sampling). Slots flagged in `labels` [B * S] (option letters keyed by their option's last
 * word) add copy_label_role first, so a letter's key differs from that word's own.
 */
export function copyKeys(policy: Policy, hidden: tf.Tensor3D, labels?: Float32Array): tf.Tensor3D {
  const [B, S, d] = hidden.shape;
  return tf.tidy(() => {
    const h = labels ? tf.add(hidden, tf.mul(tf.tensor3d(labels, [B, S, 1]), tf.reshape(param(policy, 'copy_label_role'), [1, 1, d]))) : hidden;
    return tf.reshape(tf.matMul(tf.reshape(h, [B * S, d]) as tf.Tensor2D, param(policy, 'copy_k_w')), [B, S, d]) as tf.Tensor3D;
  });
}

/**
 * Pointer targets of a pack's patch tokens (cell_tokens with copy_head): keys [B, 2V, d] of
 * pointer-read states hv [B, V, d] (see copyKeys) plus the column role, then plus the row role; ids the
 * column / row numbers; mask 0 on whole-frame tokens and padding. Visual slots precede all
 * text, so every query may point at them.
 */
export function visualCopyTargets(policy: Policy, pack: PromptPack, hv: tf.Tensor3D): { keys: tf.Tensor3D; ids: Int32Array; mask: Float32Array } {
  const c = policy.config;
  const [B, V, d] = hv.shape;
  const g = c.patch_grid;
  const ids = new Int32Array(B * 2 * V);
  const mask = new Float32Array(B * 2 * V);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < V; j++) {
      const cell = pack.visualCell[b * V + j]!;
      if (!pack.keyMask[b]![j] || cell >= g * g) continue;
      ids[b * 2 * V + j] = c.cell_tokens![cell % g]!;
      ids[b * 2 * V + V + j] = c.cell_tokens![Math.floor(cell / g)]!;
      mask[b * 2 * V + j] = 1;
      mask[b * 2 * V + V + j] = 1;
    }
  }
  const keys = tf.tidy(() => {
    const roles = param(policy, 'copy_cell_roles');
    const col = tf.add(hv, tf.reshape(tf.slice(roles, [0, 0], [1, d]), [1, 1, d]));
    const row = tf.add(hv, tf.reshape(tf.slice(roles, [1, 0], [1, d]), [1, 1, d]));
    return copyKeys(policy, tf.concat([col, row], 1) as tf.Tensor3D);
  });
  return { keys, ids, mask };
}

/** What the copy head can point at: keys [B, S, d], the token id in each slot, and the bias. */
export interface CopyMemory {
  keys: tf.Tensor3D;
  /** [B * S] token id of each slot (anything in masked slots). */
  ids: Int32Array;
  /** [B, 1, n, S] additive bias: 0 where query i may copy slot j (a real text slot at or before it). */
  bias: tf.Tensor4D;
}

/**
 * Next-token logits [B * n, vocab] for final hidden states h [B, n, d]. With copy_head these
 * are log p of the pointer-generator mixture (see PolicyConfig.copy_head), so
 * softmax(logits / T) is the mixture sharpened by T and every sampler and loss works on it
 * unchanged.
 */
export function nextTokenLogits(policy: Policy, h: tf.Tensor3D, copy: CopyMemory | null, pointerQueries?: tf.Tensor3D): tf.Tensor2D {
  return tf.tidy(() => nextTokenParts(policy, h, copy, pointerQueries).logits);
}

/**
 * nextTokenLogits and, with copy_head, the pointer's own distribution [B * n, vocab] before
 * the gate mixes it in (what SFT's pointer loss supervises) and the vocabulary head's own
 * logits (what SFT's vocabulary loss supervises). pointerQueries [B, n, d]: the
 * states the pointer's queries come from (pointerStates when pointer_layers > 0; else h).
 */
export function nextTokenParts(policy: Policy, h: tf.Tensor3D, copy: CopyMemory | null, pointerQueries?: tf.Tensor3D): { logits: tf.Tensor2D; pointer: tf.Tensor2D | null; vocab: tf.Tensor2D | null } {
  const c = policy.config;
  const [B, n, d] = h.shape;
  if (!c.copy_head) return { logits: lmHead(policy, tf.reshape(h, [B * n, d]) as tf.Tensor2D), pointer: null, vocab: null };
  if (!copy) throw new Error('policy: copy_head needs a copy memory');
  if (c.pointer_layers > 0 && !pointerQueries) throw new Error('policy: pointer_layers needs the pointer states of the queries');
  return tf.tidy(() => {
    const h2d = tf.reshape(h, [B * n, d]) as tf.Tensor2D;
    const S = copy.keys.shape[1];
    const q = tf.reshape(tf.matMul(pointerQueries ? tf.reshape(pointerQueries, [B * n, d]) as tf.Tensor2D : h2d, param(policy, 'copy_q_w')), [B, n, d]) as tf.Tensor3D;
    const scores = tf.add(tf.mul(batchMatMul(q, copy.keys, true), 1 / Math.sqrt(d)), tf.reshape(copy.bias, [B, n, S]));
    const slots = tf.reshape(tf.oneHot(tf.tensor1d(copy.ids, 'int32'), c.vocab_size), [B, S, c.vocab_size]) as tf.Tensor3D;
    const pointer = tf.reshape(batchMatMul(tf.softmax(scores) as tf.Tensor3D, slots), [B * n, c.vocab_size]) as tf.Tensor2D;
    const gate = tf.sigmoid(tf.add(tf.matMul(h2d, param(policy, 'copy_gate_w')), param(policy, 'copy_gate_b')));
    const vocab = lmHead(policy, h2d);
    const mix = tf.add(tf.mul(gate, tf.softmax(vocab)), tf.mul(tf.sub(1, gate), pointer));
    // The floor keeps log finite for ids neither head gives any mass (masked-out slots).
    return { logits: tf.log(tf.add(mix, 1e-20)) as tf.Tensor2D, pointer, vocab };
  });
}

/** Hidden states [N, d] -> logits [N, vocab]. */
export function lmHead(policy: Policy, h2d: tf.Tensor2D): tf.Tensor2D {
  // An explicit transpose, not matMul's transposeB flag: see batchMatMul.
  if (policy.config.tie_embeddings) return tf.matMul(h2d, tf.transpose(param(policy, 'wte')));
  return tf.matMul(h2d, param(policy, 'lm_head'));
}

/**
 * Token ids [B * (V+P+R)] of rows laid out as [visual | prompt | response], and per row which
 * slots the copy head may point at: real text tokens (never visual slots or padding); the
 * slot whose hidden state keys each slot, and which slots are option letters.
 */
export function copySlots(policy: Policy, pack: PromptPack, responseIds: Int32Array, responseMask: Float32Array, R: number): { ids: Int32Array; mask: Float32Array[]; keySlot: Int32Array; labels: Float32Array } {
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
export function copyKeysOf(policy: Policy, hidden: tf.Tensor3D, slots: { keySlot: Int32Array; labels: Float32Array }, S: number): tf.Tensor3D {
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

export type VisualTargets = ReturnType<typeof visualCopyTargets>;

/** A copy memory over text slots with the patch tokens' cell targets (if any) in front. */
export function withVisual(text: CopyMemory, vis: VisualTargets | null, n: number): CopyMemory {
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
export function visualTargetsOf(policy: Policy, pack: PromptPack, hidden: tf.Tensor3D): VisualTargets | null {
  if (!policy.config.cell_tokens || pack.visualLen === 0) return null;
  const [B, , d] = hidden.shape;
  return visualCopyTargets(policy, pack, tf.slice(hidden, [0, 0, 0], [B, pack.visualLen, d]) as tf.Tensor3D);
}
