// Reading what a piece of text answers: an option letter (named by letter in any of the
// usual forms, or by the option's own words), a number (decimals, units, number words),
// or a text (OCR / free-form). Denied mentions ("not A", "B is wrong") do not count.
import { DENIED_AFTER, DENIED_BEFORE } from './markers';
import { numbersIn, sameNumber, type NumberHit } from './numbers';
import { normaliseText, optionLetters, specOptions } from './options';
import { isNumericType, type AnswerSpec } from './spec';
import { boxedContents, findBlocks, stripLatex, type TagBlock } from './tags';
import { ocrScore, rougeL, words } from './text-scores';

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

interface OptionMatcher {
  valid: Set<string>;
  /** longest text first, so "red cube" is blanked before "red"; an article in front goes too */
  texts: { letter: string; re: RegExp }[];
  /** content words of each option, for reading a paraphrase */
  keywords: { letter: string; words: string[] }[];
}

const STOP = new Set('the a an of to in on at is are was be it its and or with by for from this that into onto as his her their'.split(' '));
const stem = (w: string) => w.toLowerCase().slice(0, 5);

// Specs are re-read for every check of every rollout of a group: build the matchers once.
const matcherCache = new WeakMap<AnswerSpec, OptionMatcher>();
function optionMatcher(spec: AnswerSpec): OptionMatcher {
  let m = matcherCache.get(spec);
  if (!m) {
    const options = specOptions(spec);
    m = {
      valid: optionLetters(spec),
      texts: [...options]
        .sort((a, b) => b.text.length - a.text.length)
        .filter((o) => o.text.length >= 2)
        .map((o) => ({
          letter: o.letter,
          re: new RegExp(String.raw`(?:\b(?:a|an|the)\s+)?(?<![\p{L}\p{N}])` + escapeRegExp(o.text.replace(/[.。]$/, '')) + String.raw`(?![\p{L}\p{N}])`, 'giu'),
        })),
      keywords: options.map((o) => ({
        letter: o.letter,
        words: [...new Set((o.text.match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => w.length > 2 && !STOP.has(w.toLowerCase())).map(stem))],
      })),
    };
    matcherCache.set(spec, m);
  }
  return m;
}

// After a capital "A" or "I", these words show it is the option letter ("A is wrong"), not an article or pronoun.
const LETTER_VERBS = /^\s+(?:is|was|are|seems|looks|shows|says|describes|states|matches|fits|mentions|would|could|can|must|might|does|doesn['’]t|has|and|or|vs|to|also|only|suggests|claims|implies|corresponds|refers|isn['’]t|best)\b/;

// Lower-case "a" and "i" are usually words, so a lower-case letter counts as a choice only
// when it looks like one: the whole text, "(b)", "b.", "b)", "b:", "option b", "b or c".
function lowerCaseIsChoice(text: string, at: number): boolean {
  if (/^[\s(\[]*[a-z][\s.)\]:]*$/.test(text)) return true;
  const before = text.slice(Math.max(0, at - 8), at);
  const rest = text.slice(at + 1, at + 8);
  return (
    /\($/.test(before) ||
    /(?:option|choice)\s+$/i.test(before) ||
    /^[.):,/]/.test(rest) ||
    /^\s+(?:or|and|vs)\b/i.test(rest) ||
    (/\b(?:or|and|vs)\s+$/i.test(before) && /^\s*(?:$|[.,;!?])/.test(rest))
  );
}

