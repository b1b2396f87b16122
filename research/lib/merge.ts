// Weight averaging of independently rewarded policies (WARP, Ramé et al. 2024): M GRPO runs
// from one checkpoint, each on its own prompts and seed, averaged weight by weight, then moved
// a fraction alpha of the way from the start (WARP's interpolation towards the init; alpha > 1
// extrapolates). Why it helps here: a run's update is mostly gradient noise (see
// research/grpo-noise-scale.md: one 64-completion batch is 90-99 % noise), which is independent between runs
// and averages down as 1/sqrt(M), while the part every run's reward pushes towards stays.
import type { Policy } from '../../src/main/model/policy';

/** theta = base + alpha * (mean(runs) - base), element by element. */
export function mergeWeights(base: ArrayLike<number>, runs: readonly ArrayLike<number>[], alpha = 1): Float32Array {
  if (runs.length === 0) throw new Error('mergeWeights: no runs to average');
  const out = new Float32Array(base.length);
  for (const r of runs) if (r.length !== base.length) throw new Error(`mergeWeights: a run has ${r.length} weights where the base has ${base.length}`);
  for (let i = 0; i < base.length; i++) {
    let sum = 0;
    for (const r of runs) sum += r[i]!;
    out[i] = base[i]! + alpha * (sum / runs.length - base[i]!);
  }
  return out;
}

export interface MergeSource {
  /** Where the policy came from (a checkpoint folder), for error messages. */
  source: string;
  policy: Policy;
}

/**
 * The merged value of every parameter of `base` (see mergeWeights). Every run must have the
 * base's architecture: same config and the same parameters with the same shapes; the error
 * names the run and what differs. No runs at all is mergeWeights' error.
 */
export function mergePolicies(base: MergeSource, runs: readonly MergeSource[], alpha = 1): Map<string, Float32Array> {
  const baseConfig = base.policy.config as unknown as Record<string, unknown>;
  for (const run of runs) {
    const config = run.policy.config as unknown as Record<string, unknown>;
    for (const key of new Set([...Object.keys(baseConfig), ...Object.keys(config)])) {
      if (JSON.stringify(baseConfig[key]) !== JSON.stringify(config[key])) {
        throw new Error(`${run.source}: config.${key} is ${JSON.stringify(config[key])} but ${base.source} has ${JSON.stringify(baseConfig[key])} (not trained from it?)`);
      }
    }
    for (const [name, v] of base.policy.params) {
      const theirs = run.policy.params.get(name);
      if (!theirs) throw new Error(`${run.source}: no parameter ${name} (not trained from ${base.source}?)`);
      if (theirs.shape.join('×') !== v.shape.join('×')) throw new Error(`${run.source}: parameter ${name} has shape ${theirs.shape.join('×')} where ${base.source} has ${v.shape.join('×')}`);
    }
  }
  const merged = new Map<string, Float32Array>();
  for (const [name, v] of base.policy.params) {
    merged.set(name, mergeWeights(v.dataSync(), runs.map((r) => r.policy.params.get(name)!.dataSync()), alpha));
  }
  return merged;
}
