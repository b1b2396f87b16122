import { describe, expect, it } from 'vitest';
import {
  BENCHMARK_WORDS,
  COT_TAGS,
  COT_VARIANTS,
  REPEAT_COPIES,
  extractAnswer,
  extractConclusion,
  familiesFor,
  parseClaims,
  sampleTasks,
  scoreGrounding,
  splitWords,
  type Task,
} from '../../../src/main/video';

// Every family x modality x difficulty, a few seeds each.
const all: Task[] = [];
for (const modality of ['video', 'image', 'text'] as const)
  for (const family of familiesFor(modality))
    for (const difficulty of [1, 2, 3]) all.push(...sampleTasks({ n: 8, seed: 31 * difficulty + family.length, family, modality, difficulty }));

const sentences = (text: string) => text.replace(/<\/?think>|<\/?answer>/g, ' ').split(' . ').map((s) => s.trim());

describe('chains of thought', () => {
  it('gold: grounds 100 %, concludes the answer, tags well formed, short', () => {
    let words = 0;
    for (const t of all) {
      const g = t.cot.gold;
      expect(g).toMatch(/^<think> .+ <\/think><answer>[^<]+<\/answer>$/);
      expect(extractConclusion(g)).toBe(t.answer);
      expect(extractAnswer(g)).toBe(t.answer);
      const score = scoreGrounding(g, t.facts);
      expect(score.rate, `${t.id}: ${g}`).toBe(1);
      const n = splitWords(g).length;
      expect(n).toBeLessThanOrEqual(130);
      words += n;
      if (t.family !== 'count_visible') expect(score.total).toBeGreaterThan(0);
    }
    expect(words / all.length).toBeGreaterThan(20);
  });

  it('direct: empty think, just the answer', () => {
    for (const t of all) expect(t.cot.direct).toBe(`<think> </think><answer>${t.answer}</answer>`);
  });

  it('truncated: cut inside the think, no closing tags, a prefix of the gold think', () => {
    for (const t of all) {
      const c = t.cot.truncated;
      expect(c.startsWith('<think> ')).toBe(true);
      expect(c).not.toContain('</think>');
      expect(c).not.toContain('<answer>');
      expect(c).not.toContain('</answer>');
      expect(t.cot.gold.startsWith(c)).toBe(true);
      expect(c.length).toBeLessThan(t.cot.gold.length);
    }
  });

  it('inconsistent: the stated conclusion differs from the <answer>, which stays correct', () => {
    for (const t of all) {
      const c = t.cot.inconsistent;
      expect(extractAnswer(c)).toBe(t.answer);
      const concl = extractConclusion(c);
      expect(concl).not.toBeNull();
      expect(concl).not.toBe(t.answer);
      if (t.options) expect('ABCDE'.slice(0, t.options.length)).toContain(concl);
      else expect(concl).toMatch(/^\d+$/);
    }
  });

  it('repetitive: one sentence repeated many times in a row', () => {
    for (const t of all) {
      const s = sentences(t.cot.repetitive);
      let run = 1;
      let best = 1;
      for (let i = 1; i < s.length; i++) {
        run = s[i] === s[i - 1] ? run + 1 : 1;
        best = Math.max(best, run);
      }
      expect(best).toBeGreaterThanOrEqual(REPEAT_COPIES + 1);
      expect(extractAnswer(t.cot.repetitive)).toBe(t.answer);
    }
  });

  it('hallucinated: an observation contradicting the fact log, answer still given', () => {
    for (const t of all) {
      const score = scoreGrounding(t.cot.hallucinated, t.facts);
      expect(score.rate, t.cot.hallucinated).toBeLessThan(1);
      expect(score.ungrounded.length).toBe(1);
      expect(extractAnswer(t.cot.hallucinated)).toBe(t.answer);
    }
  });

  it('reflective: a wrong observation, `wait ,` and a correction, ending with the correct answer', () => {
    for (const t of all) {
      const c = t.cot.reflective;
      expect(c).toMatch(/ \. wait , /);
      expect(extractConclusion(c)).toBe(t.answer);
      expect(c.endsWith(`<answer>${t.answer}</answer>`)).toBe(true);
      const claims = parseClaims(c);
      const retracted = claims.filter((x) => x.retracted);
      expect(retracted.length).toBe(1);
      // The retracted claim really is wrong, and everything kept is grounded.
      expect(scoreGrounding(c.slice(retracted[0].span[0], retracted[0].span[1]), t.facts).rate).toBe(0);
      expect(scoreGrounding(c, t.facts).rate).toBe(1);
    }
  });
});

