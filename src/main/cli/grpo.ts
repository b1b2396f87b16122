// `veripo grpo`: one GRPO stage from a checkpoint on the embedded benchmark, with val
// accuracy measured before, during and after, outside the VerIPO loop. For trying loss
// types and hyper-parameters quickly and for the curve in the README.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { lineChartSvg } from '../io/svg-chart';
import { initBackend } from '../model/backend';
import { clonePolicy, loadCheckpoint, saveCheckpoint } from '../model/checkpoint';
import { disposePolicy, type Policy } from '../model/policy';
import type { Tokenizer } from '../model/tokenizer';
import { GrpoConfigSchema, runGrpo } from '../train/grpo';
import { trainTaskOf } from '../train/grpo-rollouts';
import { NonFiniteLossError } from '../model/optim';
import { DEFAULT_EVAL_CONFIG, evalTasks, evaluatePolicy, sampledAccuracy } from '../train/eval';
import { hashInts } from '../video/prng';
import { FAMILY_DEFS } from '../video/families';
import { DIFFICULTIES, FAMILIES, MODALITIES, sampleTasks, type Modality, type Task } from '../video/tasks';
import { CliError, type CliCommand } from './command';
import { printJson } from './common';
import { progressBar } from './progress';

const USAGE = `veripo grpo --from CKPT [--steps N] [--set key=value]... [--train N] [--val N] [--eval-every K]
            [--val-samples K] [--modality video|image|text] [--families F,F…] [--seed S]
            [--baseline FILE]
            [--save DIR] [--svg FILE] [--json]

Runs GRPO (config keys as TRL's, e.g. --set loss_type=dr_grpo --set epsilon_high=0.28) from
checkpoint CKPT on N training tasks and reports greedy val accuracy every K steps. Without
--modality, train and val tasks cover all three modalities and difficulties 1-3 (val: N per
modality, the same tasks \`veripo sft\` evaluates on). --families trains only on the listed
task families (val still covers all of them, and the change over the trained ones is
printed). The change from step 0 to the end is reported with its paired standard error over the same val tasks. --val-samples K also
measures sampled val accuracy, the mean of K samples per task at the training temperature
(what GRPO optimises; DeepSeek-R1 reports pass@1 this way). Every eval draws the same random
numbers, so the before/after comparison is paired sample by sample as well as task by task.
--baseline FILE reuses the step-0 eval stored in FILE when it was measured on the same
checkpoint, val tasks and eval settings, and otherwise measures it and writes it there: every
run from one checkpoint starts from the same eval, and with --val-samples 4 it takes minutes.`;

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

interface CurvePoint {
  step: number;
  val: ValReport;
  /** Means over the GRPO steps since the previous point (null at step 0). */
  train_reward: number | null;
  train_accuracy: number | null;
}

function curveLine(c: CurvePoint, elapsed_s: number): string {
  const train = c.train_reward === null ? '' : `  train reward ${c.train_reward.toFixed(3)} acc ${c.train_accuracy!.toFixed(3)}`;
  const sampled = c.val.sampled ? `  sampled ${c.val.sampled.accuracy.toFixed(3)}` : '';
  return `step ${String(c.step).padStart(4)}${train}  val acc ${c.val.accuracy.toFixed(3)}${sampled}  format ${c.val.format_rate.toFixed(3)}  inconsistency ${c.val.inconsistency_rate.toFixed(3)}  grounding ${c.val.grounding_rate.toFixed(3)}  len ${c.val.mean_length.toFixed(1)}  (${elapsed_s.toFixed(0)} s)`;
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
    throw new CliError(`--baseline ${file}: not a baseline file (${(err as Error).message})`, 2);
  }
  if (typeof stored !== 'object' || stored === null) throw new CliError(`--baseline ${file}: not a baseline file (expected a JSON object)`, 2);
  if (stored.fingerprint !== fingerprint) return null;
  if (!stored.val || !Array.isArray(stored.val.per_task) || stored.val.per_task.length !== n) throw new CliError(`--baseline ${file}: field val.per_task must list ${n} scores`, 2);
  return stored.val;
}

