import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { chosenNll, dpoLoss, sequenceLogps, type DpoLossParams } from '../../../src/main/train/dpo';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const logSigmoid = (x: number) => -Math.log1p(Math.exp(-x));
const num = (t: tf.Tensor) => t.dataSync()[0];

// Two pairs. Margins m = (pc - rc) - (pr - rr):
//   pair 0: (-10 - -12) - (-15 - -14) = 2 - (-1) = 3
//   pair 1: (-8 - -7) - (-9 - -9.5)   = -1 - 0.5 = -1.5
const inputs = () => ({
  policyChosen: tf.tensor1d([-10, -8]),
  policyRejected: tf.tensor1d([-15, -9]),
  refChosen: tf.tensor1d([-12, -7]),
  refRejected: tf.tensor1d([-14, -9.5]),
});
const margins = [3, -1.5];
const base: DpoLossParams = { beta: 0.1, loss_type: 'sigmoid', label_smoothing: 0, rpo_alpha: null };

describe('dpoLoss', () => {
  it('sigmoid: mean of -logsigmoid(beta m)', () => {
    const out = dpoLoss(inputs(), base);
    const expected = (-logSigmoid(0.3) - logSigmoid(-0.15)) / 2;
    expect(num(out.loss)).toBeCloseTo(expected, 6);
    expect(num(out.loss)).toBeCloseTo((0.5543552 + 0.7709572) / 2, 5); // log(1 + e^-.3), log(1 + e^.15)
  });

  it('sigmoid with label_smoothing (cDPO) mixes in the flipped label', () => {
    const ls = 0.1;
    const out = dpoLoss(inputs(), { ...base, label_smoothing: ls });
    const per = margins.map((m) => -(1 - ls) * logSigmoid(0.1 * m) - ls * logSigmoid(-0.1 * m));
    expect(num(out.loss)).toBeCloseTo((per[0] + per[1]) / 2, 6);
  });

  it('ipo: (m - 1/(2 beta))^2', () => {
    const out = dpoLoss(inputs(), { ...base, loss_type: 'ipo' });
    // 1/(2*.1) = 5: (3-5)^2 = 4, (-1.5-5)^2 = 42.25
    expect(num(out.loss)).toBeCloseTo((4 + 42.25) / 2, 4);
  });

  it('hinge: relu(1 - beta m)', () => {
    const out = dpoLoss(inputs(), { ...base, loss_type: 'hinge' });
    expect(num(out.loss)).toBeCloseTo((0.7 + 1.15) / 2, 6);
    const big = dpoLoss(inputs(), { ...base, loss_type: 'hinge', beta: 1 }); // relu(1-3)=0, relu(2.5)
    expect(num(big.loss)).toBeCloseTo(2.5 / 2, 6);
  });

  it('implicit rewards, margins and accuracy', () => {
    const out = dpoLoss(inputs(), base);
    const rc = out.rewardsChosen.arraySync();
    const rr = out.rewardsRejected.arraySync();
    expect(rc[0]).toBeCloseTo(0.2, 6);
    expect(rc[1]).toBeCloseTo(-0.1, 6);
    expect(rr[0]).toBeCloseTo(-0.1, 6);
    expect(rr[1]).toBeCloseTo(0.05, 6);
    const m = out.margins.arraySync();
    expect(m[0]).toBeCloseTo(0.3, 6);
    expect(m[1]).toBeCloseTo(-0.15, 6);
    expect(num(out.accuracy)).toBe(0.5);
  });

  it('rpo_alpha adds alpha times the per-token NLL of chosen', () => {
    const tok = tf.tensor2d([[-1, -2, -9], [-0.5, -0.5, -0.5]]);
    const mask = tf.tensor2d([[1, 1, 0], [1, 1, 1]]);
    const nll = chosenNll(tok, mask);
    expect(num(nll)).toBeCloseTo((1 + 2 + 1.5) / 5, 6);
    const plain = num(dpoLoss(inputs(), base).loss);
    const rpo = num(dpoLoss({ ...inputs(), chosenNll: nll }, { ...base, rpo_alpha: 0.5 }).loss);
    expect(rpo - plain).toBeCloseTo(0.5 * 0.9, 6);
    expect(() => dpoLoss(inputs(), { ...base, rpo_alpha: 1 })).toThrow(/chosenNll/);
  });

  it('gradient pushes chosen up and rejected down', () => {
    const g = tf.grads((pc: tf.Tensor, pr: tf.Tensor) =>
      dpoLoss({ ...inputs(), policyChosen: pc as tf.Tensor1D, policyRejected: pr as tf.Tensor1D }, base).loss,
    )([tf.tensor1d([-10, -8]), tf.tensor1d([-15, -9])]);
    // d/dpc of -logsig(beta m)/B = -beta * sigmoid(-beta m) / B
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    const dc = g[0].arraySync() as number[];
    const dr = g[1].arraySync() as number[];
    margins.forEach((m, i) => {
      expect(dc[i]).toBeCloseTo((-0.1 * sig(-0.1 * m)) / 2, 6);
      expect(dr[i]).toBeCloseTo((0.1 * sig(-0.1 * m)) / 2, 6);
    });
  });
});

describe('sequenceLogps', () => {
  it('sums masked token log-probs, and averages them for ipo', () => {
    const tok = tf.tensor2d([[-1, -2, -4], [-3, -1, -1]]);
    const mask = tf.tensor2d([[1, 1, 0], [1, 1, 1]]);
    expect(Array.from(sequenceLogps(tok, mask, 'sigmoid').dataSync())).toEqual([-3, -5]);
    const avg = sequenceLogps(tok, mask, 'ipo').arraySync();
    expect(avg[0]).toBeCloseTo(-1.5, 6);
    expect(avg[1]).toBeCloseTo(-5 / 3, 6);
  });
});
