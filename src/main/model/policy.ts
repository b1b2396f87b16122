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
// Embedding lookups are one-hot matmuls rather than tf.gather: the wasm backend has no
// UnsortedSegmentSum kernel, which gather's gradient needs.
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's Node entry registers no gradients; ./gradients does (see there).
import './gradients';

export interface PolicyConfig {
  preset: string;
  vocab_size: number;
  d_model: number;
  n_layer: number;
  n_head: number;
  d_ff: number;
  /** Text positions (prompt + response) the model has embeddings for. */
  max_text_len: number;
  max_frames: number;
  frame_height: number;
  frame_width: number;
  /** Frames are cut into patch_grid x patch_grid patches. */
  patch_grid: number;
  /**
   * 0: every patch is a visual token. N > 0: per frame, one whole-frame token plus the N
   * most salient (colourful) patches; a single image keeps all its salient patches.
   */
  keep_patches: number;
  tie_embeddings: boolean;
  /**
   * Rotary position embeddings on queries and keys (text positions; visual tokens sit at
   * 0). Copying from the context ("frame 3 : red circle at" -> the cell after the same
   * words in the scene) needs heads that attend by relative offset, which learned absolute
   * positions alone make slow to learn.
   */
  rope: boolean;
  /**
   * Token ids of the word "frame" and of the numbers 1..max_frames (null: off). Text after
   * "frame k" (in the scene text, the question or the response) carries row k-1 of
   * vis_temporal, the embedding frame k's visual tokens carry, until the next mention. Writing
   * "frame 3 : red circle at" then needs one attention match (same frame row, same colour and
   * shape) to find the object's patch, instead of first working out from the words which
   * frame is being talked about, which a small model learns only after thousands of steps.
   */
  text_frames: TextFrames | null;
  /**
   * Each text token's input also sees the ids of the prev_tokens tokens before it, through a
   * learned [prev_tokens * d, d] map of their embeddings (0: off). Copying "red circle at" ->
   * the cell after the same words in the scene is then one attention match on features the
   * input already has; without them it needs a previous-token head in one layer feeding an
   * induction head in the next, which forms late (the "smeared key" effect).
   */
  prev_tokens: number;
  /**
   * Pointer-generator output (See et al., 2017): the next-token distribution is
   * g * softmax(lm logits) + (1 - g) * (attention of one copy head over the earlier text
   * tokens, summed per token id). Names and cells in this benchmark's reasoning are copies of
   * words in the question or the scene text; through a copy head the loss trains "where to
   * look" directly, where a plain decoder must first grow a copying value/output path.
   */
  copy_head: boolean;
  /**
   * With copy_head, key each text slot by the hidden state of the slot before it (an
   * induction head, wired): the pointer then looks for "where did what I just read occur
   * before" and copies the token that followed, so query and key compare the same kind of
   * features (token and prev_tokens at both ends). Keyed by itself instead, a slot must be
   * matched to the query through a learned shift (its previous-token features against the
   * query's own token), and the pointer stayed at chance on cells read off the scene text.
   * The first prompt token keys itself; option letters keep their option_labels key.
   */
  induction_keys: boolean;
  /**
   * With copy_head: 0, the pointer's queries and keys are projections of the trunk's final
   * hidden states; n > 0, they are projections of pointer states of their own: per slot, a
   * separate embedding of the token, its prev_tokens window and its frame (of the patch,
   * cell and frame for visual slots) through n residual MLP blocks, plus the trunk's hidden
   * state with its gradient stopped. Sharing the trunk, the pointer's gradient pulls every
   * layer toward "which slot matches" features, and a word the reasoning must compute
   * (a direction from two cells, a count) stayed at chance; a pointer that reads the trunk
   * but does not train it leaves the trunk to the vocabulary head.
   */
  pointer_layers: number;
  /**
   * Token ids of the numbers 0 .. patch_grid - 1, in which the reasoning writes a cell as
   * "x y" (null: off). With copy_head, every patch token is also a pointer target twice: once
   * as its column's number and once as its row's (keys told apart by two learned role
   * vectors), so reading a cell off a frame is the same "look there and copy" as reading it
   * off the scene text.
   */
  cell_tokens: number[] | null;
  /**
   * Token ids of the option letters and of the separator after them ("A : up B : left …");
   * null: off. With copy_head, the copy key of an option's letter is taken from the last token
   * of that option's text (which, with prev_tokens, sees the whole option), so "so the answer
   * is" can point at the letter whose option says what the reasoning concluded. A causal key
   * at the letter itself cannot: the option's words come after it.
   */
  option_labels: { letters: number[]; separator: number } | null;
  /**
   * Token ids of the numbers 0, 1, 2, … (null: off). With number_values, number k's input
   * embedding (trunk only, and in the prev_tokens window) adds k / 8 times a learned
   * direction, so "2 to 7" or "at 3 0" give the trunk the numbers' size as a linear
   * feature. A chain's computed words (less / more / equal, the edge an object enters by)
   * compare numbers; with number embeddings free, the policy first has to learn every case
   * of each from a few hundred examples (the edge word stayed at chance without it).
   */
  number_tokens: number[] | null;
  number_values: boolean;
}

