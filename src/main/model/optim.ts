// AdamW with global-norm gradient clipping and a warmup + cosine learning-rate schedule,
// written out (rather than tf.train.adam) so the schedule, clipping and decay are visible
// and every stage (SFT, GRPO, DPO) updates weights the same way.
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import type { Policy } from './policy';


export function adamWFromConfig(
  policy: Policy,
  c: { adam_beta1: number; adam_beta2: number; adam_epsilon: number; weight_decay: number },
): AdamW {
  return new AdamW(policy, { beta1: c.adam_beta1, beta2: c.adam_beta2, eps: c.adam_epsilon, weight_decay: c.weight_decay });
}

/** A NaN or infinite loss or gradient norm; the loop restores the last good weights when it sees this. */
export class NonFiniteLossError extends Error {
  constructor(
    readonly stage: string,
    readonly step: number,
    readonly value: number,
    readonly metric: 'loss' | 'grad_norm' = 'loss',
  ) {
    super(`${stage}: ${metric} is ${value} at step ${step}; stopping the stage`);
    this.name = 'NonFiniteLossError';
  }
}

/**
 * One guarded update: clip to maxGradNorm, then step. A non-finite loss or gradient norm
 * disposes the gradients and throws NonFiniteLossError before any weight changes.
 * Returns the gradient norm before clipping.
 */
export function clippedStep(
  optimizer: AdamW,
  grads: Map<string, tf.Tensor>,
  loss: number,
  o: { maxGradNorm: number; lr: number; stage: string; step: number },
): number {
  const gradNorm = Number.isFinite(loss) ? clipByGlobalNorm(grads, o.maxGradNorm) : NaN;
  if (!Number.isFinite(gradNorm)) {
    tf.dispose([...grads.values()]);
    throw Number.isFinite(loss) ? new NonFiniteLossError(o.stage, o.step, gradNorm, 'grad_norm') : new NonFiniteLossError(o.stage, o.step, loss, 'loss');
  }
  optimizer.step(grads, o.lr);
  return gradNorm;
}

/** Global L2 norm of every parameter: what the health guard watches for weight explosion. */
export function weightNorm(policy: Policy): number {
  // Summed in float32: past ~1e19 the squares overflow to Infinity, which the guard reads as diverged.
  return tf.tidy(() => Math.sqrt(tf.addN([...policy.params.values()].map((p) => tf.sum(tf.square(p)))).dataSync()[0]!));
}

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay, applied to matrices only (not biases, gains or positions). */
  weight_decay?: number;
}

/** Linear warmup for `warmup` steps, then cosine from lr to lr * min_ratio at `total`. */
export function learningRateAt(step: number, o: { lr: number; warmup: number; total: number; min_ratio?: number }): number {
  const minLr = o.lr * (o.min_ratio ?? 0.1);
  if (step < o.warmup) return (o.lr * (step + 1)) / o.warmup;
  if (step >= o.total) return minLr;
  const progress = (step - o.warmup) / Math.max(1, o.total - o.warmup);
  return minLr + 0.5 * (o.lr - minLr) * (1 + Math.cos(Math.PI * progress));
}

/** Scale gradients so their global L2 norm is at most maxNorm (no-op when maxNorm <= 0). Returns the norm before clipping. */
export function clipByGlobalNorm(grads: Map<string, tf.Tensor>, maxNorm: number): number {
  const norm = tf.tidy(() => Math.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g)))).dataSync()[0]!));
  if (maxNorm > 0 && norm > maxNorm) {
    const scale = maxNorm / (norm + 1e-6);
    for (const [k, g] of grads) {
      grads.set(k, tf.mul(g, scale));
      g.dispose();
    }
  }
  return norm;
}

export interface AdamWState {
  t: number;
  moments: Record<string, { m: Float32Array; v: Float32Array }>;
}

export class AdamW {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private t = 0;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private readonly weightDecay: number;

  constructor(private readonly policy: Policy, opts: AdamWOptions = {}) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.95;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weight_decay ?? 0.01;
    for (const [name, p] of policy.params) {
      const zeros = tf.zerosLike(p);
      this.m.set(name, tf.variable(zeros, false));
      this.v.set(name, tf.variable(zeros, false));
      zeros.dispose(); // the variables keep their own reference
    }
  }

  get stepCount(): number {
    return this.t;
  }

  /** Apply one update; grads are keyed by the policy's short parameter names and are disposed. */
  step(grads: Map<string, tf.Tensor>, lr: number): void {
    this.t++;
    const bc1 = 1 - this.beta1 ** this.t;
    const bc2 = 1 - this.beta2 ** this.t;
    tf.tidy(() => {
      for (const [name, g] of grads) {
        const p = this.policy.params.get(name)!;
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1)));
        v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
        const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), this.eps));
        const decay = isDecayed(name, p.rank) ? this.weightDecay : 0;
        const decayed = decay > 0 ? tf.mul(p, 1 - lr * decay) : p;
        p.assign(tf.sub(decayed, tf.mul(update, lr)));
      }
    });
    tf.dispose([...grads.values()]);
  }

  /** Moments and step count as plain arrays: saved next to an in-stage checkpoint so a resumed stage steps on exactly. */
  exportState(): AdamWState {
    const moments: AdamWState['moments'] = {};
    for (const name of this.m.keys()) {
      moments[name] = { m: this.m.get(name)!.dataSync() as Float32Array, v: this.v.get(name)!.dataSync() as Float32Array };
    }
    return { t: this.t, moments };
  }

  importState(state: AdamWState): void {
    for (const [name, m] of this.m) {
      const saved = state.moments[name];
      if (!saved || saved.m.length !== m.size || saved.v.length !== m.size) {
        throw new Error(`optimizer state: parameter ${name} is missing or has the wrong size (expected ${m.size} values)`);
      }
      m.assign(tf.tensor(saved.m, m.shape, 'float32'));
      this.v.get(name)!.assign(tf.tensor(saved.v, m.shape, 'float32'));
    }
    this.t = state.t;
  }

  dispose(): void {
    tf.dispose([...this.m.values(), ...this.v.values()]);
  }
}

function isDecayed(name: string, rank: number): boolean {
  return rank === 2 && name !== 'wpe' && !name.startsWith('vis_');
}

/**
 * Loss and gradients of `lossFn` with respect to every trainable parameter of the policy,
 * keyed by short parameter name. lossFn runs on the tape.
 */
export function policyGradients(policy: Policy, lossFn: () => tf.Scalar): { loss: number; grads: Map<string, tf.Tensor> } {
  const vars = [...policy.params.values()].filter((v) => v.trainable);
  const byVarName = new Map([...policy.params].map(([short, v]) => [v.name, short]));
  const { value, grads } = tf.variableGrads(lossFn, vars);
  const loss = value.dataSync()[0]!;
  value.dispose();
  const out = new Map<string, tf.Tensor>();
  for (const [varName, g] of Object.entries(grads)) out.set(byVarName.get(varName)!, g);
  return { loss, grads: out };
}
