// Axis scales and tick labels for the charts: pure, so they are unit-tested without a canvas.

/** Tick labels with as many significant digits as the tick spacing needs (no row of "0"). */
export function formatTicks(ticks: number[]): string[] {
  if (ticks.length === 0) return [];
  const step = ticks.length > 1 ? Math.abs(ticks[1]! - ticks[0]!) : Math.abs(ticks[0]!) || 1;
  const big = Math.max(...ticks.map(Math.abs));
  if (big !== 0 && (big < 1e-3 || big >= 1e6)) return ticks.map((t) => (t === 0 ? '0' : t.toExponential(Math.max(0, Math.min(4, Math.ceil(-Math.log10(step / Math.abs(t || 1))))))));
  const decimals = step > 0 ? Math.max(0, Math.min(8, Math.ceil(-Math.log10(step) + 1e-9))) : 0;
  return ticks.map((t) => t.toFixed(decimals));
}

/** y range with 8 % headroom; a flat series gets a band around its value; `nonNegative` keeps 0 as floor. */
export function yRange(min: number, max: number, nonNegative: boolean): [number, number] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (min === max) {
    const pad = Math.abs(min) * 0.1 || 0.01;
    return [nonNegative ? Math.max(0, min - pad) : min - pad, max + pad];
  }
  const pad = (max - min) * 0.08;
  return [nonNegative && min >= 0 ? Math.max(0, min - pad) : min - pad, max + pad];
}
