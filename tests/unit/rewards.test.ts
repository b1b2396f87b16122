import { describe, expect, it } from 'vitest';
import { thinkConclusion } from '../../src/main/answers/conclusion';
import { meanRelativeAccuracy } from '../../src/main/answers/numbers';
import { goldLetter } from '../../src/main/answers/options';
import type { AnswerSpec } from '../../src/main/answers/spec';
import { extractAnswer, extractThink } from '../../src/main/answers/tags';
import {
  accuracyReward,
  computeRewards,
  consistencyReward,
  formatReward,
  groundedAccuracyReward,
  neededReadings,
  readingRecallReward,
  groundingReward,
  lengthReward,
  NO_CONCLUSION_CONSISTENCY,
} from '../../src/main/train/rewards';
import type { FactLog } from '../../src/main/video/scene';

const mc: AnswerSpec = { answer: 'B', answerType: 'mc', options: ['A. red cube', 'B. blue sphere', 'C. green cone', 'D. a yellow cylinder'] };
const mcBare: AnswerSpec = { answer: 'B', answerType: 'mc' };
const num = (answer: string): AnswerSpec => ({ answer, answerType: 'numeric' });
const wrap = (think: string, answer: string) => `<think>${think}</think><answer>${answer}</answer>`;

describe('extract', () => {
  it('reads the first think and answer, case-insensitive tags', () => {
    expect(extractThink('<think> x </think><answer> B </answer>')).toBe('x');
    expect(extractAnswer('<THINK>x</THINK><Answer>C</Answer>')).toBe('C');
    expect(extractAnswer('<answer>B</answer><answer>C</answer>')).toBe('B');
    expect(extractAnswer('no tags B')).toBeNull();
    expect(extractThink('<think>unclosed')).toBeNull();
  });
});

describe('accuracyReward, multiple choice', () => {
  it.each([
    ['<answer>B</answer>', 1],
    ['<answer>b</answer>', 1],
    ['<answer>(B)</answer>', 1],
    ['<answer>B.</answer>', 1],
    ['<answer>option b</answer>', 1],
    ['<answer>B. blue sphere</answer>', 1],
    ['<answer>The answer is B because the sphere is blue.</answer>', 1],
    ['<answer>B or C</answer>', 0],
    ['<answer>b or c</answer>', 0],
    ['<answer>B, C</answer>', 0],
    ['<answer>C</answer>', 0],
    ['B', 0], // missing tags
    ['<think>B</think>', 0],
    ['<answer>B</answer><answer>C</answer>', 0], // two answers that disagree
    ['<answer>B</answer> <answer>B</answer>', 1], // two answers that agree (format fails instead)
    ['<answer>blue sphere</answer>', 1], // the option text instead of the letter
    ['<answer>Blue Sphere.</answer>', 1],
    ['<answer>a blue sphere</answer>', 1], // article before the option text is not option A
    ['<answer>It is a Blue Sphere.</answer>', 1],
    ['<answer>blue sphere or red cube</answer>', 0],
    ['<answer>red cube</answer>', 0],
    ['<answer>a yellow cylinder</answer>', 0], // option D's text contains "a"
    ['<answer>答案是 B</answer>', 1], // multilingual text around the letter
    ['<answer>Bは正しい</answer>', 1], // "B is correct": CJK characters next to a letter do not hide it
    ['<answer>Bravo, sphere</answer>', 0], // a letter glued to Latin letters is part of a word
  ])('%s -> %d', (completion, expected) => {
    expect(accuracyReward(completion, mc)).toBe(expected);
  });

  it('without options: letters A..D, so a pronoun "I" is not a choice', () => {
    expect(accuracyReward('<answer>I think B</answer>', mcBare)).toBe(1);
    expect(accuracyReward('<answer>I think B or D</answer>', mcBare)).toBe(0);
    expect(accuracyReward('<answer>E</answer>', { answer: 'E', answerType: 'mc' })).toBe(1);
  });

  it('reads Video-R1 style gold answers and option texts as gold', () => {
    expect(goldLetter({ answer: '<answer>C</answer>', answerType: 'mc' })).toBe('C');
    expect(goldLetter({ answer: 'green cone', answerType: 'mc', options: mc.options })).toBe('C');
    expect(goldLetter({ answer: '(d) a yellow cylinder', answerType: 'mc' })).toBe('D');
  });
});