export interface TextFrames {
  marker: number;
  /** numbers[k - 1] is the token id of frame number k. */
  numbers: number[];
}

/** Where a left-to-right walk over a row's text tokens is. */
export interface TextWalk {
  /** The frame last mentioned as "frame k" (1-based, 0 = none). */
  frame: number;
  afterMarker: boolean;
  /** The last prev_tokens ids, most recent first. */
  recent: number[];
}

export function newTextWalk(): TextWalk {
  return { frame: 0, afterMarker: false, recent: [] };
}

export function copyTextWalk(w: TextWalk): TextWalk {
  return { ...w, recent: [...w.recent] };
}

/** Per text slot: the frame it talks about and the ids just before it (vocab_size = none). */
export interface TextFeatures {
  /** [N] 0 = no frame yet (or text_frames off). */
  frame: Int32Array;
  /** [N * prev_tokens] ids 1..prev_tokens back. */
  prev: Int32Array;
}

export function newTextFeatures(c: PolicyConfig, n: number): TextFeatures {
  return { frame: new Int32Array(n), prev: new Int32Array(n * c.prev_tokens).fill(c.vocab_size) };
}

/** Writes the features of `token` into slot `at`, then advances the walk over it. */
export function stepTextWalk(c: PolicyConfig, w: TextWalk, token: number, out: TextFeatures, at: number): void {
  const t = c.text_frames;
  if (t) {
    if (w.afterMarker) {
      const k = t.numbers.indexOf(token);
      if (k >= 0) w.frame = k + 1;
    }
    w.afterMarker = token === t.marker;
    out.frame[at] = w.frame;
  }
  const S = c.prev_tokens;
  if (S > 0) {
    for (let s = 0; s < w.recent.length; s++) out.prev[at * S + s] = w.recent[s]!;
    w.recent.unshift(token);
    if (w.recent.length > S) w.recent.pop();
  }
}

export type PresetName = 'tiny' | 'small' | 'base';

/** Sizes only; vocabulary and frame shape come from the tokenizer and the benchmark. */
export const PRESETS: Record<PresetName, Omit<PolicyConfig, 'preset' | 'vocab_size' | 'frame_height' | 'frame_width' | 'max_frames' | 'text_frames' | 'cell_tokens' | 'option_labels' | 'number_tokens'>> = {
  tiny: { d_model: 32, n_layer: 2, n_head: 2, d_ff: 64, max_text_len: 512, patch_grid: 8, keep_patches: 6, tie_embeddings: true, rope: true, prev_tokens: 3, copy_head: true, induction_keys: true, pointer_layers: 0, number_values: false },
  small: { d_model: 128, n_layer: 4, n_head: 4, d_ff: 512, max_text_len: 512, patch_grid: 8, keep_patches: 6, tie_embeddings: true, rope: true, prev_tokens: 14, copy_head: true, induction_keys: true, pointer_layers: 1, number_values: true },
  base: { d_model: 512, n_layer: 8, n_head: 8, d_ff: 2048, max_text_len: 1024, patch_grid: 8, keep_patches: 6, tie_embeddings: true, rope: true, prev_tokens: 3, copy_head: true, induction_keys: true, pointer_layers: 0, number_values: false },
};

