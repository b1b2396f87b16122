// `veripo bench <kind>`: performance figures, each printed with the backend and model size.
//   gen    tokens/s of batched sampling with the KV cache vs recomputing the prefix each step
//   train  SFT training-step GFLOP/s next to the same backend's matmul GFLOP/s, same process
// Other layers register more kinds by adding to `benchKinds`.
import { CliError, type CliCommand } from './command';
import { parseCliArgs, JSON_FLAG } from './common';
import { BACKEND_NAMES, type BackendName } from '../model/backend';
import { POLICY_PRESETS, type PresetName } from '../model/config';
import { benchGen, benchTrain } from '../train/throughput';
import type { Modality } from '../video/tasks';
import { benchStages } from '../loop/bench-stages';

function intOption(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`--${name} must be a positive integer, got "${v}"`, 2);
  return n;
}

function commonOptions(values: Record<string, unknown>): { preset: PresetName; backend?: BackendName; modality: Modality } {
  const preset = values.preset as PresetName;
  if (!(preset in POLICY_PRESETS)) throw new CliError(`--preset must be one of ${Object.keys(POLICY_PRESETS).join(', ')}, got "${preset}"`, 2);
  const backend = values.backend as BackendName | undefined;
  if (backend && !BACKEND_NAMES.includes(backend)) throw new CliError(`--backend must be one of ${BACKEND_NAMES.join(', ')}, got "${backend}"`, 2);
  const modality = values.modality as Modality;
  if (!['text', 'image', 'video'].includes(modality)) throw new CliError(`--modality must be text, image or video, got "${modality}"`, 2);
  return { preset, backend, modality };
}

const common = {
  preset: { type: 'string', default: 'small' },
  backend: { type: 'string' },
  modality: { type: 'string', default: 'video' },
  ...JSON_FLAG,
} as const;

function print(json: boolean, result: object, lines: string[]): void {
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else for (const l of lines) console.log(l);
}

