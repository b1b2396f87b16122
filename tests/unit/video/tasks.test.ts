import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  FAMILIES,
  PALETTE,
  SPLIT_SEEDS,
  familiesFor,
  generateTask,
  parseClaims,
  sampleTasks,
  scoreGrounding,
  type Modality,
  type Task,
} from '../../../src/main/video';
import { command } from '../../../src/main/cli/tasks';
import { expectedAnswer, statedAnswer } from './independent-checker';

async function runCli(args: string[]): Promise<string> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  });
  try {
    expect(await command.run(args)).toBe(0);
  } finally {
    spy.mockRestore();
  }
  return out;
}

afterEach(() => vi.restoreAllMocks());

describe('determinism', () => {
  it('same seed gives byte-identical `tasks sample --json`, different seeds differ', async () => {
    const a = await runCli(['sample', '--n', '20', '--seed', '7', '--json', '--frames']);
    const b = await runCli(['sample', '--n', '20', '--seed', '7', '--json', '--frames']);
    const c = await runCli(['sample', '--n', '20', '--seed', '8', '--json', '--frames']);
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    const parsed = JSON.parse(a);
    expect(parsed).toHaveLength(20);
    expect(parsed[0]).toHaveProperty('frames');
    expect(Buffer.from(parsed[0].frames, 'base64').length).toBe(parsed[0].frameShape.reduce((x: number, y: number) => x * y, 1));
  });

  it('never calls Math.random', () => {
    vi.spyOn(Math, 'random').mockImplementation(() => {
      throw new Error('Math.random used');
    });
    for (const modality of ['video', 'image', 'text'] as const) expect(sampleTasks({ n: 20, seed: 3, modality }).length).toBe(20);
  });

  it('human-readable sample output without --json', async () => {
    const text = await runCli(['sample', '--n', '2', '--seed', '1', '--modality', 'text']);
    expect(text).toMatch(/question: /);
    expect(text).toMatch(/gold: <think> /);
    expect(text).toMatch(/scene: frame 1 : /);
    expect(text).not.toMatch(/base64/);
  });

  it('rejects bad CLI input with usage errors', async () => {
    await expect(command.run(['sample', '--n', 'x', '--seed', '1'])).rejects.toThrow(/--n must be an integer/);
    await expect(command.run(['sample', '--n', '2', '--seed', '1', '--family', 'nope'])).rejects.toThrow(/--family must be one of/);
    await expect(command.run(['sample', '--n', '2', '--seed', '1', '--family', 'rotation', '--modality', 'image'])).rejects.toThrow(/cannot be asked in the image modality/);
  });
});

