// Minimal PNG writer (8-bit RGB, no filtering, zlib from node) and the filmstrip a person
// looks at: all frames side by side, scaled up with nearest neighbour, numbered.
import { deflateSync } from 'node:zlib';
import { renderFrames } from './render';
import type { Task } from './tasks';

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function encodePng(rgb: Uint8Array, width: number, height: number): Buffer {
  if (rgb.length !== width * height * 3) throw new Error(`encodePng: expected ${width * height * 3} bytes for ${width}x${height} RGB, got ${rgb.length}`);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour RGB
  // Each scanline starts with filter type 0 (None).
  const raw = Buffer.alloc(height * (width * 3 + 1));
  for (let y = 0; y < height; y++) raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (width * 3 + 1) + 1);
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

// 3x5 digits for frame numbers above each tile.
const DIGITS = [
  '111101101101111', '010110010010111', '111001111100111', '111001111001111', '101101111001001',
  '111100111001111', '111100111101111', '111001001001001', '111101111101111', '111101111001111',
];

export interface FilmstripLayout {
  width: number;
  height: number;
}

const MARGIN = 8;
const LABEL = 10; // digit height (5 px at scale 2)
const GAP = 8;

export function filmstripLayout(frames: number, frameH: number, frameW: number, scale: number): FilmstripLayout {
  return {
    width: MARGIN * 2 + frames * frameW * scale + (frames - 1) * GAP,
    height: MARGIN * 2 + LABEL + 4 + frameH * scale,
  };
}

/** Frames side by side, each scaled `scale` times, labelled with its frame number. */
export function filmstripPng(task: Task, scale = 4): Buffer {
  let [T, H, W] = task.frameShape;
  let frames = task.frames;
  if (!frames) {
    // Text tasks carry no pixels; draw the scene they describe.
    frames = renderFrames(task.facts);
    T = task.facts.frameCount;
    H = task.facts.gridH * task.facts.cellSize;
    W = task.facts.gridW * task.facts.cellSize;
  }
  const { width, height } = filmstripLayout(T, H, W, scale);
  const out = new Uint8Array(width * height * 3).fill(96);
  const put = (x: number, y: number, v: number) => out.fill(v, (y * width + x) * 3, (y * width + x) * 3 + 3);
  for (let t = 0; t < T; t++) {
    const left = MARGIN + t * (W * scale + GAP);
    const top = MARGIN + LABEL + 4;
    // One-frame tasks (image modality) show the last frame or a trail: label it with T.
    const label = String(T === 1 ? task.facts.frameCount : t + 1);
    label.split('').forEach((ch, k) => {
      const glyph = DIGITS[Number(ch)];
      for (let gy = 0; gy < 5; gy++)
        for (let gx = 0; gx < 3; gx++)
          if (glyph[gy * 3 + gx] === '1')
            for (let s = 0; s < 4; s++) put(left + k * 8 + gx * 2 + (s & 1), MARGIN + gy * 2 + (s >> 1), 255);
    });
    for (let y = 0; y < H * scale; y++) {
      for (let x = 0; x < W * scale; x++) {
        const src = ((t * H + Math.floor(y / scale)) * W + Math.floor(x / scale)) * 3;
        out.set(frames.subarray(src, src + 3), ((top + y) * width + left + x) * 3);
      }
    }
  }
  return encodePng(out, width, height);
}
