// The policy's shape: sizes, the presets, and the token ids its input features key on.
// Plain data, validated once; every other model file takes a PolicyConfig.

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
   * query's own token), which the pointer does not learn for cells read off the scene text.
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
   * (a direction from two cells, a count) is not learned (research/computed-word.md); a
   * pointer that reads the trunk but does not train it leaves the trunk to the vocabulary head.
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
   * of each from a few hundred examples, and the edge word is not learned that way.
   */
  number_tokens: number[] | null;
  number_values: boolean;
}

export interface TextFrames {
  marker: number;
  /** numbers[k - 1] is the token id of frame number k. */
  numbers: number[];
}

export type PresetName = 'tiny' | 'small' | 'base';

/** Sizes only; vocabulary and frame shape come from the tokenizer and the benchmark. */
export const POLICY_PRESETS: Record<PresetName, Omit<PolicyConfig, 'preset' | 'vocab_size' | 'frame_height' | 'frame_width' | 'max_frames' | 'text_frames' | 'cell_tokens' | 'option_labels' | 'number_tokens'>> = {
  tiny: { d_model: 32, n_layer: 2, n_head: 2, d_ff: 64, max_text_len: 512, patch_grid: 8, keep_patches: 6, tie_embeddings: true, rope: true, prev_tokens: 3, copy_head: true, induction_keys: true, pointer_layers: 0, number_values: false },
  small: { d_model: 128, n_layer: 4, n_head: 4, d_ff: 512, max_text_len: 512, patch_grid: 8, keep_patches: 6, tie_embeddings: true, rope: true, prev_tokens: 14, copy_head: true, induction_keys: true, pointer_layers: 1, number_values: true },
  base: { d_model: 512, n_layer: 8, n_head: 8, d_ff: 2048, max_text_len: 1024, patch_grid: 8, keep_patches: 6, tie_embeddings: true, rope: true, prev_tokens: 3, copy_head: true, induction_keys: true, pointer_layers: 0, number_values: false },
};

export function presetConfig(
  preset: PresetName,
  data: { vocab_size: number; frame_height: number; frame_width: number; max_frames: number; text_frames?: TextFrames | null; cell_tokens?: number[] | null; option_labels?: PolicyConfig['option_labels']; number_tokens?: number[] | null },
  overrides: Partial<PolicyConfig> = {},
): PolicyConfig {
  const sizes = POLICY_PRESETS[preset];
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
