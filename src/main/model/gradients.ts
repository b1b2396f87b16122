// Gradient functions for the kernels our models and losses use.
//
// Why this file exists: under Node, `@tensorflow/tfjs-core` resolves to its CommonJS
// bundle (dist/tf-core.node.js), which registers no gradients (the union package
// @tensorflow/tfjs normally adds them), and the ESM files that do register them
// (dist/register_all_gradients.js) cannot be loaded by Node's ESM resolver. The formulas
// follow tfjs-core's own gradients (Apache-2.0). A kernel that already has a gradient
// (e.g. when a bundle brought them) is left alone. Checked against finite differences in
// tests/unit/model/gradients.test.ts.
import * as tf from '@tensorflow/tfjs-core';

type Grads = Record<string, () => tf.Tensor>;
type GradFn = (dy: tf.Tensor, saved: tf.Tensor[], attrs: Record<string, unknown>) => Grads;

function register(kernelName: string, gradFunc: GradFn, save: { inputs?: string[]; outputs?: boolean[]; all?: boolean } = {}): void {
  if (tf.getGradient(kernelName) != null) return;
  tf.registerGradient({
    kernelName,
    inputsToSave: save.inputs,
    outputsToSave: save.outputs,
    saveAllInputs: save.all,
    gradFunc: gradFunc as unknown as tf.GradConfig['gradFunc'],
  });
}

/** Sum a broadcast result's gradient back down to the input's shape. */
function unbroadcast(dy: tf.Tensor, shape: number[]): tf.Tensor {
  const axes = tf.backend_util.getReductionAxes(shape, dy.shape);
  const reduced = axes.length > 0 ? tf.sum(dy, axes) : dy;
  return tf.reshape(reduced, shape);
}

function axesOf(axis: unknown, rank: number): number[] {
  if (axis === undefined || axis === null) return Array.from({ length: rank }, (_, i) => i);
  const list = Array.isArray(axis) ? (axis as number[]) : [axis as number];
  return list.map((a) => (a < 0 ? a + rank : a));
}

/** dy of a reduction, broadcast back over the reduced axes of x. */
function unreduce(dy: tf.Tensor, xShape: number[], axes: number[]): tf.Tensor {
  const kept = xShape.map((d, i) => (axes.includes(i) ? 1 : d));
  return tf.mul(tf.reshape(dy, kept), tf.ones(xShape));
}

// Gradients must be float32 even for bool/int inputs (the tape checks).
const zeros = (...names: string[]): GradFn => (_dy, saved) => Object.fromEntries(names.map((n, i) => [n, () => tf.zeros(saved[i]!.shape, 'float32')]));

let registered = false;

