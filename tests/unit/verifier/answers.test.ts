// Reading answers and conclusions the way models write them (answers/): the failure
// modes a new user met on external rollouts, each pinned.
import { describe, expect, it } from 'vitest';
import { findConclusion } from '../../../src/main/answers/conclusion';
import { numbersIn, meanRelativeAccuracy } from '../../../src/main/answers/numbers';
import { goldLetter, optionsFromQuestion } from '../../../src/main/answers/options';
import { completionAnswer, sameAnswer } from '../../../src/main/answers/read';
import { answerScore } from '../../../src/main/answers/score';
import type { AnswerSpec } from '../../../src/main/answers/spec';
import { boxedContents, findBlocks, isExactFormat } from '../../../src/main/answers/tags';
import { ocrScore, rougeL, wordErrorRate } from '../../../src/main/answers/text-scores';

const Q = 'What does the car do?\nA. It speeds up.\nB. It is stopping at the light.\nC. It turns left.\nD. It reverses.\nE. Counter-clockwise throughout.';
const mc = (answer: string, question = Q): AnswerSpec => ({ answer, answerType: 'mc', question });
const num = (answer: string): AnswerSpec => ({ answer, answerType: 'numeric' });
const concl = (think: string, spec: AnswerSpec) => findConclusion(think, spec)?.value ?? null;

describe('options', () => {
  it('reads any number of options from the question, in three layouts', () => {
    expect(optionsFromQuestion(Q).map((o) => o.letter).join('')).toBe('ABCDE');
    expect(optionsFromQuestion('Which?\n(A) red\n(B) blue\n(C) green\n(D) pink\n(E) grey\n(F) none').map((o) => o.text)).toEqual(['red', 'blue', 'green', 'pink', 'grey', 'none']);
    expect(optionsFromQuestion('Which? A) red B) blue').length).toBe(0); // not one per line, not (A)
    expect(optionsFromQuestion('Which colour? (A) red (B) blue (C) green').map((o) => o.text)).toEqual(['red', 'blue', 'green']);
  });
  it('an answer or conclusion "E" is read when the question lists E', () => {
    expect(completionAnswer('<answer>E</answer>', mc('E'))).toBe('E');
    expect(concl('The blades never change direction. That is option E.', mc('E'))).toBe('E');
  });
  it('an answer text starting with "A carton" is not option A', () => {
    const spec = mc('B', 'Which?\nA. A red apple\nB. A carton of milk\nC. A bowl');
    expect(completionAnswer('<answer>A carton of milk</answer>', spec)).toBe('B');
    expect(goldLetter({ answer: 'A carton of milk', answerType: 'mc', question: spec.question })).toBe('B');
    expect(completionAnswer('<answer>A carton of something</answer>', { answer: 'B', answerType: 'mc' })).toBeNull();
  });
});

