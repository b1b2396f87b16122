// Rule-based checks of the Rollout-Aware Verifier. Each reads one completion (plus its
// group's median length) and returns pass/fail, a score in [0, 1], a reason a person can
// read, and the spans of the completion the reason is about. The LLM judge is async and
// lives in judge.ts; verify.ts runs everything and assembles the verdict.
import { findConclusion } from '../answers/conclusion';
import { answerRegion, canonicalAnswer, sameAnswer, type AnswerRegion } from '../answers/read';
import { answerScore, goldAnswer } from '../answers/score';
import { isNumericType } from '../answers/spec';
import { findBlocks, isExactFormat, tagEvents, type TagBlock } from '../answers/tags';
import { WORD_PATTERN } from '../answers/words';
import type { Rubric } from './rubric';
import type { CheckResult, GroundingFn, Rollout, Span } from './types';

/** The completion parsed once and shared by all checks. */
export interface ParsedCompletion {
  think: TagBlock | null;
  answers: TagBlock[];
  thinks: TagBlock[];
  /** where the answer is given: <answer> blocks, a final \boxed{}, or the text after </think> */
  answer: AnswerRegion | null;
  /** tags opened and never closed (generation cut off) */
  unclosed: boolean;
  /** the reasoning text: the first <think> content, or everything before <answer> when there is no think */
  reasoning: string;
  reasoningStart: number;
  /** reasoning length in words (CJK characters count one each) */
  words: number;
}

export interface CheckContext {
  rollout: Rollout;
  rubric: Rubric;
  parsed: ParsedCompletion;
  /** median reasoning length (words) of the rollout's prompt group */
  groupMedianWords?: number;
  grounding?: GroundingFn;
}

export type Check = (ctx: CheckContext) => CheckResult;


export interface Token {
  text: string;
  start: number;
  end: number;
}

/** Words (answers/words WORD_PATTERN) with their offsets, lower-cased. */
export function tokenize(text: string, offset = 0): Token[] {
  const out: Token[] = [];
  WORD_PATTERN.lastIndex = 0;
  for (const m of text.matchAll(WORD_PATTERN)) {
    const start = (m.index ?? 0) + offset;
    out.push({ text: m[0].toLowerCase(), start, end: start + m[0].length });
  }
  return out;
}

export function parseCompletion(completion: string): ParsedCompletion {
  const events = tagEvents(completion);
  const thinks = findBlocks(completion, 'think', events);
  const answers = findBlocks(completion, 'answer', events);
  const think = thinks[0] ?? null;
  const count = (tag: string, close: boolean) => events.filter((e) => e.tag === tag && e.close === close).length;
  const unclosed = count('think', false) > count('think', true) || count('answer', false) > count('answer', true);
  let reasoning: string;
  let reasoningStart: number;
  if (think) {
    reasoning = think.content;
    reasoningStart = think.contentStart;
  } else {
    reasoningStart = 0;
    reasoning = answers.length ? completion.slice(0, answers[0].start) : completion;
  }
  const answer = answerRegion(completion, answers, think ? think.end : undefined);
  return { think, thinks, answers, answer, unclosed, reasoning, reasoningStart, words: countWords(reasoning) };
}

function countWords(text: string): number {
  let n = 0;
  WORD_PATTERN.lastIndex = 0;
  for (const _ of text.matchAll(WORD_PATTERN)) n++;
  return n;
}

function result(name: string, pass: boolean, score: number, reason: string, spans: Span[] = [], details?: Record<string, unknown>): CheckResult {
  return { name, pass, score: Math.max(0, Math.min(1, score)), reason, spans, ...(details ? { details } : {}) };
}

export function skipped(name: string, reason: string): CheckResult {
  return { name, pass: true, score: 1, reason, spans: [], skipped: true };
}

const answerSpans = (p: ParsedCompletion): Span[] => p.answers.map((b) => [b.start, b.end]);

// ---------------------------------------------------------------- accuracy

