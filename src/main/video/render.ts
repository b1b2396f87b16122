// Rendering a fact log to small RGB frames: a dark checkerboard (so cells are visible)
// with one 4x4 sprite per visible object. Rendering reads only the FactLog, so the pixels
// always agree with the ground truth the questions and grounding check use.
import type { Color, FactLog, Shape } from './scene';

export const PALETTE: Record<Color, readonly [number, number, number]> = {
  red: [235, 50, 45],
  green: [40, 200, 70],
  blue: [60, 110, 255],
  yellow: [245, 220, 40],
  purple: [185, 70, 230],
};

const BACKGROUND: readonly [readonly [number, number, number], readonly [number, number, number]] = [
  [22, 22, 28],
  [44, 44, 54],
];

// 4x4 masks, row by row; '#' = object pixel.
const SPRITES: Record<Shape, string[]> = {
  circle: ['.##.', '####', '####', '.##.'],
  square: ['####', '####', '####', '####'],
  triangle: ['#...', '##..', '###.', '####'],
  cross: ['#..#', '.##.', '.##.', '#..#'],
};

function fillBackground(out: Uint8Array, offset: number, facts: FactLog): void {
  const W = facts.gridW * facts.cellSize;
  const H = facts.gridH * facts.cellSize;
  for (let py = 0; py < H; py++) {
    for (let px = 0; px < W; px++) {
      const cell = (Math.floor(px / facts.cellSize) + Math.floor(py / facts.cellSize)) % 2;
      out.set(BACKGROUND[cell], offset + (py * W + px) * 3);
    }
  }
}

/** Draws the objects of frame `frame` (1-based), blended with weight `alpha` over what is there. */
function drawFrameObjects(out: Uint8Array, offset: number, facts: FactLog, frame: number, alpha = 1): void {
  const W = facts.gridW * facts.cellSize;
  const cs = facts.cellSize;
  for (const cell of facts.frames[frame - 1]) {
    const ob = facts.objects[cell.id];
    const color = PALETTE[ob.color];
    const sprite = SPRITES[ob.shape];
    for (let sy = 0; sy < cs; sy++) {
      for (let sx = 0; sx < cs; sx++) {
        // Nearest-neighbour lookup keeps the sprites usable for any cell size.
        if (sprite[Math.floor((sy * 4) / cs)][Math.floor((sx * 4) / cs)] !== '#') continue;
        const i = offset + ((cell.y * cs + sy) * W + cell.x * cs + sx) * 3;
        for (let ch = 0; ch < 3; ch++) out[i + ch] = Math.round(alpha * color[ch] + (1 - alpha) * out[i + ch]);
      }
    }
  }
}

/** All frames, T*H*W*3 bytes, row-major RGB. */
export function renderFrames(facts: FactLog): Uint8Array {
  const size = facts.gridW * facts.cellSize * facts.gridH * facts.cellSize * 3;
  const out = new Uint8Array(size * facts.frameCount);
  for (let f = 1; f <= facts.frameCount; f++) {
    fillBackground(out, (f - 1) * size, facts);
    drawFrameObjects(out, (f - 1) * size, facts, f);
  }
  return out;
}

/**
 * One H*W*3 image. 'last' = the final frame. 'trail' = a motion-trail composite: every
 * frame drawn in order, earlier frames fainter, the last at full strength, so the
 * direction of motion can be read from a single image.
 */
export function renderImage(facts: FactLog, view: 'last' | 'trail'): Uint8Array {
  const out = new Uint8Array(facts.gridW * facts.cellSize * facts.gridH * facts.cellSize * 3);
  fillBackground(out, 0, facts);
  const T = facts.frameCount;
  if (view === 'last') drawFrameObjects(out, 0, facts, T);
  else for (let f = 1; f <= T; f++) drawFrameObjects(out, 0, facts, f, f === T ? 1 : 0.15 + (0.45 * (f - 1)) / Math.max(1, T - 2));
  return out;
}
