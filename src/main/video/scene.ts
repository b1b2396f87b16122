// Scenes: a few coloured shapes on a small grid, each following a motion program over
// T frames. A scene is turned into a FactLog (per frame, which object is in which cell,
// plus the events that happened); everything downstream (rendering, questions, chains of
// thought, grounding) reads the FactLog, never the motion programs, so what is asked and
// what is drawn cannot disagree.
//
// Coordinates: x is the column (0 = left), y is the row (0 = top), so "up" is y - 1 and a
// right -> down turn is clockwise on screen. Frames are numbered from 1 in all text; in
// FactLog.frames the entry at index f - 1 describes frame f.
import { pick, randInt, shuffle, type Rng } from './prng';

export const COLORS = ['red', 'green', 'blue', 'yellow', 'purple'] as const;
export const SHAPES = ['circle', 'square', 'triangle', 'cross'] as const;
export type Color = (typeof COLORS)[number];
export type Shape = (typeof SHAPES)[number];

export const DIRECTIONS = ['left', 'right', 'up', 'down'] as const;
export type Direction = (typeof DIRECTIONS)[number];
export const DIR_VEC: Record<Direction, readonly [number, number]> = {
  left: [-1, 0],
  right: [1, 0],
  up: [0, -1],
  down: [0, 1],
};
export type Rotation = 'clockwise' | 'counter-clockwise';

export type ProgramKind = 'static' | 'straight' | 'stop' | 'turns' | 'orbit' | 'enter' | 'leave';

/** A motion program request; unset fields are sampled. */
export interface ProgramSpec {
  kind: ProgramKind;
  dir?: Direction;
  /** turns: number of 90 degree turns. */
  turns?: number;
  /** orbit: clockwise or not, and whether it reverses once. */
  clockwise?: boolean;
  reverse?: boolean;
}

export interface FactObject {
  id: number;
  color: Color;
  shape: Shape;
  /** The motion program's kind; a hint for humans, not used to answer questions. */
  program: ProgramKind;
}

export interface FactCell {
  id: number;
  x: number;
  y: number;
}

export type FactEventKind = 'appeared' | 'left' | 'moved' | 'turned' | 'reversed' | 'stopped';

export interface FactEvent {
  /** 1-based frame in which the event is first visible. */
  frame: number;
  id: number;
  kind: FactEventKind;
  /** moved / turned / reversed: the new direction of motion. */
  dir?: Direction;
  /** turned: which way the 90 degree turn goes on screen. */
  rotation?: Rotation;
}

export interface FactLog {
  frameCount: number;
  gridW: number;
  gridH: number;
  cellSize: number;
  objects: FactObject[];
  /** frames[f - 1] = objects visible in frame f, in id order. */
  frames: FactCell[][];
  events: FactEvent[];
}

export interface SceneOptions {
  objects: number;
  frames: number;
  gridW: number;
  gridH: number;
  cellSize: number;
  /** Allow two objects to share a colour (or a shape): same-colour distractors. */
  shareColors: boolean;
  /** Upper bound on random turns/reversals for background objects. */
  maxTurns: number;
}

type Path = Array<[number, number]>;

const inside = (o: SceneOptions, [x, y]: [number, number]) => x >= 0 && y >= 0 && x < o.gridW && y < o.gridH;

function perpendicular(rng: Rng, d: Direction): Direction {
  return d === 'left' || d === 'right' ? pick(rng, ['up', 'down'] as const) : pick(rng, ['left', 'right'] as const);
}

