// GRPO's rollouts: draw prompts, sample num_generations completions per prompt (plus
// T-GRPO's shuffled-frame twin groups), reward them and turn rewards into group-relative
// advantages, with DAPO's dynamic sampling refilling groups whose rewards are all equal.
import { generate, type GenerateResult } from '../model/sample';
import { hashInts } from '../video/prng';
import type { PolicyPrompt } from '../model/inputs';
import type { Policy } from '../model/policy';
import { promptText, taskPrompt } from '../model/prompt';
import type { Tokenizer } from '../model/tokenizer';
import type { FactLog } from '../video/scene';
import type { Task } from '../video/tasks';
import { dynamicSamplingKeep, groupAdvantages, temporalBonus } from './advantages';
import type { GrpoConfig } from './config';
import { parallelShards, shardRows } from './data-parallel';
import type { GradientPeer } from './gradient-peer';
import { computeRewards, neededReadings, type AnswerSpec, type NeededReading, type RewardName } from './rewards';

/** An accuracy reward at or above this counts as correct for T-GRPO (numeric answers score in [0, 1]). */
const CORRECT = 0.5;

/** Completions sampled in one batch (see sampleGroups). */
export const GENERATION_ROWS = 32;

/** One training prompt, already encoded. Benchmark tasks map to it with trainTaskOf. */
export interface TrainTask {
  id: string;
  /** Prompt as text, for the rollout log. */
  promptText: string;
  prompt: PolicyPrompt;
  spec: AnswerSpec;
  /** What the frames show (benchmark tasks), for the grounding rewards. */
  facts?: FactLog;
  /** The readings the question needs (from the gold chain), for reading recall and credit. */
  needed?: NeededReading[];
}

export function trainTaskOf(task: Task, tokenizer: Tokenizer): TrainTask {
  return {
    id: task.id,
    promptText: promptText(task),
    prompt: taskPrompt(task, tokenizer),
    spec: { answer: task.answer, answerType: task.answerType, options: task.options },
    facts: task.facts,
    needed: neededReadings(task.cot.gold),
  };
}

