import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PNG_SIGNATURE, encodePng, filmstripPng, generateTask } from '../../../src/main/video';
import { crc32 } from '../../../src/main/video/png';
import { command } from '../../../src/main/cli/tasks';

/** A decoder for the subset we write (8-bit RGB, filter 0), written against the PNG spec. */
function decodePng(png: Buffer): { width: number; height: number; rgb: Uint8Array } {
  expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  let off = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  for (;;) {
    const len = png.readUInt32BE(off);
    const type = png.toString('ascii', off + 4, off + 8);
    const data = png.subarray(off + 8, off + 8 + len);
    expect(png.readUInt32BE(off + 8 + len)).toBe(crc32(png.subarray(off + 4, off + 8 + len)));
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect([data[8], data[9]]).toEqual([8, 2]);
    } else if (type === 'IDAT') idat.push(data);
    off += 12 + len;
    if (type === 'IEND') break;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (width * 3 + 1)]).toBe(0);
    rgb.set(raw.subarray(y * (width * 3 + 1) + 1, (y + 1) * (width * 3 + 1)), y * width * 3);
  }
  return { width, height, rgb };
}

afterEach(() => vi.restoreAllMocks());

describe('png', () => {
  it('encodes pixels that decode back exactly', () => {
    const rgb = new Uint8Array(5 * 3 * 3).map((_, i) => (i * 37) % 256);
    const png = encodePng(rgb, 5, 3);
    const out = decodePng(png);
    expect([out.width, out.height]).toEqual([5, 3]);
    expect(Buffer.from(out.rgb).equals(Buffer.from(rgb))).toBe(true);
    expect(() => encodePng(rgb, 4, 3)).toThrow(/expected 36 bytes/);
  });

  it('filmstrip: frames side by side, x4 nearest neighbour', () => {
    const task = generateTask(3);
    const { width, height, rgb } = decodePng(filmstripPng(task));
    const [T, H, W] = task.frameShape;
    expect(width).toBe(16 + T * W * 4 + (T - 1) * 8);
    expect(height).toBe(16 + 14 + H * 4);
    // Pixel (x, y) of frame t sits at (8 + t*(4W+8) + 4x, 22 + 4y) and keeps its colour.
    for (const [t, x, y] of [[0, 0, 0], [T - 1, W - 1, H - 1], [3, 13, 21]]) {
      const src = ((t * H + y) * W + x) * 3;
      const dst = ((22 + 4 * y + 3) * width + 8 + t * (4 * W + 8) + 4 * x + 3) * 3;
      expect([...rgb.subarray(dst, dst + 3)]).toEqual([...task.frames!.subarray(src, src + 3)]);
    }
  });

  it('text tasks render their scene; image tasks render one tile', () => {
    expect(decodePng(filmstripPng(generateTask(3, { modality: 'text' }))).width).toBe(16 + 8 * 128 + 7 * 8);
    expect(decodePng(filmstripPng(generateTask(4, { modality: 'image', family: 'direction' }))).width).toBe(16 + 128);
  });

  it('`tasks render` writes a PNG and a text file and prints the path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'veripo-render-'));
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((out += String(c)), true));
    expect(await command.run(['render', '--seed', '12', '--out', dir, '--family', 'rotation'])).toBe(0);
    const png = out.trim();
    expect(png.endsWith('.png')).toBe(true);
    expect(decodePng(readFileSync(png)).height).toBe(16 + 14 + 128);
    const txt = readdirSync(dir).find((f) => f.endsWith('.txt'))!;
    const text = readFileSync(join(dir, txt), 'utf8');
    expect(text).toMatch(/question: how does the \w+ \w+ rotate \?/);
    expect(text).toMatch(/gold: <think>/);
    expect(text).toMatch(/reflective: /);
  });
});
