import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/main/model/backend';
import { createPolicy, disposePolicy, countParameters, type Policy } from '../../../src/main/model/policy';
import { presetConfig, type PolicyConfig } from '../../../src/main/model/config';
import { embedTokens } from '../../../src/main/model/embed';
import { packPrompts, newTextFeatures, newTextWalk, stepTextWalk, type PolicyPrompt } from '../../../src/main/model/inputs';
import { collate } from '../../../src/main/model/inputs';
import { generate, sampleToken } from '../../../src/main/model/sample';
import { sequenceLogprobs } from '../../../src/main/model/forward';

const H = 8;
const W = 8;

function fakePrompts(): PolicyPrompt[] {
  const frames = (t: number, seed: number) => Uint8Array.from({ length: t * H * W * 3 }, (_, i) => (i * 37 + seed * 11) % 256);
  return [
    { frames: frames(3, 1), numFrames: 3, tokens: [5, 9, 19, 22, 12, 7, 20, 22, 13] }, // two options: 19 : 12 7, 20 : 13
    { frames: null, numFrames: 0, tokens: [4, 8] }, // text only
    { frames: frames(1, 2), numFrames: 1, tokens: [6, 6, 10, 11, 13, 14] }, // single image
  ];
}

function sampledEqualsTeacherForced(policy: Policy): void {
  for (const temperature of [1, 0.7]) {
    const prompts = fakePrompts();
    const out = generate(policy, prompts, { num_generations: 2, temperature, top_p: 0.95, max_completion_length: 12, seed: 7, eosId: 4 });
    // Rows of different lengths, so teacher forcing sees right-padding.
    expect(new Set(out.tokens.map((t) => t.length)).size).toBeGreaterThan(1);
    const batch = collate(policy, out.promptIndex.map((i) => prompts[i]!), out.tokens);
    const { logprobs, mask } = sequenceLogprobs(policy, batch, { temperature });
    const lp = logprobs.arraySync();
    const m = mask.arraySync();
    tf.dispose([logprobs, mask]);
    let compared = 0;
    out.tokens.forEach((toks, b) => {
      expect(toks.length).toBeGreaterThan(0);
      toks.forEach((_, j) => {
        expect(m[b]![j]).toBe(1);
        expect(Math.abs(lp[b]![j]! - out.logprobs[b]![j]!)).toBeLessThan(1e-4);
        compared++;
      });
      for (let j = toks.length; j < m[b]!.length; j++) expect(m[b]![j]).toBe(0);
    });
    expect(compared).toBeGreaterThan(20);
  }
}

function cachedEqualsUncached(policy: Policy): void {
  const prompts = fakePrompts();
  const opts = { num_generations: 3, temperature: 1, max_completion_length: 10, seed: 42, eosId: 4 };
  const kv = generate(policy, prompts, { ...opts, useCache: true });
  const naive = generate(policy, prompts, { ...opts, useCache: false });
  expect(kv.tokens).toEqual(naive.tokens);
  expect(kv.truncated).toEqual(naive.truncated);
  kv.logprobs.forEach((row, b) => row.forEach((v, j) => expect(Math.abs(v - naive.logprobs[b]![j]!)).toBeLessThan(1e-4)));
  // A different seed gives a different sample (the test above is not vacuous).
  const other = generate(policy, prompts, { ...opts, seed: 43 });
  expect(other.tokens).not.toEqual(kv.tokens);
}

function tinyPolicy(overrides: Partial<PolicyConfig> = {}): Policy {
  // Token 6 plays "frame" and 7..10 the frame numbers, so prompts and sampled responses
  // switch frames mid-row and the equalities below cover the text-frame walk too.
  const text_frames = { marker: 6, numbers: [7, 8, 9, 10] };
  const cell_tokens = [11, 12, 13, 14, 15, 16, 17, 18]; // patch_grid 8: one pixel per cell
  const option_labels = { letters: [19, 20, 21], separator: 22 };
  const config = presetConfig('tiny', { vocab_size: 24, frame_height: H, frame_width: W, max_frames: 4, text_frames, cell_tokens, option_labels }, { max_text_len: 64, tie_embeddings: false, prev_tokens: 3, ...overrides });
  const policy = createPolicy(config, 3);
  // Random init at std 0.02 makes every distribution near uniform; sharpen so sampling is non-trivial.
  tf.tidy(() => policy.params.get('lm_head')!.assign(tf.mul(policy.params.get('lm_head')!, 50)));
  return policy;
}