/** One attempt at a path for a program; null when it does not fit the grid. */
function samplePath(rng: Rng, spec: ProgramSpec, o: SceneOptions): Path | null {
  const T = o.frames;
  const dir = spec.dir ?? pick(rng, DIRECTIONS);
  const [dx, dy] = DIR_VEC[dir];
  const start = (): [number, number] => [randInt(rng, 0, o.gridW - 1), randInt(rng, 0, o.gridH - 1)];
  const walk = (p0: [number, number], moves: Array<Direction | null>): Path => {
    const path: Path = [p0];
    let [x, y] = p0;
    for (const m of moves) {
      if (m) {
        x += DIR_VEC[m][0];
        y += DIR_VEC[m][1];
      }
      path.push([x, y]);
    }
    return path;
  };
  const allInside = (p: Path) => (p.every((c) => inside(o, c)) ? p : null);

  switch (spec.kind) {
    case 'static':
      return walk(start(), new Array<null>(T - 1).fill(null));
    case 'straight': {
      // Start where T - 1 steps still fit, instead of rejecting most random starts.
      const span = T - 1;
      const lo = (d: number) => (d < 0 ? span : 0);
      const hi = (n: number, d: number) => (d > 0 ? n - 1 - span : n - 1);
      if (hi(o.gridW, dx) < lo(dx) || hi(o.gridH, dy) < lo(dy)) return null;
      const p0: [number, number] = [randInt(rng, lo(dx), hi(o.gridW, dx)), randInt(rng, lo(dy), hi(o.gridH, dy))];
      return allInside(walk(p0, new Array<Direction>(T - 1).fill(dir)));
    }
    case 'stop': {
      const moving = randInt(rng, 1, T - 2);
      const moves: Array<Direction | null> = [];
      for (let i = 0; i < T - 1; i++) moves.push(i < moving ? dir : null);
      return allInside(walk(start(), moves));
    }
    case 'turns': {
      const k = Math.min(spec.turns ?? randInt(rng, 1, o.maxTurns), T - 2);
      // k + 1 segments of length >= 1 summing to T - 1 steps; each turn is 90 degrees.
      const cuts = shuffle(
        rng,
        Array.from({ length: T - 2 }, (_, i) => i + 1),
      )
        .slice(0, k)
        .sort((a, b) => a - b);
      const moves: Direction[] = [];
      let d = dir;
      for (let i = 0; i < T - 1; i++) {
        if (cuts.includes(i)) d = perpendicular(rng, d);
        moves.push(d);
      }
      return allInside(walk(start(), moves));
    }
    case 'orbit': {
      // Walk the perimeter of an s x s block of cells (s = 1 or 2 steps per side).
      const side = randInt(rng, 1, 2);
      const ring: Direction[] = [];
      for (const d of ['right', 'down', 'left', 'up'] as const) for (let i = 0; i < side; i++) ring.push(d);
      const clockwise = spec.clockwise ?? rng() < 0.5;
      const reverseAt = spec.reverse ? randInt(rng, 2, T - 3) : -1;
      let i = randInt(rng, 0, ring.length - 1);
      let step = clockwise ? 1 : -1;
      const moves: Direction[] = [];
      for (let t = 0; t < T - 1; t++) {
        if (t === reverseAt) step = -step;
        // Going forward we take ring[i]; going backward we undo ring[i - 1].
        if (step === 1) {
          moves.push(ring[i]);
          i = (i + 1) % ring.length;
        } else {
          i = (i - 1 + ring.length) % ring.length;
          moves.push(opposite(ring[i]));
        }
      }
      const [x0, y0] = start();
      return allInside(walk([x0, y0], moves));
    }
    case 'enter': {
      // Off-grid until frame `appear`, then on the edge it enters through, moving inward.
      const appear = randInt(rng, 2, T - 1);
      const lane = dx !== 0 ? randInt(rng, 1, o.gridH - 2) : randInt(rng, 1, o.gridW - 2);
      const edge: [number, number] =
        dx === 1 ? [0, lane] : dx === -1 ? [o.gridW - 1, lane] : dy === 1 ? [lane, 0] : [lane, o.gridH - 1];
      const path: Path = [];
      for (let f = 1; f <= T; f++) path.push([edge[0] + (f - appear) * dx, edge[1] + (f - appear) * dy]);
      return path;
    }
    case 'leave': {
      // On the grid until frame `gone - 1` (on the exit edge), off it from frame `gone`.
      const gone = randInt(rng, 2, T);
      const lane = dx !== 0 ? randInt(rng, 1, o.gridH - 2) : randInt(rng, 1, o.gridW - 2);
      const edge: [number, number] =
        dx === 1 ? [o.gridW - 1, lane] : dx === -1 ? [0, lane] : dy === 1 ? [lane, o.gridH - 1] : [lane, 0];
      const path: Path = [];
      for (let f = 1; f <= T; f++) path.push([edge[0] + (f - (gone - 1)) * dx, edge[1] + (f - (gone - 1)) * dy]);
      return path[0].every((v, a) => v >= 0 && v < (a === 0 ? o.gridW : o.gridH)) ? path : null;
    }
  }
}

export function opposite(d: Direction): Direction {
  return d === 'left' ? 'right' : d === 'right' ? 'left' : d === 'up' ? 'down' : 'up';
}

function randomSpec(rng: Rng, o: SceneOptions): ProgramSpec {
  const kind = pick(rng, ['static', 'straight', 'stop', 'turns', 'turns', 'orbit', 'enter', 'leave'] as const);
  return kind === 'orbit' ? { kind, reverse: o.maxTurns >= 2 && rng() < 0.3 } : { kind };
}

export interface Scene {
  facts: FactLog;
  /** Object ids of the requested programs, in request order (the question targets). */
  planned: number[];
}

/**
 * Samples a scene whose first objects follow `planned` programs (placed at random ids so
 * the target is not always object 0) and the rest random programs. Rejects layouts where
 * two visible objects share a cell. Returns null if no layout is found, so the caller can
 * resample its plan.
 */