export function presetConfig(
  preset: PresetName,
  data: { vocab_size: number; frame_height: number; frame_width: number; max_frames: number; text_frames?: TextFrames | null; cell_tokens?: number[] | null; option_labels?: PolicyConfig['option_labels']; number_tokens?: number[] | null },
  overrides: Partial<PolicyConfig> = {},
): PolicyConfig {
  const sizes = PRESETS[preset];
  if (!sizes) throw new Error(`policy: unknown preset ${JSON.stringify(preset)} (tiny, small, base)`);
  const config: PolicyConfig = { preset, ...sizes, text_frames: null, cell_tokens: null, option_labels: null, number_tokens: null, ...data, ...overrides };
  validateConfig(config);
  return config;
}

export function validateConfig(c: PolicyConfig): void {
  const bad = (field: string, why: string) => {
    throw new Error(`policy config: ${field} ${why}`);
  };
  for (const k of ['vocab_size', 'd_model', 'n_layer', 'n_head', 'd_ff', 'max_text_len', 'max_frames', 'frame_height', 'frame_width', 'patch_grid'] as const) {
    if (!Number.isInteger(c[k]) || c[k] <= 0) bad(k, `must be a positive integer, got ${c[k]}`);
  }
  if (c.rope && (c.d_model / c.n_head) % 2 !== 0) bad('rope', `needs an even head size, got d_model / n_head = ${c.d_model / c.n_head}`);
  if (!Number.isInteger(c.keep_patches) || c.keep_patches < 0) bad('keep_patches', `must be an integer >= 0, got ${c.keep_patches}`);
  if (!Number.isInteger(c.prev_tokens) || c.prev_tokens < 0) bad('prev_tokens', `must be an integer >= 0, got ${c.prev_tokens}`);
  if (!Number.isInteger(c.pointer_layers) || c.pointer_layers < 0) bad('pointer_layers', `must be an integer >= 0, got ${c.pointer_layers}`);
  if (c.pointer_layers > 0 && !c.copy_head) bad('pointer_layers', 'needs copy_head');
  // Token-id fields name words of the vocabulary the policy reads and writes.
  const tokenIds = (field: string, ids: readonly number[]) => {
    if (ids.some((id) => !Number.isInteger(id) || id < 0 || id >= c.vocab_size)) bad(field, `token ids must be integers in [0, ${c.vocab_size}), got ${JSON.stringify(ids)}`);
  };
  if (c.text_frames) {
    if (c.text_frames.numbers.length !== c.max_frames) bad('text_frames.numbers', `must list ${c.max_frames} token ids (one per frame), got ${c.text_frames.numbers.length}`);
    tokenIds('text_frames', [c.text_frames.marker, ...c.text_frames.numbers]);
  }
  if (c.cell_tokens) {
    if (c.cell_tokens.length !== c.patch_grid) bad('cell_tokens', `must list ${c.patch_grid} token ids (one per grid column/row), got ${c.cell_tokens.length}`);
    tokenIds('cell_tokens', c.cell_tokens);
  }
  if (c.option_labels) tokenIds('option_labels', [...c.option_labels.letters, c.option_labels.separator]);
  if (c.number_tokens) tokenIds('number_tokens', c.number_tokens);
  if (c.number_values && !c.number_tokens?.length) bad('number_values', 'needs number_tokens');
  if (c.d_model % c.n_head !== 0) bad('d_model', `(${c.d_model}) must be divisible by n_head (${c.n_head})`);
  if (c.frame_height % c.patch_grid !== 0) bad('frame_height', `(${c.frame_height}) must be divisible by patch_grid (${c.patch_grid})`);
  if (c.frame_width % c.patch_grid !== 0) bad('frame_width', `(${c.frame_width}) must be divisible by patch_grid (${c.patch_grid})`);
}

export function patchDim(c: PolicyConfig): number {
  return (c.frame_height / c.patch_grid) * (c.frame_width / c.patch_grid) * 3;
}

/** Rows of vis_spatial: one per grid cell, plus the whole-frame token when patches are pruned. */
export function spatialSlots(c: PolicyConfig): number {
  return c.patch_grid * c.patch_grid + (c.keep_patches > 0 ? 1 : 0);
}

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

function p(policy: Policy, name: string): tf.Variable {
  const v = policy.params.get(name);
  if (!v) throw new Error(`policy: no parameter ${name}`);
  return v;
}

