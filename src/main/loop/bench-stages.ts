// Wall time of a GRPO stage vs a DPO stage as the main job runs them (VerIPO reports its DPO
// stage ~7x faster than a GRPO stage): the `veripo` preset's GRPO and DPO settings, its
// prompts (train split, its modality and difficulty), a policy after cold-start SFT.
//   GRPO per prompt: sample num_generations completions, reward them, reference forward and
//     num_iterations forward/backward passes over all of them (update = those passes).
//   DPO per prompt = per pair: the stage over its pairs for the preset's epochs, its
//     reference pass included; a sequence is one completion in one epoch. The pairs are the
//     ones the loop would train on: the verifier's (the run's rubric, no judge) over the timed
//     GRPO steps' rollouts, several per prompt. A policy whose rollouts give the verifier
//     nothing to pair falls back to the benchmark's gold chain vs its inconsistent twin (one
//     pair per prompt, realistic lengths); `dpo_pairs_source` says which.
// The policy: --checkpoint, else the main job's cached cold-start SFT for this model preset
// (what `veripo run` would start from), else a short SFT that is cached for the next run.
// Run: veripo bench stages --preset small [--json] [--checkpoint DIR] [--steps N] [--workers N]
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, describeBackend } from '../model/backend';
import { clonePolicy, loadCheckpoint, saveCheckpoint } from '../model/checkpoint';
import { createPolicy, disposePolicy, type Policy } from '../model/policy';
import { presetConfig, type PresetName } from '../model/config';
import { benchmarkPolicyData, benchmarkTokenizer } from '../model/prompt';
import type { Tokenizer } from '../model/tokenizer';
import { runSft } from '../train/sft';
import { DEFAULT_SFT_CONFIG } from '../train/config';
import { runDpo, type DpoPair } from '../train/dpo';
import { runGrpo } from '../train/grpo';
import { trainTaskOf } from '../train/grpo-rollouts';
import { sampleTasks } from '../video/tasks';
import type { PolicyPrompt } from '../model/inputs';
import { taskPrompt } from '../model/prompt';
import type { GrpoRollout } from '../train/grpo';
import { buildAllPairs } from '../verifier/pairs';
import { loadRubric } from '../verifier/presets';
import { verifyAll } from '../verifier/verify';
import { benchmarkGrounding, cachedTaskOf, toVerifierRollout } from './tasks';
import { dpoCompletionCap, resolveRunConfig, type RunConfig } from './config';
import { sftCachePath, sharedCacheDir } from './cold-start';

/** Steps of the short SFT made when no cold-start checkpoint is cached (enough for the benchmark's chain lengths and format). */
export const BENCH_SFT_STEPS = 150;

export interface BenchStagesOptions {
  /** Policy to time; default: see resolveBenchPolicy. */
  checkpoint?: string;
  preset?: PresetName;
  /** Timed GRPO steps, after one untimed warm-up step (default: the veripo preset's grpo.steps, one stage of the main job). */
  steps?: number;
  /**
   * Train the timed DPO stage on this many gold/inconsistent pairs instead of the verifier's
   * pairs from the timed GRPO steps.
   */
  pairs?: number;
  /** Where cached SFT checkpoints live (default: the per-user cache, ./cold-start). */
  cacheDir?: string;
  /** Progress lines (stderr in the CLI). */
  onProgress?: (line: string) => void;
  /** grpo.workers and dpo.workers: threads each stage samples and computes gradients on (default: the config's). */
  workers?: number;
}

export interface BenchStagesResult {
  grpo_s_per_prompt: number;
  dpo_s_per_prompt: number;
  ratio: number;
  /** Threads that trained each stage. */
  workers: number;
  /** GRPO's reference and policy passes per completion (generation excluded). */
  grpo_update_s_per_completion: number;
  /** DPO per completion per epoch, its reference pass included. */
  dpo_s_per_sequence: number;
  grpo_generation_share: number;
  backend: string;
  preset: string;
  checkpoint: string;
  /** given | main job SFT cache | bench SFT cache | bench SFT (made now, cached) */
  checkpoint_source: string;
  prompts_per_step: number;
  grpo_steps: number;
  num_generations: number;
  num_iterations: number;
  max_completion_length: number;
  grpo_truncation_rate: number;
  dpo_pairs: number;
  /** Distinct prompts among the DPO pairs. */
  dpo_prompts: number;
  /** verifier (the loop's pairs) | gold/inconsistent */
  dpo_pairs_source: string;
  /** The verifier's wall time over the timed GRPO steps' rollouts, per prompt. */
  verify_s_per_prompt: number;
  dpo_epochs: number;
  dpo_batch_size: number;
}