/** Frames permuted along time, never the identity when there are 2+ frames (T-GRPO's shuffled group). */
export function shuffleFrames(prompt: PolicyPrompt, rand: () => number): PolicyPrompt {
  const T = prompt.numFrames;
  if (!prompt.frames || T < 2) return prompt;
  const order = Array.from({ length: T }, (_, i) => i);
  do {
    for (let i = T - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
  } while (order.every((v, i) => v === i));
  const frameBytes = prompt.frames.length / T;
  const frames = new Uint8Array(prompt.frames.length);
  order.forEach((src, dst) => frames.set(prompt.frames!.subarray(src * frameBytes, (src + 1) * frameBytes), dst * frameBytes));
  return { ...prompt, frames };
}

export interface Sampled {
  task: TrainTask;
  prompt: PolicyPrompt;
  shuffled: boolean;
  groupIndex: number;
  tokens: number[];
  /** Sampler log-probs of the tokens, log softmax(logits / temperature). */
  logprobs: number[];
  text: string;
  truncated: boolean;
  parts: Record<RewardName, number>;
  reward: number;
}

/** Prompts drawn without replacement from a shuffled epoch, reshuffled when used up. */
export function taskSampler(tasks: readonly TrainTask[], rand: () => number): () => TrainTask {
  let order: number[] = [];
  return () => {
    if (order.length === 0) {
      order = Array.from({ length: tasks.length }, (_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
    }
    return tasks[order.pop()!]!;
  };
}

/** num_generations completions of each prompt, prompt i's drawn from seeds[i]: the same whichever thread samples which prompts. */
export type GroupSampler = (prompts: PolicyPrompt[], seeds: number[]) => Promise<GenerateResult>;

/** What a step's sampling needs: the policy, the config, the run's PRNG and seed, the prompt source. */
export interface RolloutSource {
  policy: Policy;
  tokenizer: Tokenizer;
  cfg: GrpoConfig;
  rand: () => number;
  seed: number;
  nextTask: () => TrainTask;
  /** Who samples (e.g. this thread and gradient peers); default this thread alone. */
  sampler?: GroupSampler;
}

/**
 * Sampling on this thread. At most GENERATION_ROWS completions at once: prefilling 8 prompts
 * x 8 of a 200-word scene text in one batch takes 90 MB blocks, which fail to allocate once
 * the 8-row updates have grown the wasm heap to ~2.3 GB. Per-prompt seeds make the chunking
 * invisible in the samples.
 */
export function sampleGroupsLocally(policy: Policy, tokenizer: Tokenizer, cfg: GrpoConfig, prompts: readonly PolicyPrompt[], seeds: readonly number[]): GenerateResult {
  const G = cfg.num_generations;
  const perChunk = Math.max(1, Math.floor(GENERATION_ROWS / G));
  const out: GenerateResult = { tokens: [], logprobs: [], truncated: [], promptIndex: [] };
  for (let first = 0; first < prompts.length; first += perChunk) {
    const part = generate(policy, prompts.slice(first, first + perChunk), {
      num_generations: G,
      temperature: cfg.temperature,
      top_p: cfg.top_p,
      max_completion_length: cfg.max_completion_length,
      seeds: seeds.slice(first, first + perChunk),
      eosId: tokenizer.eosId,
      padId: tokenizer.padId,
    });
    out.tokens.push(...part.tokens);
    out.logprobs.push(...part.logprobs);
    out.truncated.push(...part.truncated);
    out.promptIndex.push(...part.promptIndex.map((i) => first + i));
  }
  return out;
}

/** Sampling split by prompt between this thread (the first prompts) and the peers. */
export function shardedSampler(peers: readonly GradientPeer[], policy: Policy, tokenizer: Tokenizer, cfg: GrpoConfig): GroupSampler {
  return async (prompts, seeds) => {
    const ranges = shardRows(prompts.length, peers.length + 1);
    const [own, ...rest] = ranges.map(({ start, end }) => ({ prompts: prompts.slice(start, end), seeds: seeds.slice(start, end) }));
    const parts = await parallelShards(peers, policy, rest, (peer, task) => peer.generate(policy, task), () => sampleGroupsLocally(policy, tokenizer, cfg, own!.prompts, own!.seeds));
    const out: GenerateResult = { tokens: [], logprobs: [], truncated: [], promptIndex: [] };
    parts.forEach((part, i) => {
      out.tokens.push(...part.tokens);
      out.logprobs.push(...part.logprobs);
      out.truncated.push(...part.truncated);
      out.promptIndex.push(...part.promptIndex.map((p) => ranges[i]!.start + p));
    });
    return out;
  };
}

/** Groups of one sampling round: completions of `tasks` (and their shuffled twins), rewarded. */
export async function sampleGroups(src: RolloutSource, tasks: TrainTask[], round: number, step: number): Promise<Sampled[]> {
  const { policy, tokenizer, cfg, rand, seed } = src;
  const G = cfg.num_generations;
  const prompts = tasks.map((t) => t.prompt);
  // T-GRPO's shuffled twin only exists for videos (2+ frames); text and image prompts have no order to test.
  const twinOf: TrainTask[] = cfg.temporal ? tasks.filter((t) => t.prompt.frames !== null && t.prompt.numFrames >= 2) : [];
  for (const t of twinOf) prompts.push(shuffleFrames(t.prompt, rand));
  const seeds = prompts.map((_, i) => hashInts(seed, step, round, i));
  const out = src.sampler ? await src.sampler(prompts, seeds) : sampleGroupsLocally(policy, tokenizer, cfg, prompts, seeds);
  return out.tokens.map((tokens, row) => {
    const p = out.promptIndex[row]!;
    const shuffled = p >= tasks.length;
    const task = shuffled ? twinOf[p - tasks.length]! : tasks[p]!;
    const text = tokenizer.decode(tokens);
    const { parts, total } = computeRewards(text, task.spec, cfg.reward_weights, {
      lengthTarget: cfg.length_target,
      lengthMax: cfg.length_max ?? undefined,
      // Shuffled frames no longer match the fact log's frame numbers.
      facts: shuffled ? null : task.facts,
      needed: shuffled ? null : task.needed,
    });
    return { task, prompt: prompts[p]!, shuffled, groupIndex: row % G, tokens, logprobs: out.logprobs[row]!, text, truncated: out.truncated[row]!, parts, reward: total };
  });
}

/** One step's rollouts: the rows that enter the loss (whole groups), every row sampled, and the advantages. */
export interface StepRollouts {
  /** Ordered-frame rows that enter the loss, whole groups. */
  trained: Sampled[];
  /** Every row sampled, shuffled twins and dropped groups included. */
  logged: Sampled[];
  advantageOf: Map<Sampled, number>;
  /** Ordered rows of groups dynamic sampling dropped. */
  dropped: number;
  /** Ordered rows that received T-GRPO's temporal bonus. */
  bonusRows: number;
}

export async function sampleStep(src: RolloutSource, step: number): Promise<StepRollouts> {
  const { cfg } = src;
  const G = cfg.num_generations;
  const trained: Sampled[] = [];
  const logged: Sampled[] = [];
  const advantages: number[] = [];
  let dropped = 0;
  let bonusRows = 0;
  for (let round = 0; round <= (cfg.dynamic_sampling ? cfg.dynamic_sampling_max_rounds : 0); round++) {
    const want = cfg.per_step_prompts - trained.length / G;
    if (want <= 0) break;
    const tasks = Array.from({ length: want }, src.nextTask);
    const rows = await sampleGroups(src, tasks, round, step);
    logged.push(...rows);
    const ordered = rows.filter((r) => !r.shuffled);
    if (cfg.temporal) {
      // Video-R1: the bonus is part of the accuracy reward of ordered rows, before advantages.
      for (let p = 0; p < tasks.length; p++) {
        const o = ordered.slice(p * G, (p + 1) * G);
        const s = rows.filter((r) => r.shuffled && r.task === tasks[p]);
        if (s.length === 0) {
          for (const r of o) r.parts = { ...r.parts, temporal: 0 } as Sampled['parts'];
          continue;
        }
        const bonus = temporalBonus(
          o.map((r) => r.parts.accuracy >= CORRECT),
          s.map((r) => r.parts.accuracy >= CORRECT),
          cfg.temporal_alpha,
          cfg.temporal_mu,
        );
        o.forEach((r, i) => {
          if (bonus[i]! > 0) bonusRows++;
          r.parts = { ...r.parts, temporal: bonus[i]! } as Sampled['parts'];
          r.reward += bonus[i]!;
        });
      }
    }
    const rewards = ordered.map((r) => r.reward);
    const keep = cfg.dynamic_sampling ? dynamicSamplingKeep(rewards, G) : rewards.map(() => true);
    ordered.forEach((r, i) => {
      if (!keep[i]) {
        dropped++;
        return;
      }
      trained.push(r);
    });
    // Advantages over the kept groups of this round (batch std over what is trained).
    const keptRewards = ordered.filter((_, i) => keep[i]).map((r) => r.reward);
    if (keptRewards.length > 0) advantages.push(...groupAdvantages(keptRewards, G, cfg.scale_rewards));
  }
  const advantageOf = new Map<Sampled, number>(trained.map((r, i) => [r, advantages[i]!]));
  return { trained, logged, advantageOf, dropped, bonusRows };
}