function upperCaseIsChoice(text: string, at: number, letter: string): boolean {
  const rest = text.slice(at + 1, at + 16);
  if (/^['’]\p{L}/u.test(rest)) return false; // I'm, A's
  // only "A" and "I" double as English words; "D because …" still names D
  if ((letter === 'A' || letter === 'I') && /^\s+\p{Ll}/u.test(rest) && !LETTER_VERBS.test(rest)) {
    // "A carton", "I think": a word, unless something before marks it as an option
    const before = text.slice(Math.max(0, at - 12), at);
    return /(?:option|choice|answer|is|be|:|\()\s*$/i.test(before) && letter !== 'I';
  }
  return true;
}

// Only Latin letters and digits glue to a letter: "选B", "是C。" still name B and C.
const STANDALONE_LETTER = /(?<![\p{Script=Latin}\p{N}\\])([A-Za-z])(?![\p{Script=Latin}\p{N}])/gu;

export function isDenied(text: string, start: number, end: number): boolean {
  return DENIED_BEFORE.test(text.slice(Math.max(0, start - 24), start)) || DENIED_AFTER.test(text.slice(end, end + 48));
}

export interface ChoiceReading {
  letters: Set<string>;
  /** how the letters were named: by letter, by an option's own words, or by a paraphrase of them */
  by: 'letter' | 'text' | 'paraphrase' | null;
  /** share of the text's words the matched option words cover (1 for "It is stopping at the light.") */
  coverage: number;
}

const countWords = (s: string) => (s.match(/[\p{L}\p{N}]+/gu) ?? []).length;

/**
 * The option letters a text names (denied mentions left out). Option texts are blanked
 * first so words inside them ("a", "I") are not read as letters; if the text names no
 * letter, the options whose own words it uses; with `paraphrase`, an option most of whose
 * content words the text uses, clearly more than any other's.
 */
export function readChoice(text: string, spec: AnswerSpec, opts: { paraphrase?: boolean } = {}): ChoiceReading {
  const { valid, texts, keywords } = optionMatcher(spec);
  let scrubbed = text;
  const textsNamed = new Set<string>();
  let textWords = 0;
  for (const o of texts) {
    o.re.lastIndex = 0;
    scrubbed = scrubbed.replace(o.re, (m, at: number, whole: string) => {
      if (!isDenied(whole, at, at + m.length)) {
        textsNamed.add(o.letter);
        textWords += countWords(m);
      }
      return ' '.repeat(m.length);
    });
  }
  const found = new Set<string>();
  STANDALONE_LETTER.lastIndex = 0;
  for (let m = STANDALONE_LETTER.exec(scrubbed); m; m = STANDALONE_LETTER.exec(scrubbed)) {
    const l = m[1].toUpperCase();
    if (!valid.has(l)) continue;
    const at = m.index;
    if (m[1] !== l ? !lowerCaseIsChoice(scrubbed, at) : !upperCaseIsChoice(scrubbed, at, l)) continue;
    if (isDenied(scrubbed, at, at + 1)) continue;
    found.add(l);
  }
  if (found.size) return { letters: found, by: 'letter', coverage: 1 };
  const total = Math.max(1, countWords(text));
  if (textsNamed.size) return { letters: textsNamed, by: 'text', coverage: textWords / total };
  if (opts.paraphrase && keywords.length) {
    const tokens = text.match(/[\p{L}\p{N}]+/gu) ?? [];
    const have = new Set(tokens.map(stem));
    const scored = keywords.filter((k) => k.words.length).map((k) => ({ letter: k.letter, share: k.words.filter((w) => have.has(w)).length / k.words.length, n: k.words.length }));
    scored.sort((a, b) => b.share - a.share);
    if (scored.length && scored[0].share >= 0.75 && (scored.length < 2 || scored[0].share - scored[1].share >= 0.25)) {
      return { letters: new Set([scored[0].letter]), by: 'paraphrase', coverage: (scored[0].share * scored[0].n) / total };
    }
  }
  return { letters: found, by: null, coverage: 0 };
}

/** The option letters a text names (see readChoice). */
export function lettersNamed(text: string, spec: AnswerSpec, opts: { paraphrase?: boolean } = {}): Set<string> {
  return readChoice(text, spec, opts).letters;
}

// Numbers that index the video, not answer the question: "frame 3", "option 2", "#4".
const INDEX_BEFORE = /(?:\bframes?|\bclips?|\bimages?|\bsteps?|\boptions?|#|\bt\s*=|帧|第)\s*$/i;

/** Numbers a text states as values (denied and index numbers left out). */
export function valueNumbers(text: string): NumberHit[] {
  return numbersIn(text).filter((n) => !INDEX_BEFORE.test(text.slice(Math.max(0, n.start - 10), n.start)) && !isDenied(text, n.start, n.end));
}

/** The one number a text states as its value; null for none or two different ones. */
export function statedNumber(text: string): number | null {
  const nums = valueNumbers(text);
  if (!nums.length) return null;
  return nums.every((n) => sameNumber(n.value, nums[0].value)) ? nums[0].value : null;
}

/** The answer a text gives, canonicalised: an option letter, a number as a string, or the trimmed text. */
export function canonicalAnswer(text: string, spec: AnswerSpec, opts: { paraphrase?: boolean } = {}): string | null {
  const boxed = boxedContents(text);
  const body = boxed.length ? stripLatex(boxed[boxed.length - 1].content) : text;
  if (isNumericType(spec.answerType)) {
    const n = statedNumber(body);
    return n === null ? null : String(n);
  }
  if (spec.answerType === 'mc') {
    // an answer may paraphrase its option ("The car stops at the line." for "It stops at the line.")
    const letters = lettersNamed(body, spec, { paraphrase: true, ...opts });
    return letters.size === 1 ? [...letters][0] : null;
  }
  const t = body.replace(/^[\s"'“‘「『:：,，-]+|[\s"'”’」』.。!！]+$/g, '');
  return t ? t : null;
}

/** Whether two canonical answers agree: numbers within rounding; texts equal, one inside the other, or ROUGE-L >= 0.5. */
export function sameAnswer(a: string, b: string, spec: AnswerSpec): boolean {
  if (isNumericType(spec.answerType)) return sameNumber(Number(a), Number(b));
  if (spec.answerType === 'mc') return a === b;
  if (normaliseText(a) === normaliseText(b)) return true;
  // OCR text must read the same (a transposed digit is another text); free-form may paraphrase
  if (spec.answerType === 'ocr' ? ocrScore(a, b) >= 0.8 && ocrScore(b, a) >= 0.8 : rougeL(a, b) >= 0.5) return true;
  const [short, long] = [words(a), words(b)].sort((x, y) => x.length - y.length);
  const have = new Set(long);
  return short.length > 0 && short.every((w) => have.has(w));
}

export interface AnswerRegion {
  text: string;
  /** where the answer was read from */
  source: 'tag' | 'boxed' | 'after_think';
  blocks: TagBlock[];
  start: number;
  end: number;
}

/**
 * Where a completion gives its answer: its <answer> blocks; else, after the reasoning (the
 * text after the last </think>, or all of it), the last \boxed{…}; else the text after
 * </think> (DeepSeek-R1 / Open-R1 style). Null when there is none.
 */
export function answerRegion(completion: string, answers = findBlocks(completion, 'answer'), thinkEnd?: number): AnswerRegion | null {
  if (answers.length) return { text: answers.map((b) => b.content).join('\n'), source: 'tag', blocks: answers, start: answers[0].start, end: answers[answers.length - 1].end };
  const after = thinkEnd ?? lastThinkEnd(completion);
  const tail = completion.slice(after);
  const boxed = boxedContents(tail);
  if (boxed.length) {
    const b = boxed[boxed.length - 1];
    return { text: b.content, source: 'boxed', blocks: [], start: after + b.start, end: after + b.end };
  }
  if (after > 0 && tail.trim()) return { text: tail, source: 'after_think', blocks: [], start: after, end: completion.length };
  return null;
}

function lastThinkEnd(completion: string): number {
  const i = completion.toLowerCase().lastIndexOf('</think>');
  return i < 0 ? 0 : i + 8;
}

/** The answer of a completion, canonicalised; null if absent or ambiguous. */
export function completionAnswer(completion: string, spec: AnswerSpec): string | null {
  const region = answerRegion(completion);
  return region ? canonicalAnswer(region.text, spec) : null;
}
