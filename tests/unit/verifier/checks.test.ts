import { describe, expect, it } from 'vitest';
import {
  accuracyCheck,
  consistencyCheck,
  formatCheck,
  groundingCheck,
  lengthCheck,
  parseCompletion,
  reflectionCheck,
  repetitionCheck,
  repetitionStats,
  type CheckContext,
} from '../../../src/main/verifier/checks';
import { defaultRubric, parseRubric } from '../../../src/main/verifier/rubric';
import type { Rollout } from '../../../src/main/verifier/types';
import { verifyGroup, verifyRolloutRules } from '../../../src/main/verifier/verify';
import { chain, MC, NUM, rollout, wrap } from './helpers';

const rubric = defaultRubric();
const ctx = (r: Rollout, extra: Partial<CheckContext> = {}): CheckContext => ({ rollout: r, rubric, parsed: parseCompletion(r.completion), ...extra });
const spanText = (r: Rollout, [s, e]: [number, number]) => r.completion.slice(s, e);

describe('accuracy check', () => {
  it('passes the gold letter and names the answer span', () => {
    const r = rollout(wrap(chain('B'), 'B'));
    const c = accuracyCheck(ctx(r));
    expect(c).toMatchObject({ name: 'accuracy', pass: true, score: 1 });
    expect(spanText(r, c.spans[0])).toBe('<answer>B</answer>');
  });
  it('accepts the option text instead of the letter', () => {
    expect(accuracyCheck(ctx(rollout(wrap(chain('B'), 'a blue sphere')))).pass).toBe(true);
  });
  it('fails two letters, two answers, missing answer, with a reason', () => {
    const both = accuracyCheck(ctx(rollout(wrap('x', 'B or C'))));
    expect(both.pass).toBe(false);
    expect(both.reason).toMatch(/does not name exactly one option/);
    expect(accuracyCheck(ctx(rollout('<think>x</think><answer>B</answer><answer>C</answer>'))).pass).toBe(false);
    const none = accuracyCheck(ctx(rollout('<think>so the answer is B</think>')));
    expect(none).toMatchObject({ pass: false });
    expect(none.reason).toMatch(/no <answer> block/);
    expect(accuracyCheck(ctx(rollout(wrap('x', 'C')))).reason).toBe('wrong answer C (gold B)');
  });
  it('numeric: passes at MRA >= min_score (default 1: a count must be exact)', () => {
    expect(accuracyCheck(ctx(rollout(wrap('x', '10'), NUM('10')))).pass).toBe(true);
    expect(accuracyCheck(ctx(rollout(wrap('x', '2.8 m'), NUM('2.8')))).pass).toBe(true);
    const offByOne = accuracyCheck(ctx(rollout(wrap('x', '11'), NUM('10'))));
    expect(offByOne).toMatchObject({ pass: false, score: 0.8 });
    const lenient = parseRubric('{"checks": {"accuracy": {"min_score": 0.75}}}');
    expect(accuracyCheck({ ...ctx(rollout(wrap('x', '11'), NUM('10'))), rubric: lenient }).pass).toBe(true);
    const far = accuracyCheck({ ...ctx(rollout(wrap('x', '3'), NUM('4'))), rubric: lenient });
    expect(far.pass).toBe(false);
    expect(far.reason).toMatch(/MRA 0\.50 < 0\.75/);
  });
});

describe('format check', () => {
  it('passes the template, explains failures', () => {
    expect(formatCheck(ctx(rollout(wrap('a', 'B')))).pass).toBe(true);
    expect(formatCheck(ctx(rollout('<answer>B</answer>'))).reason).toBe('missing <think>…</think>');
    const two = rollout('<think>a</think><answer>B</answer><answer>C</answer>');
    const c = formatCheck(ctx(two));
    expect(c.reason).toBe('2 <answer> blocks');
    expect(spanText(two, c.spans[0])).toBe('<answer>C</answer>');
    const chatty = rollout('Sure! <think>a</think><answer>B</answer>');
    const d = formatCheck(ctx(chatty));
    expect(d.reason).toBe('text outside <think>/<answer>');
    expect(spanText(chatty, d.spans[0])).toBe('Sure! ');
  });
});