/**
 * The policy to time, in this order: a given checkpoint; the cold-start SFT `veripo run`
 * (veripo preset, this model preset, seed 0) cached; a short SFT cached under
 * bench-sft-<preset>-<steps>, made now when missing.
 */
export async function resolveBenchPolicy(config: RunConfig, opts: { checkpoint?: string; cacheDir: string; onProgress: (line: string) => void }): Promise<{ policy: Policy; tokenizer: Tokenizer; checkpoint: string; source: string }> {
  const load = (dir: string, source: string) => ({ ...loadCheckpoint(dir), checkpoint: dir, source });
  if (opts.checkpoint) return load(opts.checkpoint, 'given');
  const mainJob = sftCachePath(opts.cacheDir, config);
  if (existsSync(join(mainJob, 'model.json'))) return load(mainJob, 'main job SFT cache');
  const preset = config.model.preset;
  const own = join(opts.cacheDir, `bench-sft-${preset}-${BENCH_SFT_STEPS}`);
  if (existsSync(join(own, 'model.json'))) return load(own, 'bench SFT cache');
  opts.onProgress(`bench stages: no cached cold-start SFT for ${preset}; ${BENCH_SFT_STEPS} SFT steps first (cached in ${own})`);
  const tokenizer = benchmarkTokenizer();
  const policy = createPolicy(presetConfig(preset, benchmarkPolicyData(tokenizer)), config.seed);
  const sft = { ...DEFAULT_SFT_CONFIG, steps: BENCH_SFT_STEPS, modalities: [config.data.modality], difficulties: [config.data.difficulty], seed: config.seed };
  await runSft(policy, tokenizer, sft, {
    onEvent: (ev) => { if (ev.type === 'progress' && ev.step % 25 === 0) opts.onProgress(`bench stages: sft step ${ev.step}/${ev.total}`); },
  });
  saveCheckpoint(own, policy, tokenizer, { sft });
  return { policy, tokenizer, checkpoint: own, source: 'bench SFT (made now, cached)' };
}