describe('families and answers', () => {
  const tasks = sampleTasks({ n: 300, seed: 11 });

  it('covers >= 6 families in 300 tasks and no answer letter exceeds 35 %', () => {
    expect(new Set(tasks.map((t) => t.family)).size).toBeGreaterThanOrEqual(6);
    const mc = tasks.filter((t) => t.answerType === 'mc');
    expect(mc.length).toBeGreaterThan(150);
    const counts: Record<string, number> = {};
    for (const t of mc) counts[t.answer] = (counts[t.answer] ?? 0) + 1;
    for (const letter of Object.keys(counts)) expect(counts[letter] / mc.length).toBeLessThanOrEqual(0.35);
    // Numeric families exist too.
    expect(tasks.some((t) => t.answerType === 'numeric' && /^\d+$/.test(t.answer))).toBe(true);
  });

  it('every family at every difficulty and modality is answered as an independent checker computes', () => {
    let checked = 0;
    for (const modality of ['video', 'image', 'text'] as const) {
      for (const family of familiesFor(modality)) {
        for (const difficulty of [1, 2, 3]) {
          for (const t of sampleTasks({ n: 12, seed: difficulty * 100 + family.length, family, modality, difficulty })) {
            expect(statedAnswer(t), `${t.id}: ${t.question}`).toBe(expectedAnswer(t));
            if (t.options) {
              expect(new Set(t.options).size).toBe(t.options.length);
              expect(t.options.length).toBeGreaterThanOrEqual(2);
              expect(t.options.length).toBeLessThanOrEqual(5);
            }
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(400);
  });

  it('answers are spread over classes, not only letters', () => {
    const direction = sampleTasks({ n: 100, seed: 5, family: 'direction' }).map(statedAnswer);
    expect(new Set(direction).size).toBe(5);
    const rotation = sampleTasks({ n: 100, seed: 5, family: 'rotation' }).map(statedAnswer);
    expect(new Set(rotation).size).toBe(5);
    const turns = sampleTasks({ n: 60, seed: 5, family: 'count_turns' }).map((t) => t.answer);
    expect(new Set(turns).size).toBeGreaterThanOrEqual(3);
  });
});

describe('rendering agrees with the fact log', () => {
  it('each visible object colours its cell; empty cells stay background', () => {
    for (const t of sampleTasks({ n: 14, seed: 2 })) {
      const [T, H, W] = t.frameShape;
      const cs = t.facts.cellSize;
      for (let f = 0; f < T; f++) {
        for (let cy = 0; cy < t.facts.gridH; cy++) {
          for (let cx = 0; cx < t.facts.gridW; cx++) {
            // Pixel (1,1) of a cell belongs to every sprite; backgrounds are dark (all channels < 60).
            const i = ((f * H + cy * cs + 1) * W + cx * cs + 1) * 3;
            const pixel = [t.frames![i], t.frames![i + 1], t.frames![i + 2]];
            const cell = t.facts.frames[f].find((c) => c.x === cx && c.y === cy);
            if (cell) expect(pixel, `${t.id} frame ${f + 1} cell ${cx} ${cy}`).toEqual([...PALETTE[t.facts.objects[cell.id].color]]);
            else expect(Math.max(...pixel), `${t.id} frame ${f + 1} cell ${cx} ${cy}`).toBeLessThan(60);
          }
        }
      }
    }
  });
});

describe('modalities', () => {
  it('video, image and text tasks of one seed ask the same question; shapes follow the modality', () => {
    for (const family of familiesFor('image')) {
      const [v, i, x] = (['video', 'image', 'text'] as Modality[]).map((modality) => generateTask(40, { family, modality }));
      expect(v.frameShape).toEqual([8, 32, 32, 3]);
      expect(v.frames!.length).toBe(8 * 32 * 32 * 3);
      expect(i.frameShape).toEqual([1, 32, 32, 3]);
      expect(i.frames!.length).toBe(32 * 32 * 3);
      expect(x.frames).toBeNull();
      expect(x.question).toBe(v.question);
      expect(x.answer).toBe(v.answer);
      if (family !== 'count_visible') expect(i.question).toBe(v.question);
    }
  });

  it('the text scene describes exactly the fact log', () => {
    for (const t of sampleTasks({ n: 20, seed: 9, modality: 'text', difficulty: 3 })) {
      const claims = parseClaims(t.sceneText!);
      expect(claims.length).toBe(t.facts.frames.reduce((s, cells) => s + cells.length, 0));
      expect(scoreGrounding(t.sceneText!, t.facts).rate).toBe(1);
    }
  });

  it('image-only families are enforced and defaults fall back to answerable families', () => {
    expect(() => generateTask(1, { family: 'rotation', modality: 'image' })).toThrow(/image modality/);
    const families = new Set(sampleTasks({ n: 30, seed: 1, modality: 'image' }).map((t) => t.family));
    expect([...families].every((f) => familiesFor('image').includes(f))).toBe(true);
  });
});

describe('splits', () => {
  it('seed ranges are disjoint and sampling stays inside its split', () => {
    const ranges = Object.values(SPLIT_SEEDS).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i][0]).toBeGreaterThanOrEqual(ranges[i - 1][1]);
    for (const split of ['train', 'val', 'test'] as const) {
      const [lo, hi] = SPLIT_SEEDS[split];
      const tasks = sampleTasks({ n: 10, seed: 4, split });
      expect(tasks.every((t: Task) => t.split === split && t.seed >= lo && t.seed < hi)).toBe(true);
      expect(new Set(tasks.map((t) => t.seed)).size).toBe(10);
    }
    expect(() => generateTask(5, { split: 'test' })).toThrow(/train split/);
    expect(() => generateTask(-1)).toThrow(/outside every split/);
  });

  it('names the seven question families, and each one generates its own questions', () => {
    expect([...FAMILIES].sort()).toEqual(['count_turns', 'count_visible', 'direction', 'entry_side', 'final_position', 'order', 'rotation']);
    for (const family of FAMILIES) {
      const tasks = sampleTasks({ n: 3, seed: 4, split: 'val', family, modality: 'video' });
      expect(tasks.map((t) => t.family)).toEqual([family, family, family]);
      expect(tasks.every((t) => t.question.length > 0 && t.answer.length > 0)).toBe(true);
    }
  });
});