/** The rubric's pass threshold for a scored (non multiple-choice) answer type. */
export function accuracyThreshold(rubric: Rubric, type: Rollout['spec']['answerType']): number {
  const a = rubric.checks.accuracy;
  return type === 'regression' ? a.regression_min_score : type === 'ocr' ? a.ocr_min_score : type === 'free' ? a.free_form_min_score : a.min_score;
}

const METRIC = { mc: 'match', numeric: 'MRA', regression: 'MRA', ocr: '1 - WER', free: 'ROUGE-L' } as const;

export const accuracyCheck: Check = ({ rollout, rubric, parsed }) => {
  const { spec } = rollout;
  if (rollout.hasTruth === false) return { ...skipped('accuracy', 'no ground truth in the input (join one with --dataset FILE --id-field NAME)'), details: { no_ground_truth: true } };
  const gold = goldAnswer(spec);
  if (!parsed.answer) return result('accuracy', false, 0, 'no answer (no <answer> block, no final \\boxed{})', [], { gold });
  const score = answerScore(parsed.answer.text, spec);
  const read = canonicalAnswer(parsed.answer.text, spec);
  const given = parsed.answer.text.trim();
  const min = accuracyThreshold(rubric, spec.answerType);
  const pass = spec.answerType === 'mc' ? score === 1 : score >= min;
  const span: Span[] = [[parsed.answer.start, parsed.answer.end]];
  const what = spec.answerType === 'mc' ? 'option' : isNumericType(spec.answerType) ? 'number' : 'text';
  const reason = pass
    ? `answer ${clip(read ?? given)} matches gold ${clip(String(gold))}${spec.answerType === 'mc' ? '' : ` (${METRIC[spec.answerType]} ${score.toFixed(2)})`}`
    : read === null
      ? `answer "${clip(given)}" does not name exactly one ${what} (gold ${gold})`
      : spec.answerType === 'mc'
        ? `wrong answer ${read} (gold ${gold})`
        : `answer ${clip(read)} too far from gold ${clip(String(gold))} (${METRIC[spec.answerType]} ${score.toFixed(2)} < ${min})`;
  return result('accuracy', pass, score, reason, span, { gold, answer: read, answer_source: parsed.answer.source });
};

// ---------------------------------------------------------------- format

export const formatCheck: Check = ({ rollout, parsed }) => {
  if (isExactFormat(rollout.completion)) return result('format', true, 1, 'one <think> then one <answer>');
  const problems: string[] = [];
  const spans: Span[] = [];
  if (parsed.thinks.length === 0) problems.push('missing <think>…</think>');
  if (parsed.thinks.length > 1) problems.push(`${parsed.thinks.length} <think> blocks`);
  if (parsed.answers.length === 0) problems.push('missing <answer>…</answer>');
  if (parsed.answers.length > 1) {
    problems.push(`${parsed.answers.length} <answer> blocks`);
    spans.push(...answerSpans(parsed).slice(1));
  }
  if (parsed.think && parsed.answers.length && parsed.answers[0].start < parsed.think.start) problems.push('<answer> before <think>');
  if (problems.length === 0) {
    // right blocks, but something outside them (or the tags are not lower case)
    const blocks = [...parsed.thinks, ...parsed.answers].sort((a, b) => a.start - b.start);
    let at = 0;
    for (const b of blocks) {
      if (rollout.completion.slice(at, b.start).trim()) spans.push([at, b.start]);
      at = b.end;
    }
    if (rollout.completion.slice(at).trim()) spans.push([at, rollout.completion.length]);
    problems.push(spans.length ? 'text outside <think>/<answer>' : 'tags not in the exact <think></think><answer></answer> form');
  }
  return result('format', false, 0, problems.join('; '), spans);
};

// ---------------------------------------------------------------- consistency

