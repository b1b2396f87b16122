// The small differentiable pieces every block is made of.
import * as tf from '@tensorflow/tfjs-core';

export function layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor {
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

export function linear(x2d: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return tf.add(tf.matMul(x2d as tf.Tensor2D, w as tf.Tensor2D), b) as tf.Tensor2D;
}

/** Identity forward, zero gradient (torch's `.detach()` inside a taped computation). */
export const stopGradient: (x: tf.Tensor) => tf.Tensor = tf.customGrad((...args: unknown[]) => {
  const x = args[0] as tf.Tensor;
  return { value: x.clone(), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
}) as (x: tf.Tensor) => tf.Tensor;
