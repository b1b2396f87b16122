// The policy every stage shares: a patch-embedding frame encoder feeding a causal,
// pre-LayerNorm transformer decoder over [visual tokens | prompt tokens | response tokens].
// Written as plain functions over a map of tf.Variables, in the spirit of nanoGPT.
//
// Layout of a batch row (the same for sampling, naive recompute and teacher forcing, so
// their log-probs agree): V visual slots (frame-major; rows with fewer visual tokens mask
// the rest), then the prompt LEFT-padded to the batch's longest prompt, then the response.
//
// Visual tokens. With keep_patches = 0 every frame becomes its patch_grid^2 patches. With
// keep_patches = N > 0 a frame becomes one whole-frame token (the frame average-pooled to
// one patch) plus at most N salient patches: the benchmark draws objects in saturated
// colours on a grey checkerboard, so grey patches say nothing, and dropping them lets a
// fine grid (one patch per cell, which is what makes positions readable) cost no more
// tokens than a coarse one. Each token carries a learned embedding of its grid cell and of
// its frame, so "where" and "when" are inputs rather than something to decode from pixels. Padding is masked out of attention, and text positions count real
// tokens only, so padding does not change any row's numbers.
//
// The forward pass, in reading order: config.ts (sizes, presets), inputs.ts (prompts and
// responses as plain data), embed.ts, transformer.ts, copy-head.ts (the output head),
// forward.ts (full pass, teacher-forced log-probs), sample.ts (generation); matmul.ts holds
// the wasm kernels. This file holds the parameters: their names, shapes and initialisation.
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's Node entry registers no gradients; ./gradients does (see there).
import './gradients';
import { patchDim, spatialSlots, validateConfig, type PolicyConfig } from './config';

export interface Policy {
  config: PolicyConfig;
  /** Short name ("h0.attn_qkv_w") -> variable. Insertion order is the canonical order. */
  params: Map<string, tf.Variable>;
}

let policyCounter = 0;

/** Parameter names and shapes, in canonical order. */
export function parameterShapes(c: PolicyConfig): [string, number[]][] {
  const d = c.d_model;
  const shapes: [string, number[]][] = [
    ['wte', [c.vocab_size, d]],
    ['wpe', [c.max_text_len, d]],
    ['patch_w', [patchDim(c), d]],
    ['patch_b', [d]],
    ['vis_spatial', [spatialSlots(c), d]],
    ['vis_temporal', [c.max_frames, d]],
    ...(c.prev_tokens > 0 ? [['prev_w', [c.prev_tokens * d, d]] as [string, number[]]] : []),
    ...(c.number_values ? [['num_dir', [1, d]] as [string, number[]]] : []),
  ];
  for (let l = 0; l < c.n_layer; l++) {
    shapes.push(
      [`h${l}.ln1_g`, [d]], [`h${l}.ln1_b`, [d]],
      [`h${l}.attn_qkv_w`, [d, 3 * d]], [`h${l}.attn_qkv_b`, [3 * d]],
      [`h${l}.attn_proj_w`, [d, d]], [`h${l}.attn_proj_b`, [d]],
      [`h${l}.ln2_g`, [d]], [`h${l}.ln2_b`, [d]],
      [`h${l}.mlp_fc_w`, [d, c.d_ff]], [`h${l}.mlp_fc_b`, [c.d_ff]],
      [`h${l}.mlp_proj_w`, [c.d_ff, d]], [`h${l}.mlp_proj_b`, [d]],
    );
  }
  shapes.push(['lnf_g', [d]], ['lnf_b', [d]]);
  if (!c.tie_embeddings) shapes.push(['lm_head', [d, c.vocab_size]]);
  if (c.copy_head) shapes.push(['copy_q_w', [d, d]], ['copy_k_w', [d, d]], ['copy_gate_w', [d, 1]], ['copy_gate_b', [1]]);
  if (c.copy_head && c.cell_tokens) shapes.push(['copy_cell_roles', [2, d]]);
  if (c.copy_head && c.option_labels) shapes.push(['copy_label_role', [1, d]]);
  if (c.copy_head && c.pointer_layers > 0) {
    shapes.push(['ptr.wte', [c.vocab_size, d]], ['ptr.frame', [c.max_frames, d]], ['ptr.patch_w', [patchDim(c), d]], ['ptr.patch_b', [d]], ['ptr.cell', [spatialSlots(c), d]]);
    if (c.prev_tokens > 0) shapes.push(['ptr.prev_w', [c.prev_tokens * d, d]]);
    for (let l = 0; l < c.pointer_layers; l++) {
      shapes.push([`ptr${l}.ln_g`, [d]], [`ptr${l}.ln_b`, [d]], [`ptr${l}.mlp_fc_w`, [d, c.d_ff]], [`ptr${l}.mlp_fc_b`, [c.d_ff]], [`ptr${l}.mlp_proj_w`, [c.d_ff, d]], [`ptr${l}.mlp_proj_b`, [d]]);
    }
    shapes.push(['ptr.lnf_g', [d]], ['ptr.lnf_b', [d]]);
  }
  return shapes;
}