describe('consistency check', () => {
  it('passes when the reasoning concludes the answer, spans the conclusion', () => {
    const r = rollout(wrap('The sphere is blue. So the answer is B.', 'B'));
    const c = consistencyCheck(ctx(r));
    expect(c.pass).toBe(true);
    expect(spanText(r, c.spans[0])).toBe('So the answer is B.');
  });
  it('without <think> tags, compares the reasoning written before the answer', () => {
    expect(consistencyCheck(ctx(rollout('The sphere is green, so the answer is C.\n<answer>B</answer>')))).toMatchObject({ pass: false, reason: 'reasoning concludes C but the answer says B' });
    expect(consistencyCheck(ctx(rollout('<answer>B</answer>'))).skipped).toBe(true);
  });
  it('fails when the answer contradicts the reasoning (option letters, texts, numbers)', () => {
    const c = consistencyCheck(ctx(rollout(wrap('The object is a green cone, so the answer is C.', 'B'))));
    expect(c).toMatchObject({ pass: false, reason: 'reasoning concludes C but the answer says B' });
    expect(consistencyCheck(ctx(rollout(wrap('So the final answer is a blue sphere.', 'C')))).pass).toBe(false);
    expect(consistencyCheck(ctx(rollout(wrap('Two plus two, so in total there are 4 chairs.', '3'), NUM('4')))).pass).toBe(false);
    expect(consistencyCheck(ctx(rollout(wrap('Two plus two, so in total there are 4 chairs.', '4'), NUM('4')))).pass).toBe(true);
  });
  it('multilingual conclusions', () => {
    expect(consistencyCheck(ctx(rollout(wrap('球是蓝色的，所以答案是B。', 'B')))).pass).toBe(true);
    expect(consistencyCheck(ctx(rollout(wrap('球是蓝色的，所以答案是C。', 'B')))).pass).toBe(false);
    expect(consistencyCheck(ctx(rollout(wrap('La sphère est bleue, donc la réponse est B.', 'B')))).pass).toBe(true);
  });
  it('no conclusion: pass by default, fail under no_conclusion=fail; missing think is skipped', () => {
    const r = rollout(wrap('A red cube and a blue sphere are visible.', 'B'));
    expect(consistencyCheck(ctx(r))).toMatchObject({ pass: true, score: 0.5 });
    const strict = parseRubric('{"checks": {"consistency": {"no_conclusion": "fail"}}}');
    expect(consistencyCheck({ ...ctx(r), rubric: strict }).pass).toBe(false);
    expect(consistencyCheck(ctx(rollout('<answer>B</answer>'))).skipped).toBe(true);
  });
});

describe('repetition check', () => {
  it('rep-n is 0 for text without repeats and large for a loop', () => {
    expect(repetitionStats('one two three four five six seven', 2, 16).repN).toBe(0);
    // 3 distinct bigrams in 7: 1 - 3/7
    expect(repetitionStats('a b c a b c a b', 2, 16).repN).toBeCloseTo(1 - 3 / 7);
  });
  it('flags looping text and points at the repeats', () => {
    const loop = 'The person opens the fridge. '.repeat(6);
    const r = rollout(wrap(`${loop}So the answer is B.`, 'B'));
    const c = repetitionCheck(ctx(r));
    expect(c.pass).toBe(false);
    expect(c.reason).toMatch(/repeated sentence/);
    expect(spanText(r, c.spans[0]).trim()).toBe('The person opens the fridge.');
    expect(repetitionCheck(ctx(rollout(wrap(chain('B', 60), 'B')))).pass).toBe(true);
  });
  it('works on CJK text (characters are tokens)', () => {
    const r = rollout(wrap('我看到一个红色的立方体。'.repeat(5) + '所以答案是B。', 'B'));
    expect(repetitionCheck(ctx(r)).pass).toBe(false);
  });
});

