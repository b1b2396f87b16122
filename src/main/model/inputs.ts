// What the policy reads, as plain data (no tensors): a batch of prompts laid out as
// [visual slots | left-padded prompt], responses right-padded after them, and the text
// features (frame mentioned, previous ids) each text slot carries. See policy.ts for the layout.
import type { PolicyConfig } from './config';
import { patchDim } from './config';
import type { Policy } from './policy';

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

/** Text positions of a pack's [visual | prompt] slots, [B * (V + P)]: visual slots sit at 0. */
export function prefixPositions(pack: PromptPack): Int32Array {
  const V = pack.visualLen;
  const P = pack.promptLen;
  const out = new Int32Array(pack.batch * (V + P));
  for (let b = 0; b < pack.batch; b++) out.set(pack.promptPos.subarray(b * P, (b + 1) * P), b * (V + P) + V);
  return out;
}

/**
 * Rows that answer the same prompt (a GRPO group, a DPO pair): the distinct prompts packed
 * once, so the forward pass encodes each [visual | prompt] prefix once for all its rows
 * (see forward.ts).
 */
export interface SharedPrefix {
  /** The distinct prompts, laid out exactly as their rows in the batch's pack. */
  pack: PromptPack;
  /** [B] the distinct prompt each row answers. */
  rowPrefix: Int32Array;
}

/** Prompts and responses laid out for one forward pass; see the layout note in policy.ts. */
export interface ResponseBatch {
  pack: PromptPack;
  /** Set when rows share prompts and the forward pass should encode each prefix once. */
  shared?: SharedPrefix;
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
export function responseFeatures(policy: Policy, pack: PromptPack, responseIds: Int32Array, R: number): TextFeatures {
  const out = newTextFeatures(policy.config, pack.batch * R);
  for (let b = 0; b < pack.batch; b++) {
    const walk = copyTextWalk(pack.walkAfterPrompt[b]!);
    for (let j = 0; j < R; j++) stepTextWalk(policy.config, walk, responseIds[b * R + j]!, out, b * R + j);
  }
  return out;
}

/** A pack of distinct prompts repeated out to rows: row b is a copy of prompt rowPrefix[b]'s row. */
export function expandPack(pack: PromptPack, rowPrefix: Int32Array): PromptPack {
  const rows = <T extends Int32Array | Float32Array>(src: T): T => {
    const per = src.length / pack.batch;
    const out = new (src.constructor as new (n: number) => T)(rowPrefix.length * per);
    rowPrefix.forEach((p, b) => out.set(src.subarray(p * per, (p + 1) * per), b * per));
    return out;
  };
  const pick = <T>(xs: readonly T[]): T[] => Array.from(rowPrefix, (p) => xs[p]!);
  return {
    ...pack,
    batch: rowPrefix.length,
    patches: rows(pack.patches),
    visualCell: rows(pack.visualCell),
    visualFrame: rows(pack.visualFrame),
    promptIds: rows(pack.promptIds),
    promptPos: rows(pack.promptPos),
    promptKeySlot: rows(pack.promptKeySlot),
    promptLabels: rows(pack.promptLabels),
    promptText: { frame: rows(pack.promptText.frame), prev: rows(pack.promptText.prev) },
    walkAfterPrompt: pick(pack.walkAfterPrompt),
    keyMask: pick(pack.keyMask),
    responseStart: pick(pack.responseStart),
  };
}

/**
 * Prompts and their responses as one batch. With sharePrefix, rows whose prompt is the same
 * object share one encoding of it (SharedPrefix): packed once, and encoded once per forward pass.
 */
export function collate(policy: Policy, prompts: readonly PolicyPrompt[], responses: readonly (readonly number[])[], opts: { sharePrefix?: boolean } = {}): ResponseBatch {
  if (prompts.length !== responses.length) throw new Error(`collate: ${prompts.length} prompts but ${responses.length} responses`);
  let pack: PromptPack;
  let shared: SharedPrefix | undefined;
  const distinct = [...new Set(prompts)];
  if (opts.sharePrefix && distinct.length < prompts.length) {
    const index = new Map(distinct.map((p, i) => [p, i]));
    const rowPrefix = Int32Array.from(prompts, (p) => index.get(p)!);
    shared = { pack: packPrompts(policy, distinct), rowPrefix };
    pack = expandPack(shared.pack, rowPrefix);
  } else {
    pack = packPrompts(policy, prompts);
  }
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
  return { pack, ...(shared ? { shared } : {}), responseLen: R, responseIds, responsePos, responseText: responseFeatures(policy, pack, responseIds, R), responseMask };
}

/** Text positions [B * (V + P + R)] of a batch's rows: visual 0, prompt, then response. */
export function fullPositions(batch: ResponseBatch): Int32Array {
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
