import { describe, it, expect } from 'vitest';
import { changeByFamily, pairedChange } from '../lib/stats';
import type { Task } from '../../src/main/video/tasks';

describe('pairedChange (a run\'s before/after on the same tasks)', () => {
  it('measures the mean per-task change and its paired standard error', () => {
    // 10 tasks: 3 flip wrong -> right, 1 flips right -> wrong, the rest stay.
    const before = [0, 0, 0, 1, 1, 1, 0, 0, 1, 0];
    const after = [1, 1, 1, 0, 1, 1, 0, 0, 1, 0];
    const c = pairedChange(before, after);
    expect(c.delta).toBeCloseTo(0.2, 10);
    expect(c.improved).toBe(3);
    expect(c.worsened).toBe(1);
    // diffs: three 1s, one -1, six 0s: sample variance (3*0.64 + 1.44 + 6*0.04) / 9
    expect(c.se).toBeCloseTo(Math.sqrt((3 * 0.64 + 1.44 + 6 * 0.04) / 9 / 10), 10);
    expect(c.z).toBeCloseTo(c.delta / c.se, 10);
  });

  it('is zero with zero error when nothing changes, and rejects unequal lists', () => {
    expect(pairedChange([1, 0, 0.5], [1, 0, 0.5])).toMatchObject({ delta: 0, se: 0, z: 0, improved: 0, worsened: 0 });
    expect(() => pairedChange([1], [1, 0])).toThrow(/equal/);
  });
});

describe('changeByFamily', () => {
  it('pairs each family\'s tasks only', () => {
    const tasks = ['a', 'b', 'a', 'b', 'a'].map((family) => ({ family }) as Task);
    const c = changeByFamily(tasks, [0, 1, 0, 1, 1], [1, 1, 1, 0, 1]);
    expect(Object.keys(c)).toEqual(['a', 'b']);
    expect(c.a).toMatchObject({ delta: 2 / 3, improved: 2, worsened: 0 });
    expect(c.b).toMatchObject({ delta: -0.5, improved: 0, worsened: 1 });
  });
});
