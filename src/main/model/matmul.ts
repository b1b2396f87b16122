// Batched matmuls that tfjs-wasm runs on XNNPACK, with their gradients.
import * as tf from '@tensorflow/tfjs-core';

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