describe('accuracyReward, numeric (MRA)', () => {
  it('scores MRA over thresholds 0.50..0.95', () => {
    expect(accuracyReward('<answer>10</answer>', num('10'))).toBe(1);
    // |11-10|/10 = 0.1 < 1-t for t in .50...85 (8 of 10), not for .90/.95
    expect(accuracyReward('<answer>11</answer>', num('10'))).toBeCloseTo(0.8);
    // 0.5 relative error: no threshold passes (strict <)
    expect(accuracyReward('<answer>15</answer>', num('10'))).toBe(0);
    expect(accuracyReward('<answer>about 3.5 meters</answer>', num('3.5'))).toBe(1);
    expect(accuracyReward('<answer>1,200</answer>', num('1200'))).toBe(1);
    expect(accuracyReward('<answer>three</answer>', num('3'))).toBe(1);
    expect(accuracyReward('<answer>-2</answer>', num('-2'))).toBe(1);
  });
  it('boundary values do not flip on float error', () => {
    // 2.4 vs 3: relative error exactly 0.2 -> passes t with 1-t > 0.2, i.e. t = .50 ... .75 (6)
    expect(meanRelativeAccuracy(2.4, 3)).toBeCloseTo(0.6);
  });
  it('gt = 0 uses absolute error', () => {
    expect(meanRelativeAccuracy(0, 0)).toBe(1);
    expect(meanRelativeAccuracy(0.3, 0)).toBeCloseTo(0.4);
    expect(meanRelativeAccuracy(1, 0)).toBe(0);
  });
  it('two different numbers, no number, or missing tags score 0', () => {
    expect(accuracyReward('<answer>3 or 4</answer>', num('3'))).toBe(0);
    expect(accuracyReward('<answer>three (3)</answer>', num('3'))).toBe(1);
    expect(accuracyReward('<answer>many</answer>', num('3'))).toBe(0);
    expect(accuracyReward('3', num('3'))).toBe(0);
    expect(accuracyReward('<answer>3</answer>', num('n/a'))).toBe(0);
  });
});

describe('formatReward', () => {
  it.each([
    ['<think>a</think><answer>B</answer>', 1],
    ['  <think>\na\n</think>\n\n<answer>B</answer>\n', 1],
    ['<think>a</think>', 0],
    ['<answer>B</answer>', 0],
    ['<answer>B</answer><think>a</think>', 0],
    ['<think>a</think><answer>B</answer><answer>C</answer>', 0],
    ['<think>a</think><think>b</think><answer>B</answer>', 0],
    ['<think>a<answer>B</answer></think><answer>B</answer>', 0],
    ['Sure! <think>a</think><answer>B</answer>', 0],
    ['<think>a</think><answer>B</answer> Hope this helps', 0],
    ['<THINK>a</THINK><ANSWER>B</ANSWER>', 0],
    ['<think>我们看到红色的立方体。</think><answer>B</answer>', 1],
  ])('%s -> %d', (completion, expected) => {
    expect(formatReward(completion)).toBe(expected);
  });
});

describe('thinkConclusion and consistencyReward', () => {
  it.each([
    ['The sphere is blue, so the answer is B.', 'B'],
    ['First I thought the answer is A. Wait, the cube is red, so the answer is (C).', 'C'],
    ['Answer: d', 'D'],
    ['So the final answer is blue sphere.', 'B'],
    ["I'll go with option C.", 'C'],
    ['Option B is correct.', 'B'],
    ['Therefore, B.', 'B'],
    ['所以答案是C。', 'C'],
    ['Donc la réponse est A.', 'A'],
    ['The objects are red and blue.', null],
    ['Is the answer A or B? Hard to say.', null],
    ['The answer is not C.', null],
    ["So the answer is B. The answer isn't C.", 'B'],
  ])('%s -> %s', (think, expected) => {
    expect(thinkConclusion(think, mc)).toBe(expected);
  });

  it('numeric conclusions', () => {
    expect(thinkConclusion('I count 2 chairs and 3 stools, so there are 5 seats in total.', num('5'))).toBe('5');
    expect(thinkConclusion('The answer is 3.5 meters. That seems right.', num('3'))).toBe('3.5');
    expect(thinkConclusion('There are 2 chairs and 3 stools.', num('5'))).toBeNull();
  });

  it('consistency is 1 / 0 / documented value', () => {
    expect(consistencyReward(wrap('so the answer is B', 'B'), mc)).toBe(1);
    expect(consistencyReward(wrap('so the answer is C', 'B'), mc)).toBe(0); // inconsistent
    expect(consistencyReward(wrap('so the answer is blue sphere', '(B)'), mc)).toBe(1);
    expect(consistencyReward(wrap('red and blue objects', 'B'), mc)).toBe(NO_CONCLUSION_CONSISTENCY);
    expect(consistencyReward('<answer>B</answer>', mc)).toBe(0); // missing think
    expect(consistencyReward('<think>so the answer is B</think>', mc)).toBe(0); // missing answer
    expect(consistencyReward(wrap('so in total 5', '5.0'), num('5'))).toBe(1);
    expect(consistencyReward(wrap('so in total 5', '6'), num('5'))).toBe(0);
  });
});

