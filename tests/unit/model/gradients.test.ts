import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/main/model/backend';
import '../../../src/main/model/gradients';

// Central finite differences of f at x, one coordinate at a time.
function numericGrad(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor, eps = 1e-2): Float32Array {
  const base = x.dataSync().slice();
  const out = new Float32Array(base.length);
  for (let i = 0; i < base.length; i++) {
    const at = (d: number) => {
      const v = base.slice();
      v[i]! += d;
      return tf.tidy(() => f(tf.tensor(v, x.shape)).dataSync()[0]!);
    };
    out[i] = (at(eps) - at(-eps)) / (2 * eps);
  }
  return out;
}

let w: tf.Tensor;
let other: tf.Tensor;
const makeInputs = () => {
  w = tf.tensor([0.3, -1.2, 0.7, 2.0, -0.4, 1.1], [2, 3]);
  other = tf.tensor([[0.5, 1.5, -0.7], [1.2, -0.3, 0.8]]);
};
const cases: Record<string, (x: tf.Tensor) => tf.Scalar> = {
  'add/sub/mul/div with broadcast': (x) => tf.sum(tf.div(tf.mul(tf.sub(tf.add(x, tf.tensor1d([1, 2, 3])), other), x), tf.add(tf.square(other), 1))),
  'div by x': (x) => tf.sum(tf.div(other, tf.add(tf.square(x), 1))),
  'matMul all transposes': (x) => tf.addN([tf.sum(tf.matMul(x, other, false, true)), tf.sum(tf.square(tf.matMul(x, other, true, false))), tf.sum(tf.matMul(other, x, true, false)), tf.sum(tf.square(tf.matMul(x, tf.transpose(other), true, true)))]) as tf.Scalar,
  'batched matMul': (x) => tf.sum(tf.mul(tf.matMul(tf.reshape(x, [2, 1, 3]), tf.reshape(other, [2, 3, 1])), 2)),
  'softmax / logSoftmax': (x) => tf.sum(tf.mul(tf.add(tf.softmax(x), tf.logSoftmax(x)), other)),
  'moments / rsqrt (layer norm)': (x) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.sum(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), other));
  },
  'tanh / exp / log / sigmoid / sqrt / abs': (x) => tf.sum(tf.add(tf.add(tf.tanh(x), tf.exp(x)), tf.add(tf.log(tf.add(tf.square(x), 1)), tf.add(tf.sigmoid(x), tf.add(tf.sqrt(tf.add(tf.abs(x), 1)), tf.softplus(x)))))),
  'pow': (x) => tf.sum(tf.mul(tf.pow(x, 3), other)),
  'transpose / reshape / slice / concat': (x) => tf.sum(tf.mul(tf.concat([tf.slice(tf.transpose(x), [1, 0], [2, 2]), tf.reshape(tf.slice(x, [0, 1], [2, 2]), [2, 2])], 1), tf.tensor2d([[1, 2, 3, 4], [5, 6, 7, 8]]))),
  'sum / mean / max / min over axes': (x) => tf.add(tf.add(tf.sum(tf.mul(tf.mean(x, 0), tf.tensor1d([1, 2, 3]))), tf.sum(tf.max(x, 1))), tf.add(tf.sum(tf.min(x, 0)), tf.mean(tf.square(x)))),
  'maximum / minimum / clip / where': (x) => tf.sum(tf.add(tf.add(tf.mul(tf.maximum(x, other), 2), tf.minimum(x, other)), tf.add(tf.clipByValue(x, -0.5, 0.9), tf.where(tf.greater(x, 0), tf.mul(x, 3), tf.neg(x))))),
  'stack / tile / addN / expandDims': (x) => tf.sum(tf.mul(tf.addN([tf.tile(x, [2, 1]), tf.reshape(tf.stack([x, other]), [4, 3]), tf.squeeze(tf.expandDims(tf.tile(x, [2, 1]), 0))]), tf.reshape(tf.range(0, 12), [4, 3]))),
};

beforeAll(async () => {
  await initBackend();
  makeInputs();
});

describe('registered gradients agree with finite differences', () => {
  for (const [name, f] of Object.entries(cases)) {
    it(name, () => {
      const analytic = tf.grad(f)(w).dataSync();
      const numeric = numericGrad(f, w);
      for (let i = 0; i < numeric.length; i++) expect(analytic[i]).toBeCloseTo(numeric[i]!, 1);
      // The check is not vacuous: the gradient is not all zeros.
      expect(Math.max(...Array.from(analytic).map(Math.abs))).toBeGreaterThan(0.1);
    });
  }
});

describe('batchMatMul (slice by slice through XNNPACK on wasm)', () => {
  // Shapes with >= 8 rows take the sliced path; the reference is tf.matMul's batched kernel.
  const a = () => tf.tensor3d(Array.from({ length: 3 * 9 * 5 }, (_, i) => Math.sin(i * 0.7)), [3, 9, 5]);
  const b = () => tf.tensor3d(Array.from({ length: 3 * 5 * 4 }, (_, i) => Math.cos(i * 1.3)), [3, 5, 4]);
  const bT = () => tf.tensor3d(Array.from({ length: 3 * 4 * 5 }, (_, i) => Math.cos(i * 1.3)), [3, 4, 5]);
  const weights = () => tf.tensor3d(Array.from({ length: 3 * 9 * 4 }, (_, i) => (i % 7) - 3), [3, 9, 4]);

  for (const transposeB of [false, true]) {
    it(`values and gradients equal the batched kernel's${transposeB ? ' (b transposed)' : ''}`, async () => {
      const { batchMatMul } = await import('../../../src/main/model/matmul');
      expect(tf.getBackend()).toBe('wasm');
      const A = a();
      const B = transposeB ? bT() : b();
      const W = weights();
      const loss = (f: (x: tf.Tensor3D, y: tf.Tensor3D) => tf.Tensor) => (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(f(x as tf.Tensor3D, y as tf.Tensor3D), W));
      const ours = (x: tf.Tensor3D, y: tf.Tensor3D) => batchMatMul(x, y, transposeB);
      const ref = (x: tf.Tensor3D, y: tf.Tensor3D) => tf.matMul(x, y, false, transposeB);
      const close = (p: tf.Tensor, q: tf.Tensor) => expect(tf.max(tf.abs(tf.sub(p, q))).dataSync()[0]).toBeLessThan(1e-4);
      close(ours(A, B), ref(A, B));
      const [ga, gb] = tf.grads(loss(ours))([A, B]);
      const [ra, rb] = tf.grads(loss(ref))([A, B]);
      expect(ga!.shape).toEqual(A.shape);
      expect(gb!.shape).toEqual(B.shape);
      close(ga!, ra!);
      close(gb!, rb!);
      expect(tf.max(tf.abs(gb!)).dataSync()[0]).toBeGreaterThan(0.1);
    });
  }
});
