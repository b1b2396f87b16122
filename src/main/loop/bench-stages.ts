// Wall time per prompt of a GRPO step vs a DPO step on the same prompts (VerIPO reports
// its DPO stage ~7x faster than a GRPO stage). GRPO per prompt: sample num_generations
// completions, score them, reference forward, num_iterations forward/backward passes over
// all of them. DPO per prompt: one forward/backward (plus a reference forward) over a
// (chosen, rejected) pair, the pair being the benchmark's gold vs inconsistent chain.
// Run: veripo bench stages [--json] [--checkpoint DIR] [--prompts N] [--steps N]
import { initBackend, describeBackend } from '../model/backend';
import { clonePolicy, loadCheckpoint } from '../model/checkpoint';
import { createPolicy, disposePolicy, type Policy } from '../model/policy';
import { presetConfig, type PresetName } from '../model/config';
import { benchmarkPolicyData, benchmarkTokenizer } from '../model/prompt';
import type { Tokenizer } from '../model/tokenizer';
import { runSft } from '../train/sft';
import { DEFAULT_SFT_CONFIG, defaultWorkers } from '../train/config';
import { runDpo, type DpoPair } from '../train/dpo';
import type { DpoConfigInput } from '../train/config';
import { runGrpo } from '../train/grpo';
import type { GrpoConfigInput } from '../train/config';
import { trainTaskOf } from '../train/grpo-rollouts';
import { sampleTasks, type Modality } from '../video/tasks';

export interface BenchStagesOptions {
  /** Policy to time (e.g. an SFT checkpoint, whose completions have realistic lengths); default a fresh policy after warmupSftSteps of SFT. */
  checkpoint?: string;
  warmupSftSteps?: number;
  preset?: PresetName;
  /** Distinct prompts per step (GRPO per_step_prompts = DPO batch_size). */
  prompts?: number;
  /** Timed steps of each stage, after one untimed warm-up step. */
  steps?: number;
  modality?: Modality;
  seed?: number;
  /** grpo.workers and dpo.workers: threads each stage samples and computes gradients on. */
  workers?: number;
  grpo?: GrpoConfigInput;
  dpo?: DpoConfigInput;
}

export interface BenchStagesResult {
  grpo_s_per_prompt: number;
  dpo_s_per_prompt: number;
  ratio: number;
  backend: string;
  prompts_per_step: number;
  steps: number;
  num_generations: number;
  num_iterations: number;
  grpo_gen_share: number;
  workers: number;
}

export async function benchStages(opts: BenchStagesOptions = {}): Promise<BenchStagesResult> {
  await initBackend();
  const P = opts.prompts ?? 4;
  const steps = opts.steps ?? 3;
  const seed = opts.seed ?? 0;
  let policy: Policy;
  let tokenizer: Tokenizer;
  if (opts.checkpoint) {
    ({ policy, tokenizer } = loadCheckpoint(opts.checkpoint));
  } else {
    tokenizer = benchmarkTokenizer();
    policy = createPolicy(presetConfig(opts.preset ?? 'tiny', benchmarkPolicyData(tokenizer), { max_text_len: 448 }), seed);
    // A fresh policy babbles to max_completion_length; a short cold start gives completions the
    // benchmark's lengths and format, which is what GRPO samples in the loop.
    const warmup = opts.warmupSftSteps ?? 150;
    if (warmup > 0) await runSft(policy, tokenizer, { ...DEFAULT_SFT_CONFIG, steps: warmup, modalities: [opts.modality ?? 'video'], difficulties: [1], seed });
  }
  // (1 + steps) * P prompts: the warm-up step sees its own.
  const tasks = sampleTasks({ n: (1 + steps) * P, seed: seed + 17, split: 'train', modality: opts.modality ?? 'video' });
  const reference = clonePolicy(policy);
  const workers = opts.workers ?? defaultWorkers();
  const grpoCfg: GrpoConfigInput = { per_step_prompts: P, workers, ...opts.grpo };
  const dpoCfg: DpoConfigInput = { batch_size: P, workers, ...opts.dpo };

  const timeGrpo = async (n: number, offset: number) => {
    let gen = 0;
    const t = performance.now();
    await runGrpo({
      policy, reference, tokenizer, seed,
      tasks: tasks.slice(offset * P, (offset + n) * P).map((task) => trainTaskOf(task, tokenizer)),
      config: { ...grpoCfg, steps: n },
      onEvent: (ev) => { if (ev.type === 'metric' && ev.name === 'gen_seconds') gen += ev.value; },
    });
    return { seconds: (performance.now() - t) / 1000, gen };
  };
  const timeDpo = async (n: number, offset: number) => {
    const pairs: DpoPair[] = tasks.slice(offset * P, (offset + n) * P).map((task) => ({
      prompt: trainTaskOf(task, tokenizer).prompt,
      chosen: task.cot.gold,
      rejected: task.cot.inconsistent,
    }));
    const t = performance.now();
    await runDpo({ policy, reference, tokenizer, pairs, seed, config: { ...dpoCfg, steps: n } });
    return (performance.now() - t) / 1000;
  };

  await timeGrpo(1, 0); // warm-up: kernels, wasm pages
  await timeDpo(1, 0);
  const grpo = await timeGrpo(steps, 1);
  const dpoSeconds = await timeDpo(steps, 1);
  const backend = await describeBackend();
  disposePolicy(reference);
  disposePolicy(policy);
  const grpoPer = grpo.seconds / (steps * P);
  const dpoPer = dpoSeconds / (steps * P);
  return {
    grpo_s_per_prompt: grpoPer,
    dpo_s_per_prompt: dpoPer,
    ratio: grpoPer / dpoPer,
    backend,
    prompts_per_step: P,
    steps,
    num_generations: (grpoCfg.num_generations as number | undefined) ?? 8,
    num_iterations: (grpoCfg.num_iterations as number | undefined) ?? 1,
    grpo_gen_share: grpo.gen / grpo.seconds,
    workers,
  };
}