let policy: Policy;
beforeAll(async () => {
  await initBackend();
  policy = tinyPolicy();
});

describe('sampling', () => {
  it('counts parameters from the config', () => {
    const n = [...policy.params.values()].reduce((s, v) => s + v.size, 0);
    expect(countParameters(policy.config)).toBe(n);
  });

  it('sampled log-probs equal teacher-forced ones at the same temperature', () => sampledEqualsTeacherForced(policy));

  it('cached and uncached generation give identical tokens for the same seed', () => cachedEqualsUncached(policy));

  it('stops rows at EOS and flags rows cut at max_completion_length', () => {
    const prompts = fakePrompts();
    const out = generate(policy, prompts, { num_generations: 4, temperature: 1, max_completion_length: 6, seed: 1, eosId: 13 });
    expect(out.truncated.some(Boolean)).toBe(true);
    expect(out.truncated.every(Boolean)).toBe(false);
    out.tokens.forEach((toks, b) => {
      const eos = toks.indexOf(13);
      if (out.truncated[b]) {
        expect(eos).toBe(-1);
        expect(toks.length).toBe(6);
      } else expect(eos).toBe(toks.length - 1);
    });
  });

  it('a row\'s log-probs do not depend on the padding its batch-mates force on it', () => {
    const prompts = fakePrompts();
    const resp = [3, 4, 5, 6];
    const alone = sequenceLogprobs(policy, collate(policy, [prompts[1]!], [resp]));
    const together = sequenceLogprobs(policy, collate(policy, prompts, [[7], resp, [8, 9, 10, 11, 12, 13]]));
    const a = alone.logprobs.arraySync()[0]!;
    const t = together.logprobs.arraySync()[1]!;
    a.forEach((v, j) => expect(Math.abs(v - t[j]!)).toBeLessThan(1e-4));
    tf.dispose([alone.logprobs, alone.mask, together.logprobs, together.mask]);
  });

  it('sampleToken: greedy picks argmax, top_p keeps only the nucleus', () => {
    const logits = Float32Array.from([0, 3, 1, 2]);
    expect(sampleToken(logits, 0, 1, 0.5).token).toBe(1);
    // top_p small -> only the argmax survives whatever u is.
    for (const u of [0, 0.3, 0.99]) expect(sampleToken(logits, 1, 0.1, u).token).toBe(1);
    const lse = Math.log([0, 3, 1, 2].reduce((s, x) => s + Math.exp(x), 0));
    expect(sampleToken(logits, 1, 1, 0.999).logprob).toBeCloseTo(logits[sampleToken(logits, 1, 1, 0.999).token]! - lse, 6);
  });
});

describe('text features', () => {
  it('a text token carries the frame last mentioned as "frame k" and the ids before it', () => {
    const c = policy.config; // marker 6, numbers 7..10, prev_tokens 3
    expect(c.prev_tokens).toBe(3);
    const ids = [7, 6, 9, 5, 6, 5, 8, 6, 10];
    const out = newTextFeatures(c, ids.length);
    const walk = newTextWalk();
    ids.forEach((id, j) => stepTextWalk(c, walk, id, out, j));
    // 7 before any marker is just a number; 6 9 switches to frame 3; 6 5 (no number) keeps it.
    expect(Array.from(out.frame)).toEqual([0, 0, 3, 3, 3, 3, 3, 3, 4]);
    const none = c.vocab_size;
    expect(Array.from(out.prev.subarray(0, 3))).toEqual([none, none, none]);
    expect(Array.from(out.prev.subarray(3, 6))).toEqual([7, none, none]);
    expect(Array.from(out.prev.subarray(8 * 3, 9 * 3))).toEqual([6, 8, 5]);
  });

  it('responses continue the walk from their prompt, and both features change the scores', () => {
    const prompts = fakePrompts(); // row 2's prompt ends inside frame 4 ("6 10 ...")
    const batch = collate(policy, prompts, [[5, 6, 8, 5], [6, 7, 5], [5, 5]]);
    const R = batch.responseLen;
    const f = batch.responseText.frame;
    expect(Array.from(f.subarray(0, 4))).toEqual([0, 0, 2, 2]);
    expect(Array.from(f.subarray(R, R + 3))).toEqual([0, 1, 1]);
    expect(Array.from(f.subarray(2 * R, 2 * R + 2))).toEqual([4, 4]);
    // Row 1's first response token sees the prompt's last tokens [4, 8] before it.
    expect(Array.from(batch.responseText.prev.subarray(R * 3, R * 3 + 3))).toEqual([8, 4, policy.config.vocab_size]);
    for (const name of ['vis_temporal', 'prev_w']) {
      const v = policy.params.get(name)!;
      const saved = v.clone();
      const before = sequenceLogprobs(policy, batch).logprobs.arraySync();
      tf.tidy(() => v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 1, 'float32', 5))));
      const after = sequenceLogprobs(policy, batch).logprobs.arraySync();
      v.assign(saved);
      saved.dispose();
      // Row 1 is text only: it sees vis_temporal only through its text frames.
      expect(Math.abs(after[1]![2]! - before[1]![2]!), name).toBeGreaterThan(1e-3);
    }
  });
});