/** Bench kinds by name; each gets the arguments after the kind and returns an exit code. */
export const benchKinds: Record<string, (argv: string[]) => Promise<number>> = {
  async gen(argv) {
    const { values } = parseCliArgs(argv, { ...common, prompts: { type: 'string' }, generations: { type: 'string' }, tokens: { type: 'string' } }, { usage: command.usage });
    const r = await benchGen({
      ...commonOptions(values),
      prompts: intOption('prompts', values.prompts, 4),
      generations: intOption('generations', values.generations, 4),
      tokens: intOption('tokens', values.tokens, 64),
    });
    print(values.json, r, [
      `backend ${r.backend_detail}, preset ${r.preset} (${r.params.toLocaleString('en-US')} params), batch ${r.batch}, ${r.new_tokens} new tokens after a ${r.prompt_tokens}-token prompt`,
      `KV cache      ${r.kv_tokens_per_s.toFixed(1)} tokens/s`,
      `naive prefix  ${r.naive_tokens_per_s.toFixed(1)} tokens/s`,
      `speedup       ${r.speedup.toFixed(1)}x (identical tokens: ${r.identical_tokens})`,
    ]);
    return 0;
  },
  async train(argv) {
    const { values } = parseCliArgs(argv, { ...common, 'batch-size': { type: 'string' }, steps: { type: 'string' } }, { usage: command.usage });
    const r = await benchTrain({ ...commonOptions(values), batch_size: intOption('batch-size', values['batch-size'], 16), steps: intOption('steps', values.steps, 3) });
    print(values.json, r, [
      `backend ${r.backend_detail}, preset ${r.preset} (${r.params.toLocaleString('en-US')} params), ${Math.round(r.tokens_per_step)} tokens/step, ${r.step_s.toFixed(2)} s/step wall, ${r.step_cpu_s.toFixed(2)} s CPU`,
      `train step    ${r.train_gflops.toFixed(2)} GFLOP/s per CPU second (${r.train_gflops_wall.toFixed(2)} per wall second; matmul FLOPs, backward = 2x forward)`,
      `matmul 512^2  ${r.matmul_gflops.toFixed(2)} GFLOP/s per CPU second (${r.matmul_gflops_wall.toFixed(2)} wall; MLP-shaped matmul: ${r.model_matmul_gflops.toFixed(2)})`,
      `efficiency    ${r.efficiency.toFixed(2)} (wall: ${r.efficiency_wall.toFixed(2)})`,
    ]);
    return 0;
  },
  async stages(argv) {
    const { values } = parseCliArgs(
      argv,
      { ...JSON_FLAG, checkpoint: { type: 'string' }, preset: { type: 'string', default: 'small' }, steps: { type: 'string' }, pairs: { type: 'string' }, workers: { type: 'string' } },
      { usage: command.usage },
    );
    const preset = values.preset as PresetName;
    if (!(preset in POLICY_PRESETS)) throw new CliError(`--preset must be one of ${Object.keys(POLICY_PRESETS).join(', ')}, got "${preset}"`, 2);
    const r = await benchStages({
      checkpoint: values.checkpoint,
      preset,
      steps: values.steps === undefined ? undefined : intOption('steps', values.steps, 0),
      pairs: values.pairs === undefined ? undefined : intOption('pairs', values.pairs, 16),
      onProgress: (line) => process.stderr.write(`${line}\n`),
      workers: values.workers === undefined ? undefined : intOption('workers', values.workers, 1),
    });
    print(values.json, r, [
      `backend ${r.backend}, ${r.preset} policy from ${r.checkpoint} (${r.checkpoint_source}), ${r.workers} worker(s)`,
      `GRPO  ${r.grpo_s_per_prompt.toFixed(3)} s per prompt: ${r.prompts_per_step} prompts x ${r.num_generations} completions per step, ${r.grpo_steps} steps, ${(100 * r.grpo_generation_share).toFixed(0)}% generation, truncation ${(100 * r.grpo_truncation_rate).toFixed(1)}% at ${r.max_completion_length} tokens`,
      `      update ${r.grpo_update_s_per_completion.toFixed(3)} s per completion (generation excluded)`,
      `DPO   ${r.dpo_s_per_prompt.toFixed(3)} s per pair: ${r.dpo_pairs} pairs on ${r.dpo_prompts} prompts (${r.dpo_pairs_source}), ${r.dpo_epochs} epoch(s), batch ${r.dpo_batch_size}; ${r.dpo_s_per_sequence.toFixed(3)} s per sequence and epoch`,
      `ratio ${r.ratio.toFixed(1)}x (the paper reports DPO ~7x faster than GRPO)`,
    ]);
    return 0;
  },
};

export const command: CliCommand = {
  name: 'bench',
  summary: 'performance benchmarks (gen: KV cache vs naive; train: step GFLOP/s vs matmul; stages: GRPO vs DPO time)',
  usage: `veripo bench <${Object.keys(benchKinds).join('|')}> [--preset small] [--backend wasm|cpu] [--modality video] [--json]
  gen:   [--prompts 4] [--generations 4] [--tokens 64]
  train: [--batch-size 16] [--steps 3]
  stages: [--preset small] [--checkpoint DIR] [--steps N] [--pairs N] [--workers 1|2]   GRPO vs DPO stage time per prompt, the
          veripo preset's settings; --steps GRPO steps (default: one stage of the main job, the preset's grpo.steps), then DPO
          on the verifier's pairs of their rollouts (--pairs N: N gold/inconsistent pairs instead) (--workers sets grpo.workers and dpo.workers; default 2 with 2+ cores); the policy:
          DIR, else the cached cold-start SFT of veripo run, else a short SFT it caches`,
  async run(argv) {
    const [kind, ...rest] = argv;
    const fn = kind ? benchKinds[kind] : undefined;
    if (!fn) throw new CliError(`veripo bench: unknown kind "${kind ?? ''}" (expected ${Object.keys(benchKinds).join(', ')})`, 2);
    return fn(rest);
  },
};