export function writeBaseline(file: string, fingerprint: string, val: ValReport): void {
  writeFileSync(file, JSON.stringify({ fingerprint, val }));
}

/**
 * The step-0 val report: read from `file` when it holds one for this checkpoint, val tasks and
 * settings, else measured (and stored in `file` when given). `veripo grpo --baseline` and
 * bench/interpolate.ts share it so both key the file the same way.
 */
export function baselineReport(file: string | undefined, checkpointDir: string, policy: Policy, tokenizer: Tokenizer, tasks: readonly Task[], max_completion_length: number, sampling: { k: number; temperature: number; top_p: number }): { val: ValReport; reused: boolean } {
  const fingerprint = file ? baselineFingerprint(checkpointDir, tasks.map((t) => t.id), { max_completion_length, sampling }) : '';
  const stored = file ? readBaseline(file, fingerprint, tasks.length) : null;
  if (stored) return { val: stored, reused: true };
  const val = valReport(policy, tokenizer, tasks, max_completion_length, sampling);
  if (file) writeBaseline(file, fingerprint, val);
  return { val, reused: false };
}

/**
 * Every modality and difficulty in turn, so a mixed task list is balanced. With `families`,
 * every (family, modality, difficulty) the family can be asked in, in turn.
 */
export function mixedTasks(n: number, seed: number, split: 'train' | 'val', families?: readonly string[]): Task[] {
  const cells = families
    ? families.flatMap((family) => {
        const def = FAMILY_DEFS.find((f) => f.name === family);
        if (!def) throw new CliError(`--families: unknown family "${family}" (expected some of ${FAMILIES.join(', ')})`, 2);
        return def.modalities.flatMap((modality) => DIFFICULTIES.map((difficulty) => ({ modality, difficulty, family })));
      })
    : MODALITIES.flatMap((modality) => DIFFICULTIES.map((difficulty) => ({ modality, difficulty })));
  const per = Math.ceil(n / cells.length);
  // A salt of its own for family cells; the unfiltered list draws exactly what it drew before --families.
  const lists = cells.map((c, i) => sampleTasks({ n: per, seed: hashInts(seed, i, families ? 0x9a1 : 0x9a0), split, ...c }));
  const out: Task[] = [];
  for (let j = 0; j < per; j++) for (const list of lists) if (out.length < n) out.push(list[j]!);
  return out;
}

function parseSet(items: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new CliError(`--set expects key=value, got "${item}"`, 2);
    const key = item.slice(0, eq).replace(/^grpo\./, '');
    const raw = item.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // not JSON: keep the string (e.g. loss_type=dapo)
    }
    // reward_weights.accuracy=2 -> nested
    const path = key.split('.');
    let obj = out;
    for (const p of path.slice(0, -1)) obj = (obj[p] ??= {}) as Record<string, unknown>;
    obj[path[path.length - 1]!] = value;
  }
  return out;
}