export function sampleScene(rng: Rng, o: SceneOptions, planned: ProgramSpec[]): Scene | null {
  const count = Math.max(o.objects, planned.length);
  const ids = shuffle(
    rng,
    Array.from({ length: count }, (_, i) => i),
  );
  const specs: ProgramSpec[] = new Array(count);
  planned.forEach((s, i) => (specs[ids[i]] = s));
  for (let i = 0; i < count; i++) if (!specs[i]) specs[i] = randomSpec(rng, o);

  const looks = sampleLooks(rng, count, o.shareColors);
  for (let attempt = 0; attempt < 40; attempt++) {
    const paths: Path[] = [];
    for (const spec of specs) {
      let path: Path | null = null;
      for (let k = 0; k < 30 && !path; k++) path = samplePath(rng, spec, o);
      if (!path) return null;
      paths.push(path);
    }
    if (!collides(paths, o)) {
      const objects = specs.map((s, id) => ({ id, color: looks[id][0], shape: looks[id][1], program: s.kind }));
      return { facts: buildFactLog(objects, paths, o), planned: planned.map((_, i) => ids[i]) };
    }
  }
  return null;
}

function sampleLooks(rng: Rng, count: number, shareColors: boolean): Array<[Color, Shape]> {
  if (!shareColors) {
    const colors = shuffle(rng, COLORS).slice(0, count);
    return colors.map((c) => [c, pick(rng, SHAPES)]);
  }
  // Distractors: colours (or shapes) repeat, so only the full "colour shape" name identifies an object.
  const all: Array<[Color, Shape]> = [];
  for (const c of COLORS.slice(0, 3)) for (const s of SHAPES.slice(0, 3)) all.push([c, s]);
  return shuffle(rng, all).slice(0, count);
}

function collides(paths: Path[], o: SceneOptions): boolean {
  for (let f = 0; f < o.frames; f++) {
    const seen = new Set<number>();
    for (const p of paths) {
      if (!inside(o, p[f])) continue;
      const key = p[f][1] * o.gridW + p[f][0];
      if (seen.has(key)) return true;
      seen.add(key);
    }
  }
  return false;
}

function stepDirection(a: [number, number], b: [number, number]): Direction | null {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  if (dx === 0 && dy === 0) return null;
  for (const d of DIRECTIONS) if (DIR_VEC[d][0] === dx && DIR_VEC[d][1] === dy) return d;
  throw new Error(`non-unit step from ${a} to ${b}`);
}

/** Derives per-frame cells and events from full (possibly off-grid) paths. */
export function buildFactLog(objects: FactObject[], paths: Path[], o: SceneOptions): FactLog {
  const frames: FactCell[][] = [];
  for (let f = 0; f < o.frames; f++) {
    frames.push(
      objects.filter((ob) => inside(o, paths[ob.id][f])).map((ob) => ({ id: ob.id, x: paths[ob.id][f][0], y: paths[ob.id][f][1] })),
    );
  }
  const events: FactEvent[] = [];
  for (let f = 1; f < o.frames; f++) {
    for (const ob of objects) {
      const p = paths[ob.id];
      const was = inside(o, p[f - 1]);
      const is = inside(o, p[f]);
      const frame = f + 1;
      if (was && !is) events.push({ frame, id: ob.id, kind: 'left' });
      if (!was && is) events.push({ frame, id: ob.id, kind: 'appeared' });
      if (!was || !is) continue;
      const d = stepDirection(p[f - 1], p[f]);
      const prev = f >= 2 && inside(o, p[f - 2]) ? stepDirection(p[f - 2], p[f - 1]) : null;
      if (d) {
        events.push({ frame, id: ob.id, kind: 'moved', dir: d });
        if (prev && prev !== d) {
          if (prev === opposite(d)) events.push({ frame, id: ob.id, kind: 'reversed', dir: d });
          else events.push({ frame, id: ob.id, kind: 'turned', dir: d, rotation: turnRotation(prev, d) });
        }
      } else if (prev) {
        events.push({ frame, id: ob.id, kind: 'stopped' });
      }
    }
  }
  return { frameCount: o.frames, gridW: o.gridW, gridH: o.gridH, cellSize: o.cellSize, objects, frames, events };
}

/** With y pointing down, the cross product of two steps is positive for a clockwise turn. */
export function turnRotation(from: Direction, to: Direction): Rotation {
  const [ax, ay] = DIR_VEC[from];
  const [bx, by] = DIR_VEC[to];
  return ax * by - ay * bx > 0 ? 'clockwise' : 'counter-clockwise';
}

export function cellOf(facts: FactLog, frame: number, id: number): FactCell | undefined {
  return facts.frames[frame - 1]?.find((c) => c.id === id);
}

export function objectName(facts: FactLog, id: number): string {
  const ob = facts.objects[id];
  return `${ob.color} ${ob.shape}`;
}