describe('copy head', () => {
  it('keys an option letter by the last token of its option', () => {
    const pack = packPrompts(policy, fakePrompts());
    const P = pack.promptLen; // 9, row 0 unpadded
    const V = pack.visualLen;
    // induction_keys: every other slot is keyed by the slot before it (the first by itself).
    const row0 = Array.from(pack.promptKeySlot.subarray(0, P)).map((slot) => slot - V);
    expect(row0).toEqual([0, 0, 5, 2, 3, 4, 8, 6, 7]);
    expect(Array.from(pack.promptLabels.subarray(0, P))).toEqual([0, 0, 1, 0, 0, 0, 1, 0, 0]);
    // Row 1 has no options and is left-padded by 7: its first token (slot 7) keys itself.
    expect(Array.from(pack.promptKeySlot.subarray(P, 2 * P)).slice(7).map((slot) => slot - V)).toEqual([7, 7]);
    expect(Array.from(pack.promptLabels.subarray(P, 2 * P)).every((x) => x === 0)).toBe(true);
    // Without induction keys every slot but the letters keys itself.
    const plainPolicy = createPolicy({ ...policy.config, induction_keys: false }, 3);
    const plain = packPrompts(plainPolicy, fakePrompts());
    disposePolicy(plainPolicy);
    expect(Array.from(plain.promptKeySlot.subarray(0, P)).map((slot) => slot - V)).toEqual([0, 1, 5, 3, 4, 5, 8, 7, 8]);
  });

  it("an option letter's copy key is its option's last word's plus the label role", () => {
    // Without induction keys the last word keys itself, so the two keys can be compared.
    const plain = createPolicy({ ...policy.config, induction_keys: false }, 3);
    const gate = plain.params.get('copy_gate_b')!;
    const role = plain.params.get('copy_label_role')!;
    gate.assign(tf.tensor1d([-40])); // the pointer alone
    const p0 = fakePrompts()[0]!; // letter 19 is keyed by slot 5, whose token 7 appears once
    const next = () => {
      const lp = sequenceLogprobs(plain, collate(plain, [p0, p0], [[19], [7]])).logprobs.arraySync();
      return [lp[0]![0]!, lp[1]![0]!];
    };
    role.assign(tf.zeros(role.shape));
    const [letterZero, wordZero] = next();
    role.assign(tf.randomNormal(role.shape, 0, 1, 'float32', 9));
    const [letterRole, wordRole] = next();
    disposePolicy(plain);
    // Same key, same pointer mass; the role tells them apart.
    expect(Math.abs(letterZero - wordZero)).toBeLessThan(1e-5);
    expect(Math.abs(letterRole - wordRole)).toBeGreaterThan(1e-2);
    expect(Math.abs(letterRole - letterZero)).toBeGreaterThan(1e-2);
  });

  it("reports the pointer's own log-probs where the token was there to copy", () => {
    const prompts = fakePrompts();
    // Row 1's text is [4, 8]: 8 is there to copy, the first 3 is not, the second 3 is.
    const batch = collate(policy, prompts, [[5], [8, 3, 3], [5]]);
    const read = (gateBias: number) => {
      const gate = policy.params.get('copy_gate_b')!;
      const saved = gate.dataSync()[0]!;
      gate.assign(tf.tensor1d([gateBias]));
      const out = sequenceLogprobs(policy, batch, { pointer: true });
      gate.assign(tf.tensor1d([saved]));
      const r = { mix: out.logprobs.arraySync()[1]!, ptr: out.pointer!.logprobs.arraySync()[1]!, there: out.pointer!.mask.arraySync()[1]! };
      tf.dispose([out.logprobs, out.mask, out.pointer!.logprobs, out.pointer!.mask]);
      return r;
    };
    const open = read(0);
    expect(open.there).toEqual([1, 0, 1]);
    expect(Math.abs(open.ptr[1]!)).toBe(0);
    // The pointer's own distribution does not depend on the gate; with the gate shut on
    // the vocabulary it is the whole mixture.
    const shut = read(-40);
    for (const j of [0, 2]) {
      expect(Math.abs(shut.ptr[j]! - open.ptr[j]!)).toBeLessThan(1e-5);
      expect(Math.abs(shut.ptr[j]! - shut.mix[j]!)).toBeLessThan(1e-4);
      expect(Math.abs(open.ptr[j]! - open.mix[j]!)).toBeGreaterThan(1e-3);
    }
    const plain = sequenceLogprobs(policy, batch);
    expect(plain.pointer).toBeNull(); // only when asked
    tf.dispose([plain.logprobs, plain.mask]);
  });

  it('with the gate shut on the vocabulary, only tokens already in the text get probability', () => {
    const gate = policy.params.get('copy_gate_b')!;
    const saved = gate.dataSync()[0]!;
    gate.assign(tf.tensor1d([-40])); // g = sigmoid(-40): the pointer alone
    const prompts = fakePrompts();
    // Row 1's text is [4, 8]; response 8 (in the prompt), 3 (not yet seen), 3 (now seen).
    const batch = collate(policy, prompts, [[5], [8, 3, 3], [5]]);
    const lp = sequenceLogprobs(policy, batch).logprobs.arraySync()[1]!;
    // Sampling under the same gate copies: every sampled token was already in its row's text.
    const out = generate(policy, [prompts[1]!], { num_generations: 4, temperature: 1, max_completion_length: 6, seed: 3, eosId: 4 });
    gate.assign(tf.tensor1d([saved]));
    expect(lp[0]!).toBeGreaterThan(Math.log(0.05));
    expect(lp[1]!).toBeLessThan(-15);
    expect(lp[2]!).toBeGreaterThan(Math.log(0.05));
    for (const row of out.tokens) for (const t of row) expect([4, 8]).toContain(t);
  });
});