export function countParameters(c: PolicyConfig): number {
  return parameterShapes(c).reduce((n, [, s]) => n + s.reduce((a, b) => a * b, 1), 0);
}

/** Wrap tensors (taken over, not copied) as a policy's variables. */
export function policyFromTensors(config: PolicyConfig, tensors: Map<string, tf.Tensor>, trainable = true): Policy {
  validateConfig(config);
  const id = ++policyCounter;
  const params = new Map<string, tf.Variable>();
  for (const [name, shape] of parameterShapes(config)) {
    const t = tensors.get(name);
    if (!t) throw new Error(`policy: missing parameter ${name}`);
    if (t.shape.join(',') !== shape.join(',')) throw new Error(`policy: parameter ${name} has shape [${t.shape}] but config needs [${shape}]`);
    params.set(name, tf.variable(t, trainable, `policy${id}/${name}`));
  }
  return { config, params };
}

/** GPT-2 initialisation: N(0, 0.02), residual projections scaled by 1/sqrt(2 n_layer). */
export function createPolicy(config: PolicyConfig, seed = 0): Policy {
  validateConfig(config);
  const tensors = new Map<string, tf.Tensor>();
  let k = 0;
  for (const [name, shape] of parameterShapes(config)) {
    k++;
    const leaf = name.split('.').pop()!;
    let t: tf.Tensor;
    if (name === 'vis_spatial') t = gridEmbeddingInit(config, seed * 1000 + k);
    else if (leaf.endsWith('_g')) t = tf.ones(shape);
    else if (leaf.endsWith('_b')) t = tf.zeros(shape);
    else {
      const std = leaf.endsWith('proj_w') ? 0.02 / Math.sqrt(2 * config.n_layer) : 0.02;
      t = tf.randomNormal(shape, 0, std, 'float32', seed * 1000 + k);
    }
    tensors.set(name, t);
  }
  const policy = policyFromTensors(config, tensors);
  tf.dispose([...tensors.values()]); // variables hold their own reference to the data
  return policy;
}

/**
 * Cell (x, y) starts as row[y] + col[x], so cells sharing a row or column start out alike
 * and reading coordinates off the embedding is learnable from few examples.
 */
function gridEmbeddingInit(c: PolicyConfig, seed: number): tf.Tensor {
  return tf.tidy(() => {
    const g = c.patch_grid;
    const std = 0.02 / Math.SQRT2;
    const rows = tf.randomNormal([g, 1, c.d_model], 0, std, 'float32', seed);
    const cols = tf.randomNormal([1, g, c.d_model], 0, std, 'float32', seed + 7919);
    const cells = tf.reshape(tf.add(rows, cols), [g * g, c.d_model]);
    if (spatialSlots(c) === g * g) return cells;
    return tf.concat([cells, tf.randomNormal([1, c.d_model], 0, 0.02, 'float32', seed + 104729)]);
  });
}

export function disposePolicy(policy: Policy): void {
  for (const v of policy.params.values()) v.dispose();
  policy.params.clear();
}

/** A policy's parameter by short name; a missing name is a programming error. */
export function param(policy: Policy, name: string): tf.Variable {
  const v = policy.params.get(name);
  if (!v) throw new Error(`policy: no parameter ${name}`);
  return v;
}
