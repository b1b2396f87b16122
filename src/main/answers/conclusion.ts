// The conclusion a chain of thought reaches. Read the way a person reads it:
// 1. the last sentence that states an answer with an answer phrase ("the answer is B",
//    "答案是B", "That is option B.", \boxed{B}) or a conclusion marker ("so", "therefore",
//    "donc", "所以") wins over earlier ones;
// 2. if the chain reflects after that ("Wait, … I was wrong: the first event is C."), the
//    last answer named after the reflection supersedes it;
// 3. with neither, the last sentence, when it names exactly one answer (the option's own
//    words, "…: 3 chairs.").
import { ANSWER_BEFORE_VERDICT, ANSWER_HEAD, CONCLUSION_MARKER, REFLECTION_MARKERS } from './markers';
import { canonicalAnswer, readChoice, valueNumbers } from './read';
import { isNumericType, type AnswerSpec } from './spec';
import { boxedContents } from './tags';

export interface Conclusion {
  value: string;
  /** offsets inside the reasoning text of the sentence the conclusion was read from */
  start: number;
  end: number;
  how: 'phrase' | 'marker' | 'reflection' | 'last_sentence';
}

export interface Sentence {
  text: string;
  start: number;
  end: number;
}

// A sentence ends at . ! ? ; 。！？； or a line break; a period between digits (2.8) or after
// e.g./i.e./vs. does not end one.
const SENTENCE_RE = /(?:[^.!?;。！？；\n]|\.(?=\d)|(?<=\b(?:e\.g|i\.e|vs|etc|approx|Mr|Dr|St))\.)+[.!?;。！？；]*/giu;

export function sentences(text: string): Sentence[] {
  const out: Sentence[] = [];
  SENTENCE_RE.lastIndex = 0;
  for (let m = SENTENCE_RE.exec(text); m; m = SENTENCE_RE.exec(text)) {
    const lead = m[0].length - m[0].trimStart().length;
    const text = m[0].trim();
    if (text) out.push({ text, start: m.index + lead, end: m.index + lead + text.length });
  }
  return out;
}

/** Reasoning longer than this is read from its tail only: a conclusion sits at the end, and megabyte loops must stay cheap. */
const TAIL_CHARS = 20_000;

const reflectionRe = new RegExp(
  REFLECTION_MARKERS.map((p) => {
    const esc = p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+');
    return /^[\x00-\x7f]+$/.test(p) ? `(?<![\\p{L}\\p{N}])${esc}(?![\\p{L}\\p{N}])` : esc;
  }).join('|'),
  'iu',
);

export function hasReflection(text: string): boolean {
  return reflectionRe.test(text);
}

