// The statistics the research scripts report a GRPO run or a weight interpolation with: val
// accuracy per task (greedy, and sampled at the training temperature), the paired change
// between two evaluations of the same tasks with its standard error, per family, and a stored
// step-0 eval so that every run from one checkpoint is compared with the same baseline.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Policy } from '../../src/main/model/policy';
import type { Tokenizer } from '../../src/main/model/tokenizer';
import { evaluatePolicy, type EvalResult } from '../../src/main/train/eval';
import type { Task } from '../../src/main/video/tasks';

/**
 * Per task, the mean accuracy of k samples at a temperature (pass@1 as DeepSeek-R1 reports it).
 * Sample s always uses seed SAMPLED_SEED + s, so two policies compared on the same tasks draw
 * the same uniforms and differ only where their distributions do (common random numbers).
 */
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

const SAMPLED_SEED = 200;

export interface ValReport {
  accuracy: number;
  format_rate: number;
  inconsistency_rate: number;
  mean_length: number;
  grounding_rate: number;
  /** Accuracy per val task, in task order (for the paired comparison). */
  per_task: number[];
  by_family: Record<string, number>;
  /** With --val-samples: mean accuracy of K samples per task at the training temperature. */
  sampled: { k: number; temperature: number; accuracy: number; per_task: number[]; by_family: Record<string, number> } | null;
}

/** Greedy val metrics through the shared evaluator (train/eval.ts), and optionally sampled ones. */
export function valReport(policy: Policy, tokenizer: Tokenizer, tasks: readonly Task[], max_completion_length: number, sampling: { k: number; temperature: number; top_p: number }): ValReport {
  const r = evaluatePolicy(policy, tokenizer, tasks, { max_completion_length });
  let sampled: ValReport['sampled'] = null;
  if (sampling.k > 0) {
    const { perTask } = sampledAccuracy(policy, tokenizer, tasks, { ...sampling, max_completion_length });
    sampled = { k: sampling.k, temperature: sampling.temperature, accuracy: meanOf(perTask), per_task: perTask, by_family: familyMeans(tasks, perTask) };
  }
  return {
    accuracy: r.accuracy,
    format_rate: r.format_rate,
    inconsistency_rate: r.inconsistency_rate,
    mean_length: r.mean_length,
    grounding_rate: r.grounding_rate,
    per_task: r.samples.map((x) => x.accuracy),
    by_family: r.by_family,
    sampled,
  };
}

const meanOf = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

function familyMeans(tasks: readonly Task[], scores: readonly number[]): Record<string, number> {
  const families = [...new Set(tasks.map((t) => t.family))].sort();
  return Object.fromEntries(families.map((f) => [f, meanOf(scores.filter((_, i) => tasks[i]!.family === f))]));
}

/**
 * Mean change in per-task accuracy between two evaluations of the same tasks and its paired
 * standard error: far tighter than comparing two independent accuracies, since most tasks
 * score the same both times.
 */
export function pairedChange(before: readonly number[], after: readonly number[]): { delta: number; se: number; z: number; improved: number; worsened: number } {
  if (before.length !== after.length || before.length === 0) throw new Error(`pairedChange: need two equal, non-empty score lists (got ${before.length} and ${after.length})`);
  const n = before.length;
  const diffs = after.map((a, i) => a - before[i]!);
  const delta = diffs.reduce((s, d) => s + d, 0) / n;
  const variance = n > 1 ? diffs.reduce((s, d) => s + (d - delta) ** 2, 0) / (n - 1) : 0;
  const se = Math.sqrt(variance / n);
  return { delta, se, z: se > 0 ? delta / se : 0, improved: diffs.filter((d) => d > 0).length, worsened: diffs.filter((d) => d < 0).length };
}

/** A paired change as the reports print it: "+0.012 ± 0.009". */
export function formatChange(c: ReturnType<typeof pairedChange>): string {
  return `${c.delta >= 0 ? '+' : ''}${c.delta.toFixed(3)} ± ${c.se.toFixed(3)}`;
}

/** changeByFamily's result as one line: "count_turns +0.012 ± 0.009, direction …". */
export function formatByFamily(byFamily: Record<string, ReturnType<typeof pairedChange>>): string {
  return Object.entries(byFamily).map(([f, c]) => `${f} ${formatChange(c)}`).join(', ');
}

/** pairedChange per family, over that family's tasks: where a change came from. */
export function changeByFamily(tasks: readonly Task[], before: readonly number[], after: readonly number[]): Record<string, ReturnType<typeof pairedChange>> {
  const families = [...new Set(tasks.map((t) => t.family))].sort();
  const pick = (scores: readonly number[], family: string) => scores.filter((_, i) => tasks[i]!.family === family);
  return Object.fromEntries(families.map((f) => [f, pairedChange(pick(before, f), pick(after, f))]));
}

/**
 * What a step-0 eval depends on: the checkpoint's bytes, the val tasks and the eval settings.
 * A stored baseline is reused only under the same fingerprint, so a retrained checkpoint or a
 * different --val never reads another run's numbers.
 */
export function baselineFingerprint(checkpointDir: string, taskIds: readonly string[], settings: Record<string, unknown>): string {
  const h = createHash('sha256');
  for (const f of ['model.json', 'tokenizer.json', 'weights.bin']) h.update(f).update(readFileSync(join(checkpointDir, f)));
  h.update(JSON.stringify({ v: 1, taskIds, settings }));
  return h.digest('hex');
}

/** The stored step-0 report when FILE holds one under this fingerprint; null when absent or stale. */
export function readBaseline(file: string, fingerprint: string, n: number): ValReport | null {
  if (!existsSync(file)) return null;
  let stored: { fingerprint?: unknown; val?: ValReport };
  try {
    stored = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not a baseline file (${(err as Error).message})`);
  }
  if (typeof stored !== 'object' || stored === null) throw new Error(`${file}: not a baseline file (expected a JSON object)`);
  if (stored.fingerprint !== fingerprint) return null;
  if (!stored.val || !Array.isArray(stored.val.per_task) || stored.val.per_task.length !== n) throw new Error(`${file}: field val.per_task must list ${n} scores`);
  return stored.val;
}

export function writeBaseline(file: string, fingerprint: string, val: ValReport): void {
  writeFileSync(file, JSON.stringify({ fingerprint, val }));
}

/**
 * The step-0 val report: read from `file` when it holds one for this checkpoint, val tasks and
 * settings, else measured (and stored in `file` when given). grpo-run.ts --baseline and
 * interpolate.ts share it so both key the file the same way.
 */
export function baselineReport(file: string | undefined, checkpointDir: string, policy: Policy, tokenizer: Tokenizer, tasks: readonly Task[], max_completion_length: number, sampling: { k: number; temperature: number; top_p: number }): { val: ValReport; reused: boolean } {
  const fingerprint = file ? baselineFingerprint(checkpointDir, tasks.map((t) => t.id), { max_completion_length, sampling }) : '';
  const stored = file ? readBaseline(file, fingerprint, tasks.length) : null;
  if (stored) return { val: stored, reused: true };
  const val = valReport(policy, tokenizer, tasks, max_completion_length, sampling);
  if (file) writeBaseline(file, fingerprint, val);
  return { val, reused: false };
}