// ---------------------------------------------------------------------------------------
// Inputs

/** One prompt: frames (T*H*W*3 bytes, T = numFrames; null for text-only) and token ids. */
export interface PolicyPrompt {
  frames: Uint8Array | null;
  numFrames: number;
  tokens: number[];
}

/** A batch of prompts laid out as [visual slots | left-padded prompt]. Plain data, no tensors. */
export interface PromptPack {
  batch: number;
  /** Visual slots per row (max frames in the batch x tokens per frame). */
  visualLen: number;
  promptLen: number;
  /** [batch * visualLen * patchDim] pixel patches scaled to [-0.5, 0.5]; empty when visualLen = 0. */
  patches: Float32Array;
  /** [batch * visualLen] row of vis_spatial for each slot (patch_grid^2 = the whole-frame token). */
  visualCell: Int32Array;
  /** [batch * visualLen] 0-based frame of each slot. */
  visualFrame: Int32Array;
  /** [batch * promptLen] token ids, pad on the left. */
  promptIds: Int32Array;
  /** [batch * promptLen] text positions (0 for pads). */
  promptPos: Int32Array;
  /** [batch * promptLen] slot of [visual | prompt] whose hidden state keys each prompt slot for the copy head (itself, the slot before it with induction_keys, or an option letter's last word with option_labels). */
  promptKeySlot: Int32Array;
  /** [batch * promptLen] 1 on option letters keyed by their option (they add copy_label_role). */
  promptLabels: Float32Array;
  /** Frame and previous ids of each prompt slot (text_frames, prev_tokens). */
  promptText: TextFeatures;
  /** Per row, the text walk after its prompt, where its response continues from. */
  walkAfterPrompt: TextWalk[];
  /** [batch][visualLen + promptLen] 1 = real token, 0 = padding. */
  keyMask: Float32Array[];
  /** Text position of each row's first response token (= number of real prompt tokens). */
  responseStart: number[];
}

/** A patch counts as salient when some pixel's channel spread (max - min) reaches this. */
export const SALIENT_CHROMA = 20;

/** Visual tokens of one prompt: pixel patches (scaled to [-0.5, 0.5]) with their cell and frame. */
export interface VisualTokens {
  count: number;
  /** [count * patchDim] */
  patches: Float32Array;
  cells: number[];
  frames: number[];
}

export function visualTokens(c: PolicyConfig, pixels: Uint8Array, numFrames: number): VisualTokens {
  const g = c.patch_grid;
  const H = c.frame_height;
  const W = c.frame_width;
  const ph = H / g;
  const pw = W / g;
  const pd = patchDim(c);
  const cellCount = g * g;
  const patches: number[] = [];
  const cells: number[] = [];
  const frames: number[] = [];
  const patch = new Float32Array(pd);
  const readPatch = (t: number, cell: number): number => {
    const gy = Math.floor(cell / g);
    const gx = cell % g;
    let o = 0;
    let salience = 0;
    let peak = 0;
    for (let y = 0; y < ph; y++) {
      let src = ((t * H + gy * ph + y) * W + gx * pw) * 3;
      for (let x = 0; x < pw; x++, src += 3) {
        const r = pixels[src]!;
        const gr = pixels[src + 1]!;
        const b = pixels[src + 2]!;
        const spread = Math.max(r, gr, b) - Math.min(r, gr, b);
        salience += spread;
        if (spread > peak) peak = spread;
        patch[o++] = r / 255 - 0.5;
        patch[o++] = gr / 255 - 0.5;
        patch[o++] = b / 255 - 0.5;
      }
    }
    return peak >= SALIENT_CHROMA ? salience : -1;
  };
  for (let t = 0; t < numFrames; t++) {
    if (c.keep_patches === 0) {
      for (let cell = 0; cell < cellCount; cell++) {
        readPatch(t, cell);
        patches.push(...patch);
        cells.push(cell);
        frames.push(t);
      }
      continue;
    }
    // The whole-frame token: the frame average-pooled down to one patch.
    const by = H / ph;
    const bx = W / pw;
    for (let y = 0; y < ph; y++) {
      for (let x = 0; x < pw; x++) {
        for (let ch = 0; ch < 3; ch++) {
          let sum = 0;
          for (let yy = 0; yy < by; yy++) for (let xx = 0; xx < bx; xx++) sum += pixels[((t * H + y * by + yy) * W + x * bx + xx) * 3 + ch]!;
          patches.push(sum / (by * bx) / 255 - 0.5);
        }
      }
    }
    cells.push(cellCount);
    frames.push(t);
    // Keep each salient patch's pixels as it is scored, so kept patches are not read twice.
    const scored: { cell: number; salience: number; pixels: Float32Array }[] = [];
    for (let cell = 0; cell < cellCount; cell++) {
      const salience = readPatch(t, cell);
      if (salience >= 0) scored.push({ cell, salience, pixels: patch.slice() });
    }
    // A lone image keeps every salient patch: a motion-trail composite needs them all.
    const cap = numFrames === 1 ? cellCount : c.keep_patches;
    const kept = scored
      .sort((a, b) => b.salience - a.salience || a.cell - b.cell)
      .slice(0, cap)
      .sort((a, b) => a.cell - b.cell);
    for (const { cell, pixels } of kept) {
      patches.push(...pixels);
      cells.push(cell);
      frames.push(t);
    }
  }
  return { count: cells.length, patches: Float32Array.from(patches), cells, frames };
}

