// The causal, pre-LayerNorm transformer trunk with rotary positions and a KV cache.
import * as tf from '@tensorflow/tfjs-core';
import { batchMatMul } from './matmul';
import { gelu, layerNorm, linear } from './layers';
import { param, type Policy } from './policy';

const ROPE_BASE = 10000;

/**
 * cos and sin [B, 1, n, dh] for positions [B * n], GPT-NeoX layout (the two halves of a
 * head rotate together), and the signed permutation [dh, dh] that maps x to rotate_half(x).
 */
export function rotaryTables(positions: Int32Array, B: number, n: number, dh: number): { cos: tf.Tensor4D; sin: tf.Tensor4D; half: tf.Tensor2D } {
  const h = dh / 2;
  const cos = new Float32Array(B * n * dh);
  const sin = new Float32Array(B * n * dh);
  for (let r = 0; r < B * n; r++) {
    for (let i = 0; i < h; i++) {
      const angle = positions[r]! * ROPE_BASE ** (-i / h);
      cos[r * dh + i] = cos[r * dh + i + h] = Math.cos(angle);
      sin[r * dh + i] = sin[r * dh + i + h] = Math.sin(angle);
    }
  }
  const perm = new Float32Array(dh * dh);
  for (let i = 0; i < h; i++) {
    perm[(i + h) * dh + i] = -1; // out[i] = -x[i + h]
    perm[i * dh + i + h] = 1; // out[i + h] = x[i]
  }
  return { cos: tf.tensor4d(cos, [B, 1, n, dh]), sin: tf.tensor4d(sin, [B, 1, n, dh]), half: tf.tensor2d(perm, [dh, dh]) };
}

export function rotate(x: tf.Tensor4D, t: { cos: tf.Tensor4D; sin: tf.Tensor4D; half: tf.Tensor2D }): tf.Tensor4D {
  const [B, H, n, dh] = x.shape;
  // rotate_half as a rank-2 matmul: XNNPACK runs it, where slicing halves would copy.
  const swapped = tf.reshape(tf.matMul(tf.reshape(x, [B * H * n, dh]) as tf.Tensor2D, t.half), [B, H, n, dh]);
  return tf.add(tf.mul(x, t.cos), tf.mul(swapped, t.sin)) as tf.Tensor4D;
}

/** Keys and values of every layer for the tokens seen so far: [B, H, S, dh] each. */
export interface KVCache {
  k: tf.Tensor4D[];
  v: tf.Tensor4D[];
  length: number;
}

export function disposeCache(cache: KVCache | null): void {
  if (!cache) return;
  tf.dispose([...cache.k, ...cache.v]);
}

/**
 * Additive attention bias [B, 1, n, S + n] for n new queries at positions S..S+n-1:
 * 0 where the key is real and not in the future, -1e9 elsewhere.
 */
export function attentionBias(keyMask: readonly Float32Array[], S: number, n: number): tf.Tensor4D {
  const B = keyMask.length;
  const total = S + n;
  const keys = new Float32Array(B * total);
  keyMask.forEach((m, b) => {
    if (m.length < total) throw new Error(`policy: key mask row ${b} has ${m.length} entries, need ${total}`);
    for (let j = 0; j < total; j++) keys[b * total + j] = m[j]! > 0 ? 0 : -1e9;
  });
  const causal = new Float32Array(n * total);
  for (let i = 0; i < n; i++) for (let j = S + i + 1; j < total; j++) causal[i * total + j] = -1e9;
  return tf.tidy(() => tf.add(tf.tensor4d(keys, [B, 1, 1, total]), tf.tensor4d(causal, [1, 1, n, total])) as tf.Tensor4D);
}

/**
 * The transformer trunk. x: [B, n, d] embeddings of new tokens; past: cached keys/values
 * of the S tokens before them (or null); bias from attentionBias(keyMask, S, n); positions
 * [B * n] the text positions of the new tokens (used when config.rope; cached keys are
 * stored already rotated).
 * Returns final-LayerNorm'd hidden states [B, n, d] and, when wantCache, the extended cache
 * (the caller disposes the old one).
 */
export function transformer(
  policy: Policy,
  x: tf.Tensor3D,
  bias: tf.Tensor4D,
  past: KVCache | null,
  wantCache: boolean,
  positions?: Int32Array,
): { hidden: tf.Tensor3D; cache: KVCache | null } {
  const c = policy.config;
  const [B, n, d] = x.shape;
  const H = c.n_head;
  const dh = d / H;
  const scale = 1 / Math.sqrt(dh);
  if (c.rope && positions?.length !== B * n) throw new Error(`policy: rope needs ${B * n} positions, got ${positions?.length ?? 'none'}`);
  const newK: tf.Tensor4D[] = [];
  const newV: tf.Tensor4D[] = [];
  const hidden = tf.tidy(() => {
    const rope = c.rope ? rotaryTables(positions!, B, n, dh) : null;
    let h: tf.Tensor = x;
    for (let l = 0; l < c.n_layer; l++) {
      const L = (s: string) => param(policy, `h${l}.${s}`);
      const a = tf.reshape(layerNorm(h, L('ln1_g'), L('ln1_b')), [B * n, d]);
      const qkv = linear(a, L('attn_qkv_w'), L('attn_qkv_b'));
      // [B*n, 3d] -> q, k, v as [B, H, n, dh]
      const heads = (i: number) => tf.transpose(tf.reshape(tf.slice(qkv, [0, i * d], [B * n, d]), [B, n, H, dh]), [0, 2, 1, 3]) as tf.Tensor4D;
      let q = tf.mul(heads(0), scale) as tf.Tensor4D; // scaling q is cheaper than scaling the [n, S] scores
      let k = heads(1);
      if (rope) {
        q = rotate(q, rope);
        k = rotate(k, rope);
      }
      let v = heads(2);
      if (past) {
        k = tf.concat([past.k[l]!, k], 2);
        v = tf.concat([past.v[l]!, v], 2);
      }
      if (wantCache) {
        newK.push(tf.keep(k));
        newV.push(tf.keep(v));
      }
      const S = k.shape[2];
      const scores = tf.reshape(batchMatMul(tf.reshape(q, [B * H, n, dh]), tf.reshape(k, [B * H, S, dh]), true), [B, H, n, S]);
      const att = tf.softmax(tf.add(scores, bias));
      const out = tf.reshape(batchMatMul(tf.reshape(att, [B * H, n, S]), tf.reshape(v, [B * H, S, dh])), [B, H, n, dh]);
      const y = tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [B * n, d]);
      h = tf.add(h, tf.reshape(linear(y, L('attn_proj_w'), L('attn_proj_b')), [B, n, d]));
      const m = tf.reshape(layerNorm(h, L('ln2_g'), L('ln2_b')), [B * n, d]);
      const f = linear(gelu(linear(m, L('mlp_fc_w'), L('mlp_fc_b'))), L('mlp_proj_w'), L('mlp_proj_b'));
      h = tf.add(h, tf.reshape(f, [B, n, d]));
    }
    return layerNorm(h, param(policy, 'lnf_g'), param(policy, 'lnf_b')) as tf.Tensor3D;
  });
  const cache = wantCache ? { k: newK, v: newV, length: (past?.length ?? 0) + n } : null;
  return { hidden, cache };
}