export const consistencyCheck: Check = ({ rollout, rubric, parsed }) => {
  const { spec } = rollout;
  // Without both reasoning and a readable answer there is nothing to compare: the
  // format/accuracy checks already fail such rollouts, and calling them "inconsistent"
  // would inflate the inconsistency rate and make them look like hard negatives.
  // without <think> tags the reasoning is what precedes the answer (the format check fails the tags)
  const reasoning = parsed.think ? parsed.think.content : parsed.reasoning;
  const offset = parsed.think ? parsed.think.contentStart : parsed.reasoningStart;
  if (!reasoning.trim()) return skipped('consistency', 'no reasoning to compare with the answer');
  const answer = parsed.answer ? canonicalAnswer(parsed.answer.text, spec) : null;
  if (answer === null) return skipped('consistency', 'no readable answer to compare with the reasoning');
  const concl = findConclusion(reasoning, spec);
  if (!concl) {
    const pass = rubric.checks.consistency.no_conclusion === 'pass';
    return result('consistency', pass, 0.5, 'the reasoning states no conclusion that can be read', [], { answer, conclusion: null });
  }
  const spans: Span[] = [[offset + concl.start, offset + concl.end]];
  if (parsed.answer) spans.push([parsed.answer.start, parsed.answer.end]);
  const details = { answer, conclusion: concl.value, read_by: concl.how };
  return sameAnswer(concl.value, answer, spec)
    ? result('consistency', true, 1, `reasoning concludes ${clip(concl.value)}, answer ${clip(answer)}`, spans, details)
    : result('consistency', false, 0, `reasoning concludes ${clip(concl.value)} but the answer says ${clip(answer)}`, spans, details);
};

// ---------------------------------------------------------------- repetition

/**
 * rep-n (Welleck et al. 2019): 1 - distinct n-grams / all n-grams over the words of the
 * completion — 0 for text that never repeats an n-gram, near 1 for a loop. Plus exact
 * repeats of earlier sentences. Score = 1 - rep-n.
 */
const SENTENCE_END = new Set(['.', '!', '?', '。', '！', '？', '\n']);

export function repetitionStats(text: string, n: number, minSentenceChars: number) {
  const tokens = tokenize(text);
  // n-grams keyed by a 30-bit hash of token ids (a small integer V8 keeps unboxed):
  // string keys made this the verifier's hot spot. A collision can only merge two
  // n-grams of one completion, with probability ~ m²/2^31 (m = its n-gram count).
  const vocab = new Map<string, number>();
  const ids = tokens.map((t) => {
    let id = vocab.get(t.text);
    if (id === undefined) vocab.set(t.text, (id = vocab.size + 1));
    return id;
  });
  const seen = new Set<number>();
  const repeatSpans: Span[] = [];
  let total = 0;
  for (let i = 0; i + n <= tokens.length; i++) {
    let h = 0x811c9dc5;
    for (let k = 0; k < n; k++) h = Math.imul(h ^ ids[i + k], 0x01000193);
    const key = h & 0x3fffffff;
    total++;
    if (seen.has(key)) {
      const s = tokens[i].start;
      const e = tokens[i + n - 1].end;
      const last = repeatSpans[repeatSpans.length - 1];
      if (last && s <= last[1] + 1) last[1] = Math.max(last[1], e);
      else repeatSpans.push([s, e]);
    } else seen.add(key);
  }
  const repN = total ? 1 - seen.size / total : 0;
  const sentences = new Set<string>();
  const sentenceSpans: Span[] = [];
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    const ch = i < text.length ? text[i] : '\n';
    if (!SENTENCE_END.has(ch)) continue;
    const end = ch === '\n' ? i : i + 1;
    if (end - start >= minSentenceChars) {
      const norm = text.slice(start, end).toLowerCase().replace(/\s+/g, ' ').trim();
      if (norm.length >= minSentenceChars) {
        if (sentences.has(norm)) sentenceSpans.push([start, end]);
        else sentences.add(norm);
      }
    }
    start = i + 1;
  }
  return { repN, ngrams: total, repeatedSentences: sentenceSpans.length, ngramSpans: repeatSpans, sentenceSpans };
}

/** Completions longer than this are measured on their head: a loop shows within it, and megabytes of tokens would not fit a budget. */
export const REPETITION_MAX_CHARS = 1_000_000;

