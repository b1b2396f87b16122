// The verifier with the benchmark's fact log: every reading of a chain is checked against the
// scene, a chosen keeps no misreading, hard negatives are right answers reached the wrong way,
// and a chain that corrects its own misreading is the chosen of a reflective pair.
import { describe, expect, it } from 'vitest';
import { benchmarkGrounding } from '../../../src/main/loop/tasks';
import { buildPreferencePairs, isChosenCandidate } from '../../../src/main/verifier/pairs';
import { defaultRubric, parseRubric, type Rubric } from '../../../src/main/verifier/rubric';
import { summarise, summaryMetrics } from '../../../src/main/verifier/summary';
import type { Rollout } from '../../../src/main/verifier/types';
import { verifyGroup } from '../../../src/main/verifier/verify';
import { answerSpec } from '../../../src/main/train/eval';
import { findCorrections, parseClaims, sampleTasks, scoreGrounding, type Task } from '../../../src/main/video';

const tasks = sampleTasks({ n: 24, seed: 5, split: 'train', modality: 'video', difficulty: 2 });

/** A wrong answer to the task: another option, or the count plus one. */
const wrongAnswer = (t: Task) => (t.answerType === 'mc' ? (t.answer === 'A' ? 'B' : 'A') : String(Number(t.answer) + 1));

/** The gold reasoning with a wrong conclusion and the same wrong answer: consistent, well grounded, wrong. */
function wrongChain(t: Task): string {
  const w = wrongAnswer(t);
  const out = t.cot.gold.replace(/so the answer is \S+ <\/think><answer>[^<]*<\/answer>$/, `so the answer is ${w} </think><answer>${w}</answer>`);
  expect(out).not.toBe(t.cot.gold);
  return out;
}

async function judge(t: Task, completions: string[], rubric: Rubric = defaultRubric()) {
  const group: Rollout[] = completions.map((completion, index) => ({ index, promptId: t.id, prompt: t.question, completion, spec: answerSpec(t) }));
  const verdicts = await verifyGroup(group, rubric, { grounding: benchmarkGrounding(() => t) });
  return { verdicts, pairs: buildPreferencePairs(group, verdicts, rubric) };
}

describe('readings against the fact log', () => {
  const t = tasks.find((x) => x.family === 'rotation')!;

  it('a misreading retracted with "wait ," and replaced by the right one is a correction, and is not counted against the chain', () => {
    const g = scoreGrounding(t.cot.reflective, t.facts);
    expect(g.rate).toBe(1);
    expect(g.corrections).toHaveLength(1);
    expect(g.corrections[0]!.wrong.frame).toBe(g.corrections[0]!.fixed.frame);
  });

  it('a "correction" that is wrong again, or that retracts a right reading, corrects nothing', () => {
    const claims = parseClaims(t.cot.gold);
    const right = claims[0]!;
    const cell = `${right.at!.x} ${right.at!.y}`;
    const other = `${(right.at!.x + 1) % t.facts.gridW} ${right.at!.y}`;
    const prefix = `frame ${right.frame} : ${right.color} ${right.shape} at`;
    const wrongAgain = `<think> ${prefix} ${other} . wait , ${prefix} ${other} . </think>`;
    expect(findCorrections(parseClaims(wrongAgain), t.facts)).toEqual([]);
    expect(scoreGrounding(wrongAgain, t.facts)).toMatchObject({ total: 1, grounded: 0 });
    const retractsRight = `<think> ${prefix} ${cell} . wait , ${prefix} ${other} . </think>`;
    expect(findCorrections(parseClaims(retractsRight), t.facts)).toEqual([]);
    expect(scoreGrounding(retractsRight, t.facts)).toMatchObject({ total: 1, grounded: 0 });
  });
});

