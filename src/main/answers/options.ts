// Multiple-choice options: from an `options` list ("A. red cube", "(B) blue", or bare
// texts lettered by position) or, when there is none, from the question text, where
// datasets list them one per line ("A. …", "(A) …", "A) …", "A: …") or inline
// ("(A) red (B) blue"). Any number of letters: a list runs A, B, C, … without gaps.
import { boxedContents, stripLatex } from './tags';
import type { AnswerSpec } from './spec';

export interface ParsedOption {
  letter: string;
  text: string;
}

const OPTION_PREFIX = /^\s*(?:\(([A-Za-z])\)|([A-Za-z])\s*[.):：])\s*([\s\S]*)$/;

/** Options as {letter, text}; "A. red cube" keeps its letter, a bare text gets A, B, … by position. */
export function parseOptions(options: readonly string[] | null | undefined): ParsedOption[] {
  if (!options) return [];
  return options.map((raw, i) => {
    const m = OPTION_PREFIX.exec(raw);
    if (m) return { letter: (m[1] ?? m[2]).toUpperCase(), text: m[3].trim() };
    return { letter: String.fromCharCode(65 + i), text: raw.trim() };
  });
}

const LINE_OPTION = /^[ \t]*(?:[-*•][ \t]*)?(?:\(([A-Z])\)|([A-Z])[.):：])[ \t]*(\S.*)$/gm;
const INLINE_OPTION = /\(([A-Z])\)\s*/g;

/** Options listed in a question text; [] when it lists fewer than two consecutive letters from A. */
export function optionsFromQuestion(question: string): ParsedOption[] {
  // The longest run A, B, C, … of option lines; a later run (the options are usually last) wins a tie.
  const lines: ParsedOption[] = [];
  LINE_OPTION.lastIndex = 0;
  for (let m = LINE_OPTION.exec(question); m; m = LINE_OPTION.exec(question)) lines.push({ letter: m[1] ?? m[2], text: m[3].trim() });
  let best: ParsedOption[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].letter !== 'A') continue;
    const run = [lines[i]];
    for (let j = i + 1; j < lines.length && lines[j].letter.charCodeAt(0) === run[run.length - 1].letter.charCodeAt(0) + 1; j++) run.push(lines[j]);
    if (run.length >= 2 && run.length >= best.length) best = run;
  }
  if (best.length) return best;
  // inline "(A) red (B) blue (C) green"
  const marks: { letter: string; start: number; end: number }[] = [];
  INLINE_OPTION.lastIndex = 0;
  for (let m = INLINE_OPTION.exec(question); m; m = INLINE_OPTION.exec(question)) marks.push({ letter: m[1], start: m.index, end: m.index + m[0].length });
  const first = marks.findIndex((m) => m.letter === 'A');
  if (first < 0) return [];
  const run = [marks[first]];
  for (let j = first + 1; j < marks.length && marks[j].letter.charCodeAt(0) === run[run.length - 1].letter.charCodeAt(0) + 1; j++) run.push(marks[j]);
  if (run.length < 2) return [];
  return run.map((m, k) => {
    const end = k + 1 < run.length ? run[k + 1].start : (/[\n?]/.exec(question.slice(m.end))?.index ?? question.length - m.end) + m.end;
    return { letter: m.letter, text: question.slice(m.end, end).trim().replace(/[,;]$/, '').trim() };
  });
}

const optionCache = new WeakMap<AnswerSpec, ParsedOption[]>();
/** The spec's options: its `options` list, else those listed in its question. */
export function specOptions(spec: AnswerSpec): ParsedOption[] {
  let o = optionCache.get(spec);
  if (!o) {
    o = spec.options && spec.options.length ? parseOptions(spec.options) : spec.question ? optionsFromQuestion(spec.question) : [];
    optionCache.set(spec, o);
  }
  return o;
}

/** The ground truth with <answer> tags, \boxed{} and LaTeX text wrappers removed. */
export function unwrapTruth(answer: string): string {
  const inner = /<answer>([\s\S]*?)<\/answer>/i.exec(answer);
  let s = (inner ? inner[1] : answer).trim();
  const boxed = boxedContents(s);
  if (boxed.length) s = boxed[boxed.length - 1].content;
  return stripLatex(s).trim();
}

/** Lower case, collapsed spaces, no surrounding punctuation: how option texts are compared. */
export function normaliseText(s: string): string {
  return s
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace(/^[\s"'“”‘’([{.,;:!?。，；：！？]+|[\s"'“”‘’)\]}.,;:!?。，；：！？]+$/g, '');
}

/** The gold option letter of an MC spec ("B", "(B)", "B. red", "<answer>B</answer>", "\boxed{B}" or an option text). */
export function goldLetter(spec: AnswerSpec): string | null {
  const gold = unwrapTruth(spec.answer);
  // an option's own text first: "A carton of milk" is that option, not option A
  const norm = normaliseText(gold);
  const hit = specOptions(spec).find((o) => normaliseText(o.text) === norm);
  if (hit) return hit.letter;
  const m = /^(?:option\s+)?\(?([A-Za-z])\)?(?=$|[\s.):：,])/i.exec(gold);
  return m ? m[1].toUpperCase() : null;
}

/** The letters that count as options: the listed ones, else A..max(D, gold letter). */
export function optionLetters(spec: AnswerSpec): Set<string> {
  const parsed = specOptions(spec);
  if (parsed.length > 0) return new Set(parsed.map((o) => o.letter));
  const gold = goldLetter(spec);
  const last = Math.max('D'.charCodeAt(0), gold ? gold.charCodeAt(0) : 0);
  const letters = new Set<string>();
  for (let c = 65; c <= last; c++) letters.add(String.fromCharCode(c));
  return letters;
}
