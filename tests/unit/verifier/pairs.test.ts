import { describe, expect, it } from 'vitest';
import { discardSolved } from '../../../src/main/verifier/discard';
import { buildPreferencePairs, countPairsByKind } from '../../../src/main/verifier/pairs';
import { defaultRubric, parseRubric } from '../../../src/main/verifier/rubric';
import type { Rollout } from '../../../src/main/verifier/types';
import { verifyGroup } from '../../../src/main/verifier/verify';
import { chain, MC, rollout, wrap } from './helpers';

const rubric = defaultRubric();

function group(completions: string[]): Rollout[] {
  return completions.map((c, i) => rollout(c, MC, { index: i, promptId: 'g', prompt: 'Which object comes first?', video: 'clips/g.mp4' }));
}
async function pairsOf(completions: string[], r = rubric) {
  const g = group(completions);
  const vs = await verifyGroup(g, r);
  return { g, vs, pairs: buildPreferencePairs(g, vs, r) };
}

const good = (n: number) => wrap(chain('B', n), 'B');
const wrong = (n: number) => wrap(chain('C', n), 'C');
const inconsistent = (n: number) => wrap(chain('C', n), 'B'); // right answer, reasoning says C
const loop = wrap('The person opens the fridge. '.repeat(8) + 'So the answer is B.', 'B');
const truncated = `<think>${chain('B', 50)} and then the`;

