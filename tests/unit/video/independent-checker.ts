// An answer checker written separately from the generator: it parses the question TEXT,
// looks objects up by colour and shape, and recomputes the answer from the per-frame
// cells of the fact log only (never from its events or from the generator's helpers).
import type { FactLog, Task } from '../../../src/main/video';

type Cell = { x: number; y: number } | null;

function track(facts: FactLog, color: string, shape: string): Cell[] {
  const matches = facts.objects.filter((o) => o.color === color && o.shape === shape);
  if (matches.length !== 1) throw new Error(`expected exactly one ${color} ${shape}, found ${matches.length}`);
  const id = matches[0].id;
  return facts.frames.map((cells) => {
    const c = cells.find((cell) => cell.id === id);
    return c ? { x: c.x, y: c.y } : null;
  });
}

const NAMES: Record<string, string> = { '1,0': 'right', '-1,0': 'left', '0,1': 'down', '0,-1': 'up' };

/** Unit steps between consecutive frames where the object is visible in both; null when still. */
function steps(path: Cell[]): Array<[number, number] | null> {
  const out: Array<[number, number] | null> = [];
  for (let i = 1; i < path.length; i++) {
    const a = path[i - 1];
    const b = path[i];
    if (!a || !b) continue;
    const d: [number, number] = [b.x - a.x, b.y - a.y];
    if (Math.abs(d[0]) + Math.abs(d[1]) > 1) throw new Error(`jump between frames ${i} and ${i + 1}`);
    out.push(d[0] === 0 && d[1] === 0 ? null : d);
  }
  return out;
}

function turnKinds(path: Cell[]): string[] {
  const s = steps(path);
  const kinds: string[] = [];
  for (let i = 1; i < s.length; i++) {
    const a = s[i - 1];
    const b = s[i];
    if (!a || !b || (a[0] === b[0] && a[1] === b[1])) continue;
    const cross = a[0] * b[1] - a[1] * b[0];
    const dot = a[0] * b[0] + a[1] * b[1];
    kinds.push(dot < 0 ? 'reverse' : cross > 0 ? 'clockwise' : 'counter-clockwise');
  }
  return kinds;
}

/** 1-based frame of the first time `pred(i)` holds for frame index i >= from. */
function firstFrame(n: number, from: number, pred: (i: number) => boolean): number {
  for (let i = from; i < n; i++) if (pred(i)) return i + 1;
  return Infinity;
}

const same = (a: Cell, b: Cell) => !!a && !!b && a.x === b.x && a.y === b.y;

/** The expected answer text (MC option text or integer string) for a task. */
export function expectedAnswer(task: Task): string {
  const { facts, question: q } = task;
  const T = facts.frameCount;
  let m: RegExpMatchArray | null;

  if ((m = q.match(/^which way does the (\w+) (\w+) move \?$/))) {
    const dirs = new Set(steps(track(facts, m[1], m[2])).filter(Boolean).map((d) => NAMES[d!.join(',')]));
    if (dirs.size > 1) throw new Error('direction asked about an object that moves in several directions');
    return dirs.size ? [...dirs][0] : 'it does not move';
  }
  if ((m = q.match(/^how does the (\w+) (\w+) rotate \?$/))) {
    const k = turnKinds(track(facts, m[1], m[2]));
    if (k.length === 0) return 'it does not rotate';
    const r = k.indexOf('reverse');
    if (r < 0) {
      if (k.length < 2 || new Set(k).size !== 1) throw new Error(`not a clean rotation: ${k}`);
      return k[0];
    }
    const before = new Set(k.slice(0, r));
    const after = new Set(k.slice(r + 1));
    if (before.size !== 1 || after.size !== 1 || k.lastIndexOf('reverse') !== r) throw new Error(`not a clean reversal: ${k}`);
    return `${[...before][0]} then ${[...after][0]}`;
  }
  if ((m = q.match(/^how many times does the (\w+) (\w+) turn \?$/))) {
    return String(turnKinds(track(facts, m[1], m[2])).length);
  }
  if (q === 'which happens first ?') {
    const frameOf = (option: string): number => {
      const [, color, shape, verb] = option.match(/^the (\w+) (\w+) (\w+)$/)!;
      const p = track(facts, color, shape);
      if (verb === 'appears') return firstFrame(T, 1, (i) => !p[i - 1] && !!p[i]);
      if (verb === 'leaves') return firstFrame(T, 1, (i) => !!p[i - 1] && !p[i]);
      if (verb === 'stops') return firstFrame(T, 2, (i) => same(p[i], p[i - 1]) && !!p[i - 2] && !same(p[i - 1], p[i - 2]));
      if (verb === 'turns') {
        return firstFrame(T, 2, (i) => {
          if (!p[i] || !p[i - 1] || !p[i - 2]) return false;
          const a = [p[i - 1]!.x - p[i - 2]!.x, p[i - 1]!.y - p[i - 2]!.y];
          const b = [p[i]!.x - p[i - 1]!.x, p[i]!.y - p[i - 1]!.y];
          return (a[0] || a[1]) !== 0 && (b[0] || b[1]) !== 0 && (a[0] !== b[0] || a[1] !== b[1]);
        });
      }
      throw new Error(`unknown event verb ${verb}`);
    };
    const frames = task.options!.map(frameOf);
    const best = Math.min(...frames);
    if (!Number.isFinite(best) || frames.filter((f) => f === best).length !== 1) throw new Error(`order: no unique earliest event ${frames}`);
    return task.options![frames.indexOf(best)];
  }
  if ((m = q.match(/^in the last frame , where is the (\w+) (\w+) relative to the (\w+) (\w+) \?$/))) {
    const a = track(facts, m[1], m[2])[T - 1]!;
    const b = track(facts, m[3], m[4])[T - 1]!;
    if (a.x === b.x || a.y === b.y) return 'in the same row or column';
    return `${a.y < b.y ? 'above' : 'below'} and ${a.x < b.x ? 'left' : 'right'}`;
  }
  if ((m = q.match(/^how many objects are visible in (?:frame (\d+)|the last frame) \?$/))) {
    const f = m[1] ? Number(m[1]) : T;
    return String(facts.objects.filter((o) => track(facts, o.color, o.shape)[f - 1]).length);
  }
  if ((m = q.match(/^from which side does the (\w+) (\w+) enter \?$/))) {
    const p = track(facts, m[1], m[2]);
    const first = p.findIndex(Boolean);
    if (first === 0) return 'it is visible from the start';
    const c = p[first]!;
    if (c.x === 0) return 'left';
    if (c.x === facts.gridW - 1) return 'right';
    if (c.y === 0) return 'top';
    if (c.y === facts.gridH - 1) return 'bottom';
    throw new Error('entered but first seen away from the border');
  }
  throw new Error(`checker does not know the question "${q}"`);
}

/** The task's own answer as text: the option for MC, the integer for numeric. */
export function statedAnswer(task: Task): string {
  return task.answerType === 'mc' ? task.options!['ABCDE'.indexOf(task.answer)] : task.answer;
}
