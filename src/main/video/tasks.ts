// Tasks: one seeded scene + one question + its chains of thought, in one modality.
// Seeds decide everything: generateTask(seed, opts) is a pure function of its arguments.
import { buildCots, type CotVariant } from './cot';
import { FAMILY_DEFS, type AskContext, type Asked, type Family, type Modality } from './families';
import { hashInts, mulberry32 } from './prng';
import { renderFrames, renderImage } from './render';
import { objectName, sampleScene, type FactLog, type SceneOptions } from './scene';

export type { Modality } from './families';
export type { CotVariant } from './cot';
export type Split = 'train' | 'val' | 'test';

export interface Task {
  id: string;
  seed: number;
  split: Split;
  family: string;
  modality: Modality;
  difficulty: number;
  question: string;
  /** A-E option texts, null for numeric answers. */
  options: string[] | null;
  /** Letter 'A'..'E' or an integer string. */
  answer: string;
  answerType: 'mc' | 'numeric';
  /** T*H*W*3 RGB bytes, row-major; null for the text modality. */
  frames: Uint8Array | null;
  /** [T, H, W, 3]; T = 1 for image; [0, 0, 0, 3] for text. */
  frameShape: [number, number, number, number];
  /** The scene in words (text modality only). */
  sceneText: string | null;
  facts: FactLog;
  /** Full completion strings (`<think> … </think><answer>X</answer>`) per variant. */
  cot: Record<CotVariant, string>;
}

/** Disjoint [lo, hi) seed ranges per split. */
export const SPLIT_SEEDS: Record<Split, [number, number]> = {
  train: [0, 1_000_000],
  val: [1_000_000, 1_100_000],
  test: [1_100_000, 1_200_000],
};

export const FAMILIES: readonly string[] = FAMILY_DEFS.map((f) => f.name);
export const MODALITIES: readonly Modality[] = ['video', 'image', 'text'];
export const DIFFICULTIES: readonly number[] = [1, 2, 3];
export const DEFAULT_FRAMES = 8;

/** Families answerable in a modality (image: one frame, so only some families). */
export function familiesFor(modality: Modality): string[] {
  return FAMILY_DEFS.filter((f) => f.modalities.includes(modality)).map((f) => f.name);
}

export function splitOfSeed(seed: number): Split {
  for (const split of ['train', 'val', 'test'] as const) {
    const [lo, hi] = SPLIT_SEEDS[split];
    if (seed >= lo && seed < hi) return split;
  }
  throw new Error(`seed ${seed} is outside every split range (train [0, 1000000), val [1000000, 1100000), test [1100000, 1200000))`);
}

/** Difficulty: objects, same-colour distractors and motion complexity grow with the level. */
export function sceneOptions(difficulty: number, frames: number): SceneOptions {
  return {
    objects: difficulty + 1,
    frames,
    gridW: 8,
    gridH: 8,
    cellSize: 4,
    shareColors: difficulty >= 3,
    maxTurns: difficulty,
  };
}

export interface TaskOptions {
  family?: string;
  modality?: Modality;
  difficulty?: number;
  split?: Split;
  /** Frames per video (default 8). */
  frames?: number;
}