describe('buildPreferencePairs', () => {
  it('never prefers an empty <think> over a chain: a direct answer is not a chosen, even when right', async () => {
    const direct = '<think> </think><answer>B</answer>';
    const { pairs } = await pairsOf([direct, wrong(40), wrong(45)]);
    expect(pairs.filter((p) => p.chosen === direct)).toEqual([]);
    const withChain = await pairsOf([direct, good(40), wrong(45)]);
    expect(withChain.pairs.length).toBeGreaterThan(0);
    expect(withChain.pairs.every((p) => p.chosen !== direct)).toBe(true);
  });

  it('every pair has chosen good, rejected bad, a kind and reasons; video and ground truth travel along', async () => {
    const { pairs, vs } = await pairsOf([good(60), wrong(55), loop, good(45), truncated]);
    expect(pairs.length).toBeGreaterThan(0);
    for (const p of pairs) {
      expect(p.reasons.length).toBeGreaterThanOrEqual(2);
      expect(p.kind).toBeTruthy();
      expect(p.prompt_id).toBe('g');
      expect(p.video).toBe('clips/g.mp4');
      expect(p.ground_truth).toBe('B');
      if (p.chosen_index !== null) expect(vs[p.chosen_index]).toMatchObject({ correct: true, consistent: true, repetitive: false });
      const rej = vs[p.rejected_index!];
      expect(!rej.correct || !rej.consistent || rej.repetitive || rej.truncated).toBe(true);
    }
  });

  it('prefers hard negatives (right answer, inconsistent reasoning) and a chosen of similar length', async () => {
    const { pairs } = await pairsOf([good(100), good(42), wrong(41), inconsistent(40)], parseRubric('{"pairs": {"reflective": {"enabled": false}}}'));
    expect(pairs[0]).toMatchObject({ kind: 'hard_negative', rejected_index: 3, chosen_index: 1 });
    expect(pairs[0].reasons.join(' ')).toMatch(/similar length/);
    expect(pairs.find((p) => p.rejected_index === 2)?.kind).toBe('standard');
  });

  it('without hard negatives, prefers the longest chosen', async () => {
    const r = parseRubric('{"pairs": {"hard_negatives": false, "reflective": {"enabled": false}, "max_pairs_per_prompt": 1}}');
    const { pairs } = await pairsOf([good(40), good(90), wrong(40)], r);
    expect(pairs).toHaveLength(1);
    expect(pairs[0].chosen_index).toBe(1);
  });

  it('a natural reflective rollout is paired with the failed attempt it abandoned', async () => {
    const reflective = wrap(`${chain('x', 30, 'At first the answer is D.')} Wait, let me re-check: the sphere appears first. So the answer is B.`, 'B');
    const { pairs } = await pairsOf([good(50), wrong(45), wrap(chain('D', 45), 'D'), reflective]);
    const refl = pairs.filter((p) => p.kind.startsWith('reflective'));
    expect(refl).toHaveLength(1);
    expect(refl[0]).toMatchObject({ kind: 'reflective', chosen_index: 3, rejected_index: 2 });
  });

  it('constructs a labelled reflective pair when no rollout reflects: failed attempt + reflection + correct chain', async () => {
    const { g, pairs } = await pairsOf([good(50), wrong(45)]);
    const c = pairs.find((p) => p.kind === 'reflective_constructed')!;
    expect(c).toBeTruthy();
    expect(c.chosen_index).toBeNull();
    expect(c.rejected).toBe(g[1].completion);
    expect(c.chosen).toMatch(/^<think>.*So the answer is C\.\nWait, let me re-check this\.\n.*So the answer is B\.<\/think><answer>B<\/answer>$/s);
    expect(c.reasons[0]).toMatch(/constructed: failed attempt #1/);
    // the constructed chain is itself correct, consistent and reflective
    const [v] = await verifyGroup([rollout(c.chosen)], rubric);
    expect(v).toMatchObject({ correct: true, consistent: true, reflective: true });
  });

  it('respects the cap, dedupes identical texts, and builds nothing from a solved or hopeless group', async () => {
    const r = parseRubric('{"pairs": {"max_pairs_per_prompt": 2}}');
    const { pairs } = await pairsOf([good(50), good(51), good(52), wrong(45), wrong(46), wrong(47)], r);
    expect(pairs).toHaveLength(2);
    const dup = await pairsOf([good(50), good(50), wrong(45), wrong(45)], parseRubric('{"pairs": {"reflective": {"enabled": false}}}'));
    expect(dup.pairs).toHaveLength(1);
    expect((await pairsOf([good(50), good(60)])).pairs).toHaveLength(0);
    expect((await pairsOf([wrong(50), wrong(60)])).pairs).toHaveLength(0);
  });

  it('reject_when decides which failures make a rollout rejectable', async () => {
    const onlyWrong = parseRubric('{"pairs": {"reject_when": ["wrong"], "reflective": {"enabled": false}}}');
    const { pairs } = await pairsOf([good(50), loop, inconsistent(48)], onlyWrong);
    expect(pairs).toHaveLength(0);
    const counts = countPairsByKind((await pairsOf([good(50), loop, inconsistent(48), truncated])).pairs);
    expect(counts.hard_negative).toBeGreaterThan(0);
    expect(counts.standard).toBeGreaterThan(0);
  });
});

describe('discardSolved', () => {
  const seeded = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  it('drops about p of the solved prompts, never an unsolved one, reproducibly', () => {
    const prompts = Array.from({ length: 1000 }, (_, i) => i);
    const acc = prompts.map((i) => (i % 2 === 0 ? 1 : 0.5));
    const a = discardSolved(prompts, acc, 0.8, seeded(1));
    const b = discardSolved(prompts, acc, 0.8, seeded(1));
    expect(a).toEqual(b);
    expect(a.dropped.every((i) => i % 2 === 0)).toBe(true);
    expect(a.dropped.length).toBeGreaterThan(360);
    expect(a.dropped.length).toBeLessThan(440);
    expect(a.kept.length + a.dropped.length).toBe(1000);
  });
  it('p = 0 keeps all, p = 1 drops every solved prompt; unknown accuracy is kept', () => {
    expect(discardSolved(['a', 'b'], [1, 1], 0, Math.random).dropped).toEqual([]);
    expect(discardSolved(['a', 'b', 'c'], (p) => ({ a: 1, b: 0.99 })[p], 1, Math.random)).toEqual({ kept: ['b', 'c'], dropped: ['a'] });
    expect(() => discardSolved(['a'], [1], 1.5)).toThrow(RangeError);
  });
});