describe('vocabulary', () => {
  it('every word of every question, option, scene and variant is in BENCHMARK_WORDS', () => {
    const vocab = new Set(BENCHMARK_WORDS);
    const tags = new Set<string>(COT_TAGS);
    const missing = new Set<string>();
    for (const t of all) {
      const texts = [t.question, ...(t.options ?? []), t.sceneText ?? '', t.answer, ...COT_VARIANTS.map((v) => t.cot[v])];
      for (const text of texts) for (const w of splitWords(text)) if (!vocab.has(w) && !tags.has(w)) missing.add(w);
    }
    expect([...missing]).toEqual([]);
    expect(vocab.size).toBe(BENCHMARK_WORDS.length);
    expect(vocab.size).toBeLessThan(300);
  });

  it('splitWords separates glued tags', () => {
    expect(splitWords('<think> a . </think><answer>B</answer>')).toEqual(['<think>', 'a', '.', '</think>', '<answer>', 'B', '</answer>']);
  });
});

describe('claim parser', () => {
  const facts = all[0].facts;
  it('spans point at the claim text; lists give one claim per entry', () => {
    const text = 'x frame 2 : red circle at 1 3 , blue square at 4 5 . frame 10 : green cross at 0 0 . wait , frame 3 : nothing .';
    const claims = parseClaims(text);
    expect(claims.map((c) => [c.frame, c.color, c.shape, c.at?.x, c.at?.y])).toEqual([
      [2, 'red', 'circle', 1, 3],
      [2, 'blue', 'square', 4, 5],
      [10, 'green', 'cross', 0, 0],
    ]);
    expect(text.slice(...claims[0].span)).toBe('frame 2 : red circle at 1 3');
    expect(text.slice(...claims[1].span)).toBe('blue square at 4 5');
    expect(claims[2].retracted).toBe(true);
    expect(claims[0].retracted).toBeUndefined();
  });

  it('ignores malformed claims and scores an empty text as rate 1', () => {
    expect(parseClaims('frame 2 : red circle at 1 . frame x : red circle at 1 2 . frame 2 : pink circle at 1 2')).toEqual([]);
    expect(scoreGrounding('no claims here', facts)).toEqual({ total: 0, grounded: 0, rate: 1, ungrounded: [], corrections: [] });
  });

  it('"is not visible" is a claim: grounded where the fact log has no such object in that frame', () => {
    const cell = facts.frames[0][0];
    const ob = facts.objects[cell.id];
    const name = `${ob.color} ${ob.shape}`;
    // A frame where this object is absent, if the scene has one.
    const absentFrame = facts.frames.findIndex((cells) => !cells.some((c) => c.id === cell.id)) + 1;
    const text = `frame 1 : ${name} is not visible . wait , frame 1 : ${name} at ${cell.x} ${cell.y} .`;
    const claims = parseClaims(text);
    expect(claims.map((c) => [c.frame, c.at])).toEqual([
      [1, null],
      [1, { x: cell.x, y: cell.y }],
    ]);
    expect(text.slice(...claims[0].span)).toBe(`frame 1 : ${name} is not visible`);
    expect(claims[0].retracted).toBe(true);
    expect(scoreGrounding(`frame 1 : ${name} is not visible .`, facts)).toMatchObject({ total: 1, grounded: 0 });
    if (absentFrame > 0) expect(scoreGrounding(`frame ${absentFrame} : ${name} is not visible .`, facts)).toMatchObject({ total: 1, grounded: 1 });
    // "is visible" and "is not" alone are not claims.
    expect(parseClaims(`frame 1 : ${name} is visible . frame 2 : ${name} is not .`)).toEqual([]);
  });

  it('entry_side gold chains are fully grounded, absences included', () => {
    const tasks = sampleTasks({ n: 40, seed: 3, modality: 'text', family: 'entry_side' });
    const absences = tasks.flatMap((t) => parseClaims(t.cot.gold).filter((c) => c.at === null));
    expect(absences.length).toBeGreaterThan(20);
    for (const t of tasks) expect(scoreGrounding(t.cot.gold, t.facts).rate, t.cot.gold).toBe(1);
  });

  it('claims about frames outside the video are ungrounded', () => {
    const ob = facts.objects[0];
    expect(scoreGrounding(`frame 99 : ${ob.color} ${ob.shape} at 0 0 .`, facts).rate).toBe(0);
  });
});
