// Rewards for GRPO and the rule-based checks of the verifier, as plain functions on the
// completion text. One rule for "is this answer right" used by training and by the
// verifier, so the two can never disagree.
//
// Decisions (the issue leaves these open; tests in tests/unit/rewards.test.ts pin them):
// - Tags are matched case-insensitively when extracting (`<Answer>` is still an answer),
//   but the format reward wants the exact lower-case template.
// - Several <answer> blocks: accuracy looks at all of them together, so two blocks naming
//   different letters (or numbers) score 0; the format reward fails them anyway.
// - Multiple choice: the answer counts when the gold letter appears as a standalone
//   token (`B`, `(B)`, `B.`, `b`, `option B`) and no other option letter does. Option
//   texts are removed before letters are looked for, so `B. a red cube` is not read as
//   naming option A through the article "a". An answer that names no option letter but
//   contains exactly one option's text ("blue sphere", "It is a Blue Sphere.") counts as
//   that option's letter; two option texts and no letter count as no answer.
// - Without `options`, the option letters are A..max(D, gold letter): "I think B" is
//   then not mistaken for a choice of option I.
// - Numeric: mean relative accuracy (VSI-Bench MRA) over t = 0.50, 0.55, ..., 0.95 of
//   1[|pred - gt| / |gt| < 1 - t]. For gt = 0 the denominator is 1 (absolute error),
//   so 0 vs 0 scores 1 and any error >= 0.5 scores 0. An answer holding two different
//   numbers ("3 or 4") scores 0, like two letters in multiple choice. Number words
//   zero..twenty are read as numbers.
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

import { isGrounded, parseClaims, scoreGrounding } from '../video/claims';
import type { FactLog } from '../video/scene';

export interface AnswerSpec {
  answer: string;
  answerType: 'mc' | 'numeric';
  options?: string[] | null;
}

export interface TagBlock {
  /** offsets of the whole `<tag>…</tag>` in the completion */
  start: number;
  end: number;
  /** offsets of the content between the tags */
  contentStart: number;
  contentEnd: number;
  content: string;
}

/** All complete `<tag>…</tag>` blocks, case-insensitive, non-greedy, in order. */
export function findBlocks(completion: string, tag: 'think' | 'answer'): TagBlock[] {
  const re = tag === 'think' ? /<think>([\s\S]*?)<\/think>/gi : /<answer>([\s\S]*?)<\/answer>/gi;
  const blocks: TagBlock[] = [];
  for (const m of completion.matchAll(re)) {
    const start = m.index ?? 0;
    const contentStart = start + tag.length + 2;
    blocks.push({ start, end: start + m[0].length, contentStart, contentEnd: contentStart + m[1].length, content: m[1] });
  }
  return blocks;
}

/** Content of the first <think> block, trimmed; null when there is none. */
export function extractThink(completion: string): string | null {
  const b = findBlocks(completion, 'think')[0];
  return b ? b.content.trim() : null;
}

/** Content of the first <answer> block, trimmed (Video-R1's convention); null when none. */
export function extractAnswer(completion: string): string | null {
  const b = findBlocks(completion, 'answer')[0];
  return b ? b.content.trim() : null;
}

// ---------------------------------------------------------------- options and letters

export interface ParsedOption {
  letter: string;
  text: string;
}

const OPTION_PREFIX = /^\s*\(?([A-Za-z])\s*[.):：]\s*([\s\S]*)$/;

/** Options as {letter, text}; "A. red cube" keeps its letter, a bare text gets A, B, … by position. */
export function parseOptions(options: string[] | null | undefined): ParsedOption[] {
  if (!options) return [];
  return options.map((raw, i) => {
    const m = OPTION_PREFIX.exec(raw);
    if (m) return { letter: m[1].toUpperCase(), text: m[2].trim() };
    return { letter: String.fromCharCode(65 + i), text: raw.trim() };
  });
}

