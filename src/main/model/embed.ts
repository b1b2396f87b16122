// Input embeddings: text tokens (with position, frame and previous-token features) and
// visual patches (with cell and frame), through the trunk's tables or the copy head's own.
//
// Lookups are one-hot matmuls rather than tf.gather: the wasm backend has no
// UnsortedSegmentSum kernel, which gather's gradient needs.
import * as tf from '@tensorflow/tfjs-core';
import { patchDim, spatialSlots, type PolicyConfig } from './config';
import type { ResponseBatch, PromptPack, TextFeatures } from './inputs';
import { linear } from './layers';
import { param, type Policy } from './policy';


/**
 * Which embedding tables a slot is read through: the trunk's, or the copy head's own
 * (pointer_layers > 0), which has no position embedding (a pointer matches content, and
 * where to copy from is not a fixed offset).
 */
export type EmbeddingTables = 'trunk' | 'pointer';

const TABLES: Record<EmbeddingTables, { wte: string; wpe: string | null; frame: string; prev: string; patch_w: string; patch_b: string; cell: string }> = {
  trunk: { wte: 'wte', wpe: 'wpe', frame: 'vis_temporal', prev: 'prev_w', patch_w: 'patch_w', patch_b: 'patch_b', cell: 'vis_spatial' },
  pointer: { wte: 'ptr.wte', wpe: null, frame: 'ptr.frame', prev: 'ptr.prev_w', patch_w: 'ptr.patch_w', patch_b: 'ptr.patch_b', cell: 'ptr.cell' },
};

const numberValueCache = new WeakMap<number[], tf.Tensor2D>();
/** [vocab, 1]: k / 8 in the row of number k's token, 0 elsewhere (see number_tokens). */
function numberValues(c: PolicyConfig): tf.Tensor2D {
  let v = numberValueCache.get(c.number_tokens!);
  if (!v) {
    const col = new Float32Array(c.vocab_size);
    c.number_tokens!.forEach((id, k) => (col[id] = k / 8));
    v = tf.keep(tf.tensor2d(col, [c.vocab_size, 1]));
    numberValueCache.set(c.number_tokens!, v);
  }
  return v;
}

/**
 * Token embeddings + text position embeddings (+ the frame each token talks about and a map
 * of the tokens before it, when text_frames / prev_tokens are on): ids, pos [B, n] -> [B, n, d].
 */
export function embedTokens(policy: Policy, ids: Int32Array, pos: Int32Array, B: number, n: number, text?: TextFeatures, tables: EmbeddingTables = 'trunk'): tf.Tensor3D {
  const c = policy.config;
  const N = B * n;
  const t = TABLES[tables];
  if ((c.text_frames || c.prev_tokens > 0) && (text?.frame.length !== N || text.prev.length !== N * c.prev_tokens)) {
    throw new Error(`policy: text_frames / prev_tokens need text features for ${N} slots`);
  }
  return tf.tidy(() => {
    const wte = tables === 'trunk' && c.number_values ? tf.add(param(policy, t.wte), tf.matMul(numberValues(c), param(policy, 'num_dir'))) : param(policy, t.wte);
    const oneTok = tf.oneHot(tf.tensor1d(ids, 'int32'), c.vocab_size);
    let e = tf.matMul(oneTok, wte);
    if (t.wpe) e = tf.add(e, tf.matMul(tf.oneHot(tf.tensor1d(pos, 'int32'), c.max_text_len), param(policy, t.wpe)));
    if (c.text_frames) {
      // Column 0 of the one-hot is "no frame yet", which adds nothing.
      const oneFrame = tf.slice(tf.oneHot(tf.tensor1d(text!.frame, 'int32'), c.max_frames + 1), [0, 1], [N, c.max_frames]);
      e = tf.add(e, tf.matMul(oneFrame, param(policy, t.frame)));
    }
    if (c.prev_tokens > 0) {
      // sum_s wte[prev_s] @ prev_w[s]. Id vocab_size ("nothing there") embeds as zeros.
      const S = c.prev_tokens;
      const d = c.d_model;
      if (N > c.vocab_size) {
        // Many slots (training, a prompt): per offset s, one lookup in the table
        // wte @ prev_w[s] [vocab, d], which costs vocab rows once instead of a [d, d] map per
        // slot. Offset by offset, so the one-hot is [N, vocab], not [N, S * vocab]: for 64 sampled
        // rows of a 197-token scene text the latter is a 90 MB block, which fails once the
        // heap nears tfjs-wasm's limit.
        const nothing = tf.zeros([1, d]);
        const ids = new Int32Array(N);
        for (let o = 0; o < S; o++) {
          for (let i = 0; i < N; i++) ids[i] = text!.prev[i * S + o]!;
          const table = tf.concat([tf.matMul(wte, tf.slice(param(policy, t.prev), [o * d, 0], [d, d])), nothing]);
          e = tf.add(e, tf.matMul(tf.oneHot(tf.tensor1d(ids, 'int32'), c.vocab_size + 1), table));
        }
      } else {
        // Few slots (a sampling step): the tables would cost more than the map.
        const onePrev = tf.slice(tf.oneHot(tf.tensor1d(text!.prev, 'int32'), c.vocab_size + 1), [0, 0], [N * S, c.vocab_size]);
        const prevEmb = tf.reshape(tf.matMul(onePrev, wte), [N, S * d]);
        e = tf.add(e, tf.matMul(prevEmb, param(policy, t.prev)));
      }
    }
    return tf.reshape(e, [B, n, c.d_model]) as tf.Tensor3D;
  });
}

/** Visual tokens: linear patch embedding + cell and frame embeddings -> [B, V, d]. */
export function embedVisual(policy: Policy, pack: PromptPack, tables: EmbeddingTables = 'trunk'): tf.Tensor3D {
  const c = policy.config;
  const B = pack.batch;
  const V = pack.visualLen;
  const t = TABLES[tables];
  return tf.tidy(() => {
    const x = tf.tensor2d(pack.patches, [B * V, patchDim(c)]);
    const cell = tf.matMul(tf.oneHot(tf.tensor1d(pack.visualCell, 'int32'), spatialSlots(c)), param(policy, t.cell));
    const frame = tf.matMul(tf.oneHot(tf.tensor1d(pack.visualFrame, 'int32'), c.max_frames), param(policy, t.frame));
    const e = tf.add(linear(x, param(policy, t.patch_w), param(policy, t.patch_b)), tf.add(cell, frame));
    return tf.reshape(e, [B, V, c.d_model]) as tf.Tensor3D;
  });
}

/** [visual | prompt] embeddings of a pack -> [B, V + P, d]. */
export function embedPrefix(policy: Policy, pack: PromptPack, tables: EmbeddingTables = 'trunk'): tf.Tensor3D {
  return tf.tidy(() => {
    const text = embedTokens(policy, pack.promptIds, pack.promptPos, pack.batch, pack.promptLen, pack.promptText, tables);
    if (pack.visualLen === 0) return text;
    return tf.concat([embedVisual(policy, pack, tables), text], 1) as tf.Tensor3D;
  });
}

/** Embeddings [B, V+P+R, d] of a batch's [visual | prompt | response] slots. */
export function embedFull(policy: Policy, batch: ResponseBatch, tables: EmbeddingTables = 'trunk'): tf.Tensor3D {
  const { pack, responseLen: R } = batch;
  return tf.tidy(() => R > 0
    ? tf.concat([embedPrefix(policy, pack, tables), embedTokens(policy, batch.responseIds, batch.responsePos, pack.batch, R, batch.responseText, tables)], 1) as tf.Tensor3D
    : embedPrefix(policy, pack, tables));
}