export function packPrompts(policy: Policy, prompts: readonly PolicyPrompt[]): PromptPack {
  const c = policy.config;
  const B = prompts.length;
  const pd = patchDim(c);
  let promptLen = 0;
  const visual = prompts.map((pr, i) => {
    if (pr.tokens.length === 0) throw new Error(`policy: prompt ${i} has no tokens`);
    promptLen = Math.max(promptLen, pr.tokens.length);
    if (!pr.frames) return null;
    const want = pr.numFrames * c.frame_height * c.frame_width * 3;
    if (pr.frames.length !== want) {
      throw new Error(`policy: prompt ${i} frames has ${pr.frames.length} bytes, expected numFrames*H*W*3 = ${pr.numFrames}*${c.frame_height}*${c.frame_width}*3 = ${want}`);
    }
    if (pr.numFrames > c.max_frames) throw new Error(`policy: prompt ${i} has ${pr.numFrames} frames, model max_frames is ${c.max_frames}`);
    return visualTokens(c, pr.frames, pr.numFrames);
  });
  const V = Math.max(0, ...visual.map((v) => v?.count ?? 0));
  const patches = new Float32Array(B * V * pd);
  const visualCell = new Int32Array(B * V);
  const visualFrame = new Int32Array(B * V);
  const promptIds = new Int32Array(B * promptLen);
  const promptPos = new Int32Array(B * promptLen);
  const promptText = newTextFeatures(c, B * promptLen);
  const promptKeySlot = new Int32Array(B * promptLen);
  const promptLabels = new Float32Array(B * promptLen);
  const walkAfterPrompt: TextWalk[] = [];
  const keyMask: Float32Array[] = [];
  const responseStart: number[] = [];
  prompts.forEach((pr, b) => {
    const mask = new Float32Array(V + promptLen);
    const vis = visual[b];
    if (vis) {
      patches.set(vis.patches, b * V * pd);
      for (let j = 0; j < vis.count; j++) {
        visualCell[b * V + j] = vis.cells[j]!;
        visualFrame[b * V + j] = vis.frames[j]!;
        mask[j] = 1;
      }
    }
    const pad = promptLen - pr.tokens.length;
    const walk = newTextWalk();
    for (let j = 0; j < pr.tokens.length; j++) {
      promptIds[b * promptLen + pad + j] = pr.tokens[j]!;
      promptPos[b * promptLen + pad + j] = j;
      stepTextWalk(c, walk, pr.tokens[j]!, promptText, b * promptLen + pad + j);
      mask[V + pad + j] = 1;
    }
    walkAfterPrompt.push(walk);
    for (let j = 0; j < promptLen; j++) promptKeySlot[b * promptLen + j] = c.induction_keys && j > pad ? V + j - 1 : V + j;
    if (c.option_labels) {
      const { letters, separator } = c.option_labels;
      const starts: number[] = [];
      for (let j = 0; j + 1 < pr.tokens.length; j++) if (letters.includes(pr.tokens[j]!) && pr.tokens[j + 1] === separator) starts.push(j);
      starts.forEach((j, k) => {
        const end = k + 1 < starts.length ? starts[k + 1]! - 1 : pr.tokens.length - 1;
        if (end <= j + 1) return;
        promptKeySlot[b * promptLen + pad + j] = V + pad + end;
        promptLabels[b * promptLen + pad + j] = 1;
      });
    }
    if (pr.tokens.length > c.max_text_len) throw new Error(`policy: prompt ${b} has ${pr.tokens.length} tokens, max_text_len is ${c.max_text_len}`);
    keyMask.push(mask);
    responseStart.push(pr.tokens.length);
  });
  return { batch: B, visualLen: V, promptLen, patches, visualCell, visualFrame, promptIds, promptPos, promptKeySlot, promptLabels, promptText, walkAfterPrompt, keyMask, responseStart };
}

