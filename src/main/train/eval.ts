// Evaluation of a policy on a benchmark split: accuracy (the accuracy reward: 1/0 for
// multiple choice, mean relative accuracy for counts), format rate, mean response length,
// thinking–answer inconsistency (among responses whose reasoning states a conclusion and
// whose answer is readable, the share where the two differ), grounding rate (share of
// "frame F : colour shape at X Y" claims the fact log supports), truncation rate, and
// accuracy per family and per modality. Greedy by default; temperature > 0 samples.
import { sampleTasks, type Modality, type Task } from '../video/tasks';
import { scoreGrounding } from '../video/claims';
import { hashInts } from '../video/prng';
import type { Policy } from '../model/policy';
import type { Tokenizer } from '../model/tokenizer';
import { taskPrompt } from '../model/prompt';
import { generate } from '../model/sample';
import { emit, type TrainHooks } from '../model/worker-protocol';
import { thinkConclusion } from '../answers/conclusion';
import { completionAnswer } from '../answers/read';
import type { AnswerSpec } from '../answers/spec';
import { extractThink } from '../answers/tags';
import { accuracyReward, formatReward } from './rewards';

export interface EvalConfig {
  split: 'train' | 'val' | 'test';
  /** Tasks per modality. */
  n: number;
  modalities: Modality[];
  difficulties: number[];
  /** 0 = greedy. */
  temperature: number;
  top_p: number;
  max_completion_length: number;
  batch_size: number;
  seed: number;
}

export const DEFAULT_EVAL_CONFIG: EvalConfig = {
  split: 'val',
  n: 70,
  modalities: ['text', 'image', 'video'],
  difficulties: [1, 2, 3],
  temperature: 0,
  top_p: 1,
  max_completion_length: 160,
  batch_size: 35,
  seed: 0,
};

export interface EvalSample {
  task_id: string;
  family: string;
  modality: Modality;
  answer: string;
  completion: string;
  accuracy: number;
  format: number;
  tokens: number;
  truncated: boolean;
}

export interface GroupScore {
  n: number;
  accuracy: number;
  format_rate: number;
}

export interface EvalResult {
  n: number;
  accuracy: number;
  format_rate: number;
  /** Mean response length in tokens (EOS included). */
  mean_length: number;
  /** 0 when no response both concludes in <think> and has a readable answer (see inconsistency_base). */
  inconsistency_rate: number;
  /** How many responses the inconsistency rate is over. */
  inconsistency_base: number;
  /** 1 when no response makes a checkable observation (see claims). */
  grounding_rate: number;
  claims: number;
  truncated_rate: number;
  /** Accuracy per family / per modality. */
  by_family: Record<string, number>;
  by_modality: Record<string, number>;
  /** n, accuracy and format rate per family / per modality. */
  groups: { family: Record<string, GroupScore>; modality: Record<string, GroupScore> };
  samples: EvalSample[];
  wall_s: number;
}

export function answerSpec(task: Pick<Task, 'answer' | 'answerType' | 'options'>): AnswerSpec {
  return { answer: task.answer, answerType: task.answerType, options: task.options };
}

/** The evaluation tasks: n per modality, difficulties cycled, deterministic in the seed. */
export function evalTasks(c: EvalConfig): Task[] {
  const tasks: Task[] = [];
  for (const modality of c.modalities) {
    const per = Math.ceil(c.n / c.difficulties.length);
    c.difficulties.forEach((difficulty, i) => {
      const n = Math.min(per, c.n - i * per);
      if (n > 0) tasks.push(...sampleTasks({ n, seed: hashInts(c.seed, i, 0xe7a1), split: c.split, modality, difficulty }));
    });
  }
  return tasks;
}

