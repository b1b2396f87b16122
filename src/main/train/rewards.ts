// Rewards for GRPO, as plain functions on the completion text. Reading answers and
// conclusions lives in answers/, shared with the verifier, so training and verification
// can never disagree on what a completion answers.
//
// Decisions (tests in tests/unit/rewards.test.ts pin them):
// - Accuracy: multiple choice 1/0 (the gold letter named, no other; option texts count as
//   their letters), numbers by mean relative accuracy (VSI-Bench MRA), OCR by 1 - WER,
//   free-form by ROUGE-L (Video-R1's reward). Several <answer> blocks are read together,
//   so two blocks naming different answers score 0; the format reward fails them anyway.
// - Format: the completion is exactly `<think>…</think>` then `<answer>…</answer>`, with
//   only whitespace before, between and after; one of each tag, nothing nested.
// - Consistency: 1 when the conclusion reached inside <think> equals the answer, 0 when
//   it differs or when <think> or <answer> is missing/unreadable, and
//   NO_CONCLUSION_CONSISTENCY (0.5) when the reasoning exists but never states a
//   conclusion we can read: unknown is neither rewarded nor punished fully.
// - Grounding (benchmark tasks only, they carry a fact log): the share of the reasoning's
//   "frame F : colour shape at X Y" and "… is not visible" observations the fact log
//   supports; 0 for reasoning that observes nothing, so dropping all observations never
//   pays; 0 without a fact log. Dropping *some* does pay (it is a precision), which is why
//   reading_recall exists: the share of the gold chain's readings made and right.
// - Grounded accuracy: the accuracy, but only when every observation is grounded.

import { findConclusion } from '../answers/conclusion';
import { answerRegion, completionAnswer, sameAnswer } from '../answers/read';
import { answerScore } from '../answers/score';
import type { AnswerSpec } from '../answers/spec';
import { extractThink, isExactFormat } from '../answers/tags';
import { wordCount } from '../answers/words';
import { isGrounded, parseClaims, scoreGrounding } from '../video/claims';
import type { FactLog } from '../video/scene';

// The GRPO trainer reads rollouts' blocks and specs through this module.
export type { AnswerSpec } from '../answers/spec';
export { findBlocks } from '../answers/tags';

/** The answer's score by its type (rules in the header); 0 without an answer. */
export function accuracyReward(completion: string, spec: AnswerSpec): number {
  const region = answerRegion(completion);
  return region ? answerScore(region.text, spec) : 0;
}

/** 1 iff the completion is exactly one <think>…</think> then one <answer>…</answer> (whitespace around allowed). */
export function formatReward(completion: string): number {
  return isExactFormat(completion) ? 1 : 0;
}

export const NO_CONCLUSION_CONSISTENCY = 0.5;

/** 1 when <think> concludes what <answer> says, 0 when not, 0.5 when no conclusion is stated. */
export function consistencyReward(completion: string, spec: AnswerSpec): number {
  const think = extractThink(completion);
  const answer = completionAnswer(completion, spec);
  if (think === null || answer === null) return 0;
  const concluded = findConclusion(think, spec);
  if (concluded === null) return NO_CONCLUSION_CONSISTENCY;
  return sameAnswer(concluded.value, answer, spec) ? 1 : 0;
}

/**
 * Shaped length reward: rises linearly to 1 at `target` words of reasoning (the <think>
 * content, or the whole completion when there is none) and stays 1; beyond `max`, if
 * given, 0 — a hard overlong cut, since truncation itself is handled by
 * mask_truncated_completions.
 */
export function lengthReward(completion: string, opts: { target: number; max?: number }): number {
  const words = wordCount(extractThink(completion) ?? completion);
  if (opts.max !== undefined && words > opts.max) return 0;
  if (opts.target <= 0) return 1;
  return Math.min(1, words / opts.target);
}

/**
 * A process reward the answer alone cannot give: whether what the reasoning says it sees
 * is there. The accuracy reward credits a whole chain for its final answer, so a lucky
 * answer after a misread frame reinforces the misreading; this one scores each reading.
 */
