// Comparing two sets of parameters or gradients, as the data-parallel tests do.
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

/** max |a - b| / max |a| over every tensor at once. */
export function relDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  let diff = 0;
  let scale = 0;
  for (const [name, x] of a) {
    const y = b.get(name)!;
    for (let i = 0; i < x.length; i++) {
      diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
      scale = Math.max(scale, Math.abs(x[i]!));
    }
  }
  return diff / scale;
}

/** The gradients' values, the tensors disposed. */
export function read(grads: Map<string, tf.Tensor>): Map<string, Float32Array> {
  const out = new Map([...grads].map(([k, g]) => [k, g.dataSync() as Float32Array]));
  tf.dispose([...grads.values()]);
  return out;
}
