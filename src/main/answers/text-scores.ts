// Scores for text answers as Video-R1's reward computes them: word error rate for OCR
// (1 - WER, clipped to [0, 1]) and ROUGE-L F-measure for free-form answers.
import { WORD_PATTERN } from './words';

/** Lower-cased words (CJK characters one each), punctuation dropped. */
export function words(text: string): string[] {
  return Array.from(text.toLowerCase().matchAll(WORD_PATTERN), (m) => m[0]);
}

/** Word error rate: word-level edit distance / reference words (1 for an empty reference with any hypothesis). */
export function wordErrorRate(reference: string, hypothesis: string): number {
  const r = words(reference);
  const h = words(hypothesis);
  if (r.length === 0) return h.length === 0 ? 0 : 1;
  let prev = Array.from({ length: h.length + 1 }, (_, j) => j);
  for (let i = 1; i <= r.length; i++) {
    const cur = [i];
    for (let j = 1; j <= h.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r[i - 1] === h[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[h.length] / r.length;
}

/** 1 - WER, clipped to [0, 1]: Video-R1's OCR reward. */
export function ocrScore(reference: string, hypothesis: string): number {
  return Math.max(0, Math.min(1, 1 - wordErrorRate(reference, hypothesis)));
}

/** ROUGE-L F-measure (longest common subsequence of words). */
export function rougeL(reference: string, hypothesis: string): number {
  const r = words(reference);
  const h = words(hypothesis);
  if (!r.length || !h.length) return 0;
  let prev = new Array<number>(h.length + 1).fill(0);
  for (let i = 1; i <= r.length; i++) {
    const cur = new Array<number>(h.length + 1).fill(0);
    for (let j = 1; j <= h.length; j++) cur[j] = r[i - 1] === h[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
    prev = cur;
  }
  const lcs = prev[h.length];
  if (lcs === 0) return 0;
  const p = lcs / h.length;
  const rec = lcs / r.length;
  return (2 * p * rec) / (p + rec);
}