/** Score completions against their tasks (pure: no model involved). */
export function scoreCompletions(tasks: readonly Task[], completions: readonly string[], tokens: readonly number[], truncated: readonly boolean[]): Omit<EvalResult, 'wall_s'> {
  const samples: EvalSample[] = [];
  let consistentBase = 0;
  let inconsistent = 0;
  let claims = 0;
  let grounded = 0;
  const groups = { by_family: new Map<string, number[][]>(), by_modality: new Map<string, number[][]>() };
  tasks.forEach((task, i) => {
    const completion = completions[i]!;
    const spec = answerSpec(task);
    const accuracy = accuracyReward(completion, spec);
    const format = formatReward(completion);
    const think = extractThink(completion);
    const answer = completionAnswer(completion, spec);
    const conclusion = think === null ? null : thinkConclusion(think, spec);
    if (answer !== null && conclusion !== null) {
      consistentBase++;
      if (answer !== conclusion) inconsistent++;
    }
    const g = scoreGrounding(think ?? completion, task.facts);
    claims += g.total;
    grounded += g.grounded;
    samples.push({ task_id: task.id, family: task.family, modality: task.modality, answer: task.answer, completion, accuracy, format, tokens: tokens[i]!, truncated: truncated[i]! });
    for (const [map, key] of [[groups.by_family, task.family], [groups.by_modality, task.modality]] as const) {
      if (!map.has(key)) map.set(key, []);
      map.get(key)!.push([accuracy, format]);
    }
  });
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const summarise = (m: Map<string, number[][]>) =>
    Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)).map(([k, rows]) => [k, { n: rows.length, accuracy: mean(rows.map((r) => r[0]!)), format_rate: mean(rows.map((r) => r[1]!)) }]));
  return {
    n: samples.length,
    accuracy: mean(samples.map((s) => s.accuracy)),
    format_rate: mean(samples.map((s) => s.format)),
    mean_length: mean(samples.map((s) => s.tokens)),
    inconsistency_rate: consistentBase ? inconsistent / consistentBase : 0,
    inconsistency_base: consistentBase,
    grounding_rate: claims ? grounded / claims : 1,
    claims,
    truncated_rate: mean(samples.map((s) => (s.truncated ? 1 : 0))),
    by_family: Object.fromEntries(Object.entries(summarise(groups.by_family)).map(([k, g]) => [k, g.accuracy])),
    by_modality: Object.fromEntries(Object.entries(summarise(groups.by_modality)).map(([k, g]) => [k, g.accuracy])),
    groups: { family: summarise(groups.by_family), modality: summarise(groups.by_modality) },
    samples,
  };
}

export interface CompletionOptions {
  temperature?: number;
  top_p?: number;
  max_completion_length?: number;
  seed?: number;
  batch_size?: number;
}

/** Generate one completion per task, batch by batch (a batch never mixes modalities). */
function* completionBatches(policy: Policy, tokenizer: Tokenizer, tasks: readonly Task[], o: CompletionOptions) {
  const batchSize = o.batch_size ?? DEFAULT_EVAL_CONFIG.batch_size;
  const modalities = [...new Set(tasks.map((t) => t.modality))];
  for (const modality of modalities) {
    const idx = tasks.map((_, i) => i).filter((i) => tasks[i]!.modality === modality);
    for (let s = 0; s < idx.length; s += batchSize) {
      const part = idx.slice(s, s + batchSize);
      const out = generate(policy, part.map((i) => taskPrompt(tasks[i]!, tokenizer)), {
        temperature: o.temperature ?? 0,
        top_p: o.top_p ?? 1,
        max_completion_length: o.max_completion_length ?? DEFAULT_EVAL_CONFIG.max_completion_length,
        seed: hashInts(o.seed ?? 0, part[0]!, 0x5a),
        eosId: tokenizer.eosId,
        padId: tokenizer.padId,
      });
      yield part.map((i, r) => ({ index: i, text: tokenizer.decode(out.tokens[r]!), tokens: out.tokens[r]!.length, truncated: out.truncated[r]! }));
    }
  }
}

function collectResults(tasks: readonly Task[], rows: { index: number; text: string; tokens: number; truncated: boolean }[], started: number): EvalResult {
  rows.sort((a, b) => a.index - b.index);
  const scored = scoreCompletions(rows.map((r) => tasks[r.index]!), rows.map((r) => r.text), rows.map((r) => r.tokens), rows.map((r) => r.truncated));
  return { ...scored, wall_s: (performance.now() - started) / 1000 };
}

/** Evaluate on given tasks, synchronously (the caller runs it off the UI thread). */
export function evaluatePolicy(policy: Policy, tokenizer: Tokenizer, tasks: readonly Task[], o: CompletionOptions = {}): EvalResult {
  const started = performance.now();
  const rows = [];
  for (const batch of completionBatches(policy, tokenizer, tasks, o)) rows.push(...batch);
  return collectResults(tasks, rows, started);
}

/** Evaluate on a split per config, yielding between batches, with progress events and early stop. */
export async function evaluate(policy: Policy, tokenizer: Tokenizer, config: EvalConfig, hooks: TrainHooks = {}): Promise<EvalResult> {
  const started = performance.now();
  const tasks = evalTasks(config);
  const rows = [];
  for (const batch of completionBatches(policy, tokenizer, tasks, config)) {
    rows.push(...batch);
    emit(hooks, { type: 'progress', stage: 'eval', step: rows.length, total: tasks.length });
    await new Promise((resolve) => setImmediate(resolve));
    if (hooks.shouldStop?.()) break;
  }
  return collectResults(tasks, rows, started);
}