export async function benchStages(opts: BenchStagesOptions = {}): Promise<BenchStagesResult> {
  await initBackend();
  const progress = opts.onProgress ?? (() => {});
  const preset = opts.preset ?? 'small';
  const workerSets: [string, unknown][] = opts.workers === undefined ? [] : [['grpo.workers', opts.workers], ['dpo.workers', opts.workers]];
  const config = resolveRunConfig({ preset: 'veripo', sets: [['model.preset', preset], ...workerSets] });
  // One GRPO stage of the main job, so DPO trains on as many pairs as its stage does.
  const steps = opts.steps ?? config.grpo.steps;
  const { policy, tokenizer, checkpoint, source: policySource } = await resolveBenchPolicy(config, { checkpoint: opts.checkpoint, cacheDir: opts.cacheDir ?? sharedCacheDir(), onProgress: progress });
  progress(`bench stages: ${preset} policy from ${checkpoint} (${policySource})`);
  const P = config.grpo.per_step_prompts;
  const G = config.grpo.num_generations;
  // Distinct prompts for each part: GRPO's warm-up step, its timed steps, DPO's warm-up (a full
  // batch: the wasm heap grows to its shapes once) and fallback pairs.
  const tasks = sampleTasks({ n: (1 + steps) * P + config.dpo.batch_size + (opts.pairs ?? 2 * config.dpo.batch_size), seed: config.seed + 17, split: 'train', modality: config.data.modality, difficulty: config.data.difficulty });
  const reference = clonePolicy(policy, { trainable: false });
  const seed = config.seed;

  const timeGrpo = async (n: number, from: number, label: string) => {
    let update = 0;
    let gen = 0;
    const rollouts: GrpoRollout[] = [];
    const t = performance.now();
    const r = await runGrpo({
      policy, reference, tokenizer, seed,
      tasks: tasks.slice(from, from + n * P).map((task) => trainTaskOf(task, tokenizer)),
      config: { ...config.grpo, steps: n, max_seconds: null },
      onRollouts: (rows) => rollouts.push(...rows),
      onEvent: (ev) => {
        if (ev.type === 'metric' && ev.name === 'update_seconds') update += ev.value;
        if (ev.type === 'metric' && ev.name === 'gen_seconds') gen += ev.value;
        if (ev.type === 'progress') progress(`bench stages: ${label} step ${ev.step}/${ev.total}`);
      },
    });
    return { seconds: (performance.now() - t) / 1000, update, gen, truncation: r.truncation_rate, rollouts };
  };
  const timeDpo = async (pairs: DpoPair[], epochs: number, label: string) => {
    const t = performance.now();
    await runDpo({
      policy, reference, tokenizer, pairs, seed,
      config: { ...config.dpo, epochs, steps: null, max_seconds: null, max_completion_length: dpoCompletionCap(config) },
      onEvent: (ev) => { if (ev.type === 'progress') progress(`bench stages: ${label} step ${ev.step}/${ev.total}`); },
    });
    return (performance.now() - t) / 1000;
  };
  const goldPairs = (from: number, n: number): DpoPair[] =>
    tasks.slice(from, from + n).map((task) => ({ prompt: trainTaskOf(task, tokenizer).prompt, chosen: task.cot.gold, rejected: task.cot.inconsistent }));

  // Warm-up (kernels, wasm pages, the gradient peers): untimed, on prompts of their own.
  await timeGrpo(1, 0, 'grpo warm-up');
  await timeDpo(goldPairs((1 + steps) * P, config.dpo.batch_size), 1, 'dpo warm-up');
  const grpo = await timeGrpo(steps, P, 'grpo');
  const verifyStart = performance.now();
  let pairs = opts.pairs === undefined ? await verifierPairs(grpo.rollouts, tokenizer, config.verifier.rubric) : [];
  const verifySeconds = (performance.now() - verifyStart) / 1000;
  const source = pairs.length > 0 ? 'verifier' : 'gold/inconsistent';
  if (pairs.length === 0) {
    if (opts.pairs === undefined) progress('bench stages: the verifier paired none of the GRPO rollouts; DPO trains on gold/inconsistent pairs');
    pairs = goldPairs((1 + steps) * P + config.dpo.batch_size, opts.pairs ?? 2 * config.dpo.batch_size);
  }
  const nPairs = pairs.length;
  const dpoSeconds = await timeDpo(pairs, config.dpo.epochs, 'dpo');
  const backend = await describeBackend();
  disposePolicy(reference);
  disposePolicy(policy);
  const grpoPerPrompt = grpo.seconds / (steps * P);
  const dpoPerPair = dpoSeconds / nPairs;
  return {
    grpo_s_per_prompt: grpoPerPrompt,
    dpo_s_per_prompt: dpoPerPair,
    ratio: grpoPerPrompt / dpoPerPair,
    workers: config.grpo.workers,
    grpo_update_s_per_completion: grpo.update / (steps * P * G),
    dpo_s_per_sequence: dpoSeconds / (2 * nPairs * config.dpo.epochs),
    grpo_generation_share: grpo.gen / grpo.seconds,
    backend,
    preset,
    checkpoint,
    checkpoint_source: policySource,
    prompts_per_step: P,
    grpo_steps: steps,
    num_generations: G,
    num_iterations: config.grpo.num_iterations,
    max_completion_length: config.grpo.max_completion_length,
    grpo_truncation_rate: grpo.truncation,
    dpo_pairs: nPairs,
    dpo_prompts: new Set(pairs.map((p) => p.prompt)).size,
    dpo_pairs_source: source,
    verify_s_per_prompt: opts.pairs === undefined ? verifySeconds / (steps * P) : 0,
    dpo_epochs: config.dpo.epochs,
    dpo_batch_size: config.dpo.batch_size,
  };
}

/**
 * The loop's verify stage without a database: the rubric's verdicts (no judge) over the
 * rollouts, readings checked against each task's fact log, then its preference pairs, a
 * prompt encoded once for all of its pairs (as the DPO stage does).
 */
export async function verifierPairs(rows: readonly GrpoRollout[], tokenizer: Tokenizer, rubricRef: string): Promise<DpoPair[]> {
  const rubric = await loadRubric(rubricRef);
  rubric.checks.judge.enabled = false;
  const trained = rows.filter((r) => !r.shuffled);
  const taskOf = cachedTaskOf();
  const inputs = trained.map((r, i) => toVerifierRollout({ ...r, prompt_id: r.task_id, meta: null }, i, taskOf));
  const verdicts = await verifyAll(inputs, rubric, { grounding: benchmarkGrounding((i) => taskOf(trained[i]!.task_id)) });
  const prompts = new Map<string, PolicyPrompt>();
  return buildAllPairs(inputs, verdicts, rubric).flatMap((p) => {
    const row = trained[p.chosen_index ?? p.rejected_index ?? -1];
    if (!row) return [];
    let prompt = prompts.get(row.task_id);
    if (!prompt) prompts.set(row.task_id, (prompt = taskPrompt(taskOf(row.task_id)!, tokenizer)));
    return [{ prompt, chosen: p.chosen, rejected: p.rejected }];
  });
}
