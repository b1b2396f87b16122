// Paired comparison of two policies on the same tasks: per-task accuracy (greedy, or the mean
// of K samples: pass@1 as DeepSeek-R1 reports it) and the paired change with its standard error.
import type { Policy } from '../model/policy';
import type { Tokenizer } from '../model/tokenizer';
import type { Task } from '../video/tasks';
import { evaluatePolicy, type EvalResult } from './eval';

/** Sample s always uses seed SAMPLED_SEED + s: two policies on the same tasks draw the same uniforms (common random numbers). */
const SAMPLED_SEED = 200;

/** Per task, the mean accuracy of k samples at a temperature. */
export function sampledAccuracy(policy: Policy, tokenizer: Tokenizer, tasks: readonly Task[], o: { k: number; temperature: number; top_p?: number; max_completion_length?: number; onSample?: (done: number) => void }): { perTask: number[]; runs: EvalResult[] } {
  if (!Number.isInteger(o.k) || o.k < 1) throw new Error(`sampledAccuracy: k must be a positive integer, got ${o.k}`);
  if (!(o.temperature > 0)) throw new Error(`sampledAccuracy: temperature must be > 0, got ${o.temperature}`);
  const runs = Array.from({ length: o.k }, (_, s) => {
    const run = evaluatePolicy(policy, tokenizer, tasks, { temperature: o.temperature, top_p: o.top_p ?? 1, max_completion_length: o.max_completion_length, seed: SAMPLED_SEED + s });
    o.onSample?.(s + 1);
    return run;
  });
  const perTask = tasks.map((_, i) => runs.reduce((a, r) => a + r.samples[i]!.accuracy, 0) / o.k);
  return { perTask, runs };
}

export interface PairedChange {
  delta: number;
  se: number;
  z: number;
  improved: number;
  worsened: number;
}

/**
 * Mean change in per-task accuracy between two evaluations of the same tasks and its paired
 * standard error: far tighter than comparing two independent accuracies, since most tasks
 * score the same both times.
 */
export function pairedChange(before: readonly number[], after: readonly number[]): PairedChange {
  if (before.length !== after.length || before.length === 0) throw new Error(`pairedChange: need two equal, non-empty score lists (got ${before.length} and ${after.length})`);
  const n = before.length;
  const diffs = after.map((a, i) => a - before[i]!);
  const delta = diffs.reduce((s, d) => s + d, 0) / n;
  const variance = n > 1 ? diffs.reduce((s, d) => s + (d - delta) ** 2, 0) / (n - 1) : 0;
  const se = Math.sqrt(variance / n);
  return { delta, se, z: se > 0 ? delta / se : 0, improved: diffs.filter((d) => d > 0).length, worsened: diffs.filter((d) => d < 0).length };
}

/** A paired change as reports print it: "+0.012 ± 0.009". */
export function formatChange(c: PairedChange): string {
  return `${c.delta >= 0 ? '+' : ''}${c.delta.toFixed(3)} ± ${c.se.toFixed(3)}`;
}

export const meanOf = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

/** Mean score per family, families sorted. */
export function familyMeans(families: readonly string[], scores: readonly number[]): Record<string, number> {
  return Object.fromEntries([...new Set(families)].sort().map((f) => [f, meanOf(scores.filter((_, i) => families[i] === f))]));
}
