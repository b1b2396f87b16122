// `veripo dpo`: one DPO stage from a checkpoint on a run's stored preference pairs (or a
// PAIRS.jsonl), outside the VerIPO loop, with the same `--set dpo.*` keys as `veripo run`
// (as TRL's CLI runs one DPOTrainer).
import { existsSync } from 'node:fs';
import { initBackend } from '../model/backend';
import { clonePolicy, loadCheckpoint, saveCheckpoint } from '../model/checkpoint';
import { NonFiniteLossError } from '../model/optim';
import { disposePolicy } from '../model/policy';
import type { Tokenizer } from '../model/tokenizer';
import { ConfigError, dpoCompletionCap, stageRunConfig, type RunConfig } from '../loop/config';
import { dpoPairsFromStored } from '../loop/stages/dpo';
import { isBenchmarkTaskId, taskFromId } from '../loop/tasks';
import { pairRecordSchema } from '../io/export';
import { InputError, readJsonl } from '../io/jsonl';
import { getRun, openDb, pairsForTraining } from '../store';
import { runDpo, type DpoPair } from '../train/dpo';
import { CliError, type CliCommand } from './command';
import { parseCliArgs, printJson, resolveDbPath, SET_FLAG, DB_FLAG, JSON_FLAG } from './common';
import { progressBar } from './progress';

const USAGE = `veripo dpo --from CKPT (--run ID [--stage N] [--db FILE] | --pairs PAIRS.jsonl)
           [--set dpo.key=value]... [--seed S] [--save DIR] [--json]

Runs one DPO stage from checkpoint CKPT against a frozen copy of it. Pairs are run ID's
(the verifier's, minus those a person rejected, plus accepted manual ones; --stage N keeps the
verifier's pairs of the verify stage with ordinal N), or the records of PAIRS.jsonl whose
meta.task_id names an embedded-benchmark task. Config keys are \`veripo run\`'s dpo.* keys,
TRL's names: --set dpo.beta=0.1 --set dpo.loss_type=ipo --set dpo.steps=20.
--save DIR writes the trained policy as a checkpoint.`;

/** `--set` items as the run config's dpo section (and grpo defaults for the completion length). */
function dpoRunConfig(items: readonly string[]): RunConfig {
  try {
    return stageRunConfig('dpo', items, ['dpo']);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 2);
    throw err;
  }
}

function nonNegative(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`--${name} must be a non-negative integer, got "${v}"`, 2);
  return n;
}

function runStoredPairs(dbFlag: string | undefined, runId: number, stageOrdinal: number | undefined, tokenizer: Tokenizer): DpoPair[] {
  const dbPath = resolveDbPath(dbFlag);
  if (!existsSync(dbPath)) throw new CliError(`${dbPath}: no such database`);
  const db = openDb(dbPath);
  try {
    const run = getRun(db, runId);
    if (!run) throw new CliError(`run ${runId} does not exist in ${dbPath}`);
    let stageId: number | null = null;
    if (stageOrdinal !== undefined) {
      const stage = run.stages.find((s) => s.ordinal === stageOrdinal);
      if (!stage) throw new CliError(`run ${runId} has no stage ${stageOrdinal}`);
      if (stage.kind !== 'verify') throw new CliError(`run ${runId} stage ${stageOrdinal} is a ${stage.kind} stage, not verify`);
      stageId = stage.id;
    }
    return dpoPairsFromStored(pairsForTraining(db, runId, stageId), tokenizer);
  } finally {
    db.close();
  }
}

/** A PAIRS.jsonl's records; every one must name a benchmark task (the prompt is rebuilt from it). */
async function filePairs(file: string, tokenizer: Tokenizer): Promise<DpoPair[]> {
  if (!existsSync(file)) throw new CliError(`${file}: no such file`);
  const rows: { meta: { task_id: string }; chosen_text: string; rejected_text: string }[] = [];
  try {
    for await (const { line, value } of readJsonl(file, { onError: 'fail' })) {
      const r = pairRecordSchema.safeParse(value);
      if (!r.success) {
        const issue = r.error.issues[0]!;
        throw new InputError(file, line, `field "${issue.path.join('.') || '(root)'}": ${issue.message}`);
      }
      const taskId = ((value as { meta?: unknown }).meta as { task_id?: unknown } | null | undefined)?.task_id;
      if (typeof taskId !== 'string') throw new InputError(file, line, 'field "meta.task_id": missing; DPO rebuilds the prompt from an embedded-benchmark task id');
      if (!isBenchmarkTaskId(taskId)) throw new InputError(file, line, `field "meta.task_id": "${taskId}" is not an embedded-benchmark task id`);
      try {
        taskFromId(taskId);
      } catch (err) {
        throw new InputError(file, line, `field "meta.task_id": ${(err as Error).message}`);
      }
      rows.push({ meta: { task_id: taskId }, chosen_text: r.data.chosen, rejected_text: r.data.rejected });
    }
  } catch (err) {
    if (err instanceof InputError) throw new CliError(err.message);
    throw err;
  }
  return dpoPairsFromStored(rows, tokenizer);
}

