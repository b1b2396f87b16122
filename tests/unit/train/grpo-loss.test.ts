import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { GrpoConfigSchema } from '../../../src/main/train/config';
import { warmedUpRate } from '../../../src/main/train/grpo';
import { stopGradient } from '../../../src/main/model/layers';
import { grpoLoss, maskTruncated, type GrpoLossParams, type GrpoLossType } from '../../../src/main/train/grpo-loss';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const base: GrpoLossParams = {
  beta: 0,
  epsilon: 0.2,
  epsilon_high: 0.2,
  loss_type: 'grpo',
  importance_sampling_level: 'token',
  max_completion_length: 4,
};

const num = (t: tf.Tensor) => t.dataSync()[0];

function run(
  logps: number[][],
  old: number[][],
  ref: number[][] | null,
  adv: number[],
  mask: number[][],
  p: Partial<GrpoLossParams>,
) {
  return grpoLoss(
    {
      logps: tf.tensor2d(logps),
      oldLogps: tf.tensor2d(old),
      refLogps: ref ? tf.tensor2d(ref) : null,
      advantages: tf.tensor1d(adv),
      mask: tf.tensor2d(mask),
    },
    { ...base, ...p },
  );
}

// Independent reference in plain loops, written from TRL's formulas.
function referenceLoss(
  logps: number[][],
  old: number[][],
  ref: number[][] | null,
  adv: number[],
  mask: number[][],
  p: GrpoLossParams,
): number {
  const B = logps.length;
  const L = logps[0].length;
  const perTok: number[][] = [];
  for (let b = 0; b < B; b++) {
    let seqLr = 0;
    let n = 0;
    for (let t = 0; t < L; t++) if (mask[b][t]) { seqLr += logps[b][t] - old[b][t]; n++; }
    seqLr /= Math.max(n, 1);
    perTok.push([]);
    for (let t = 0; t < L; t++) {
      const lr = p.importance_sampling_level === 'sequence' ? seqLr : logps[b][t] - old[b][t];
      const r = Math.exp(lr);
      const rc = Math.min(Math.max(r, 1 - p.epsilon), 1 + p.epsilon_high);
      let l = -Math.min(r * adv[b], rc * adv[b]);
      if (ref) { const d = ref[b][t] - logps[b][t]; l += p.beta * (Math.exp(d) - d - 1); }
      perTok[b].push(l);
    }
  }
  let total = 0, tokens = 0, rowMeans = 0;
  for (let b = 0; b < B; b++) {
    let s = 0, n = 0;
    for (let t = 0; t < L; t++) if (mask[b][t]) { s += perTok[b][t]; n++; }
    total += s; tokens += n; rowMeans += s / Math.max(n, 1);
  }
  switch (p.loss_type) {
    case 'grpo': return rowMeans / B;
    case 'bnpo': case 'dapo': return total / Math.max(tokens, 1);
    case 'dr_grpo': return total / (B * p.max_completion_length);
  }
}

