// The grounding check: find every "frame F : colour shape at X Y" and "frame F : colour
// shape is not visible" claim in a chain of thought and score it against the fact log.
// Absences count: a chain that calls an object absent from frames where it is visible
// (entry_side's typical misreading) is as ungrounded as one that puts it in the wrong cell.
// Lists ("frame 2 : red circle at 1 1 , blue square at 3 3") yield one claim per entry.
// A claim immediately followed by `wait ,` is marked retracted: the model noticed it was
// wrong, and it is not counted against it.
import { COLORS, SHAPES, type FactLog } from './scene';

export interface Claim {
  /** 1-based frame as written. */
  frame: number;
  color: string;
  shape: string;
  /** The cell claimed, or null for "is not visible". */
  at: { x: number; y: number } | null;
  /** [start, end) character offsets of the claim in the text. */
  span: [number, number];
  /** True when the next words are `wait ,` (a self-correction follows). */
  retracted?: boolean;
}

interface Word {
  text: string;
  start: number;
  end: number;
}

function words(text: string): Word[] {
  const out: Word[] = [];
  for (const m of text.matchAll(/<\/?(?:think|answer)>|[^\s<]+|</g)) out.push({ text: m[0], start: m.index!, end: m.index! + m[0].length });
  return out;
}

const isInt = (s: string | undefined) => s !== undefined && /^\d+$/.test(s);
const colorSet = new Set<string>(COLORS);
const shapeSet = new Set<string>(SHAPES);

export function parseClaims(text: string): Claim[] {
  const w = words(text);
  const claims: Claim[] = [];
  for (let i = 0; i + 2 < w.length; i++) {
    if (w[i].text !== 'frame' || !isInt(w[i + 1].text) || w[i + 2].text !== ':') continue;
    const frame = Number(w[i + 1].text);
    let j = i + 3;
    let start = w[i].start;
    // colour shape at X Y [, colour shape at X Y]*  |  colour shape is not visible
    for (;;) {
      const [c, s, at, x, y] = [w[j], w[j + 1], w[j + 2], w[j + 3], w[j + 4]];
      if (!c || !colorSet.has(c.text) || !s || !shapeSet.has(s.text)) break;
      let claim: Claim;
      if (at?.text === 'at' && isInt(x?.text) && isInt(y?.text)) {
        claim = { frame, color: c.text, shape: s.text, at: { x: Number(x.text), y: Number(y.text) }, span: [start, y.end] };
      } else if (at?.text === 'is' && x?.text === 'not' && y?.text === 'visible') {
        claim = { frame, color: c.text, shape: s.text, at: null, span: [start, y.end] };
      } else break;
      j += 5;
      const k = w[j]?.text === '.' ? j + 1 : j;
      if (w[k]?.text === 'wait' && w[k + 1]?.text === ',') claim.retracted = true;
      claims.push(claim);
      if (w[j]?.text !== ',') break;
      j += 1;
      start = w[j]?.start ?? start;
    }
    i = j - 1;
  }
  return claims;
}

/** A claim in one canonical form ("frame 2 : red circle at 1 1"), whether it was written alone or in a list. */
export function readingText(c: Claim): string {
  return `frame ${c.frame} : ${c.color} ${c.shape} ${c.at ? `at ${c.at.x} ${c.at.y}` : 'is not visible'}`;
}

export function isGrounded(claim: Claim, facts: FactLog): boolean {
  const cells = facts.frames[claim.frame - 1];
  if (!cells) return false;
  const named = cells.filter((cell) => facts.objects[cell.id].color === claim.color && facts.objects[cell.id].shape === claim.shape);
  const at = claim.at;
  return at ? named.some((cell) => cell.x === at.x && cell.y === at.y) : named.length === 0;
}

/**
 * A self-corrected reading: a claim the fact log contradicts, retracted with `wait ,`, and the
 * next claim about the same object in the same frame, which the fact log supports. This is the
 * benchmark's exact notion of reflection: the chain noticed a misreading and fixed it.
 */
export interface Correction {
  wrong: Claim;
  fixed: Claim;
}

export function findCorrections(claims: Claim[], facts: FactLog): Correction[] {
  const out: Correction[] = [];
  claims.forEach((c, i) => {
    const next = claims[i + 1];
    if (!c.retracted || !next || isGrounded(c, facts)) return;
    if (next.frame === c.frame && next.color === c.color && next.shape === c.shape && isGrounded(next, facts)) out.push({ wrong: c, fixed: next });
  });
  return out;
}

/** Share of (non-retracted) claims the fact log supports (1 when there are none), and the self-corrected readings. */
export function scoreGrounding(
  text: string,
  facts: FactLog,
): { total: number; grounded: number; rate: number; ungrounded: Claim[]; corrections: Correction[] } {
  const all = parseClaims(text);
  const claims = all.filter((c) => !c.retracted);
  const ungrounded = claims.filter((c) => !isGrounded(c, facts));
  const grounded = claims.length - ungrounded.length;
  return { total: claims.length, grounded, rate: claims.length ? grounded / claims.length : 1, ungrounded, corrections: findCorrections(all, facts) };
}

/** The last `so the answer is X` inside the think block (or anywhere if no tags), or null. */
export function extractConclusion(text: string): string | null {
  const think = /<think>([\s\S]*?)(?:<\/think>|$)/.exec(text)?.[1] ?? text;
  const all = [...think.matchAll(/so the answer is (\S+)/g)];
  return all.length ? all[all.length - 1][1] : null;
}

/** The content of the last `<answer>…</answer>`, trimmed, or null. */
export function extractAnswer(text: string): string | null {
  const all = [...text.matchAll(/<answer>([\s\S]*?)<\/answer>/g)];
  return all.length ? all[all.length - 1][1].trim() : null;
}
