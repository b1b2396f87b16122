// `veripo grpo`: one GRPO stage from a checkpoint on the embedded benchmark, outside the
// VerIPO loop, with the same `--set grpo.*` keys as `veripo run` (as TRL's CLI runs one
// GRPOTrainer). Greedy val accuracy before and after says whether the stage helped.
import { initBackend } from '../model/backend';
import { clonePolicy, loadCheckpoint, saveCheckpoint } from '../model/checkpoint';
import { NonFiniteLossError } from '../model/optim';
import { disposePolicy } from '../model/policy';
import { ConfigError, stageRunConfig } from '../loop/config';
import { GrpoConfigSchema, usesReference, type GrpoConfig } from '../train/config';
import { runGrpo } from '../train/grpo';
import { trainTaskOf } from '../train/grpo-rollouts';
import { DEFAULT_EVAL_CONFIG, evalTasks, evaluatePolicy, type EvalResult } from '../train/eval';
import { mixedTasks } from '../video/tasks';
import { CliError, type CliCommand } from './command';
import { parseCliArgs, printJson, SET_FLAG, JSON_FLAG } from './common';
import { progressBar } from './progress';

const USAGE = `veripo grpo --from CKPT [--set grpo.key=value]... [--train N] [--val N] [--seed S]
            [--save DIR] [--json]

Runs one GRPO stage from checkpoint CKPT on N training tasks (default 256, every modality and
difficulty in turn) and reports greedy val accuracy before and after on N val tasks per
modality (default ${DEFAULT_EVAL_CONFIG.n}; --val 0 skips the evals). Config keys are \`veripo run\`'s grpo.*
keys, TRL's names: --set grpo.loss_type=dr_grpo --set grpo.learning_rate=1e-4.
--save DIR writes the trained policy as a checkpoint.`;

/** `--set` items as a GRPO config: only grpo.* keys, each refused with its dotted path. */
export function grpoConfigFromSets(items: readonly string[]): GrpoConfig {
  try {
    return stageRunConfig('grpo', items, ['grpo']).grpo;
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 2);
    throw err;
  }
}

function count(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`--${name} must be a non-negative integer, got "${v}"`, 2);
  return n;
}

const summary = (r: EvalResult) => ({ accuracy: r.accuracy, format_rate: r.format_rate, inconsistency_rate: r.inconsistency_rate, mean_length: r.mean_length });

export const command: CliCommand = {
  name: 'grpo',
  summary: 'run one GRPO stage from a checkpoint (grpo.* keys as veripo run)',
  usage: USAGE,
  async run(argv) {
    const { values } = parseCliArgs(
      argv,
      {
        from: { type: 'string' },
        ...SET_FLAG,
        train: { type: 'string' },
        val: { type: 'string' },
        seed: { type: 'string' },
        save: { type: 'string' },
        ...JSON_FLAG,
      },
      { usage: USAGE },
    );
    if (!values.from) throw new CliError(`missing --from CKPT\n${USAGE}`, 2);
    const config = grpoConfigFromSets(values.set);
    const seed = count('seed', values.seed, 0);
    const trainN = count('train', values.train, 256);
    if (trainN < 1) throw new CliError('--train must be at least 1', 2);
    const valN = count('val', values.val, DEFAULT_EVAL_CONFIG.n);

    const backend = await initBackend();
    const { policy, tokenizer } = loadCheckpoint(values.from);
    const reference = usesReference(config) ? clonePolicy(policy) : null;
    const train = mixedTasks(trainN, seed, 'train').map((t) => trainTaskOf(t, tokenizer));
    const val = valN > 0 ? evalTasks({ ...DEFAULT_EVAL_CONFIG, n: valN }) : [];
    const measure = () => (val.length ? summary(evaluatePolicy(policy, tokenizer, val, { max_completion_length: config.max_completion_length })) : null);

    const t0 = performance.now();
    const before = measure();
    const bar = values.json ? null : progressBar('grpo', config.steps);
    let failure: string | null = null;
    let last: Record<string, number> = {};
    try {
      const result = await runGrpo({
        policy, reference, tokenizer, seed, config, tasks: train,
        onEvent: (ev) => {
          if (ev.type === 'progress') bar?.update(ev.step);
        },
      });
      last = result.last;
    } catch (err) {
      // A NaN/Inf loss is the run's outcome, not a crash: report it and exit non-zero.
      if (!(err instanceof NonFiniteLossError)) throw err;
      failure = err.message;
    } finally {
      bar?.finish();
    }
    const after = measure();
    const wall_s = (performance.now() - t0) / 1000;
    if (values.save && !failure) saveCheckpoint(values.save, policy, tokenizer, { grpo: config, from: values.from });
    disposePolicy(policy);
    if (reference) disposePolicy(reference);

    if (values.json) printJson({ backend: backend.backend, config, wall_s, val_tasks: val.length, before, after, metrics: last, failure });
    else {
      const row = (label: string, r: ReturnType<typeof measure>) =>
        r && console.log(`${label}  val acc ${r.accuracy.toFixed(3)}  format ${r.format_rate.toFixed(3)}  inconsistency ${r.inconsistency_rate.toFixed(3)}  len ${r.mean_length.toFixed(1)}`);
      row('before', before);
      row('after ', after);
      console.log(`${config.steps} steps, ${wall_s.toFixed(1)} s on ${backend.backend}${values.save && !failure ? `; saved to ${values.save}` : ''}${failure ? `; stopped: ${failure}` : ''}`);
    }
    return failure ? 1 : 0;
  },
};
