import { describe, it, expect } from 'vitest';
import { formatTicks, yRange } from '../../../src/renderer/src/components/scales';

describe('chart scales', () => {
  it('labels small ticks (KL) with distinct digits, never a row of "0"', () => {
    const labels = formatTicks([0, 0.002, 0.004, 0.006]);
    expect(new Set(labels).size).toBe(4);
    expect(labels).toEqual(['0.000', '0.002', '0.004', '0.006']);
    expect(new Set(formatTicks([0.00001, 0.00002, 0.00003])).size).toBe(3);
    expect(formatTicks([100, 200, 300])).toEqual(['100', '200', '300']);
  });

  it('gives an all-zero rate a small band at 0, not 0–100', () => {
    const [lo, hi] = yRange(0, 0, true);
    expect(lo).toBe(0);
    expect(hi).toBeLessThan(0.1);
    expect(yRange(0.2, 0.4, true)[0]).toBeGreaterThan(0.15);
    expect(yRange(-1, 1, false)[0]).toBeLessThan(-1);
  });
});