describe('number values (number_values)', () => {
  // Tokens 11..18 play the numbers 0..7 (the cell tokens do double duty, as in the benchmark).
  let num: Policy;
  beforeAll(() => {
    num = tinyPolicy({ pointer_layers: 1, number_values: true, number_tokens: [11, 12, 13, 14, 15, 16, 17, 18] });
    tf.tidy(() => num.params.get('num_dir')!.assign(tf.mul(tf.ones([1, num.config.d_model]), 0.5)));
  });

  it('sampled log-probs equal teacher-forced ones', () => sampledEqualsTeacherForced(num));

  it('cached and uncached generation give identical tokens', () => cachedEqualsUncached(num));

  it("number k's embedding adds k / 8 times num_dir, in the token and in the window after it; other tokens' do not change", () => {
    const ids = Int32Array.from([2, 14, 3, 17]); // word, number 3, word, number 6
    const pos = Int32Array.from([0, 1, 2, 3]);
    const text = newTextFeatures(num.config, 4);
    // prev ids (most recent first), vocab_size = nothing there.
    const V = num.config.vocab_size;
    text.prev.set([V, V, V, 2, V, V, 14, 2, V, 3, 14, 2]);
    const withValues = embedTokens(num, ids, pos, 1, 4, text);
    const off = { ...num, config: { ...num.config, number_values: false } };
    const without = embedTokens(off, ids, pos, 1, 4, text);
    const diff = (tf.sub(withValues, without) as tf.Tensor3D).arraySync()[0]!;
    const prevW = num.params.get('prev_w')!;
    const d = num.config.d_model;
    // Row 0 ("word", nothing before it): no number anywhere, no change.
    expect(Math.max(...diff[0]!.map(Math.abs))).toBeLessThan(1e-6);
    // Row 1 (number 3, a word before it): 3/8 * 0.5 on every dimension of the token itself.
    diff[1]!.forEach((v) => expect(v).toBeCloseTo(3 / 16, 5));
    // Row 2 ("word" after number 3): the number reaches it through window slot 1 only:
    // 3/8 * num_dir @ prev_w[offset 1].
    const slot = (s: number) => tf.slice(prevW, [s * d, 0], [d, d]);
    const expected2 = (tf.matMul(tf.mul(tf.ones([1, d]), 3 / 16), slot(0)) as tf.Tensor2D).arraySync()[0]!;
    diff[2]!.forEach((v, i) => expect(v).toBeCloseTo(expected2[i]!, 5));
    expect(Math.max(...expected2.map(Math.abs))).toBeGreaterThan(1e-3);
  });
});