export function groundingReward(completion: string, facts: FactLog | null | undefined): number {
  if (!facts) return 0;
  const g = scoreGrounding(extractThink(completion) ?? completion, facts);
  return g.total ? g.grounded / g.total : 0;
}

/**
 * Accuracy that counts only when every reading in the reasoning is supported by the fact
 * log ("right for the right reasons", what the verifier asks of a chosen chain). A right
 * answer after a misread frame, or after no readings at all, earns 0, so it stops
 * reinforcing the misreading or the guess. Without a fact log it is 0.
 */
export function groundedAccuracyReward(completion: string, spec: AnswerSpec, facts: FactLog | null | undefined): number {
  if (!facts) return 0;
  const g = scoreGrounding(extractThink(completion) ?? completion, facts);
  return g.total > 0 && g.grounded === g.total ? accuracyReward(completion, spec) : 0;
}

/** A reading a question needs: that object, in that frame (where it is comes from the fact log). */
export interface NeededReading {
  frame: number;
  color: string;
  shape: string;
}

/** The readings a gold chain of thought makes: what answering the question needs read. */
export function neededReadings(goldCot: string): NeededReading[] {
  return parseClaims(goldCot).map(({ frame, color, shape }) => ({ frame, color, shape }));
}

const sameReading = (a: NeededReading, b: NeededReading) => a.frame === b.frame && a.color === b.color && a.shape === b.shape;

/**
 * Recall of readings: the share of the readings the question needs (`needed`, from the gold
 * chain) that the reasoning makes and gets right. The grounding reward scores precision, which
 * a policy can raise by reading less, or by reading a frame it reads well instead of the one
 * asked; this one charges both. 1 when nothing needs reading; 0 without a fact log.
 */
export function readingRecallReward(completion: string, needed: readonly NeededReading[] | null | undefined, facts: FactLog | null | undefined): number {
  if (!facts || !needed) return 0;
  if (needed.length === 0) return 1;
  const read = parseClaims(extractThink(completion) ?? completion).filter((c) => !c.retracted && isGrounded(c, facts));
  return needed.filter((n) => read.some((c) => sameReading(c, n))).length / needed.length;
}

/** Whether a reading is one the question needs (always, when needed is unknown). */
export function isNeeded(reading: NeededReading, needed: readonly NeededReading[] | null | undefined): boolean {
  return !needed || needed.some((n) => sameReading(reading, n));
}

export const REWARD_NAMES = ['accuracy', 'format', 'length', 'consistency', 'grounding', 'grounded_accuracy', 'reading_recall'] as const;
export type RewardName = (typeof REWARD_NAMES)[number];
export type RewardWeights = Partial<Record<RewardName, number>>;

/** TRL's default: accuracy and format count, the optional rewards are off until weighted. */
export const DEFAULT_REWARD_WEIGHTS: Record<RewardName, number> = { accuracy: 1, format: 1, length: 0, consistency: 0, grounding: 0, grounded_accuracy: 0, reading_recall: 0 };

/**
 * Every reward part and their weighted sum (`reward_weights`). Missing weights take
 * DEFAULT_REWARD_WEIGHTS; all parts are computed anyway so they can be logged.
 */
export function computeRewards(
  completion: string,
  spec: AnswerSpec,
  weights: RewardWeights = {},
  opts: { lengthTarget?: number; lengthMax?: number; facts?: FactLog | null; needed?: readonly NeededReading[] | null } = {},
): { parts: Record<RewardName, number>; total: number } {
  const w = { ...DEFAULT_REWARD_WEIGHTS, ...weights };
  const parts: Record<RewardName, number> = {
    accuracy: accuracyReward(completion, spec),
    format: formatReward(completion),
    length: lengthReward(completion, { target: opts.lengthTarget ?? 256, max: opts.lengthMax }),
    consistency: consistencyReward(completion, spec),
    grounding: groundingReward(completion, opts.facts),
    grounded_accuracy: groundedAccuracyReward(completion, spec, opts.facts),
    reading_recall: readingRecallReward(completion, opts.needed, opts.facts),
  };
  let total = 0;
  for (const name of REWARD_NAMES) total += (w[name] ?? 0) * parts[name];
  return { parts, total };
}