/** Lower case, collapsed spaces, no surrounding punctuation: how option texts are compared. */
export function normaliseText(s: string): string {
  return s
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace(/^[\s"'“”‘’([{.,;:!?。，；：！？]+|[\s"'“”‘’)\]}.,;:!?。，；：！？]+$/g, '');
}

function stripAnswerTags(s: string): string {
  const inner = /<answer>([\s\S]*?)<\/answer>/i.exec(s);
  return (inner ? inner[1] : s).trim();
}

/** The gold option letter of an MC spec ("B", "(B)", "B. red", "<answer>B</answer>" or an option text). */
export function goldLetter(spec: AnswerSpec): string | null {
  const gold = stripAnswerTags(spec.answer);
  const m = /^\(?([A-Za-z])\)?(?=$|[\s.):：,])/.exec(gold);
  if (m) return m[1].toUpperCase();
  const norm = normaliseText(gold);
  const hit = parseOptions(spec.options).find((o) => normaliseText(o.text) === norm);
  return hit ? hit.letter : null;
}

function optionLetters(spec: AnswerSpec, gold: string | null): Set<string> {
  const parsed = parseOptions(spec.options);
  if (parsed.length > 0) return new Set(parsed.map((o) => o.letter));
  const last = Math.max('D'.charCodeAt(0), gold ? gold.charCodeAt(0) : 0);
  const letters = new Set<string>();
  for (let c = 65; c <= last; c++) letters.add(String.fromCharCode(c));
  return letters;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// Lower-case "a" and "i" are usually English words, so a lower-case letter counts as a
// choice only when it looks like one: the whole text, "(b)", "b.", "b)", "b:", "b,",
// "b/", "option b", or a letter joined to another by "or"/"and" ("b or c").
function lowerCaseIsChoice(text: string, at: number): boolean {
  if (/^[\s(\[]*[a-z][\s.)\]:]*$/.test(text)) return true;
  const before = text.slice(Math.max(0, at - 8), at);
  const rest = text.slice(at + 1, at + 8);
  return (
    /\($/.test(before) ||
    /(?:option|choice)\s+$/i.test(before) ||
    /^[.):,/]/.test(rest) ||
    /^\s+(?:or|and|vs)\b/i.test(rest) || // "b or c"
    (/\b(?:or|and|vs)\s+$/i.test(before) && /^\s*(?:$|[.,;!?])/.test(rest))
  );
}

// A letter standing alone: not glued to other letters or digits on either side.
const STANDALONE_LETTER = /(?<![\p{L}\p{N}])([A-Za-z])(?![\p{L}\p{N}])/gu;

/**
 * The option letters a piece of text names. Option texts are blanked out first so words
 * inside them ("a", "I") are not read as letters; if the text names no letter but
 * contains exactly one option's text, that option's letter.
 */
interface OptionMatcher {
  valid: Set<string>;
  /** longest text first, so "red cube" is blanked before "red"; an article in front goes too */
  texts: { letter: string; re: RegExp }[];
}
// Specs are re-read for every check of every rollout of a group: build the matchers once.
const matcherCache = new WeakMap<AnswerSpec, OptionMatcher>();
function optionMatcher(spec: AnswerSpec): OptionMatcher {
  let m = matcherCache.get(spec);
  if (!m) {
    const options = parseOptions(spec.options);
    m = {
      valid: optionLetters(spec, goldLetter(spec)),
      texts: [...options]
        .sort((a, b) => b.text.length - a.text.length)
        .filter((o) => o.text.length >= 2)
        .map((o) => ({
          letter: o.letter,
          re: new RegExp(String.raw`(?:\b(?:a|an|the)\s+)?(?<![\p{L}\p{N}])` + escapeRegExp(o.text) + String.raw`(?![\p{L}\p{N}])`, 'giu'),
        })),
    };
    matcherCache.set(spec, m);
  }
  return m;
}

export function lettersNamed(text: string, spec: AnswerSpec): Set<string> {
  const { valid, texts } = optionMatcher(spec);
  // option texts are blanked first: "A red cube" must not read as option A
  let scrubbed = text;
  const textsNamed = new Set<string>();
  for (const o of texts) {
    const next = scrubbed.replace(o.re, ' ');
    if (next !== scrubbed) textsNamed.add(o.letter);
    scrubbed = next;
  }
  const found = new Set<string>();
  for (const m of scrubbed.matchAll(STANDALONE_LETTER)) {
    const l = m[1].toUpperCase();
    if (!valid.has(l)) continue;
    if (m[1] !== l && !lowerCaseIsChoice(scrubbed, m.index ?? 0)) continue;
    found.add(l);
  }
  if (found.size === 0 && textsNamed.size === 1) return textsNamed;
  return found;
}

// ---------------------------------------------------------------- numbers

const NUMBER_WORDS: Record<string, number> = {
  zero: 0, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10,
  eleven: 11, twelve: 12, thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17,
  eighteen: 18, nineteen: 19, twenty: 20,
};
const NUMBER_RE = new RegExp(
  String.raw`(?<![\p{L}\p{N}.])-?\d+(?:,\d{3})*(?:\.\d+)?(?![\p{N}])|\b(?:` + Object.keys(NUMBER_WORDS).join('|') + String.raw`)\b`,
  'giu',
);

/** Every number in the text, in order (digits, "1,200", "-3.5", number words zero..twenty). */
export function numbersIn(text: string): { value: number; start: number; end: number }[] {
  const out: { value: number; start: number; end: number }[] = [];
  for (const m of text.matchAll(NUMBER_RE)) {
    const raw = m[0];
    const word = NUMBER_WORDS[raw.toLowerCase()];
    const value = word !== undefined ? word : Number(raw.replace(/,/g, ''));
    if (Number.isFinite(value)) out.push({ value, start: m.index ?? 0, end: (m.index ?? 0) + raw.length });
  }
  return out;
}

function sameNumber(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

/** The one number a text states; null when it states none or two different ones. */
export function singleNumber(text: string): number | null {
  const nums = numbersIn(text);
  if (nums.length === 0) return null;
  const first = nums[0].value;
  return nums.every((n) => sameNumber(n.value, first)) ? first : null;
}

/** VSI-Bench mean relative accuracy; gt = 0 uses the absolute error (see header). */
export function meanRelativeAccuracy(pred: number, gt: number): number {
  const err = Math.abs(pred - gt) / (gt === 0 ? 1 : Math.abs(gt));
  let hits = 0;
  for (let k = 0; k < 10; k++) {
    const tolerance = (50 - 5 * k) / 100; // 1 - t for t = 0.50 .. 0.95
    if (err < tolerance - 1e-12) hits++;
  }
  return hits / 10;
}

// ---------------------------------------------------------------- canonical answers

/** What a piece of text answers, canonicalised: an option letter or a number as a string. */
export function canonicalAnswer(text: string, spec: AnswerSpec): string | null {
  if (spec.answerType === 'numeric') {
    const n = singleNumber(text);
    return n === null ? null : String(n);
  }
  const letters = lettersNamed(text, spec);
  return letters.size === 1 ? [...letters][0] : null;
}

/** The <answer> of a completion, canonicalised over all its answer blocks; null if absent or ambiguous. */
export function completionAnswer(completion: string, spec: AnswerSpec): string | null {
  const blocks = findBlocks(completion, 'answer');
  if (blocks.length === 0) return null;
  return canonicalAnswer(blocks.map((b) => b.content).join('\n'), spec);
}

// ---------------------------------------------------------------- rewards

/** 1/0 for multiple choice, MRA in [0, 1] for numeric answers (rules in the header). */
export function accuracyReward(completion: string, spec: AnswerSpec): number {
  const blocks = findBlocks(completion, 'answer');
  if (blocks.length === 0) return 0;
  const text = blocks.map((b) => b.content).join('\n');
  if (spec.answerType === 'numeric') {
    const gt = singleNumber(stripAnswerTags(spec.answer));
    const pred = singleNumber(text);
    if (gt === null || pred === null) return 0;
    return meanRelativeAccuracy(pred, gt);
  }
  const gold = goldLetter(spec);
  if (!gold) return 0;
  const named = lettersNamed(text, spec);
  return named.size === 1 && named.has(gold) ? 1 : 0;
}

const FORMAT_RE = /^\s*<think>((?:(?!<\/?think>|<\/?answer>)[\s\S])*)<\/think>\s*<answer>((?:(?!<\/?think>|<\/?answer>)[\s\S])*)<\/answer>\s*$/;

/** 1 iff the completion is exactly one <think>…</think> then one <answer>…</answer> (whitespace around allowed). */
export function formatReward(completion: string): number {
  return FORMAT_RE.test(completion) ? 1 : 0;
}

// Phrasings that state a conclusion; the capture is what follows, up to the end of its
// sentence (a period that is not a decimal point). The last match in the text wins.
const UNTIL_SENTENCE_END = String.raw`([^\n]*?)(?=(?<!\d)\.(?!\d)|[!?。！？;\n]|$)`;
const phrase = (head: string, flags = 'gi') => new RegExp(head + UNTIL_SENTENCE_END, flags);
const CONCLUSION_PHRASES: RegExp[] = [
  phrase(String.raw`(?:final\s+|correct\s+|right\s+|best\s+)?(?:answer|option|choice)\s*(?:is|should\s+be|must\s+be|would\s+be|will\s+be|=|:)\s*(?:probably\s+|likely\s+|clearly\s+)?(?:option\s+|choice\s+)?`),
  phrase(String.raw`(?:i(?:'ll| will)\s+(?:go\s+with|choose|pick|select)|i\s+(?:choose|pick|select))\s+(?:option\s+)?`),
  /(?:option|choice)\s+(\(?[A-Za-z]\)?)\s+(?:is|seems|must be)\s+(?:correct|right|the answer)/gi,
  phrase(String.raw`(?:答案|选项)\s*(?:是|为|應該是|应该是|：|:)\s*`, 'g'),
  phrase(String.raw`(?:la\s+r[ée]ponse\s+(?:est|serait)|la\s+respuesta\s+(?:es|ser[íi]a)|die\s+antwort\s+(?:ist|lautet)|a\s+resposta\s+[ée])\s*:?\s*`),
];
const CONCLUSION_MARKERS = /\b(?:so|therefore|thus|hence|in total|overall|in conclusion|altogether|finally)\b|所以|因此|总共|donc|por lo tanto/i;

export interface Conclusion {
  value: string;
  /** offsets inside the think text of the phrase the conclusion was read from */
  start: number;
  end: number;
}

/** Like thinkConclusion, with the span it was read from. */
export function findConclusion(think: string, spec: AnswerSpec): Conclusion | null {
  let best: Conclusion | null = null;
  for (const re of CONCLUSION_PHRASES) {
    for (const m of think.matchAll(re)) {
      if (/^\s*(?:not\b|n['’]t\b|never\b|不)/i.test(m[1])) continue; // "the answer is not C" concludes nothing
      const value = canonicalAnswer(m[1], spec);
      const start = m.index ?? 0;
      if (value !== null && (!best || start >= best.start)) best = { value, start, end: start + m[0].length };
    }
  }
  if (best) return best;
  // No explicit phrasing: the last sentence with a concluding marker that names exactly one answer.
  const sentences = [...think.matchAll(/[^.!?。！？\n]+[.!?。！？]?/g)];
  for (let i = sentences.length - 1; i >= 0; i--) {
    const s = sentences[i];
    if (!CONCLUSION_MARKERS.test(s[0])) continue;
    let value: string | null;
    if (spec.answerType === 'numeric') {
      const nums = numbersIn(s[0]);
      value = nums.length ? String(nums[nums.length - 1].value) : null;
    } else {
      value = canonicalAnswer(s[0].replace(/^\s*(?:so|therefore|thus|hence|finally)\b,?/i, ''), spec);
    }
    if (value !== null) return { value, start: s.index ?? 0, end: (s.index ?? 0) + s[0].length };
  }
  return null;
}

/** The answer the reasoning concludes (option letter or number as string), or null. */
export function thinkConclusion(think: string, spec: AnswerSpec): string | null {
  return findConclusion(think, spec)?.value ?? null;
}

export const NO_CONCLUSION_CONSISTENCY = 0.5;

/** 1 when <think> concludes what <answer> says, 0 when not, 0.5 when no conclusion is stated. */
export function consistencyReward(completion: string, spec: AnswerSpec): number {
  const think = extractThink(completion);
  const answer = completionAnswer(completion, spec);
  if (think === null || answer === null) return 0;
  const concluded = thinkConclusion(think, spec);
  if (concluded === null) return NO_CONCLUSION_CONSISTENCY;
  if (spec.answerType === 'numeric') return sameNumber(Number(concluded), Number(answer)) ? 1 : 0;
  return concluded === answer ? 1 : 0;
}

/**
 * Words for every length measure (rewards and verifier alike): runs of letters/digits
 * (with inner apostrophes, hyphens, underscores), and each CJK character on its own,
 * since those scripts do not separate words with spaces.
 */
export const WORD_PATTERN = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]|[\p{L}\p{N}][\p{L}\p{N}'’_-]*/gu;

export function wordCount(text: string): number {
  let n = 0;
  for (const _ of text.matchAll(WORD_PATTERN)) n++;
  return n;
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