describe('copy head with pointer states of its own (pointer_layers)', () => {
  let own: Policy;
  beforeAll(() => {
    own = tinyPolicy({ pointer_layers: 1 });
    // Sharpen the pointer too, so which slot it picks depends on the pointer states.
    tf.tidy(() => {
      for (const name of ['copy_q_w', 'copy_k_w']) own.params.get(name)!.assign(tf.mul(own.params.get(name)!, 30));
    });
  });

  it('sampled log-probs equal teacher-forced ones', () => sampledEqualsTeacherForced(own));

  it('cached and uncached generation give identical tokens', () => cachedEqualsUncached(own));

  it("the pointer's loss trains its own tables and none of the trunk's; the trunk's pointer does train the trunk", () => {
    const batch = collate(own, fakePrompts(), [[5, 8], [8, 3, 3], [12, 5]]);
    const gradNorms = (pol: Policy) => {
      const vars = [...pol.params.values()];
      const { value, grads } = tf.variableGrads(() => {
        const out = sequenceLogprobs(pol, batch, { pointer: true });
        return tf.sum(tf.mul(out.pointer!.logprobs, out.pointer!.mask)) as tf.Scalar;
      }, vars);
      const norms = new Map([...pol.params].map(([name, v]) => [name, grads[v.name] ? tf.tidy(() => tf.sum(tf.abs(grads[v.name]!)).dataSync()[0]!) : 0]));
      tf.dispose([value, ...Object.values(grads)]);
      return norms;
    };
    const mine = gradNorms(own);
    for (const name of ['h0.attn_qkv_w', 'h1.mlp_fc_w', 'wte', 'patch_w', 'lnf_g']) expect(mine.get(name)).toBe(0);
    for (const name of ['ptr.wte', 'ptr.prev_w', 'ptr0.mlp_fc_w', 'ptr.patch_w', 'copy_q_w', 'copy_k_w']) expect(mine.get(name)).toBeGreaterThan(0);
    // Control: the same loss through the trunk-fed pointer reaches the trunk.
    const shared = gradNorms(policy);
    for (const name of ['h0.attn_qkv_w', 'h1.mlp_fc_w', 'wte']) expect(shared.get(name)).toBeGreaterThan(0);
  });
});

describe('sequenceLogprobs under the tape', () => {
  it('returns entropy, differentiates, and leaks no tensors', () => {
    const prompts = fakePrompts();
    const batch = collate(policy, prompts, [[3, 4], [5], [6, 7, 8]]);
    const before = tf.memory().numTensors;
    const vars = [...policy.params.values()];
    const { value, grads } = tf.variableGrads(() => {
      const { logprobs, mask, entropy } = sequenceLogprobs(policy, batch, { entropy: true });
      expect(entropy).not.toBeNull();
      const ent = entropy!.arraySync();
      expect(ent[1]![0]).toBeGreaterThan(0);
      expect(ent[1]![1]).toBe(0); // padding
      return tf.sum(tf.mul(logprobs, mask)) as tf.Scalar;
    }, vars);
    expect(Object.keys(grads).length).toBe(vars.length);
    expect(tf.tidy(() => tf.sum(tf.abs(grads[policy.params.get('wte')!.name]!)).dataSync()[0])).toBeGreaterThan(0);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