export function registerGradients(): void {
  if (registered) return;
  registered = true;
  const ab = { inputs: ['a', 'b'] };
  register('Add', (dy, [a, b]) => ({ a: () => unbroadcast(dy, a!.shape), b: () => unbroadcast(dy, b!.shape) }), ab);
  register('Sub', (dy, [a, b]) => ({ a: () => unbroadcast(dy, a!.shape), b: () => unbroadcast(tf.neg(dy), b!.shape) }), ab);
  register('Multiply', (dy, [a, b]) => ({ a: () => unbroadcast(tf.mul(dy, b!), a!.shape), b: () => unbroadcast(tf.mul(dy, a!), b!.shape) }), ab);
  register('RealDiv', (dy, [a, b]) => ({
    a: () => unbroadcast(tf.div(dy, b!), a!.shape),
    b: () => unbroadcast(tf.neg(tf.div(tf.mul(dy, a!), tf.square(b!))), b!.shape),
  }), ab);
  register('SquaredDifference', (dy, [a, b]) => {
    const two = tf.mul(tf.sub(a!, b!), 2);
    return { a: () => unbroadcast(tf.mul(dy, two), a!.shape), b: () => unbroadcast(tf.neg(tf.mul(dy, two)), b!.shape) };
  }, ab);
  register('Maximum', (dy, [a, b]) => ({
    a: () => unbroadcast(tf.mul(dy, tf.cast(tf.greaterEqual(a!, b!), 'float32')), a!.shape),
    b: () => unbroadcast(tf.mul(dy, tf.cast(tf.less(a!, b!), 'float32')), b!.shape),
  }), ab);
  register('Minimum', (dy, [a, b]) => ({
    a: () => unbroadcast(tf.mul(dy, tf.cast(tf.lessEqual(a!, b!), 'float32')), a!.shape),
    b: () => unbroadcast(tf.mul(dy, tf.cast(tf.greater(a!, b!), 'float32')), b!.shape),
  }), ab);
  register('Pow', (dy, [a, b], ) => ({
    // d/da a^b = b a^(b-1); d/db a^b = a^b log a (0 where a <= 0, as tfjs does)
    a: () => unbroadcast(tf.mul(dy, tf.mul(b!, tf.pow(a!, tf.sub(b!, 1)))), a!.shape),
    b: () => unbroadcast(tf.mul(dy, tf.mul(tf.pow(a!, b!), tf.where(tf.greater(a!, 0), tf.log(tf.maximum(a!, 1e-30)), tf.zerosLike(a!)))), b!.shape),
  }), ab);
  register('BatchMatMul', (dy, [a, b], attrs) => {
    const tA = Boolean(attrs.transposeA);
    const tB = Boolean(attrs.transposeB);
    // mm(p, q) = p @ q with any needed transposes done explicitly: the wasm backend only
    // has a fast (XNNPACK) path for rank-2 matmuls without transpose flags.
    const T = (t: tf.Tensor) => (t.rank === 2 ? tf.transpose(t) : tf.transpose(t, [...Array(t.rank - 2).keys(), t.rank - 1, t.rank - 2]));
    const mm = (p: tf.Tensor, q: tf.Tensor) => tf.matMul(p, q);
    if (!tA && !tB) return { a: () => mm(dy, T(b!)), b: () => mm(T(a!), dy) };
    if (!tA && tB) return { a: () => mm(dy, b!), b: () => mm(T(dy), a!) };
    if (tA && !tB) return { a: () => mm(b!, T(dy)), b: () => mm(a!, dy) };
    return { a: () => mm(T(b!), T(dy)), b: () => mm(T(dy), T(a!)) };
  }, ab);

  const x = { inputs: ['x'] };
  const y = { outputs: [true] };
  register('Neg', (dy) => ({ x: () => tf.neg(dy) }));
  register('Identity', (dy) => ({ x: () => tf.clone(dy) }));
  register('Cast', (dy) => ({ x: () => tf.clone(dy) }));
  register('Square', (dy, [xx]) => ({ x: () => tf.mul(dy, tf.mul(xx!, 2)) }), x);
  register('Sqrt', (dy, [xx]) => ({ x: () => tf.div(dy, tf.mul(tf.sqrt(xx!), 2)) }), x);
  register('Rsqrt', (dy, [xx]) => ({ x: () => tf.div(dy, tf.mul(tf.pow(xx!, 1.5), -2)) }), x);
  register('Reciprocal', (dy, [xx]) => ({ x: () => tf.neg(tf.div(dy, tf.square(xx!))) }), x);
  register('Log', (dy, [xx]) => ({ x: () => tf.div(dy, xx!) }), x);
  register('Log1p', (dy, [xx]) => ({ x: () => tf.div(dy, tf.add(xx!, 1)) }), x);
  register('Abs', (dy, [xx]) => ({ x: () => tf.mul(dy, tf.sign(xx!)) }), x);
  register('Relu', (dy, [xx]) => ({ x: () => tf.mul(dy, tf.cast(tf.greater(xx!, 0), 'float32')) }), x);
  register('Softplus', (dy, [xx]) => ({ x: () => tf.mul(dy, tf.sigmoid(xx!)) }), x);
  register('Exp', (dy, [yy]) => ({ x: () => tf.mul(dy, yy!) }), y);
  register('Tanh', (dy, [yy]) => ({ x: () => tf.mul(dy, tf.sub(1, tf.square(yy!))) }), y);
  register('Sigmoid', (dy, [yy]) => ({ x: () => tf.mul(dy, tf.mul(yy!, tf.sub(1, yy!))) }), y);
  register('ClipByValue', (dy, [xx], attrs) => ({
    x: () => tf.where(tf.logicalAnd(tf.greaterEqual(xx!, attrs.clipValueMin as number), tf.lessEqual(xx!, attrs.clipValueMax as number)), dy, tf.zerosLike(dy)),
  }), x);
  register('Softmax', (dy, [yy], attrs) => {
    const dim = (attrs.dim as number) ?? -1;
    return { logits: () => tf.sub(tf.mul(dy, yy!), tf.mul(tf.sum(tf.mul(dy, yy!), dim, true), yy!)) };
  }, y);
  register('Select', (dy, [cond]) => ({
    condition: () => tf.zeros(cond!.shape, 'float32'),
    t: () => tf.where(cond!, dy, tf.zerosLike(dy)),
    e: () => tf.where(cond!, tf.zerosLike(dy), dy),
  }), { inputs: ['condition'] });

  register('Reshape', (dy, [xx]) => ({ x: () => tf.reshape(dy, xx!.shape) }), x);
  register('ExpandDims', (dy, [xx]) => ({ input: () => tf.reshape(dy, xx!.shape) }), { inputs: ['input'] });
  register('Transpose', (dy, _s, attrs) => {
    const perm = attrs.perm as number[];
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return { x: () => tf.transpose(dy, inverse) };
  });
  register('Slice', (dy, [xx], attrs) => {
    const begin = attrs.begin as number[] | number;
    const b = Array.isArray(begin) ? begin : [begin];
    const pads = xx!.shape.map((d, i) => [b[i] ?? 0, d - (b[i] ?? 0) - dy.shape[i]!] as [number, number]);
    return { x: () => tf.pad(dy, pads) };
  }, x);
  register('Concat', (dy, saved, attrs) => {
    const axis = (attrs.axis as number) < 0 ? (attrs.axis as number) + dy.rank : (attrs.axis as number);
    const parts = tf.split(dy, saved.map((t) => t.shape[axis]!), axis);
    return Object.fromEntries(parts.map((p, i) => [String(i), () => p]));
  }, { all: true });
  register('Pack', (dy, _saved, attrs) => {
    const parts = tf.unstack(dy, attrs.axis as number);
    return Object.fromEntries(parts.map((p, i) => [String(i), () => p]));
  }, { all: true });
  register('Unpack', (dys, _s, attrs) => {
    const parts = dys as unknown as (tf.Tensor | null)[];
    const like = parts.find((p) => p != null)!;
    return { value: () => tf.stack(parts.map((p) => p ?? tf.zerosLike(like)), attrs.axis as number) };
  });
  register('AddN', (dy, saved) => Object.fromEntries(saved.map((_, i) => [String(i), () => tf.clone(dy)])), { all: true });
  register('Tile', (dy, [xx], attrs) => {
    // Sum the tiled copies: reshape [r0, d0, r1, d1, ...] and reduce the repeat axes.
    const reps = attrs.reps as number[];
    const inter: number[] = [];
    xx!.shape.forEach((d, i) => inter.push(reps[i]!, d));
    const axes = reps.map((_, i) => 2 * i);
    return { x: () => tf.reshape(tf.sum(tf.reshape(dy, inter), axes), xx!.shape) };
  }, x);

  register('Sum', (dy, [xx], attrs) => ({ x: () => unreduce(dy, xx!.shape, axesOf(attrs.axis, xx!.rank)) }), x);
  register('Mean', (dy, [xx], attrs) => {
    const axes = axesOf(attrs.axis, xx!.rank);
    const n = axes.reduce((s, a) => s * xx!.shape[a]!, 1);
    return { x: () => tf.div(unreduce(dy, xx!.shape, axes), n) };
  }, x);
  for (const [name, attr] of [['Max', 'reductionIndices'], ['Min', 'axis']] as const) {
    register(name, (dy, [xx, yy], attrs) => {
      const axes = axesOf(attrs[attr], xx!.rank);
      const hit = tf.cast(tf.equal(xx!, unreduce(yy!, xx!.shape, axes)), 'float32');
      return { x: () => tf.mul(unreduce(dy, xx!.shape, axes), hit) };
    }, { inputs: ['x'], outputs: [true] });
  }

  // Piecewise-constant or boolean kernels: zero gradient, so they may sit on a taped path.
  for (const k of ['Sign', 'Floor', 'Ceil', 'Round', 'Step', 'OnesLike', 'ZerosLike', 'IsNan', 'IsFinite', 'IsInf', 'LogicalNot']) register(k, zeros('x'), x);
  for (const k of ['Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'NotEqual', 'LogicalAnd', 'LogicalOr']) register(k, zeros('a', 'b'), ab);
}

registerGradients();