describe('length check', () => {
  it('absolute floor, group-relative floor, truncation', () => {
    expect(lengthCheck(ctx(rollout(wrap(chain('B', 30), 'B')))).pass).toBe(true);
    const short = lengthCheck(ctx(rollout(wrap('Blue. So B.', 'B'))));
    expect(short.pass).toBe(false);
    expect(short.reason).toMatch(/too short: 3 words < min 20/);
    const rel = lengthCheck(ctx(rollout(wrap(chain('B', 30), 'B')), { groupMedianWords: 100 }));
    expect(rel.pass).toBe(false);
    expect(rel.reason).toMatch(/0.5 x group median 100/);
    const cut = lengthCheck(ctx(rollout(`<think>${chain('B', 30)} and then`)));
    expect(cut).toMatchObject({ pass: false, details: { truncated: true } });
    expect(lengthCheck(ctx(rollout(wrap(chain('B', 30), 'B'), MC, { truncated: true }))).details?.truncated).toBe(true);
  });
  it('counts CJK characters as words', () => {
    expect(parseCompletion(wrap('红色立方体', 'B')).words).toBe(5);
  });
});

describe('reflection check', () => {
  it('finds self-corrections and a revised answer', () => {
    const r = rollout(wrap('First I think the answer is A. Wait, let me re-check: the cube is red, the sphere is blue. So the answer is B.', 'B'));
    const c = reflectionCheck(ctx(r));
    expect(c.pass).toBe(true);
    expect(c.details).toMatchObject({ revised: true, abandoned_answer: 'A' });
    expect(spanText(r, c.spans[0])).toBe('Wait');
    expect(reflectionCheck(ctx(rollout(wrap('The cube awaited nothing. So the answer is B.', 'B')))).pass).toBe(false);
    expect(reflectionCheck(ctx(rollout(wrap('等等，我错了，答案是B。', 'B')))).pass).toBe(true);
  });
});

describe('grounding check', () => {
  it('is skipped without a fact log and scores the grounded rate with one', () => {
    expect(groundingCheck(ctx(rollout(wrap('x', 'B')))).skipped).toBe(true);
    const g = groundingCheck(ctx(rollout(wrap('the cube is red', 'B')), { grounding: () => ({ total: 4, grounded: 2, rate: 0.5, ungrounded: [[7, 11]] }) }));
    expect(g).toMatchObject({ pass: false, score: 0.5, spans: [[7, 11]] });
  });
});

describe('verdicts', () => {
  it('assembles the flags and reasons; disabled checks are skipped, not failed', () => {
    const v = verifyRolloutRules(rollout(wrap(chain('C', 30), 'B')), rubric);
    expect(v).toMatchObject({ correct: true, consistent: false, repetitive: false, truncated: false, formatted: true });
    expect(v.reasons).toEqual(['consistency: reasoning concludes C but the answer says B']);
    const noRep = parseRubric('{"checks": {"repetition": {"enabled": false}}}');
    const loop = verifyRolloutRules(rollout(wrap('B B B B B B B B B B B B. So the answer is B.', 'B')), noRep);
    expect(loop.repetitive).toBe(false);
    expect(loop.checks.find((c) => c.name === 'repetition')?.skipped).toBe(true);
  });
  it('groups use their median length; the score is the weighted mean of checks that ran', async () => {
    const long = (i: number) => rollout(wrap(chain('B', 100 + i), 'B'));
    const vs = await verifyGroup([long(0), long(1), long(2), rollout(wrap(chain('B', 30), 'B'))], rubric);
    expect(vs[3].checks.find((c) => c.name === 'length')?.pass).toBe(false);
    expect(vs[0].score).toBeGreaterThan(vs[3].score);
    expect(vs[0].score).toBeLessThanOrEqual(1);
  });
});
