import type { AnswerSpec } from '../../../src/main/answers/spec';
import type { Rollout } from '../../../src/main/verifier/types';

export const MC: AnswerSpec = { answer: 'B', answerType: 'mc', options: ['A. a red cube', 'B. a blue sphere', 'C. a green cone', 'D. a yellow cylinder'] };
export const NUM = (answer: string): AnswerSpec => ({ answer, answerType: 'numeric' });

let next = 0;
export function rollout(completion: string, spec: AnswerSpec = MC, extra: Partial<Rollout> = {}): Rollout {
  return { index: next++, promptId: 'p1', prompt: 'What is the first object?', completion, spec, ...extra };
}

/** A varied (non-repeating), consistent chain of `words` words plus a conclusion; deterministic. */
export function chain(answer: string, words = 40, concl = `So the answer is ${answer}.`): string {
  const vocab = ('the camera pans left across a table where several objects stand near window light falls on shape while another sits ' +
    'behind it and moves slowly toward edge frame person hand reaches shelf door opens closes counter floor wall').split(' ');
  let seed = words * 7919 + 17;
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    out.push(vocab[seed % vocab.length] + (i % 9 === 8 ? '.' : ''));
  }
  return `${out.join(' ')}. ${concl}`;
}
export const wrap = (think: string, answer: string) => `<think>${think}</think><answer>${answer}</answer>`;
