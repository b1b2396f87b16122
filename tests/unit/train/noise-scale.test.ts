import { describe, it, expect } from 'vitest';
import { mulberry32 } from '../../../src/main/model/sample';
import { noiseScale } from '../../../src/main/train/noise-scale';

/** K batch gradients = G + Gaussian noise of per-coordinate variance v (Box-Muller, seeded). */
function draws(G: number[], v: number, K: number, seed: number): Float32Array[] {
  const rand = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return Array.from({ length: K }, () => Float32Array.from(G, (g) => g + Math.sqrt(v) * gauss()));
}

describe('noiseScale (gradient noise scale from batch gradients)', () => {
  it('recovers |G|², tr(Σ)/B and B_simple from noisy draws', () => {
    // |G|² = 1 over 100 coordinates, per-coordinate variance 0.04: tr(Σ)/B = 4, so a batch of
    // B = 16 has SNR 1/4 and B_simple = 16 · 4 / 1 = 64.
    const G = Array.from({ length: 100 }, (_, i) => (i % 2 ? 0.1 : -0.1));
    const r = noiseScale(draws(G, 0.04, 400, 3), 16);
    expect(r.signal).toBeGreaterThan(0.9);
    expect(r.signal).toBeLessThan(1.1);
    // Jackknife SE: √(4 |G|² v / K) ≈ 0.02 here (the noise-by-noise term is smaller).
    expect(r.signalSe).toBeGreaterThan(0.01);
    expect(r.signalSe).toBeLessThan(0.04);
    expect(Math.abs(r.signal - 1)).toBeLessThan(4 * r.signalSe);
    expect(r.noisePerBatch).toBeGreaterThan(3.8);
    expect(r.noisePerBatch).toBeLessThan(4.2);
    expect(r.bSimple).toBeGreaterThan(55);
    expect(r.bSimple).toBeLessThan(73);
    // Two draws share the signal: cos ≈ |G|² / (|G|² + tr(Σ)/B) = 0.2.
    expect(r.meanCosine).toBeGreaterThan(0.15);
    expect(r.meanCosine).toBeLessThan(0.25);
  });

  it('reads pure noise as no signal, and noiseless draws as no noise', () => {
    const noise = noiseScale(draws(new Array(50).fill(0), 1, 200, 9), 8);
    expect(Math.abs(noise.signal)).toBeLessThan(0.05 * noise.noisePerBatch);
    expect(Math.abs(noise.meanCosine)).toBeLessThan(0.02);
    const clean = noiseScale(draws([3, 4], 0, 5, 1), 8);
    expect(clean.signal).toBeCloseTo(25, 4);
    expect(clean.noisePerBatch).toBeCloseTo(0, 6);
    expect(clean.signalSe).toBeCloseTo(0, 6);
    expect(clean.bSimple).toBeCloseTo(0, 6);
    expect(() => noiseScale([new Float32Array(3)], 8)).toThrow(/at least 2/);
  });
});
