import { describe, expect, it } from 'vitest';
import { lineChartSvg, niceTicks } from '../../src/main/io/svg-chart';

describe('lineChartSvg', () => {
  it('nice ticks cover the range with round steps', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(3, 47)).toEqual([0, 10, 20, 30, 40, 50]);
    const flat = niceTicks(5, 5);
    expect(flat[0]).toBeLessThan(5);
    expect(flat[flat.length - 1]).toBeGreaterThan(5);
  });

  it('draws one path per multi-point series, escapes names, skips non-finite points', () => {
    const svg = lineChartSvg({
      title: 'a < b & c',
      xLabel: 'step',
      yLabel: 'acc',
      series: [
        { name: 'GRPO', points: [[0, 0.1], [10, 0.3], [20, NaN], [30, 0.5]] },
        { name: 'Ver<IPO>', points: [[0, 0.2], [30, 0.6]], dashed: true },
      ],
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg.match(/<circle /g)).toHaveLength(5);
    expect(svg).toContain('a &lt; b &amp; c');
    expect(svg).toContain('Ver&lt;IPO&gt;');
    expect(svg).toContain('stroke-dasharray');
    expect(svg).not.toContain('NaN');
  });

  it('draws an error bar per point within the y range, and markers without a line when asked', () => {
    const svg = lineChartSvg({
      title: 't',
      xLabel: 'runs averaged',
      yLabel: 'change',
      series: [{ name: 'mean', points: [[1, 0], [2, 0.02]], errors: [0.01, 0.5] }, { name: 'runs', points: [[1, 0.01], [1, -0.01]], markersOnly: true }],
    });
    const bars = [...svg.matchAll(/<line x1="([\d.]+)" y1="([\d.]+)" x2="\1" y2="([\d.]+)" stroke="#1f77b4" stroke-width="1"/g)];
    expect(bars).toHaveLength(2);
    // The second bar (0.02 ± 0.5) is 50 times the first's length and sets the y range.
    const len = (b: RegExpMatchArray) => Math.abs(Number(b[2]) - Number(b[3]));
    expect(len(bars[1]!) / len(bars[0]!)).toBeCloseTo(50, 0);
    // Inside the frame (top edge at y = 40).
    expect(Math.min(...bars.flatMap((b) => [Number(b[2]), Number(b[3])]))).toBeGreaterThanOrEqual(40);
    expect(svg.match(/<path /g)).toHaveLength(1);
    expect(svg.match(/<circle /g)).toHaveLength(5); // four points and the markers-only legend entry
  });
});
