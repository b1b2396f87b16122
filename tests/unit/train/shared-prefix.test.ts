// Encoding each prompt once for all the rows that answer it (a DPO pair's two completions, a
// GRPO group's G), and forwarding a completion that several DPO pairs share once, must give
// the same losses and gradients as encoding and forwarding it for every row.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/main/model/backend';
import { clonePolicy } from '../../../src/main/model/checkpoint';
import { presetConfig } from '../../../src/main/model/config';
import { sequenceLogprobs } from '../../../src/main/model/forward';
import { collate, type PolicyPrompt } from '../../../src/main/model/inputs';
import { policyGradients } from '../../../src/main/model/optim';
import { createPolicy, type Policy } from '../../../src/main/model/policy';
import { DpoConfigSchema } from '../../../src/main/train/config';
import { dpoLoss, pairBatch, pairLogps, pairParts, referenceLogps, sequenceLogps, type DpoLossType, type EncodedPair } from '../../../src/main/train/dpo';
import { dpoBatchGradients } from '../../../src/main/train/dpo-parallel';
import { read, relDiff } from './grad-compare';
import { grpoLoss } from '../../../src/main/train/grpo-loss';

const H = 8;
const W = 8;
const frames = (t: number, seed: number) => Uint8Array.from({ length: t * H * W * 3 }, (_, i) => (i * 37 + seed * 11 + (i % 5) * 60) % 256);
// A video with lettered options, a text-only prompt and a single image, of different lengths
// so the shared prefix has left-padding and visual padding.
const prompts: PolicyPrompt[] = [
  { frames: frames(3, 1), numFrames: 3, tokens: [5, 9, 19, 22, 12, 7, 20, 22, 13] },
  { frames: null, numFrames: 0, tokens: [4, 8] },
  { frames: frames(1, 2), numFrames: 1, tokens: [6, 6, 10, 11, 13, 14] },
];
const completion = (seed: number, n: number) => Array.from({ length: n }, (_, j) => 3 + ((seed * 7 + j * 5) % 20));

function tinyPolicy(seed: number): Policy {
  const config = presetConfig(
    'tiny',
    { vocab_size: 24, frame_height: H, frame_width: W, max_frames: 4, text_frames: { marker: 6, numbers: [7, 8, 9, 10] }, cell_tokens: [11, 12, 13, 14, 15, 16, 17, 18], option_labels: { letters: [19, 20, 21], separator: 22 } },
    // The copy head's own pointer states (pointer_layers) are shared too: cover that path.
    { max_text_len: 64, tie_embeddings: false, prev_tokens: 3, pointer_layers: 1 },
  );
  const policy = createPolicy(config, seed);
  // Sharper than the N(0, 0.02) init, so log-probs and gradients are far from uniform.
  tf.tidy(() => policy.params.get('lm_head')!.assign(tf.mul(policy.params.get('lm_head')!, 30)));
  return policy;
}

/** Loss and gradients of lossFn, read back as plain arrays. */
function gradientsOf(policy: Policy, lossFn: () => tf.Scalar): { loss: number; grads: Map<string, Float32Array> } {
  const { loss, grads } = policyGradients(policy, lossFn);
  const out = new Map([...grads].map(([k, g]) => [k, g.dataSync() as Float32Array]));
  tf.dispose([...grads.values()]);
  return { loss, grads: out };
}

/** Every parameter's gradient equal up to float rounding: |a - b| <= 1e-4 * max |b| per tensor, and non-vacuous. */
function expectSameGradients(a: Map<string, Float32Array>, b: Map<string, Float32Array>): void {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [name, ga] of a) {
    const gb = b.get(name)!;
    const scale = Math.max(...gb.map(Math.abs));
    let worst = 0;
    ga.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - gb[i]!))));
    expect(worst, name).toBeLessThanOrEqual(1e-4 * scale + 1e-9);
  }
  // Parameters only the prompt's visual tokens reach get real gradient through the shared prefix.
  for (const name of ['patch_w', 'vis_spatial', 'ptr.patch_w']) expect(Math.max(...a.get(name)!.map(Math.abs)), name).toBeGreaterThan(1e-6);
}