export const command: CliCommand = {
  name: 'grpo',
  summary: 'run one GRPO stage from a checkpoint and measure val accuracy',
  usage: USAGE,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        from: { type: 'string' },
        steps: { type: 'string' },
        set: { type: 'string', multiple: true },
        train: { type: 'string' },
        val: { type: 'string' },
        'eval-every': { type: 'string' },
        'val-samples': { type: 'string' },
        modality: { type: 'string' },
        families: { type: 'string' },
        seed: { type: 'string' },
        save: { type: 'string' },
        baseline: { type: 'string' },
        svg: { type: 'string' },
        json: { type: 'boolean' },
      },
    });
    if (!values.from) throw new CliError(`missing --from CKPT\n${USAGE}`, 2);
    const num = (name: string, v: string | undefined, d: number) => {
      if (v === undefined) return d;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new CliError(`--${name} must be a non-negative integer, got "${v}"`, 2);
      return n;
    };
    const modality = values.modality as Modality | undefined;
    if (modality && !['video', 'image', 'text'].includes(modality)) throw new CliError(`--modality must be video, image or text, got "${modality}"`, 2);
    const seed = num('seed', values.seed, 0);
    const evalEvery = num('eval-every', values['eval-every'], 5);
    const valSamples = num('val-samples', values['val-samples'], 0);
    const overrides = parseSet(values.set ?? []);
    if (values.steps) overrides.steps = num('steps', values.steps, 40);
    const parsed = GrpoConfigSchema.safeParse(overrides);
    if (!parsed.success) throw new CliError(`grpo config: ${parsed.error.issues.map((i) => `grpo.${i.path.join('.')}: ${i.message}`).join('; ')}`, 2);
    const config = parsed.data;

    const backend = await initBackend();
    const { policy, tokenizer } = loadCheckpoint(values.from);
    const reference = config.beta > 0 ? clonePolicy(policy) : null;
    const trainN = num('train', values.train, 256);
    const trainFamilies = values.families ? values.families.split(',').map((f) => f.trim()).filter(Boolean) : undefined;
    if (trainFamilies && modality) throw new CliError('--families and --modality do not combine (--families covers every modality its families are asked in)', 2);
    const train = modality ? sampleTasks({ n: trainN, seed, split: 'train', modality }) : mixedTasks(trainN, seed, 'train', trainFamilies);
    const valN = num('val', values.val, modality ? 64 : DEFAULT_EVAL_CONFIG.n);
    const val = modality ? sampleTasks({ n: valN, seed: seed + 1, split: 'val', modality }) : evalTasks({ ...DEFAULT_EVAL_CONFIG, n: valN });

    const sampling = { k: valSamples, temperature: config.temperature, top_p: config.top_p };
    const measure = () => valReport(policy, tokenizer, val, config.max_completion_length, sampling);
    const curve: CurvePoint[] = [];
    const t0 = performance.now();
    // Each eval row is printed as it is measured: a run takes tens of minutes and a log
    // that stays empty until the end says nothing about whether it is going anywhere.
    const record = (point: CurvePoint) => {
      curve.push(point);
      if (!values.json) console.log(curveLine(point, (performance.now() - t0) / 1000));
    };
    const baseline = baselineReport(values.baseline, values.from, policy, tokenizer, val, config.max_completion_length, sampling);
    if (values.baseline && !values.json) console.log(`step-0 eval ${baseline.reused ? 'read from' : 'stored in'} ${values.baseline}`);
    record({ step: 0, val: baseline.val, train_reward: null, train_accuracy: null });
    const bar = values.json ? null : progressBar('grpo', config.steps);
    // Mean training reward and accuracy over the steps since the last eval (one step's is too noisy to read).
    let rewardSum = 0;
    let accuracySum = 0;
    let rewardSteps = 0;
    let failure: string | null = null;
    try {
      await runGrpo({
        policy, reference, tokenizer, seed, config,
        tasks: train.map((t) => trainTaskOf(t, tokenizer)),
        onEvent: (ev) => {
          if (ev.type === 'metric' && ev.name === 'reward') {
            rewardSum += ev.value;
            rewardSteps++;
          }
          if (ev.type === 'metric' && ev.name === 'accuracy') accuracySum += ev.value;
          if (ev.type !== 'progress') return;
          bar?.update(ev.step);
          if (ev.step % evalEvery === 0 || ev.step === config.steps) {
            const mean = (sum: number) => (rewardSteps ? sum / rewardSteps : null);
            record({ step: ev.step, val: measure(), train_reward: mean(rewardSum), train_accuracy: mean(accuracySum) });
            rewardSum = 0;
            accuracySum = 0;
            rewardSteps = 0;
          }
        },
      });
    } catch (err) {
      if (!(err instanceof NonFiniteLossError)) throw err;
      failure = err.message;
    } finally {
      bar?.finish();
    }
    const wall = (performance.now() - t0) / 1000;
    if (values.save) saveCheckpoint(values.save, policy, tokenizer, { grpo: config, from: values.from });
    if (values.svg) {
      writeFileSync(values.svg, lineChartSvg({
        title: `GRPO (${config.loss_type}) from ${values.from.split('/').pop()}: val accuracy (greedy${valSamples > 0 ? ' and sampled' : ''})`,
        xLabel: 'GRPO step',
        yLabel: 'val accuracy / format rate',
        yMin: 0,
        yMax: 1,
        series: [
          { name: `val accuracy (n=${val.length})`, points: curve.map((c) => [c.step, c.val.accuracy]) },
          ...(valSamples > 0 ? [{ name: `val accuracy (sampled, mean of ${valSamples} at T = ${config.temperature})`, points: curve.map((c): [number, number] => [c.step, c.val.sampled!.accuracy]) }] : []),
          { name: `train accuracy (sampled, T = ${config.temperature})`, points: curve.filter((c) => c.train_accuracy !== null).map((c) => [c.step, c.train_accuracy!]) },
          { name: 'val format rate', points: curve.map((c) => [c.step, c.val.format_rate]), dashed: true },
          { name: 'val inconsistency rate', points: curve.map((c) => [c.step, c.val.inconsistency_rate]), dashed: true },
        ],
      }));
    }
    disposePolicy(policy);
    if (reference) disposePolicy(reference);
    const first = curve[0]!.val;
    const last = curve[curve.length - 1]!.val;
    const change = pairedChange(first.per_task, last.per_task);
    const byFamily = changeByFamily(val, first.per_task, last.per_task);
    const sampledChange = first.sampled && last.sampled ? pairedChange(first.sampled.per_task, last.sampled.per_task) : null;
    const sampledByFamily = first.sampled && last.sampled ? changeByFamily(val, first.sampled.per_task, last.sampled.per_task) : null;
    // With --families: the change over the val tasks of the families trained on, paired.
    const trained = (scores: number[]) => scores.filter((_, i) => trainFamilies!.includes(val[i]!.family));
    const trainedChange = trainFamilies ? pairedChange(trained(first.per_task), trained(last.per_task)) : null;
    const trainedSampledChange = trainFamilies && first.sampled && last.sampled ? pairedChange(trained(first.sampled.per_task), trained(last.sampled.per_task)) : null;
    const result = {
      backend: backend.backend, config, wall_s: wall, val_tasks: val.length, change, change_by_family: byFamily,
      sampled_change: sampledChange, sampled_change_by_family: sampledByFamily,
      train_families: trainFamilies ?? null, trained_families_change: trainedChange, trained_families_sampled_change: trainedSampledChange,
      curve: curve.map((c) => ({ ...c, val: { ...c.val, per_task: undefined, sampled: c.val.sampled ? { ...c.val.sampled, per_task: undefined } : null } })),
      failure,
    };
    if (values.json) printJson(result);
    else {
      console.log(`val accuracy change over ${val.length} tasks: ${formatChange(change)} (paired SE, z = ${change.z.toFixed(1)}; ${change.improved} tasks better, ${change.worsened} worse)`);
      console.log(`by family: ${formatByFamily(byFamily)}`);
      if (sampledChange && sampledByFamily) {
        console.log(`sampled val accuracy change (mean of ${valSamples} at T = ${config.temperature}): ${formatChange(sampledChange)} (paired SE, z = ${sampledChange.z.toFixed(1)}; ${sampledChange.improved} tasks better, ${sampledChange.worsened} worse)`);
        console.log(`by family: ${formatByFamily(sampledByFamily)}`);
      }
      const withZ = (c: ReturnType<typeof pairedChange>) => `${formatChange(c)} (z = ${c.z.toFixed(1)})`;
      if (trainedChange) console.log(`over the trained families (${trainFamilies!.join(', ')}; ${trained(first.per_task).length} val tasks): greedy ${withZ(trainedChange)}${trainedSampledChange ? `, sampled ${withZ(trainedSampledChange)}` : ''}`);
      console.log(`${wall.toFixed(1)} s on ${backend.backend}${failure ? `; stopped: ${failure}` : ''}`);
    }
    return failure ? 1 : 0;
  },
};