describe('lengthReward and computeRewards', () => {
  it('rises to 1 at target, 0 beyond max, counts CJK characters', () => {
    expect(lengthReward(wrap('one two three four', 'B'), { target: 8 })).toBe(0.5);
    expect(lengthReward(wrap('one two three four', 'B'), { target: 2 })).toBe(1);
    expect(lengthReward(wrap('one two three four', 'B'), { target: 2, max: 3 })).toBe(0);
    expect(lengthReward(wrap('红色立方体', 'B'), { target: 10 })).toBe(0.5);
  });
  it('weights parts like TRL reward_weights, defaulting to accuracy + format', () => {
    const c = wrap('the answer is C', 'B');
    const r = computeRewards(c, mc);
    expect(r.parts).toMatchObject({ accuracy: 1, format: 1, consistency: 0 });
    expect(r.total).toBe(2);
    const w = computeRewards(c, mc, { accuracy: 2, format: 0.5, consistency: 1 });
    expect(w.total).toBe(2.5);
    expect(computeRewards('garbage', mc).total).toBe(0);
  });
});

describe('groundingReward', () => {
  // One object, seen at (1, 2) in frame 1 and at (2, 2) in frame 2.
  const facts: FactLog = {
    frameCount: 2, gridW: 4, gridH: 4, cellSize: 8, events: [],
    objects: [{ id: 0, color: 'red', shape: 'square' } as FactLog['objects'][number]],
    frames: [[{ id: 0, x: 1, y: 2 } as FactLog['frames'][number][number]], [{ id: 0, x: 2, y: 2 } as FactLog['frames'][number][number]]],
  };
  it('is the share of observations the fact log supports, inside <think>', () => {
    expect(groundingReward(wrap('frame 1 : red square at 1 2 . frame 2 : red square at 2 2 .', 'B'), facts)).toBe(1);
    expect(groundingReward(wrap('frame 1 : red square at 1 2 . frame 2 : red square at 3 2 .', 'B'), facts)).toBe(0.5);
    expect(groundingReward(wrap('frame 1 : blue square at 1 2 .', 'B'), facts)).toBe(0);
  });
  it('gives nothing for reasoning without observations, or without a fact log', () => {
    expect(groundingReward(wrap('the answer is B', 'B'), facts)).toBe(0);
    expect(groundingReward(wrap('frame 1 : red square at 1 2 .', 'B'), null)).toBe(0);
  });
  it('is off by default and weighted like the others', () => {
    const c = wrap('frame 1 : red square at 1 2 . frame 2 : red square at 0 0 .', 'B');
    expect(computeRewards(c, mc, {}, { facts }).total).toBe(2);
    expect(computeRewards(c, mc, { grounding: 2 }, { facts })).toMatchObject({ total: 3, parts: { grounding: 0.5 } });
  });
  it('scores "is not visible" readings too', () => {
    const absent: FactLog = { ...facts, frames: [[], facts.frames[1]!] };
    expect(groundingReward(wrap('frame 1 : red square is not visible . frame 2 : red square at 2 2 .', 'B'), absent)).toBe(1);
    expect(groundingReward(wrap('frame 1 : red square is not visible . frame 2 : red square is not visible .', 'B'), absent)).toBe(0.5);
  });
});