let policy: Policy;
let reference: Policy;
beforeAll(async () => {
  await initBackend();
  policy = tinyPolicy(3);
  reference = tinyPolicy(4);
});

describe('shared-prefix encoding', () => {
  it('gives the per-token log-probs of encoding every row', () => {
    const rowPrompts = [0, 0, 1, 2, 2, 2, 1].map((i) => prompts[i]!);
    const responses = [5, 9, 3, 7, 1, 12, 6].map((n, i) => completion(i, n));
    const shared = collate(policy, rowPrompts, responses, { sharePrefix: true });
    expect(shared.shared?.pack.batch).toBe(3);
    const a = sequenceLogprobs(policy, shared);
    const b = sequenceLogprobs(policy, collate(policy, rowPrompts, responses));
    const [la, lb, ma, mb] = [a.logprobs.dataSync(), b.logprobs.dataSync(), a.mask.dataSync(), b.mask.dataSync()];
    expect(Array.from(ma)).toEqual(Array.from(mb));
    la.forEach((v, i) => expect(Math.abs(v - lb[i]!)).toBeLessThan(1e-5));
    expect(Math.min(...lb)).toBeLessThan(-1); // not a flat distribution
    tf.dispose([a.logprobs, a.mask, b.logprobs, b.mask]);
  });

  it("DPO: loss and gradients with each pair's prompt encoded once equal the straightforward computation", () => {
    const pairs: EncodedPair[] = [0, 1, 2, 0].map((p, i) => ({ prompt: prompts[p]!, chosen: completion(i, 4 + i), rejected: completion(i + 10, 9 - i), cut: 0 }));
    for (const loss_type of ['sigmoid', 'ipo'] as const) {
      const ref = referenceLogps(reference, pairs, 3, loss_type);
      const run = (share: boolean) => {
        const batch = pairBatch(policy, pairs, share);
        expect(batch.parts.some((part) => part.shared !== undefined)).toBe(share);
        return gradientsOf(policy, () => {
          const pol = pairLogps(policy, batch, loss_type);
          return dpoLoss(
            { policyChosen: pol.chosen, policyRejected: pol.rejected, refChosen: tf.tensor1d(ref.chosen), refRejected: tf.tensor1d(ref.rejected) },
            { beta: 0.1, loss_type, label_smoothing: 0, rpo_alpha: null },
          ).loss;
        });
      };
      const shared = run(true);
      const plain = run(false);
      expect(Math.abs(shared.loss - plain.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(plain.loss)));
      expectSameGradients(shared.grads, plain.grads);
    }
  });

  describe('DPO: pairs of one prompt with a shared chosen completion', () => {
    // Prompt 0's chosen A against B, C and D (the verifier's pattern), C also chosen against E,
    // and prompt 0 again after the others; prompt 1 rejects A's ids, a different row under
    // its prompt. Distinct rows: prompt 0's A, B, C, D, E, prompt 2's two, prompt 1's two.
    // D is long, so the rows go in two forward passes (pairParts).
    const [A, B, C, D, E] = [7, 5, 6, 45, 4].map((n, i) => completion(i + 20, n));
    const pairs: EncodedPair[] = [
      [0, A, B],
      [0, A, C],
      [2, completion(30, 5), completion(31, 8)],
      [0, A, D],
      [1, completion(32, 6), A],
      [0, C, E],
    ].map(([p, chosen, rejected]) => ({ prompt: prompts[p as number]!, chosen: chosen as number[], rejected: rejected as number[], cut: 0 }));
    const chosenTokens = pairs.reduce((n, p) => n + p.chosen.length, 0);

    /** Each pair alone as its own batch of two rows, the prompt encoded for each row. */
    function alone(p: Policy, lossType: DpoLossType): { chosen: tf.Tensor1D; rejected: tf.Tensor1D; nll: tf.Scalar } {
      return tf.tidy(() => {
        const chosen: tf.Tensor[] = [];
        const rejected: tf.Tensor[] = [];
        const nll: tf.Tensor[] = [];
        for (const pair of pairs) {
          const sl = sequenceLogprobs(p, collate(p, [pair.prompt, pair.prompt], [pair.chosen, pair.rejected]));
          const seq = sequenceLogps(sl.logprobs, sl.mask, lossType);
          chosen.push(tf.slice(seq, [0], [1]));
          rejected.push(tf.slice(seq, [1], [1]));
          nll.push(tf.neg(tf.sum(tf.mul(tf.slice(sl.logprobs, [0, 0], [1, -1]), tf.slice(sl.mask, [0, 0], [1, -1])))));
        }
        return { chosen: tf.concat(chosen) as tf.Tensor1D, rejected: tf.concat(rejected) as tf.Tensor1D, nll: tf.div(tf.addN(nll), chosenTokens) as tf.Scalar };
      });
    }

    it('is fewer rows than 2 x pairs, the long one in a pass of its own', () => {
      const batch = pairBatch(policy, pairs);
      expect(batch.parts.map((part) => part.pack.batch)).toEqual([8, 1]);
      expect(batch.parts[0]!.shared?.pack.batch).toBe(3);
      expect(batch.parts[1]!.responseLen).toBe(45);
      expect(batch.parts[0]!.responseLen).toBe(8);
      // A is one row for pairs 0, 1 and 3; D (pair 3's rejected) is the last row.
      expect(new Set([0, 1, 3].map((i) => batch.chosenRow[i]))).toEqual(new Set([batch.chosenRow[0]]));
      expect(batch.rejectedRow[3]).toBe(8);
      // Pair 4's rejected is pair 0's chosen ids but under prompt 1: its own row.
      expect(batch.rejectedRow[4]).not.toBe(batch.chosenRow[0]);
      expect(batch.rejectedRow[1]).toBe(batch.chosenRow[5]);
    });

    it('pairParts cuts rows by length only where padding costs more than a pass', () => {
      const prefix = (n: number) => Array.from({ length: n }, () => ({ prompt: 'p', length: 30 }));
      expect(pairParts([10, 12, 11, 9], prefix(4)).parts).toEqual([[3, 0, 2, 1]]);
      expect(pairParts([10, 150, 12, 11], prefix(4)).parts).toEqual([[0, 3, 2], [1]]);
      // Two prompts each with a short and a long row: cutting encodes each prefix twice, still cheaper.
      const two = [{ prompt: 'a', length: 30 }, { prompt: 'a', length: 30 }, { prompt: 'b', length: 30 }, { prompt: 'b', length: 30 }];
      expect(pairParts([10, 150, 12, 140], two).parts).toEqual([[0, 2], [3, 1]]);
    });

    it('per-pair log-probs (policy and reference) equal each pair forwarded alone', () => {
      for (const lossType of ['sigmoid', 'ipo'] as const) {
        const [got, want] = tf.tidy(() => {
          const out = pairLogps(policy, pairBatch(policy, pairs), lossType);
          const direct = alone(policy, lossType);
          return [tf.concat([out.chosen, out.rejected]), tf.concat([direct.chosen, direct.rejected])];
        });
        const [g, w] = [got!.dataSync(), want!.dataSync()];
        w.forEach((v, i) => expect(Math.abs(g[i]! - v), `${lossType} ${i}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(v))));
        tf.dispose([got!, want!]);
        // The reference pass (batches of 4 in its own order) reads the same values.
        const ref = referenceLogps(reference, pairs, 4, lossType);
        const direct = tf.tidy(() => alone(reference, lossType));
        const [rc, rr] = [direct.chosen.dataSync(), direct.rejected.dataSync()];
        ref.chosen.forEach((v, i) => expect(Math.abs(v - rc[i]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(rc[i]!))));
        ref.rejected.forEach((v, i) => expect(Math.abs(v - rr[i]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(rr[i]!))));
        tf.dispose([direct.chosen, direct.rejected, direct.nll]);
      }
    });

    it('the trainer\'s loss, statistics and gradients equal the straightforward computation, with and without rpo_alpha', async () => {
      for (const extra of [{ loss_type: 'sigmoid' as const, rpo_alpha: null }, { loss_type: 'sigmoid' as const, rpo_alpha: 0.5 }, { loss_type: 'ipo' as const, rpo_alpha: 0.5 }]) {
        const cfg = DpoConfigSchema.parse({ beta: 0.1, ...extra });
        const r = referenceLogps(reference, pairs, 4, cfg.loss_type);
        const got = await dpoBatchGradients([], policy, pairs, { chosen: Array.from(r.chosen), rejected: Array.from(r.rejected) }, cfg);
        const want = gradientsOf(policy, () => {
          const pol = alone(policy, cfg.loss_type);
          return dpoLoss(
            { policyChosen: pol.chosen, policyRejected: pol.rejected, refChosen: tf.tensor1d(r.chosen), refRejected: tf.tensor1d(r.rejected), chosenNll: pol.nll },
            { beta: cfg.beta, loss_type: cfg.loss_type, label_smoothing: 0, rpo_alpha: cfg.rpo_alpha },
          ).loss;
        });
        const label = JSON.stringify(extra);
        expect(Math.abs(got.loss - want.loss), label).toBeLessThan(1e-5 * Math.max(1, Math.abs(want.loss)));
        const grads = read(got.grads);
        expect(relDiff(want.grads, grads), label).toBeLessThan(1e-5);
        expectSameGradients(grads, want.grads);
        // The per-pair statistics read the shared rows too.
        const direct = tf.tidy(() => alone(policy, cfg.loss_type));
        const mean = (t: tf.Tensor) => Array.from(t.dataSync()).reduce((a, b) => a + b, 0) / pairs.length;
        expect(got.stats['logps/chosen']!).toBeCloseTo(mean(direct.chosen), 4);
        expect(got.stats['logps/rejected']!).toBeCloseTo(mean(direct.rejected), 4);
        if (cfg.rpo_alpha !== null) expect(got.stats.nll_loss!).toBeCloseTo(direct.nll.dataSync()[0]!, 5);
        tf.dispose([direct.chosen, direct.rejected, direct.nll]);
      }
    });
  });

  it('DPO: reference log-probs computed once, in reference batches, equal the per-batch ones', () => {
    const pairs: EncodedPair[] = [2, 0, 1].map((p, i) => ({ prompt: prompts[p]!, chosen: completion(i, 8 - 2 * i), rejected: completion(i + 3, 2 + i), cut: 0 }));
    const once = referenceLogps(reference, pairs, 2, 'sigmoid');
    const direct = tf.tidy(() => {
      const out = pairLogps(reference, pairBatch(reference, pairs, false), 'sigmoid');
      return [out.chosen.dataSync(), out.rejected.dataSync()];
    });
    once.chosen.forEach((v, i) => expect(Math.abs(v - direct[0]![i]!)).toBeLessThan(1e-4));
    once.rejected.forEach((v, i) => expect(Math.abs(v - direct[1]![i]!)).toBeLessThan(1e-4));
  });

  it("GRPO: the loss over a group's G completions, prompt encoded once, has the straightforward gradients", () => {
    const G = 4;
    const rowPrompts = [0, 2].flatMap((p) => Array.from({ length: G }, () => prompts[p]!));
    const responses = rowPrompts.map((_, i) => completion(i, 3 + ((i * 3) % 7)));
    const advantages = rowPrompts.map((_, i) => ((i * 5) % 7) / 3 - 1);
    const old = clonePolicy(policy);
    // The old policy differs from the current one, so the ratio and its clip are exercised.
    tf.tidy(() => old.params.get('lm_head')!.assign(tf.mul(old.params.get('lm_head')!, 1.05)));
    const run = (share: boolean) => {
      const batch = collate(policy, rowPrompts, responses, { sharePrefix: share });
      const constant = (p: Policy) => tf.tidy(() => sequenceLogprobs(p, batch).logprobs);
      const [oldLogps, refLogps] = [constant(old), constant(reference)];
      const out = gradientsOf(policy, () => {
        const sl = sequenceLogprobs(policy, batch);
        return grpoLoss(
          { logps: sl.logprobs, oldLogps, refLogps, advantages: tf.tensor1d(advantages), mask: sl.mask },
          { beta: 0.04, epsilon: 0.2, epsilon_high: 0.28, loss_type: 'grpo', importance_sampling_level: 'token', max_completion_length: 16 },
        ).loss;
      });
      tf.dispose([oldLogps, refLogps]);
      return out;
    };
    const shared = run(true);
    const plain = run(false);
    expect(Math.abs(shared.loss - plain.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(plain.loss)));
    expectSameGradients(shared.grads, plain.grads);
  });
});
