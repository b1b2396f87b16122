// `veripo sft`: cold-start SFT of a fresh policy on the benchmark, then eval on val.
import { CliError, type CliCommand } from './command';
import { parseCliArgs, SET_FLAG, JSON_FLAG } from './common';
import { progressBar } from './progress';
import { initBackend } from '../model/backend';
import { ConfigError, stageRunConfig } from '../loop/config';
import { countParameters, createPolicy } from '../model/policy';
import { presetConfig } from '../model/config';
import { benchmarkPolicyData, benchmarkTokenizer } from '../model/prompt';
import { loadCheckpoint, saveCheckpoint } from '../model/checkpoint';
import { DEFAULT_SFT_CONFIG, type SftConfig } from '../train/config';
import { runSft } from '../train/sft';
import { DEFAULT_EVAL_CONFIG, evaluate } from '../train/eval';

const usage = `veripo sft [--preset tiny|small|base] [--set key=value]… [--init DIR] [--out DIR] [--eval-n N] [--json]
  keys as in \`veripo run\`: sft.* (sft.steps, sft.batch_size, sft.learning_rate, sft.modalities,
  sft.workers, …), model.preset (tiny|small|base), model.backend, seed
  --preset P is --set model.preset=P; sft.workers defaults to ${DEFAULT_SFT_CONFIG.workers} here (2 with 2+ cores, else 1)`;

function positiveInt(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`--${name} must be a non-negative integer, got "${v}"`, 2);
  return n;
}

export const command: CliCommand = {
  name: 'sft',
  summary: 'cold-start SFT of a policy on the benchmark, then eval on val',
  usage,
  async run(argv) {
    const { values } = parseCliArgs(
      argv,
      {
        preset: { type: 'string' },
        ...SET_FLAG,
        'eval-n': { type: 'string' },
        out: { type: 'string' },
        init: { type: 'string' },
        ...JSON_FLAG,
      },
      { usage },
    );
    let run;
    try {
      const sets = [...(values.preset ? [`model.preset=${values.preset}`] : []), ...values.set];
      run = stageRunConfig('sft', sets, ['sft', 'model.preset', 'model.backend', 'seed']);
    } catch (err) {
      if (err instanceof ConfigError) throw new CliError(err.message, 2);
      throw err;
    }
    const { cache: _cache, ...stage } = run.sft;
    const sft: SftConfig = { ...stage, seed: run.seed };
    const { modalities, seed } = sft;
    const preset = run.model.preset;

    const backend = await initBackend(run.model.backend ?? undefined);
    const tokenizer = benchmarkTokenizer();
    // --init continues from a checkpoint (a warm start, not a cold start: its time adds up).
    const init = values.init ? loadCheckpoint(values.init) : null;
    if (init && init.tokenizer.size !== tokenizer.size) throw new CliError(`--init ${values.init}: tokenizer has ${init.tokenizer.size} tokens, the benchmark's has ${tokenizer.size}`);
    const config = init ? init.policy.config : presetConfig(preset, benchmarkPolicyData(tokenizer));
    const policy = init ? init.policy : createPolicy(config, seed);
    const log = (s: string) => {
      if (!values.json) process.stderr.write(`${s}\n`);
    };
    log(`backend ${backend.backend}: ${backend.reasons.join('; ')}`);
    if (init) log(`warm start from ${values.init}`);
    log(`policy ${config.preset}: ${countParameters(config).toLocaleString('en-US')} parameters (d_model ${config.d_model}, ${config.n_layer} layers)`);

    const bar = progressBar('sft', sft.steps);
    let lastLoss = NaN;
    const trained = await runSft(policy, tokenizer, sft, {
      onEvent: (ev) => {
        if (ev.type === 'metric' && ev.name === 'loss') lastLoss = ev.value;
        if (ev.type === 'progress') {
          bar.update(ev.step, `loss ${lastLoss.toFixed(3)}`);
          // Off a TTY the bar is silent; leave a line every 10 steps so logs show progress.
          if (!process.stderr.isTTY && ev.step % 10 === 0) log(`sft step ${ev.step}/${ev.total} loss ${lastLoss.toFixed(3)}`);
        }
      },
    });
    bar.finish(`loss ${lastLoss.toFixed(3)}`);

    // Save before eval so a failed or interrupted eval never loses the trained weights.
    if (values.out) saveCheckpoint(values.out, policy, tokenizer, { stage: 'sft', sft, backend: backend.backend });
    const evalConfig = { ...DEFAULT_EVAL_CONFIG, n: positiveInt('eval-n', values['eval-n'], DEFAULT_EVAL_CONFIG.n), modalities };
    const evalBar = progressBar('eval', evalConfig.n * modalities.length);
    const val = await evaluate(policy, tokenizer, evalConfig, { onEvent: (ev) => ev.type === 'progress' && evalBar.update(ev.step) });
    evalBar.finish();

    if (values.out) saveCheckpoint(values.out, policy, tokenizer, { stage: 'sft', sft, backend: backend.backend, val: { accuracy: val.accuracy, format_rate: val.format_rate, by_family: val.by_family } });
    const summary = {
      backend: backend.backend,
      preset: config.preset,
      params: countParameters(config),
      init: values.init ?? null,
      steps: trained.steps,
      workers: sft.workers,
      sft_wall_s: trained.wall_s,
      first_loss: trained.losses[0] ?? null,
      final_loss: trained.losses.length ? trained.losses.slice(-10).reduce((a, b) => a + b, 0) / Math.min(10, trained.losses.length) : null,
      val: {
        n: val.n,
        accuracy: val.accuracy,
        format_rate: val.format_rate,
        mean_length: val.mean_length,
        inconsistency_rate: val.inconsistency_rate,
        grounding_rate: val.grounding_rate,
        truncated_rate: val.truncated_rate,
        by_family: val.groups.family,
        by_modality: val.groups.modality,
        eval_wall_s: val.wall_s,
      },
      checkpoint: values.out ?? null,
    };
    if (values.json) {
      process.stdout.write(`${JSON.stringify(summary)}\n`);
      return 0;
    }
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    console.log(`sft: ${trained.steps} steps in ${trained.wall_s.toFixed(0)}s (${(trained.wall_s / Math.max(1, trained.steps)).toFixed(2)} s/step, ${sft.workers} thread${sft.workers > 1 ? 's' : ''}), loss ${summary.first_loss?.toFixed(3)} -> ${summary.final_loss?.toFixed(3)}`);
    console.log(`val (${val.n} tasks, greedy): accuracy ${pct(val.accuracy)}, format ${pct(val.format_rate)}, mean length ${val.mean_length.toFixed(1)} tokens, inconsistency ${pct(val.inconsistency_rate)}, grounding ${pct(val.grounding_rate)}`);
    for (const [family, g] of Object.entries(val.groups.family)) console.log(`  ${family.padEnd(16)} n=${String(g.n).padStart(3)}  accuracy ${pct(g.accuracy).padStart(6)}  format ${pct(g.format_rate).padStart(6)}`);
    for (const [modality, g] of Object.entries(val.groups.modality)) console.log(`  [${modality}]`.padEnd(18) + ` n=${String(g.n).padStart(3)}  accuracy ${pct(g.accuracy).padStart(6)}  format ${pct(g.format_rate).padStart(6)}`);
    if (values.out) console.log(`checkpoint: ${values.out}`);
    return 0;
  },
};