export const repetitionCheck: Check = ({ rollout, rubric }) => {
  const cfg = rubric.checks.repetition;
  const text = rollout.completion.length > REPETITION_MAX_CHARS ? rollout.completion.slice(0, REPETITION_MAX_CHARS) : rollout.completion;
  const st = repetitionStats(text, cfg.ngram, cfg.min_sentence_chars);
  const loops = st.repN > cfg.max_ngram_repeat;
  const echoes = st.repeatedSentences > cfg.max_repeated_sentences;
  const details = { rep_n: round(st.repN), n: cfg.ngram, repeated_sentences: st.repeatedSentences };
  if (!loops && !echoes) return result('repetition', true, 1 - st.repN, `rep-${cfg.ngram} ${st.repN.toFixed(2)}, ${st.repeatedSentences} repeated sentence(s)`, [], details);
  const why = [
    loops ? `rep-${cfg.ngram} ${st.repN.toFixed(2)} > ${cfg.max_ngram_repeat}` : '',
    echoes ? `${st.repeatedSentences} repeated sentence(s) > ${cfg.max_repeated_sentences}` : '',
  ].filter(Boolean);
  return result('repetition', false, 1 - st.repN, `repetitive: ${why.join(', ')}`, echoes ? st.sentenceSpans : st.ngramSpans.slice(0, 20), details);
};

// ---------------------------------------------------------------- length and truncation

/**
 * Truncated: the trainer said so, or a tag was opened and never closed, or there is no
 * answer and the reasoning already reached max_words (generation ran out of budget).
 */
export function isTruncated(rollout: Rollout, parsed: ParsedCompletion, maxWords: number): boolean {
  if (rollout.truncated !== undefined) return rollout.truncated;
  if (parsed.unclosed) return true;
  return parsed.answer === null && parsed.words >= maxWords;
}

export const lengthCheck: Check = ({ rollout, rubric, parsed, groupMedianWords }) => {
  const cfg = rubric.checks.length;
  const words = parsed.words;
  const truncated = isTruncated(rollout, parsed, cfg.max_words);
  const relFloor = groupMedianWords && cfg.min_relative_to_median > 0 ? cfg.min_relative_to_median * groupMedianWords : 0;
  const floor = Math.max(cfg.min_words, relFloor);
  const details = { words, group_median: groupMedianWords ?? null, truncated };
  const tail: Span[] = [[Math.max(0, rollout.completion.length - 40), rollout.completion.length]];
  if (truncated) return result('length', false, 0, `truncated after ${words} words`, tail, details);
  if (words > cfg.max_words) return result('length', false, cfg.max_words / words, `too long: ${words} words > ${cfg.max_words}`, [], details);
  if (words < floor) {
    const why = relFloor > cfg.min_words ? `${cfg.min_relative_to_median} x group median ${groupMedianWords}` : `min ${cfg.min_words}`;
    return result('length', false, floor ? words / floor : 0, `too short: ${words} words < ${why}`, [[parsed.reasoningStart, parsed.reasoningStart + parsed.reasoning.length]], details);
  }
  return result('length', true, 1, `${words} words`, [], details);
};

// ---------------------------------------------------------------- reflection

const phraseRegexCache = new WeakMap<string[], RegExp>();
function reflectionRegex(phrases: string[]): RegExp {
  let re = phraseRegexCache.get(phrases);
  if (!re) {
    const alts = phrases.map((p) => {
      const esc = p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+');
      // ASCII words need word boundaries ("wait" but not "awaited"); CJK phrases do not
      return /^[\x00-\x7f]+$/.test(p) ? `(?<![\\p{L}\\p{N}])${esc}${/\w$/.test(p) ? '(?![\\p{L}\\p{N}])' : ''}` : esc;
    });
    re = new RegExp(alts.join('|'), 'giu');
    phraseRegexCache.set(phrases, re);
  }
  re.lastIndex = 0;
  return re;
}

