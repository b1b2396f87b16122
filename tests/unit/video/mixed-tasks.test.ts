import { describe, it, expect } from 'vitest';
import { mixedTasks } from '../../../src/main/video/tasks';

describe('mixedTasks (balanced training lists, optionally of some families)', () => {
  it('draws only the listed families, each in every modality it is asked in', () => {
    const tasks = mixedTasks(60, 3, 'train', ['rotation', 'count_visible']);
    expect(tasks).toHaveLength(60);
    expect(new Set(tasks.map((t) => t.family))).toEqual(new Set(['rotation', 'count_visible']));
    // rotation is never asked of a single image; count_visible is asked in all three.
    expect(tasks.some((t) => t.family === 'rotation' && t.modality === 'image')).toBe(false);
    expect(new Set(tasks.filter((t) => t.family === 'count_visible').map((t) => t.modality))).toEqual(new Set(['video', 'image', 'text']));
    expect(new Set(tasks.map((t) => t.id)).size).toBe(60);
  });

  it('leaves the unfiltered list as it was and names an unknown family', () => {
    const all = mixedTasks(18, 3, 'train');
    expect(new Set(all.map((t) => t.family)).size).toBeGreaterThan(3);
    expect(() => mixedTasks(10, 3, 'train', ['count_visible', 'colour'])).toThrow(/unknown task family "colour"/);
  });
});