describe('grpoLoss', () => {
  it('hand-worked case at ratio 1: each loss_type aggregates differently', () => {
    // ratio = 1, beta = 0 -> per-token loss = -A: row 0 (2 tokens) -1, row 1 (1 token) +1
    const lp = [[-1, -2, -3], [-0.5, -1, -1]];
    const args: [number[][], number[][], null, number[], number[][]] = [lp, lp, null, [1, -1], [[1, 1, 0], [1, 0, 0]]];
    expect(num(run(...args, { loss_type: 'grpo' }).loss)).toBeCloseTo(0, 6); // mean(-1, +1)
    expect(num(run(...args, { loss_type: 'bnpo' }).loss)).toBeCloseTo(-1 / 3, 6); // (-2 + 1) / 3
    expect(num(run(...args, { loss_type: 'dapo' }).loss)).toBeCloseTo(-1 / 3, 6);
    expect(num(run(...args, { loss_type: 'dr_grpo' }).loss)).toBeCloseTo(-1 / 8, 6); // -1 / (2 * 4)
  });

  it('matches the loop reference for every loss_type and level, with KL and clipping in play', () => {
    const logps = [[-1.0, -0.7, -2.3, -0.1], [-0.4, -1.9, -0.2, -3.0], [-0.9, -0.9, -1.2, -0.3]];
    const old = [[-1.3, -0.6, -2.0, -0.1], [-0.5, -1.5, -0.6, -2.0], [-0.9, -1.1, -1.0, -0.2]];
    const ref = [[-1.1, -0.9, -2.0, -0.4], [-0.7, -1.2, -0.3, -2.5], [-1.0, -0.8, -1.5, -0.3]];
    const adv = [1.2, -0.8, 0.3];
    const mask = [[1, 1, 1, 0], [1, 1, 1, 1], [1, 1, 0, 0]];
    for (const loss_type of ['grpo', 'bnpo', 'dr_grpo', 'dapo'] as GrpoLossType[]) {
      for (const importance_sampling_level of ['token', 'sequence'] as const) {
        const p: GrpoLossParams = { ...base, beta: 0.04, epsilon_high: 0.28, loss_type, importance_sampling_level, max_completion_length: 6 };
        const got = num(run(logps, old, ref, adv, mask, p).loss);
        expect(got, `${loss_type}/${importance_sampling_level}`).toBeCloseTo(referenceLoss(logps, old, ref, adv, mask, p), 5);
      }
    }
  });

  it('per-token advantages [B, L]: a row-constant matrix gives the [B] loss; otherwise each token uses its own', () => {
    const logps = [[-1.0, -0.7, -2.3], [-0.4, -1.9, -0.2]];
    const old = [[-1.3, -0.6, -2.0], [-0.5, -1.5, -0.6]];
    const mask = [[1, 1, 1], [1, 1, 0]];
    const p: GrpoLossParams = { ...base, epsilon_high: 0.28 };
    const rowConst = grpoLoss({ logps: tf.tensor2d(logps), oldLogps: tf.tensor2d(old), refLogps: null, advantages: tf.tensor2d([[1.2, 1.2, 1.2], [-0.8, -0.8, -0.8]]), mask: tf.tensor2d(mask) }, p);
    expect(num(rowConst.loss)).toBeCloseTo(num(run(logps, old, null, [1.2, -0.8], mask, p).loss), 6);
    // At ratio 1 (old = current) the grpo loss is -mean over rows of each row's mean token advantage.
    const adv = [[1, 0.5, -0.5], [2, 0, 7]];
    const out = grpoLoss({ logps: tf.tensor2d(logps), oldLogps: tf.tensor2d(logps), refLogps: null, advantages: tf.tensor2d(adv), mask: tf.tensor2d(mask) }, p);
    expect(num(out.loss)).toBeCloseTo(-((1 + 0.5 - 0.5) / 3 + (2 + 0) / 2) / 2, 6); // the masked 7 does not count
  });

  it('KL is 0 when policy = reference, and the k3 value otherwise', () => {
    const lp = [[-1, -2], [-0.3, -0.8]];
    const out = run(lp, lp, lp, [1, -1], [[1, 1], [1, 1]], { beta: 0.1 });
    expect(num(out.kl)).toBeCloseTo(0, 7);
    // ref - logp = 0.5 everywhere: e^.5 - .5 - 1
    const ref = lp.map((r) => r.map((x) => x + 0.5));
    expect(num(run(lp, lp, ref, [1, -1], [[1, 1], [1, 1]], { beta: 0.1 }).kl)).toBeCloseTo(Math.exp(0.5) - 1.5, 6);
  });

  it('ratio is 1 on the first inner iteration (old = detached current) and the gradient is -A / n', () => {
    const logps = tf.tensor2d([[-1, -2, -0.5], [-0.3, -0.8, -0.1]]);
    const mask = tf.tensor2d([[1, 1, 1], [1, 1, 0]]);
    let ratioMean = 0;
    const g = tf.grad((x: tf.Tensor) => {
      const out = grpoLoss(
        { logps: x as tf.Tensor2D, oldLogps: stopGradient(x) as tf.Tensor2D, refLogps: null, advantages: tf.tensor1d([2, -1]), mask },
        base,
      );
      ratioMean = num(out.ratioMean);
      return out.loss;
    })(logps);
    expect(ratioMean).toBeCloseTo(1, 7);
    // d/dlogp of mean_b mean_t(-A_b * exp(logp - old)) at old = logp is -A_b / (n_b * B)
    const expected = [[-2 / 6, -2 / 6, -2 / 6], [1 / 4, 1 / 4, 0]];
    const got = g.arraySync() as number[][];
    got.forEach((row, b) => row.forEach((v, t) => expect(v).toBeCloseTo(expected[b][t], 6)));
  });

  it('clip-higher: epsilon_high lets a positive-advantage token rise further than epsilon allows', () => {
    // ratio = e^.22 = 1.2461, A = 1
    const lp = [[-1 + 0.22]];
    const old = [[-1]];
    const sym = run(lp, old, null, [1], [[1]], { epsilon: 0.2, epsilon_high: 0.2 });
    const asym = run(lp, old, null, [1], [[1]], { epsilon: 0.2, epsilon_high: 0.28 });
    expect(num(sym.loss)).toBeCloseTo(-1.2, 6);
    expect(num(sym.clipHigh)).toBe(1);
    expect(num(asym.loss)).toBeCloseTo(-Math.exp(0.22), 6);
    expect(num(asym.clipHigh)).toBe(0);
    // The low side is still clipped at 1 - epsilon for negative advantages: ratio e^-.3 = .741
    const low = run([[-1.3]], old, null, [-1], [[1]], { epsilon: 0.2, epsilon_high: 0.28 });
    expect(num(low.loss)).toBeCloseTo(0.8, 6); // -min(-.741, -.8)
    expect(num(low.clipLow)).toBe(1);
    expect(num(low.clipRegion)).toBe(1);
  });

  it('a clipped token passes no gradient, an unclipped one does', () => {
    const old = tf.tensor2d([[-1, -1]]);
    const x = tf.tensor2d([[-1 + 0.3, -1 + 0.05]]);
    const g = tf.grad((v: tf.Tensor) =>
      grpoLoss({ logps: v as tf.Tensor2D, oldLogps: old, refLogps: null, advantages: tf.tensor1d([1]), mask: tf.tensor2d([[1, 1]]) }, base).loss,
    )(x).arraySync() as number[][];
    expect(g[0][0]).toBe(0);
    expect(g[0][1]).toBeCloseTo(-Math.exp(0.05) / 2, 6);
  });

  it('sequence level (GSPO) uses one ratio per row: exp of the masked mean log-ratio', () => {
    // row log-ratios .1 and .3 (third token masked, its .9 must not count) -> e^.2
    const out = run([[-0.9, -0.7, 0]], [[-1, -1, -0.9]], null, [1], [[1, 1, 0]], { importance_sampling_level: 'sequence', epsilon_high: 0.5 });
    expect(num(out.ratioMean)).toBeCloseTo(Math.exp(0.2), 6);
    expect(num(out.loss)).toBeCloseTo(-Math.exp(0.2), 6);
    const tok = run([[-0.9, -0.7, 0]], [[-1, -1, -0.9]], null, [1], [[1, 1, 0]], { epsilon_high: 0.5 });
    expect(num(tok.ratioMean)).toBeCloseTo((Math.exp(0.1) + Math.exp(0.3)) / 2, 6);
  });

  it('mask_truncated_completions removes whole rows', () => {
    const m = maskTruncated(tf.tensor2d([[1, 1, 0], [1, 1, 1]]), [false, true]);
    expect(m.arraySync()).toEqual([[1, 1, 0], [0, 0, 0]]);
    const lp = [[-1, -1, -1], [-1, -1, -1]];
    // Only row 0 is left: bnpo = -A_0
    const out = grpoLoss(
      { logps: tf.tensor2d(lp), oldLogps: tf.tensor2d(lp), refLogps: null, advantages: tf.tensor1d([0.5, -3]), mask: m },
      { ...base, loss_type: 'bnpo' },
    );
    expect(num(out.loss)).toBeCloseTo(-0.5, 6);
  });

  it('beta > 0 without a reference is an error, not a silent zero', () => {
    expect(() => run([[-1]], [[-1]], null, [1], [[1]], { beta: 0.1 })).toThrow(/refLogps is null/);
  });
});

describe('warmedUpRate (grpo.warmup_steps)', () => {
  it('rises linearly over warmup_steps from lr / warmup, then stays at lr', () => {
    const c = { learning_rate: 1e-4, warmup_steps: 4 };
    const want = [2.5e-5, 5e-5, 7.5e-5, 1e-4, 1e-4, 1e-4];
    [1, 2, 3, 4, 5, 40].forEach((s, i) => expect(warmedUpRate(s, c)).toBeCloseTo(want[i]!, 15));
  });

  it('is the constant learning rate without warmup, the default', () => {
    const c = GrpoConfigSchema.parse({ learning_rate: 3e-4 });
    expect(c.warmup_steps).toBe(0);
    expect([1, 7].map((s) => warmedUpRate(s, c))).toEqual([3e-4, 3e-4]);
    expect(GrpoConfigSchema.safeParse({ warmup_steps: -1 }).success).toBe(false);
  });
});
