// The statistics the research scripts report a GRPO run or a weight interpolation with: val
// accuracy per task (greedy, and sampled at the training temperature), the paired change
// between two evaluations of the same tasks with its standard error, per family, and a stored
// step-0 eval so that every run from one checkpoint is compared with the same baseline.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Policy } from '../../src/main/model/policy';
import type { Tokenizer } from '../../src/main/model/tokenizer';
import { evaluatePolicy } from '../../src/main/train/eval';
import { familyMeans as familyMeansOf, formatChange, meanOf, pairedChange, sampledAccuracy } from '../../src/main/train/paired';

import type { Task } from '../../src/main/video/tasks';

export { formatChange, pairedChange, sampledAccuracy };

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

function familyMeans(tasks: readonly Task[], scores: readonly number[]): Record<string, number> {
  return familyMeansOf(tasks.map((t) => t.family), scores);
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