// ---------------------------------------------------------------------------------------
// Forward pieces

function layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), g), b);
}

const GELU_C = Math.sqrt(2 / Math.PI);
/** GELU, tanh approximation (GPT-2). */
export function gelu(x: tf.Tensor): tf.Tensor {
  // x*x*x rather than pow(x, 3): wasm's Pow kernel (and its gradient) is several times slower.
  const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), GELU_C);
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

function linear(x2d: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return tf.add(tf.matMul(x2d as tf.Tensor2D, w as tf.Tensor2D), b) as tf.Tensor2D;
}

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
    const wte = tables === 'trunk' && c.number_values ? tf.add(p(policy, t.wte), tf.matMul(numberValues(c), p(policy, 'num_dir'))) : p(policy, t.wte);
    const oneTok = tf.oneHot(tf.tensor1d(ids, 'int32'), c.vocab_size);
    let e = tf.matMul(oneTok, wte);
    if (t.wpe) e = tf.add(e, tf.matMul(tf.oneHot(tf.tensor1d(pos, 'int32'), c.max_text_len), p(policy, t.wpe)));
    if (c.text_frames) {
      // Column 0 of the one-hot is "no frame yet", which adds nothing.
      const oneFrame = tf.slice(tf.oneHot(tf.tensor1d(text!.frame, 'int32'), c.max_frames + 1), [0, 1], [N, c.max_frames]);
      e = tf.add(e, tf.matMul(oneFrame, p(policy, t.frame)));
    }
    if (c.prev_tokens > 0) {
      // sum_s wte[prev_s] @ prev_w[s]. Id vocab_size ("nothing there") embeds as zeros.
      const S = c.prev_tokens;
      const d = c.d_model;
      if (N > c.vocab_size) {
        // Many slots (training, a prompt): per offset s, one lookup in the table
        // wte @ prev_w[s] [vocab, d], which costs vocab rows once instead of a [d, d] map per
        // slot. Offset by offset, so the one-hot is [N, vocab], not [N, S * vocab]: for 64 sampled
        // rows of a 197-token scene text that was 90 MB, the allocation a GRPO run died on
        // when its heap neared tfjs-wasm's limit.
        const nothing = tf.zeros([1, d]);
        const ids = new Int32Array(N);
        for (let o = 0; o < S; o++) {
          for (let i = 0; i < N; i++) ids[i] = text!.prev[i * S + o]!;
          const table = tf.concat([tf.matMul(wte, tf.slice(p(policy, t.prev), [o * d, 0], [d, d])), nothing]);
          e = tf.add(e, tf.matMul(tf.oneHot(tf.tensor1d(ids, 'int32'), c.vocab_size + 1), table));
        }
      } else {
        // Few slots (a sampling step): the tables would cost more than the map.
        const onePrev = tf.slice(tf.oneHot(tf.tensor1d(text!.prev, 'int32'), c.vocab_size + 1), [0, 0], [N * S, c.vocab_size]);
        const prevEmb = tf.reshape(tf.matMul(onePrev, wte), [N, S * d]);
        e = tf.add(e, tf.matMul(prevEmb, p(policy, t.prev)));
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
    const cell = tf.matMul(tf.oneHot(tf.tensor1d(pack.visualCell, 'int32'), spatialSlots(c)), p(policy, t.cell));
    const frame = tf.matMul(tf.oneHot(tf.tensor1d(pack.visualFrame, 'int32'), c.max_frames), p(policy, t.frame));
    const e = tf.add(linear(x, p(policy, t.patch_w), p(policy, t.patch_b)), tf.add(cell, frame));
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

/** Identity forward, zero gradient (torch's `.detach()` inside a taped computation). */
export const stopGradient: (x: tf.Tensor) => tf.Tensor = tf.customGrad((...args: unknown[]) => {
  const x = args[0] as tf.Tensor;
  return { value: x.clone(), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
}) as (x: tf.Tensor) => tf.Tensor;

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
      const L = (s: string) => p(policy, `ptr${l}.${s}`);
      const m = layerNorm(h, L('ln_g'), L('ln_b'));
      h = tf.add(h, linear(gelu(linear(m, L('mlp_fc_w'), L('mlp_fc_b'))), L('mlp_proj_w'), L('mlp_proj_b')));
    }
    const own = tf.reshape(layerNorm(h, p(policy, 'ptr.lnf_g'), p(policy, 'ptr.lnf_b')), [B, n, d]);
    return tf.add(own, stopGradient(hidden)) as tf.Tensor3D;
  });
}