export const command: CliCommand = {
  name: 'dpo',
  summary: "run one DPO stage from a checkpoint on a run's pairs (dpo.* keys as veripo run)",
  usage: USAGE,
  async run(argv) {
    const { values } = parseCliArgs(
      argv,
      {
        from: { type: 'string' },
        run: { type: 'string' },
        stage: { type: 'string' },
        pairs: { type: 'string' },
        ...SET_FLAG,
        seed: { type: 'string' },
        save: { type: 'string' },
        ...DB_FLAG,
        ...JSON_FLAG,
      },
      { usage: USAGE },
    );
    if (!values.from) throw new CliError(`missing --from CKPT\n${USAGE}`, 2);
    if (Boolean(values.run) === Boolean(values.pairs)) throw new CliError(`give one of --run ID or --pairs FILE\n${USAGE}`, 2);
    if (values.stage !== undefined && !values.run) throw new CliError('--stage needs --run', 2);
    const run = dpoRunConfig(values.set);
    const config = { ...run.dpo, max_completion_length: dpoCompletionCap(run) };
    const seed = nonNegative('seed', values.seed) ?? 0;
    const runId = values.run !== undefined ? nonNegative('run', values.run) : undefined;
    const stageOrdinal = nonNegative('stage', values.stage);
    if (!existsSync(values.from)) throw new CliError(`${values.from}: no such checkpoint folder`);

    const backend = await initBackend();
    const { policy, tokenizer } = loadCheckpoint(values.from);
    let reference: typeof policy | null = null;
    try {
      const pairs = values.pairs ? await filePairs(values.pairs, tokenizer) : runStoredPairs(values.db, runId!, stageOrdinal, tokenizer);
      const source = values.pairs ?? `run ${runId}${stageOrdinal !== undefined ? ` stage ${stageOrdinal}` : ''}`;
      if (pairs.length === 0) throw new CliError(`${source}: no preference pairs with a benchmark task to train on`);
      const log = (s: string) => process.stderr.write(`${s}\n`);
      if (!values.json) log(`dpo on ${pairs.length} pairs from ${source}, backend ${backend.backend}`);

      reference = clonePolicy(policy, { trainable: false });
      const total = config.steps ?? Math.ceil(pairs.length / config.batch_size) * config.epochs;
      const bar = values.json ? null : progressBar('dpo', total);
      let failure: string | null = null;
      let result = { steps: 0, seconds: 0, stoppedBy: 'steps' as string, last: {} as Record<string, number> };
      try {
        result = await runDpo({
          policy, reference, tokenizer, pairs, config, seed,
          onEvent: (ev) => {
            if (ev.type === 'progress') bar?.update(ev.step);
          },
        });
      } catch (err) {
        // A NaN/Inf loss is the run's outcome, not a crash: report it and exit non-zero.
        if (!(err instanceof NonFiniteLossError)) throw err;
        failure = err.message;
      } finally {
        bar?.finish();
      }
      if (values.save && !failure) saveCheckpoint(values.save, policy, tokenizer, { stage: 'dpo', dpo: config, from: values.from, pairs: source });

      const keys = ['rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'loss'] as const;
      const metrics = Object.fromEntries(keys.map((k) => [k, result.last[k] ?? null]));
      if (values.json) {
        printJson({ backend: backend.backend, config, pairs: pairs.length, steps: result.steps, wall_s: result.seconds, stopped_by: result.stoppedBy, metrics, last: result.last, checkpoint: values.save && !failure ? values.save : null, failure });
      } else {
        const fmt = (v: number | null) => (v == null ? '-' : v.toFixed(4));
        console.log(`${result.steps} steps on ${pairs.length} pairs, ${result.seconds.toFixed(1)} s on ${backend.backend}`);
        console.log(keys.map((k) => `${k} ${fmt(metrics[k] as number | null)}`).join('  '));
        if (values.save && !failure) console.log(`saved to ${values.save}`);
        if (failure) console.log(`stopped: ${failure}`);
      }
      return failure ? 1 : 0;
    } finally {
      disposePolicy(policy);
      if (reference) disposePolicy(reference);
    }
  },
};