/** Self-correction: a reflection phrase inside the reasoning, ideally followed by a changed conclusion. */
export const reflectionCheck: Check = ({ rollout, rubric, parsed }) => {
  const spans: Span[] = [];
  const found: string[] = [];
  for (const m of parsed.reasoning.matchAll(reflectionRegex(rubric.checks.reflection.phrases))) {
    const s = parsed.reasoningStart + (m.index ?? 0);
    spans.push([s, s + m[0].length]);
    if (found.length < 5) found.push(m[0].toLowerCase());
    if (spans.length >= 50) break;
  }
  if (!spans.length) return result('reflection', false, 0, 'no self-correction', [], { reflective: false });
  // a conclusion stated before the first reflection that differs from the final answer = a real self-correction
  const before = parsed.reasoning.slice(0, spans[0][0] - parsed.reasoningStart);
  const earlier = findConclusion(before, rollout.spec)?.value ?? null;
  const final = parsed.answer ? canonicalAnswer(parsed.answer.text, rollout.spec) : null;
  const revised = earlier !== null && final !== null && !sameAnswer(earlier, final, rollout.spec);
  return result('reflection', true, 1, `reflects (${[...new Set(found)].join(', ')})${revised ? `, revises ${earlier} -> ${final}` : ''}`, spans, {
    reflective: true,
    revised,
    abandoned_answer: revised ? earlier : null,
    first_reflection_at: spans[0][0],
  });
};

// ---------------------------------------------------------------- grounding

/**
 * Readings against the scene fact log. Besides the rate the rubric thresholds, the details
 * keep the exact readings: `misread` (kept readings the log contradicts) and `corrected`
 * (contradicted readings the chain itself took back and fixed), which the pair builder uses
 * for hard negatives and reflective pairs.
 */
export const groundingCheck: Check = ({ rollout, rubric, grounding }) => {
  if (!grounding) return skipped('grounding', 'no scene fact log for this rollout');
  const g = grounding(rollout.completion, rollout);
  if (!g) return skipped('grounding', 'no scene fact log for this rollout');
  if (g.total === 0) return skipped('grounding', 'no checkable observations in the reasoning');
  const pass = g.rate >= rubric.checks.grounding.min_rate;
  const corrected = g.corrected ?? [];
  const misread = g.misread ?? g.ungrounded.map((s) => rollout.completion.slice(s[0], s[1]));
  return result(
    'grounding',
    pass,
    g.rate,
    `${g.grounded}/${g.total} observations agree with the scene${pass ? '' : ` (< ${rubric.checks.grounding.min_rate})`}${corrected.length ? `, ${corrected.length} corrected by the chain` : ''}`,
    g.ungrounded,
    { total: g.total, grounded: g.grounded, rate: round(g.rate), misread, corrected },
  );
};

/** Readings the chain keeps that the fact log contradicts (empty when grounding did not run). */
export function misreadings(checks: CheckResult[]): string[] {
  const g = checks.find((c) => c.name === 'grounding');
  return g && !g.skipped && !g.error && Array.isArray(g.details?.misread) ? (g.details.misread as string[]) : [];
}

/** Misreadings the chain corrected itself (empty when grounding did not run). */
export function correctedReadings(checks: CheckResult[]): string[] {
  const g = checks.find((c) => c.name === 'grounding');
  return g && !g.skipped && !g.error && Array.isArray(g.details?.corrected) ? (g.details.corrected as string[]) : [];
}

/** The synchronous checks in verdict order (the judge, if enabled, comes last). */
export const RULE_CHECKS: Record<Exclude<keyof Rubric['checks'], 'judge'>, Check> = {
  accuracy: accuracyCheck,
  format: formatCheck,
  consistency: consistencyCheck,
  repetition: repetitionCheck,
  length: lengthCheck,
  reflection: reflectionCheck,
  grounding: groundingCheck,
};

export function runRuleChecks(ctx: CheckContext): CheckResult[] {
  const out: CheckResult[] = [];
  for (const [name, check] of Object.entries(RULE_CHECKS) as [keyof typeof RULE_CHECKS, Check][]) {
    out.push(ctx.rubric.checks[name].enabled ? check(ctx) : skipped(name, 'disabled by the rubric'));
  }
  return out;
}

function clip(s: string, n = 40): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