/** Text positions of a pack's [visual | prompt] slots, [B * (V + P)]: visual slots sit at 0. */
export function prefixPositions(pack: PromptPack): Int32Array {
  const V = pack.visualLen;
  const P = pack.promptLen;
  const out = new Int32Array(pack.batch * (V + P));
  for (let b = 0; b < pack.batch; b++) out.set(pack.promptPos.subarray(b * P, (b + 1) * P), b * (V + P) + V);
  return out;
}

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
      const L = (s: string) => p(policy, `h${l}.${s}`);
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
    return layerNorm(h, p(policy, 'lnf_g'), p(policy, 'lnf_b')) as tf.Tensor3D;
  });
  const cache = wantCache ? { k: newK, v: newV, length: (past?.length ?? 0) + n } : null;
  return { hidden, cache };
}

/**
 * Copy-head keys [B, S, d] of the states the pointer reads [B, S, d] (the final hidden
 * states, or pointerStates with pointer_layers; kept in the cache while sampling). Slots flagged in `labels` [B * S] (option letters keyed by their option's last
 * word) add copy_label_role first, so a letter's key differs from that word's own.
 */
export function copyKeys(policy: Policy, hidden: tf.Tensor3D, labels?: Float32Array): tf.Tensor3D {
  const [B, S, d] = hidden.shape;
  return tf.tidy(() => {
    const h = labels ? tf.add(hidden, tf.mul(tf.tensor3d(labels, [B, S, 1]), tf.reshape(p(policy, 'copy_label_role'), [1, 1, d]))) : hidden;
    return tf.reshape(tf.matMul(tf.reshape(h, [B * S, d]) as tf.Tensor2D, p(policy, 'copy_k_w')), [B, S, d]) as tf.Tensor3D;
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
    const roles = p(policy, 'copy_cell_roles');
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
    const q = tf.reshape(tf.matMul(pointerQueries ? tf.reshape(pointerQueries, [B * n, d]) as tf.Tensor2D : h2d, p(policy, 'copy_q_w')), [B, n, d]) as tf.Tensor3D;
    const scores = tf.add(tf.mul(batchMatMul(q, copy.keys, true), 1 / Math.sqrt(d)), tf.reshape(copy.bias, [B, n, S]));
    const slots = tf.reshape(tf.oneHot(tf.tensor1d(copy.ids, 'int32'), c.vocab_size), [B, S, c.vocab_size]) as tf.Tensor3D;
    const pointer = tf.reshape(batchMatMul(tf.softmax(scores) as tf.Tensor3D, slots), [B * n, c.vocab_size]) as tf.Tensor2D;
    const gate = tf.sigmoid(tf.add(tf.matMul(h2d, p(policy, 'copy_gate_w')), p(policy, 'copy_gate_b')));
    const vocab = lmHead(policy, h2d);
    const mix = tf.add(tf.mul(gate, tf.softmax(vocab)), tf.mul(tf.sub(1, gate), pointer));
    // The floor keeps log finite for ids neither head gives any mass (masked-out slots).
    return { logits: tf.log(tf.add(mix, 1e-20)) as tf.Tensor2D, pointer, vocab };
  });
}

