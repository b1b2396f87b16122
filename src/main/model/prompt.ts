// How a benchmark task becomes policy input: the tokenizer over the benchmark vocabulary,
// the prompt text (scene text for the text modality, question, lettered options) and the
// frames. GRPO, DPO, SFT and eval all build prompts here so they see the same format.
import { BENCHMARK_WORDS, NUMBER_WORDS } from '../video/words';
import { LETTERS } from '../video/families';
import { DEFAULT_FRAMES, sceneOptions, type Task } from '../video/tasks';
import type { TextFrames } from './config';
import type { PolicyPrompt } from './inputs';
import { Tokenizer } from './tokenizer';

/** Frame geometry of the embedded benchmark (32x32 RGB) and the longest video a policy takes. */
export const BENCHMARK_FRAME = { frame_height: 32, frame_width: 32, max_frames: 2 * DEFAULT_FRAMES } as const;
/** Cells per side of the benchmark's grid (the policy presets' patch_grid matches it). */
export const BENCHMARK_GRID = sceneOptions(1, DEFAULT_FRAMES).gridW;

/** What a policy over the benchmark takes from its tokenizer: vocabulary, frame shape and frame words. */
export function benchmarkPolicyData(tokenizer: Tokenizer): typeof BENCHMARK_FRAME & {
  vocab_size: number; text_frames: TextFrames; cell_tokens: number[]; option_labels: { letters: number[]; separator: number }; number_tokens: number[];
} {
  const numbers = Array.from({ length: BENCHMARK_FRAME.max_frames }, (_, i) => tokenizer.id(String(i + 1)));
  // A cell is written "x y" with the numbers 0 .. grid - 1 (one grid cell per 4x4 patch).
  const cell_tokens = Array.from({ length: BENCHMARK_GRID }, (_, i) => tokenizer.id(String(i)));
  return { vocab_size: tokenizer.size, ...BENCHMARK_FRAME, text_frames: { marker: tokenizer.id('frame'), numbers }, cell_tokens,
    option_labels: { letters: [...LETTERS].map((l) => tokenizer.id(l)), separator: tokenizer.id(':') },
    number_tokens: NUMBER_WORDS.map((w) => tokenizer.id(w)) };
}

export function benchmarkTokenizer(): Tokenizer {
  return Tokenizer.fromWords(BENCHMARK_WORDS);
}

/** `[scene text] question A : option B : option …` (options only for multiple choice). */
export function promptText(task: Pick<Task, 'sceneText' | 'question' | 'options'>): string {
  const parts: string[] = [];
  if (task.sceneText) parts.push(task.sceneText);
  parts.push(task.question);
  (task.options ?? []).forEach((opt, i) => parts.push(`${String.fromCharCode(65 + i)} : ${opt}`));
  return parts.join(' ');
}

export function taskPrompt(task: Pick<Task, 'sceneText' | 'question' | 'options' | 'frames' | 'frameShape' | 'id'>, tokenizer: Tokenizer): PolicyPrompt {
  const tokens = [tokenizer.bosId, ...tokenizer.encode(promptText(task))];
  const numFrames = task.frames ? task.frameShape[0] : 0;
  return { frames: task.frames, numFrames, tokens };
}

/** Response ids for a completion string, ending with <eos>. */
export function responseTokens(text: string, tokenizer: Tokenizer): number[] {
  return [...tokenizer.encode(text), tokenizer.eosId];
}