describe('conclusions', () => {
  it('reads "That is option B.", the option\'s own words and a bare count', () => {
    expect(concl('The car slows down. That is option B.', mc('B'))).toBe('B');
    expect(concl('The car slows near the crossing. It is stopping at the light.', mc('B'))).toBe('B');
    expect(concl('There are 2 chairs at the table and one by the window: 3 chairs.', num('3'))).toBe('3');
  });
  it('an option word dropped in a description is not a conclusion', () => {
    const spec = mc('F', 'Colour?\nA. Blue\nB. Pink\nC. Clear');
    expect(concl('The canopy lets the rain show through. The handle is pink, but the canopy has no colour.', spec)).toBeNull();
  });
  it('the last conclusion after a self-correction wins', () => {
    const think = 'The car moves first, so A. Hmm, wait — looking at frame 4 again, I was wrong: the first event is C.';
    expect(findConclusion(think, mc('C'))).toMatchObject({ value: 'C', how: 'reflection' });
    expect(concl('So the answer is A. Wait, let me double-check. I missed one: the right count is 7.', num('7'))).toBe('7');
    expect(concl('So the answer is B. Let me double-check: the car stops at 0:04. Yes.', mc('B'))).toBe('B');
  });
  it('after a reflection only an asserted answer replaces the conclusion, not a question, a hedge or an option being weighed', () => {
    expect(concl('So the answer is B. But wait, could it be C? No, the car clearly stops.', mc('B'))).toBe('B');
    expect(concl('The answer is B. Hmm, option A says it speeds up, which is wrong.', mc('B'))).toBe('B');
    expect(concl('So there are 4. Wait, let me recount: I see 2 on the left and 3 on the right.', num('4'))).toBe('4');
    expect(concl('So A. Wait, actually it is stopping at the light.', mc('B'))).toBe('B');
  });
  it('letters next to CJK text, and "B is the correct answer." followed by a remark', () => {
    expect(concl('视频中红色汽车在红灯时停下。所以选B', mc('B'))).toBe('B');
    expect(concl('B is the correct answer. This matches the observation.', mc('B'))).toBe('B');
  });
  it('the answer is the clause right after the phrase or marker', () => {
    expect(concl('So the answer is B, since option A (speeding up) is contradicted.', mc('B'))).toBe('B');
    expect(concl('So B, because A is contradicted by frame 3.', mc('B'))).toBe('B');
    expect(concl('So the total is 2 + 3 = 5, since nobody else crosses.', num('5'))).toBe('5');
  });
  it('denied options do not count', () => {
    expect(concl('The answer is C, not A.', mc('C'))).toBe('C');
    expect(concl('A is wrong and B is wrong, so C.', mc('C'))).toBe('C');
    expect(concl('Neither A nor B fits; D is ruled out. Therefore C.', mc('C'))).toBe('C');
  });
  it('decimals, units and \\boxed', () => {
    expect(concl('So the distance is 2.8 meters.', num('2.8'))).toBe('2.8');
    expect(concl('Also beträgt der Abstand 2,5 Meter.', num('2.5'))).toBe('2.5');
    expect(concl('Thus the final answer is \\boxed{D}.', mc('D'))).toBe('D');
    expect(completionAnswer('<think>x</think>\nThe answer is \\boxed{B}.', mc('B'))).toBe('B');
    expect(completionAnswer('<answer>\\boxed{\\text{C}}</answer>', mc('C'))).toBe('C');
    expect(boxedContents('\\boxed{\\frac{1}{2}}')[0].content).toBe('\\frac{1}{2}');
  });
  it.each([
    ['所以答案是C。', 'C'],
    ['因此，正确选项为D。', 'D'],
    ['Donc la réponse est B.', 'B'],
    ['Por lo tanto, la respuesta correcta es E.', 'E'],
    ['Daher ist die richtige Antwort C.', 'C'],
    ['Portanto, a resposta é A.', 'A'],
  ])('%s', (think, want) => expect(concl(think, mc(want))).toBe(want));
});

describe('numbers and text scores', () => {
  it('reads decimals, decimal commas, thousands and CJK counts', () => {
    expect(numbersIn('2.8 m, 1,200 people, 2,5 Meter, 三个').map((n) => n.value)).toEqual([2.8, 1200, 2.5, 3]);
    expect(meanRelativeAccuracy(2.8, 2.8)).toBe(1);
  });
  it('WER and ROUGE-L as Video-R1 scores OCR and free-form', () => {
    expect(wordErrorRate('EXIT 12', 'EXIT 21')).toBe(0.5);
    expect(ocrScore('EXIT 12', 'exit 12')).toBe(1);
    expect(rougeL('the man opens the fridge', 'the man opens the fridge')).toBe(1);
    expect(rougeL('a b c d', 'a x c y')).toBeCloseTo(0.5);
    expect(answerScore('EXIT 12', { answer: 'EXIT 12', answerType: 'ocr' })).toBe(1);
    expect(sameAnswer('EXIT 21', 'EXIT 12', { answer: '', answerType: 'ocr' })).toBe(false);
  });
});

describe('huge input', () => {
  it('a 50 MB completion is scanned without a stack overflow', () => {
    const big = `<think>${'so the answer is B. '.repeat(2_600_000)}</think><answer>B</answer>`;
    expect(big.length).toBeGreaterThan(50_000_000);
    expect(findBlocks(big, 'answer')).toHaveLength(1);
    expect(isExactFormat(big)).toBe(true);
    expect(completionAnswer(big, mc('B'))).toBe('B');
  });
});
