// A GRPO run from a checkpoint with the statistics the research reports use: greedy (and
// with --val-samples, sampled) val accuracy every K steps, the paired change from step 0 with
// its standard error, per family and over the trained families, a stored step-0 eval shared by
// every run from one checkpoint (--baseline), and an SVG of the curve.
//   npx tsx research/scripts/grpo-run.ts --from CKPT [--steps N] [--set key=value]... (see USAGE)
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { lineChartSvg } from '../../src/main/io/svg-chart';
import { applySet, parseOverrideFor } from '../../src/main/loop/config';
import { initBackend } from '../../src/main/model/backend';
import { clonePolicy, loadCheckpoint, saveCheckpoint } from '../../src/main/model/checkpoint';
import { NonFiniteLossError } from '../../src/main/model/optim';
import { disposePolicy } from '../../src/main/model/policy';
import { GrpoConfigSchema, usesReference } from '../../src/main/train/config';
import { runGrpo } from '../../src/main/train/grpo';
import { trainTaskOf } from '../../src/main/train/grpo-rollouts';
import { DEFAULT_EVAL_CONFIG, evalTasks } from '../../src/main/train/eval';
import { mixedTasks, sampleTasks, type Modality } from '../../src/main/video/tasks';
import { baselineReport, changeByFamily, formatByFamily, formatChange, pairedChange, valReport, type ValReport } from '../lib/stats';

const USAGE = `grpo-run.ts --from CKPT [--steps N] [--set key=value]... [--train N] [--val N] [--eval-every K]
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

/** Bare keys are grpo.* keys: --set learning_rate=1e-4 is --set grpo.learning_rate=1e-4. */
function grpoOverrides(items: string[]): Record<string, unknown> {
  let doc: Record<string, unknown> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new Error(`--set expects key=value, got "${item}"`);
    const key = item.slice(0, eq);
    const full = key.startsWith('grpo.') ? key : `grpo.${key}`;
    doc = applySet(doc, full, parseOverrideFor(full, item.slice(eq + 1)));
  }
  return (doc.grpo ?? {}) as Record<string, unknown>;
}

async function main(argv: string[]): Promise<number> {
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
  if (!values.from) throw new Error(`missing --from CKPT\n${USAGE}`);
  const num = (name: string, v: string | undefined, d: number) => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got "${v}"`);
    return n;
  };
  const modality = values.modality as Modality | undefined;
  if (modality && !['video', 'image', 'text'].includes(modality)) throw new Error(`--modality must be video, image or text, got "${modality}"`);
  const seed = num('seed', values.seed, 0);
  const evalEvery = num('eval-every', values['eval-every'], 5);
  const valSamples = num('val-samples', values['val-samples'], 0);
  const overrides = grpoOverrides(values.set ?? []);
  if (values.steps) overrides.steps = num('steps', values.steps, 40);
  const parsed = GrpoConfigSchema.safeParse(overrides);
  if (!parsed.success) throw new Error(`grpo config: ${parsed.error.issues.map((i) => `grpo.${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const config = parsed.data;

  const backend = await initBackend();
  const { policy, tokenizer } = loadCheckpoint(values.from);
  const reference = usesReference(config) ? clonePolicy(policy) : null;
  const trainN = num('train', values.train, 256);
  const trainFamilies = values.families ? values.families.split(',').map((f) => f.trim()).filter(Boolean) : undefined;
  if (trainFamilies && modality) throw new Error('--families and --modality do not combine (--families covers every modality its families are asked in)');
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
  if (values.json) console.log(JSON.stringify(result));
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
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
