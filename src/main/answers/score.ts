// How right an answer is, by answer type, as Video-R1's reward scores it: multiple choice
// 1/0, numbers by mean relative accuracy, OCR by 1 - word error rate, free-form by ROUGE-L.
import { meanRelativeAccuracy, singleNumber } from './numbers';
import { goldLetter, unwrapTruth } from './options';
import { canonicalAnswer, lettersNamed, statedNumber } from './read';
import { isNumericType, type AnswerSpec } from './spec';
import { boxedContents, stripLatex } from './tags';
import { ocrScore, rougeL } from './text-scores';

/** The gold answer canonicalised like an answer: a letter, a number as a string, or the text. */
export function goldAnswer(spec: AnswerSpec): string | null {
  if (spec.answerType === 'mc') return goldLetter(spec);
  const truth = unwrapTruth(spec.answer);
  if (isNumericType(spec.answerType)) {
    const n = singleNumber(truth);
    return n === null ? null : String(n);
  }
  return truth || null;
}

/** Score in [0, 1] of an answer text against the spec's gold answer. */
export function answerScore(answerText: string, spec: AnswerSpec): number {
  const boxed = boxedContents(answerText);
  const text = boxed.length ? stripLatex(boxed[boxed.length - 1].content) : answerText;
  if (spec.answerType === 'mc') {
    const gold = goldLetter(spec);
    if (!gold) return 0;
    const named = lettersNamed(text, spec, { paraphrase: true });
    return named.size === 1 && named.has(gold) ? 1 : 0;
  }
  const gold = goldAnswer(spec);
  if (gold === null) return 0;
  if (isNumericType(spec.answerType)) {
    const pred = statedNumber(text);
    return pred === null ? 0 : meanRelativeAccuracy(pred, Number(gold));
  }
  const given = canonicalAnswer(text, spec);
  if (given === null) return 0;
  return spec.answerType === 'ocr' ? ocrScore(gold, given) : rougeL(gold, given);
}
