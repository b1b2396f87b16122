// What a question asks for: the gold answer, how it is scored, and the options when it is
// multiple choice. One record shared by the GRPO rewards and the verifier.

/**
 * mc: an option letter; numeric: a number scored by mean relative accuracy (Video-R1
 * "numerical"); regression: a number scored by MRA with its own threshold; ocr: text
 * scored by word error rate; free: free-form text scored by ROUGE-L.
 */
export type AnswerType = 'mc' | 'numeric' | 'regression' | 'ocr' | 'free';

export interface AnswerSpec {
  answer: string;
  answerType: AnswerType;
  /** option lines ("A. red cube" or bare texts); when absent they are read from `question` */
  options?: string[] | null;
  /** the question text, where options are often listed ("…\nA. …\nB. …") */
  question?: string;
}

export const isNumericType = (t: AnswerType): boolean => t === 'numeric' || t === 'regression';
export const isTextType = (t: AnswerType): boolean => t === 'ocr' || t === 'free';

/** Video-R1's problem_type (and common spellings) → answer type; null when unknown. */
export function answerTypeOf(problemType: string): AnswerType | null {
  const t = problemType.toLowerCase().replace(/[_-]/g, ' ').replace(/\s+/g, ' ').trim();
  if (t === 'multiple choice' || t === 'mc' || t === 'multi choice' || t === 'multiple choices' || t === 'choice') return 'mc';
  if (t === 'numerical' || t === 'numeric' || t === 'number' || t === 'count' || t === 'counting') return 'numeric';
  if (t === 'regression') return 'regression';
  if (t === 'ocr') return 'ocr';
  if (t === 'free form' || t === 'freeform' || t === 'free' || t === 'open ended' || t === 'open') return 'free';
  return null;
}