export function generateTask(seed: number, opts: TaskOptions = {}): Task {
  if (!Number.isSafeInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  const split = splitOfSeed(seed);
  if (opts.split && opts.split !== split) throw new Error(`seed ${seed} belongs to the ${split} split, not ${opts.split}`);
  const modality = opts.modality ?? 'video';
  if (!MODALITIES.includes(modality)) throw new Error(`unknown modality "${modality}" (expected ${MODALITIES.join(', ')})`);
  const difficulty = opts.difficulty ?? 2;
  if (!DIFFICULTIES.includes(difficulty)) throw new Error(`difficulty must be 1, 2 or 3, got ${difficulty}`);
  const frameCount = opts.frames ?? DEFAULT_FRAMES;
  if (!Number.isInteger(frameCount) || frameCount < 5 || frameCount > 31) throw new Error(`frames must be an integer in 5..31, got ${frameCount}`);

  const family = pickFamily(seed, modality, opts.family);
  const ctx: AskContext = { difficulty, modality };
  const rng = mulberry32(hashInts(seed, FAMILIES.indexOf(family.name), difficulty, frameCount));
  const options = sceneOptions(difficulty, frameCount);
  let facts: FactLog | null = null;
  let asked: Asked | null = null;
  for (let attempt = 0; attempt < 500 && !asked; attempt++) {
    const scene = sampleScene(rng, options, family.plan(rng, ctx));
    if (!scene) continue;
    facts = scene.facts;
    asked = family.ask(scene.facts, scene.planned, rng, ctx);
  }
  if (!asked || !facts) throw new Error(`could not generate a ${family.name} task for seed ${seed}`);

  const H = options.gridH * options.cellSize;
  const W = options.gridW * options.cellSize;
  let frames: Uint8Array | null = null;
  let frameShape: Task['frameShape'] = [0, 0, 0, 3];
  if (modality === 'video') {
    frames = renderFrames(facts);
    frameShape = [frameCount, H, W, 3];
  } else if (modality === 'image') {
    frames = renderImage(facts, family.imageView ?? 'last');
    frameShape = [1, H, W, 3];
  }
  return {
    id: `${split}-${seed}-${family.name}-${modality}-d${difficulty}`,
    seed,
    split,
    family: family.name,
    modality,
    difficulty,
    question: asked.question,
    options: asked.options,
    answer: asked.answer,
    answerType: asked.options ? 'mc' : 'numeric',
    frames,
    frameShape,
    sceneText: modality === 'text' ? describeScene(facts) : null,
    facts,
    cot: buildCots(asked, facts, mulberry32(hashInts(seed, 0xc07))),
  };
}

/**
 * Without an explicit family, seeds cycle through all families (so consecutive seeds are
 * balanced and video/text tasks of one seed ask the same question); a family the
 * modality cannot answer falls back to one it can.
 */
function pickFamily(seed: number, modality: Modality, name?: string): Family {
  if (name !== undefined) {
    const family = FAMILY_DEFS.find((f) => f.name === name);
    if (!family) throw new Error(`unknown family "${name}" (expected one of ${FAMILIES.join(', ')})`);
    if (!family.modalities.includes(modality)) throw new Error(`family "${name}" cannot be asked in the ${modality} modality (it supports ${family.modalities.join(', ')})`);
    return family;
  }
  const family = FAMILY_DEFS[seed % FAMILY_DEFS.length];
  if (family.modalities.includes(modality)) return family;
  const usable = FAMILY_DEFS.filter((f) => f.modalities.includes(modality));
  return usable[seed % usable.length];
}

/** The text modality: every frame in words, `frame 1 : red circle at 2 4 , blue square at 5 5 .` */
export function describeScene(facts: FactLog): string {
  return facts.frames
    .map((cells, i) => {
      const items = cells.map((c) => `${objectName(facts, c.id)} at ${c.x} ${c.y}`);
      return `frame ${i + 1} : ${items.length ? items.join(' , ') : 'nothing'} .`;
    })
    .join(' ');
}

export interface SampleOptions extends Omit<TaskOptions, 'split'> {
  n: number;
  seed: number;
  split?: Split;
  /** Return only tasks [from, n) of the sample, so threads can each build a slice of one batch. */
  from?: number;
}

/**
 * n tasks with consecutive seeds inside the split's range, starting at an offset derived
 * from `seed`: deterministic, and distinct seeds within one sample.
 */
export function sampleTasks(opts: SampleOptions): Task[] {
  const split = opts.split ?? 'train';
  if (!SPLIT_SEEDS[split]) throw new Error(`unknown split "${split}" (expected train, val or test)`);
  const [lo, hi] = SPLIT_SEEDS[split];
  if (!Number.isInteger(opts.n) || opts.n < 0 || opts.n > hi - lo) throw new Error(`n must be an integer in 0..${hi - lo}, got ${opts.n}`);
  const from = opts.from ?? 0;
  if (!Number.isInteger(from) || from < 0 || from > opts.n) throw new Error(`from must be an integer in 0..${opts.n}, got ${opts.from}`);
  const start = hashInts(opts.seed) % (hi - lo);
  const tasks: Task[] = [];
  for (let i = from; i < opts.n; i++) {
    const seed = lo + ((start + i) % (hi - lo));
    tasks.push(generateTask(seed, { family: opts.family, modality: opts.modality, difficulty: opts.difficulty, frames: opts.frames, split }));
  }
  return tasks;
}

/**
 * n tasks taking every (modality, difficulty) in turn, so a mixed list is balanced. With
 * `families`, every (family, modality, difficulty) those families are asked in, in turn.
 */
export function mixedTasks(n: number, seed: number, split: Split, families?: readonly string[]): Task[] {
  const cells = families
    ? families.flatMap((family) => {
        const def = FAMILY_DEFS.find((f) => f.name === family);
        if (!def) throw new Error(`unknown task family "${family}" (expected some of ${FAMILIES.join(', ')})`);
        return def.modalities.flatMap((modality) => DIFFICULTIES.map((difficulty) => ({ modality, difficulty, family })));
      })
    : MODALITIES.flatMap((modality) => DIFFICULTIES.map((difficulty) => ({ modality, difficulty })));
  const per = Math.ceil(n / cells.length);
  // Family cells draw with a salt of their own so a family list never replays the mixed list's tasks.
  const lists = cells.map((c, i) => sampleTasks({ n: per, seed: hashInts(seed, i, families ? 0x9a1 : 0x9a0), split, ...c }));
  const out: Task[] = [];
  for (let j = 0; j < per; j++) for (const list of lists) if (out.length < n) out.push(list[j]!);
  return out;
}
