// The benchmark's closed vocabulary. Every word the generator can emit in questions,
// options, scene text and chains of thought is listed here; the tokenizer builds its
// vocabulary from this list (a unit test generates many tasks and checks the claim).
// The four tags below are special tokens, not words: they may be written adjacent to
// words (`</think><answer>B</answer>`), so split them off with splitWords.
import { COLORS, DIRECTIONS, SHAPES } from './scene';

export const COT_TAGS = ['<think>', '</think>', '<answer>', '</answer>'] as const;

export const NUMBER_WORDS: readonly string[] = Array.from({ length: 32 }, (_, i) => String(i));

export const BENCHMARK_WORDS: readonly string[] = [
  ...NUMBER_WORDS,
  '.', ',', ':', '?',
  ...COLORS,
  ...SHAPES,
  ...DIRECTIONS,
  'A', 'B', 'C', 'D', 'E',
  // observations and scene text
  'frame', 'at', 'nothing', 'wait', 'is', 'not', 'visible',
  // inferences and conclusions
  'so', 'the', 'answer', 'x', 'y', 'goes', 'from', 'to', 'stays', 'moves', 'never', 'turns', 'keeps', 'turning',
  'reverses', 'then', 'clockwise', 'counter-clockwise', 'earliest', 'less', 'than', 'more', 'equal', 'of', 'and',
  'are', 'in', 'same', 'row', 'column', 'appears', 'on', 'edge', 'leaves', 'stops',
  // questions and options
  'which', 'way', 'does', 'move', 'it', 'how', 'rotate', 'many', 'times', 'turn', 'happens', 'first', 'last',
  'where', 'relative', 'above', 'below', 'or', 'objects', 'side', 'enter', 'start', 'top', 'bottom',
];

/** Splits text into words with the four tags as separate tokens (tags may be glued to words). */
export function splitWords(text: string): string[] {
  return text
    .replace(/<\/?(?:think|answer)>/g, (tag) => ` ${tag} `)
    .split(/\s+/)
    .filter(Boolean);
}