/** Hidden states [N, d] -> logits [N, vocab]. */
export function lmHead(policy: Policy, h2d: tf.Tensor2D): tf.Tensor2D {
  // An explicit transpose, not matMul's transposeB flag: see batchMatMul.
  if (policy.config.tie_embeddings) return tf.matMul(h2d, tf.transpose(p(policy, 'wte')));
  return tf.matMul(h2d, p(policy, 'lm_head'));
}

/** Slice i of a [N, r, c] buffer as a row-major [c, r] (transposed) or [r, c] array. */
function sliceOf(data: Float32Array, i: number, r: number, c: number, transposed: boolean): Float32Array {
  const src = data.subarray(i * r * c, (i + 1) * r * c);
  if (!transposed) return src;
  const out = new Float32Array(r * c);
  for (let y = 0; y < r; y++) for (let x = 0; x < c; x++) out[x * r + y] = src[y * c + x]!;
  return out;
}

/**
 * op(a) @ op(b) slice by slice as rank-2 matmuls, which tfjs-wasm runs on XNNPACK (its
 * batched kernel is a scalar loop, ~1 GMAC/s against ~12). The slices are cut from the data
 * on the JS side: a wasm Slice copies its whole input, which made unstacking slower than the
 * batched loop.
 */
function slicedMatMul(a: tf.Tensor3D, b: tf.Tensor3D, transposeA: boolean, transposeB: boolean): tf.Tensor3D {
  const [N, a1, a2] = a.shape;
  const [, b1, b2] = b.shape;
  const [m, k, n] = [transposeA ? a2 : a1, transposeA ? a1 : a2, transposeB ? b1 : b2];
  const ad = a.dataSync() as Float32Array;
  const bd = b.dataSync() as Float32Array;
  return tf.tidy(() => {
    const outs: tf.Tensor2D[] = [];
    for (let i = 0; i < N; i++) {
      outs.push(tf.matMul(tf.tensor2d(sliceOf(ad, i, a1, a2, transposeA), [m, k]), tf.tensor2d(sliceOf(bd, i, b1, b2, transposeB), [k, n])));
    }
    return tf.stack(outs) as tf.Tensor3D;
  });
}

/**
 * out = a @ b (or a @ b^T), with its gradients in the same sliced form: da = dy @ b^T
 * (dy @ b), db = a^T @ dy (dy^T @ a, which is db's transpose).
 */
function slicedOp(transposeB: boolean): (a: tf.Tensor3D, b: tf.Tensor3D) => tf.Tensor3D {
  return tf.customGrad((a, b, save) => {
    (save as tf.GradSaveFunc)([a as tf.Tensor3D, b as tf.Tensor3D]);
    return {
      value: slicedMatMul(a as tf.Tensor3D, b as tf.Tensor3D, false, transposeB),
      gradFunc: (dy, [sa, sb]) => {
        const [g, x, y] = [dy as tf.Tensor3D, sa as tf.Tensor3D, sb as tf.Tensor3D];
        return [slicedMatMul(g, y, false, !transposeB), transposeB ? slicedMatMul(g, x, true, false) : slicedMatMul(x, g, true, false)];
      },
    };
  }) as (a: tf.Tensor3D, b: tf.Tensor3D) => tf.Tensor3D;
}
const slicedAB = slicedOp(false);
const slicedABt = slicedOp(true);

/**
 * a [N, m, k] @ b [N, k, n], or @ b^T for b [N, n, k] with transposeB. On wasm, blocks of at
 * least 8 rows go slice by slice through XNNPACK (see slicedMatMul): 2.8x faster on
 * attention's [16, 324, 324] @ [16, 324, 32]. Single-row blocks (a sampling step) stay on
 * the batched kernel, where 16 small tensors per call would cost more than they save.
 */
export function batchMatMul(a: tf.Tensor3D, b: tf.Tensor3D, transposeB = false): tf.Tensor3D {
  if (tf.getBackend() === 'wasm' && a.shape[1] >= 8) return transposeB ? slicedABt(a, b) : slicedAB(a, b);
  // An explicit transpose, not matMul's flag: see the BatchMatMul gradient in gradients.ts.
  return tf.matMul(a, transposeB ? (tf.transpose(b, [0, 2, 1]) as tf.Tensor3D) : b);
}