const RESULT_CUE = /(?:=|:|：|→|\btotal(?:\s+of)?|\bin\s+all|\baltogether|\bgiv(?:es|ing)|\bmak(?:es|ing)|\bequals?|\bthat['’]s|共|总共|一共)\s*(?:about|approximately|around|roughly|~|≈)?\s*$/i;
const STATE_CUE = /(?:(?<!\p{L})(?:is|are|be|of|est|es|ist|é|sont|son|sind|são)|是|为|為)\s*(?:about|approximately|around|roughly|~|≈)?\s*$/iu;

/**
 * A numeric value a sentence states: its only number, or the last one after a result cue
 * ("=", ":", "in total"); in a marker sentence ("so …") also the last one after "is/are",
 * else its last number.
 */
function sentenceNumber(text: string, marked: boolean, stated = marked): string | null {
  const nums = valueNumbers(text);
  if (!nums.length) return null;
  if (nums.every((n) => n.value === nums[0].value)) return String(nums[0].value);
  const cued = (cue: RegExp) => [...nums].reverse().find((n) => cue.test(text.slice(Math.max(0, n.start - 16), n.start)));
  const hit = cued(RESULT_CUE) ?? (stated ? cued(STATE_CUE) : undefined) ?? (marked ? nums[nums.length - 1] : undefined);
  return hit ? String(hit.value) : null;
}

// A question or a hedge ("Could it be C?", "Maybe A.") weighs an answer, it does not conclude one.
const TENTATIVE = /[?？]\s*$|^\W*(?:but\s+)?(?:maybe|perhaps|possibly|could|might|or\s+is|is\s+it|what\s+if|也许|可能|peut-être|quizás|tal\s+vez|vielleicht|talvez)\b/iu;
// "…the first event is C.", "It's C.": the letter closes the sentence as what something is
const LETTER_CLOSES = /(?:\bis|\bbe|['’]s|:|：|—|-|\bchoose|\bpick|是|为|選|选)\s*\(?[A-Z]\)?[\s.!。！]*$/iu;

/** After a reflection, a sentence replaces the earlier conclusion only when it asserts an answer. */
function readRevision(text: string, spec: AnswerSpec): string | null {
  if (TENTATIVE.test(text)) return null;
  if (isNumericType(spec.answerType)) return sentenceNumber(text, false, true);
  if (spec.answerType !== 'mc') return readSentence(text, spec, false, true);
  const r = readChoice(text, spec, { paraphrase: true });
  if (r.letters.size !== 1) return null;
  const marked = CONCLUSION_MARKER.test(text);
  const asserted = r.by === 'letter' ? marked || LETTER_CLOSES.test(text) || text.split(/\s+/).length <= 4 : marked || r.coverage >= 0.5;
  return asserted ? [...r.letters][0] : null;
}

// A quoted text: what an OCR or free-form chain usually concludes with ("the sign reads 'EXIT 12'").
const QUOTED = /["“'‘「『]([^"”'’」』\n]{1,200})["”'’」』]/g;

/** What one sentence concludes; null when it names no single answer. */
function readSentence(text: string, spec: AnswerSpec, paraphrase = false, marked = false): string | null {
  if (isNumericType(spec.answerType)) return sentenceNumber(text, marked);
  if (spec.answerType === 'mc') return canonicalAnswer(text, spec, { paraphrase });
  const quoted = [...text.matchAll(QUOTED)];
  if (quoted.length) return quoted[quoted.length - 1][1].trim();
  if (!marked) return null;
  // a marked sentence of a text answer concludes with what follows its marker
  const m = CONCLUSION_MARKER.exec(text);
  const rest = m ? text.slice(m.index + m[0].length) : '';
  return canonicalAnswer(rest.replace(/^[\s,，:：]*(?:in\s+short|in\s+summary|overall)?[\s,，:：]*/i, ''), spec);
}

/**
 * A sentence that only ends the chain, with no marker, concludes when it is plainly an
 * answer: a single digit count or one after "=" / ":" / "in total"; an option named by
 * letter, or by its own words making up at least half the sentence ("It is stopping at
 * the light."), not an option's word dropped in a description ("The handle is pink").
 */
function readLastSentence(text: string, spec: AnswerSpec): string | null {
  if (isNumericType(spec.answerType)) {
    const nums = valueNumbers(text);
    const digits = nums.filter((n) => /\d/.test(text.slice(n.start, n.end)));
    if (!digits.length) return null;
    return sentenceNumber(text, false);
  }
  if (spec.answerType !== 'mc') return readSentence(text, spec);
  const r = readChoice(text, spec, { paraphrase: true });
  if (r.letters.size !== 1) return null;
  return r.by === 'letter' || r.coverage >= 0.5 ? [...r.letters][0] : null;
}

/** The value an answer phrase in this sentence states ("the answer is B"); the last such phrase counts. */
function phraseValue(s: string, spec: AnswerSpec): string | null {
  const boxed = boxedContents(s);
  if (boxed.length) {
    const v = canonicalAnswer(boxed[boxed.length - 1].content, spec);
    if (v !== null) return v;
  }
  ANSWER_BEFORE_VERDICT.lastIndex = 0;
  let verdictValue: string | null = null;
  for (let m = ANSWER_BEFORE_VERDICT.exec(s); m; m = ANSWER_BEFORE_VERDICT.exec(s)) verdictValue = canonicalAnswer(m[1], spec) ?? verdictValue;
  ANSWER_HEAD.lastIndex = 0;
  let value: string | null = null;
  for (let m = ANSWER_HEAD.exec(s); m; m = ANSWER_HEAD.exec(s)) {
    if (m[0].length === 0) {
      ANSWER_HEAD.lastIndex++;
      continue;
    }
    const rest = s.slice(m.index + m[0].length);
    if (/^\s*(?:not\b|n['’]t\b|never\b|unclear|不|pas\b|no\b|nicht\b|n[ãa]o\b)/i.test(rest)) continue;
    const read = (t: string) => (isNumericType(spec.answerType) ? firstNumber(t) : canonicalAnswer(t, spec, { paraphrase: true }));
    // "the answer is B, since option A …": the answer is the clause right after the phrase
    const clause = firstClause(rest);
    const v = (clause && clause !== rest ? read(clause) : null) ?? read(rest);
    if (v !== null) value = v;
  }
  return value ?? verdictValue;
}

const CLAUSE_END = /[,;，；]|\s(?:since|because|as|given|due\s+to|which|while|whereas|but|car|parce|porque|ya\s+que|weil|da|pois|因为|由于)\b/iu;

/** The first clause of a text, up to a comma or "since / because / which …". */
function firstClause(text: string): string {
  const t = text.replace(/^[\s:：]+/, '');
  const m = CLAUSE_END.exec(t);
  return m && m.index > 0 ? t.slice(0, m.index) : t;
}

function firstNumber(text: string): string | null {
  const n = valueNumbers(text)[0];
  return n ? String(n.value) : null;
}

/** The conclusion of a reasoning text (rules in the header), with the sentence it was read from. */
export function findConclusion(reasoning: string, spec: AnswerSpec): Conclusion | null {
  const offset = Math.max(0, reasoning.length - TAIL_CHARS);
  const all = sentences(offset ? reasoning.slice(offset) : reasoning);
  const at = (s: Sentence, value: string, how: Conclusion['how']): Conclusion => ({ value, start: s.start + offset, end: s.end + offset, how });

  let strong: { i: number; value: string; how: Conclusion['how'] } | null = null;
  let lastReflection = -1;
  for (let i = all.length - 1; i >= 0; i--) {
    const s = all[i].text;
    if (lastReflection < 0 && reflectionRe.test(s)) lastReflection = i;
    if (TENTATIVE.test(s)) continue;
    const phrased = phraseValue(s, spec);
    if (phrased !== null) {
      strong = { i, value: phrased, how: 'phrase' };
      break;
    }
    const marker = CONCLUSION_MARKER.exec(s);
    if (marker) {
      const clause = spec.answerType === 'mc' ? firstClause(s.slice(marker.index + marker[0].length).replace(/^[\s,，]+/, '')) : '';
      const v = (clause ? canonicalAnswer(clause, spec, { paraphrase: true }) : null) ?? readSentence(s, spec, true, true);
      if (v !== null) {
        strong = { i, value: v, how: 'marker' };
        break;
      }
    }
  }
  // a reflection after the last stated conclusion: the last answer named since then replaces it
  if (lastReflection >= 0 && (!strong || lastReflection > strong.i || (lastReflection === strong.i && strong.how === 'marker'))) {
    for (let i = all.length - 1; i >= lastReflection && i > (strong?.i ?? -1); i--) {
      const phrased = phraseValue(all[i].text, spec);
      const v = TENTATIVE.test(all[i].text) ? null : (phrased ?? readRevision(all[i].text, spec));
      if (v !== null) return at(all[i], v, 'reflection');
    }
  }
  if (strong) return at(all[strong.i], strong.value, strong.how);
  const last = all[all.length - 1];
  const v = last ? readLastSentence(last.text, spec) : null;
  return v !== null && last ? at(last, v, 'last_sentence') : null;
}

/** The answer the reasoning concludes (option letter, number as string, or text), or null. */
export function thinkConclusion(reasoning: string, spec: AnswerSpec): string | null {
  return findConclusion(reasoning, spec)?.value ?? null;
}