describe('pairs from the fact log', () => {
  it('a chain with the right answer and one wrong reading is never chosen, even when its grounding rate passes the threshold', async () => {
    let aboveThreshold = 0;
    let hardNegatives = 0;
    for (const t of tasks) {
      const g = scoreGrounding(t.cot.hallucinated, t.facts);
      if (g.grounded === g.total) continue; // the corrupted reading happened to be true (an absent object)
      if (g.rate >= defaultRubric().checks.grounding.min_rate) aboveThreshold++;
      // alone with wrong answers, and next to the gold chain: never the chosen side
      for (const group of [[t.cot.hallucinated, wrongChain(t)], [t.cot.hallucinated, t.cot.gold, wrongChain(t)]]) {
        const { verdicts, pairs } = await judge(t, group);
        expect(verdicts[0]).toMatchObject({ correct: true, consistent: true });
        expect(isChosenCandidate(verdicts[0]!, defaultRubric()), t.id).toBe(false);
        expect(pairs.filter((p) => p.chosen_index === 0 || p.chosen === t.cot.hallucinated)).toEqual([]);
        // the gold chain is a chosen unless it is too short for the length check (count_visible)
        if (group.length === 3 && isChosenCandidate(verdicts[1]!, defaultRubric())) {
          expect(pairs.find((p) => p.rejected_index === 0)).toMatchObject({ kind: 'hard_negative', chosen_index: 1 });
          hardNegatives++;
        }
      }
    }
    // the rate threshold alone (0.8) would have let these through
    expect(aboveThreshold).toBeGreaterThan(3);
    expect(hardNegatives).toBeGreaterThan(10);
  });

  it('a self-corrected reading yields a reflective pair, rejecting the rollout that kept the same misreading', async () => {
    let made = 0;
    for (const t of tasks) {
      const g = scoreGrounding(t.cot.reflective, t.facts);
      if (g.corrections.length === 0) continue;
      const { verdicts, pairs } = await judge(t, [t.cot.gold, wrongChain(t), t.cot.hallucinated, t.cot.reflective]);
      const refl = pairs.filter((p) => p.kind === 'reflective');
      expect(refl, t.id).toHaveLength(1);
      expect(refl[0]).toMatchObject({ chosen_index: 3, rejected_index: 2 });
      expect(refl[0]!.reasons[0]).toMatch(/corrects its misreading "frame \d+ : \w+ \w+ at \d+ \d+"/);
      expect(pairs.some((p) => p.kind === 'reflective_constructed')).toBe(false);
      expect(summarise(verdicts, pairs, 0)).toMatchObject({ self_corrected: 1, misread_rate: 0.25 });
      made++;
    }
    expect(made).toBeGreaterThan(10);
  });

  it('a "wait" that corrects no reading and changes no answer is not a reflection where readings are checked', async () => {
    const t = tasks.find((x) => x.family === 'direction')!;
    const first = parseClaims(t.cot.gold)[0]!;
    const reading = t.cot.gold.slice(first.span[0], first.span[1]);
    const idle = t.cot.gold.replace(`${reading} .`, `${reading} . wait , ${reading} .`);
    const { pairs } = await judge(t, [idle, wrongChain(t)]);
    expect(pairs.filter((p) => p.kind === 'reflective')).toEqual([]);
  });

  it('ranks rejected: right answers reached the wrong way first, then wrong answers of similar length, then the rest', async () => {
    const t = tasks.find((x) => x.family === 'count_turns')!;
    const rubric = parseRubric('{"pairs": {"reflective": {"enabled": false}, "max_pairs_per_prompt": 8}}');
    const short = `<think> so the answer is ${wrongAnswer(t)} </think><answer>${wrongAnswer(t)}</answer>`;
    const { pairs } = await judge(t, [t.cot.gold, short, wrongChain(t), t.cot.inconsistent, t.cot.hallucinated], rubric);
    expect(pairs.map((p) => [p.rejected_index, p.kind])).toEqual([
      [3, 'hard_negative'],
      [4, 'hard_negative'],
      [2, 'standard'],
      [1, 'standard'],
    ]);
  });

  it('the rubric decides: without require_grounded_chosen and misread, a chain above min_rate may be chosen', async () => {
    const rubric = parseRubric('{"pairs": {"require_grounded_chosen": false, "reject_when": ["wrong", "inconsistent"], "reflective": {"enabled": false}}}');
    const t = tasks.find((x) => x.family === 'rotation')!;
    const { verdicts, pairs } = await judge(t, [t.cot.hallucinated, wrongChain(t)], rubric);
    expect(isChosenCandidate(verdicts[0]!, rubric)).toBe(true);
    expect(pairs[0]).toMatchObject({ chosen_index: 0, rejected_index: 1 });
  });

  it('a verify summary turns into verify/ metrics with pairs by kind', async () => {
    const t = tasks.find((x) => x.family === 'rotation')!;
    const { verdicts, pairs } = await judge(t, [t.cot.gold, wrongChain(t), t.cot.hallucinated, t.cot.reflective]);
    const m = summaryMetrics(summarise(verdicts, pairs, 0));
    expect(m.pairs_total).toBe(pairs.length);
    expect(m.pairs_reflective).toBe(1);
    expect(m.pairs_hard_negative).toBe(pairs.filter((p) => p.kind === 'hard_negative').length);
    expect(m.pairs_hard_negative).toBeGreaterThan(0);
  });
});
