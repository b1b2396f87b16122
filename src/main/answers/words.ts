// Words for every length measure (rewards and verifier alike): runs of letters/digits
// (with inner apostrophes, hyphens, underscores), and each CJK character on its own,
// since those scripts do not separate words with spaces.
export const WORD_PATTERN = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]|[\p{L}\p{N}][\p{L}\p{N}'’_-]*/gu;

export function wordCount(text: string): number {
  let n = 0;
  WORD_PATTERN.lastIndex = 0;
  for (const _ of text.matchAll(WORD_PATTERN)) n++;
  return n;
}