describe('groundedAccuracyReward', () => {
  const facts: FactLog = {
    frameCount: 1, gridW: 4, gridH: 4, cellSize: 8, events: [],
    objects: [{ id: 0, color: 'red', shape: 'square' } as FactLog['objects'][number]],
    frames: [[{ id: 0, x: 1, y: 2 } as FactLog['frames'][number][number]]],
  };
  it('is the accuracy when every reading is grounded, else 0', () => {
    expect(groundedAccuracyReward(wrap('frame 1 : red square at 1 2 .', 'B'), mc, facts)).toBe(1);
    expect(groundedAccuracyReward(wrap('frame 1 : red square at 1 2 .', 'C'), mc, facts)).toBe(0);
    // Right answer, one misreading among two readings: no credit.
    expect(groundedAccuracyReward(wrap('frame 1 : red square at 1 2 . frame 1 : red square at 0 0 .', 'B'), mc, facts)).toBe(0);
  });
  it('gives nothing to a right guess without readings, or without a fact log', () => {
    expect(groundedAccuracyReward(wrap('so the answer is B', 'B'), mc, facts)).toBe(0);
    expect(groundedAccuracyReward(wrap('frame 1 : red square at 1 2 .', 'B'), mc, null)).toBe(0);
  });
  it('is off by default', () => {
    const c = wrap('frame 1 : red square at 1 2 .', 'B');
    expect(computeRewards(c, mc, {}, { facts })).toMatchObject({ total: 2, parts: { grounded_accuracy: 1 } });
    expect(computeRewards(c, mc, { accuracy: 0, grounded_accuracy: 1 }, { facts }).total).toBe(2);
  });
});

describe('readingRecallReward', () => {
  // A red square at (1, 2) and a blue circle at (3, 3) in frame 1; only the square in frame 2.
  const facts: FactLog = {
    frameCount: 2, gridW: 4, gridH: 4, cellSize: 8, events: [],
    objects: [{ id: 0, color: 'red', shape: 'square' }, { id: 1, color: 'blue', shape: 'circle' }] as FactLog['objects'],
    frames: [[{ id: 0, x: 1, y: 2 }, { id: 1, x: 3, y: 3 }], [{ id: 0, x: 1, y: 2 }]] as FactLog['frames'],
  };
  const needed = neededReadings('<think> frame 1 : red square at 1 2 . frame 1 : blue circle at 3 3 . so the answer is 2 </think><answer>2</answer>');
  it('takes the needed readings from the gold chain', () => {
    expect(needed).toEqual([{ frame: 1, color: 'red', shape: 'square' }, { frame: 1, color: 'blue', shape: 'circle' }]);
  });
  it('is the share of needed readings made and right: reading less, or another frame, costs', () => {
    expect(readingRecallReward(wrap('frame 1 : red square at 1 2 . frame 1 : blue circle at 3 3 .', '2'), needed, facts)).toBe(1);
    expect(readingRecallReward(wrap('frame 1 : red square at 1 2 .', '1'), needed, facts)).toBe(0.5); // one left out
    expect(readingRecallReward(wrap('frame 2 : red square at 1 2 .', '1'), needed, facts)).toBe(0); // right, but the wrong frame
    expect(readingRecallReward(wrap('frame 1 : red square at 1 2 . frame 1 : blue circle at 0 0 .', '2'), needed, facts)).toBe(0.5); // one misread
    expect(readingRecallReward(wrap('frame 1 : red square at 1 2 . wait , frame 1 : blue circle at 3 3 .', '2'), needed, facts)).toBe(0.5); // a retracted reading is not made
  });
  it('is 1 when nothing needs reading, 0 without a fact log or needed list, and off by default', () => {
    expect(readingRecallReward(wrap('frame 1 : nothing .', '0'), [], facts)).toBe(1);
    expect(readingRecallReward(wrap('frame 1 : red square at 1 2 .', '1'), needed, null)).toBe(0);
    expect(readingRecallReward(wrap('frame 1 : red square at 1 2 .', '1'), null, facts)).toBe(0);
    const c = wrap('frame 1 : red square at 1 2 .', 'B');
    expect(computeRewards(c, mc, {}, { facts, needed })).toMatchObject({ total: 2, parts: { reading_recall: 0.5 } });
    expect(computeRewards(c, mc, { reading_recall: 2 }, { facts, needed }).total).toBe(3);
  });
});
