// How a benchmark task becomes policy input: the tokenizer over the benchmark vocabulary,
// the prompt text (scene text for the text modality, question, lettered options) and the
// frames. GRPO, DPO, SFT and eval all build prompts here so they see the same format.
import { BENCHMARK_WORDS } from '../video/words';
import { DEFAULT_FRAMES, type Task } from '../video/tasks';
import type { PolicyPrompt, TextFrames } from './policy';
import { Tokenizer } from './tokenizer';

/** Frame geometry of the embedded benchmark (32x32 RGB) and the longest video a policy takes. */
export const BENCHMARK_FRAME = { frame_height: 32, frame_width: 32, max_frames: 2 * DEFAULT_FRAMES } as const;

/** What a policy over the benchmark takes from its tokenizer: vocabulary, frame shape and frame words. */
export function benchmarkPolicyData(tokenizer: Tokenizer): typeof BENCHMARK_FRAME & { vocab_size: number; text_frames: TextFrames } {
  const numbers = Array.from({ length: BENCHMARK_FRAME.max_frames }, (_, i) => tokenizer.id(String(i + 1)));
  return { vocab_size: tokenizer.size, ...BENCHMARK_FRAME, text_frames: { marker: tokenizer.id('frame'), numbers } };
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
