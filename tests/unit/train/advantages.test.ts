import { describe, expect, it } from 'vitest';
import { dynamicSamplingKeep, groupAdvantages, temporalBonus, unbiasedStd } from '../../../src/main/train/advantages';

describe('groupAdvantages', () => {
  it('centres and scales by the group std (unbiased, + 1e-4) as TRL does', () => {
    // Group 1: [1, 0, 0, 1] mean .5, unbiased std sqrt(1/3) = 0.57735.
    // Group 2: [2, 0, 0, 0] mean .5, std sqrt((2.25 + 3 * .25) / 3) = 1.
    const a = groupAdvantages([1, 0, 0, 1, 2, 0, 0, 0], 4, 'group');
    const s1 = 0.5773502691896258 + 1e-4;
    const expected = [0.5 / s1, -0.5 / s1, -0.5 / s1, 0.5 / s1, 1.5 / 1.0001, -0.5 / 1.0001, -0.5 / 1.0001, -0.5 / 1.0001];
    a.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 10));
  });

  it('batch scaling divides by the std of all rewards, none only centres', () => {
    const r = [1, 0, 0, 1, 2, 0, 0, 0];
    // mean .5, squares of deviations .25*6 + 2.25 + .25 = 4 -> var 4/7
    const batchStd = Math.sqrt(4 / 7);
    const b = groupAdvantages(r, 4, 'batch');
    expect(b[4]).toBeCloseTo(1.5 / (batchStd + 1e-4), 10);
    expect(b[0]).toBeCloseTo(0.5 / (batchStd + 1e-4), 10);
    expect(groupAdvantages(r, 4, 'none')).toEqual([0.5, -0.5, -0.5, 0.5, 1.5, -0.5, -0.5, -0.5]);
  });

  it('constant-reward groups get exactly zero advantage in every scaling mode', () => {
    for (const mode of ['group', 'batch', 'none'] as const) {
      const a = groupAdvantages([0.7, 0.7, 0.7, 1, 0, 1], 3, mode);
      expect(a.slice(0, 3)).toEqual([0, 0, 0]);
      expect(a.slice(3).some((x) => x !== 0)).toBe(true);
    }
  });

  it('rejects a batch that is not whole groups', () => {
    expect(() => groupAdvantages([1, 2, 3], 2, 'group')).toThrow(/multiple of groupSize/);
  });

  it('unbiasedStd matches the n-1 formula', () => {
    expect(unbiasedStd([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(unbiasedStd([3])).toBe(0);
  });
});

describe('dynamicSamplingKeep', () => {
  it('drops groups whose rewards are all equal, row by row', () => {
    expect(dynamicSamplingKeep([1, 1, 1, 0, 1, 1, 0, 0, 0], 3)).toEqual([false, false, false, true, true, true, false, false, false]);
  });
});

describe('temporalBonus (T-GRPO)', () => {
  it('adds alpha to correct ordered answers when p >= mu * p_shuffled', () => {
    // p = 3/4 = .75, p~ = 2/4 = .5, .75 >= .4
    expect(temporalBonus([true, false, true, true], [true, true, false, false])).toEqual([0.3, 0, 0.3, 0.3]);
  });
  it('gives nothing when shuffled frames do as well (order not used)', () => {
    // p = .5, p~ = 1, .5 < .8
    expect(temporalBonus([true, false, true, false], [true, true, true, true])).toEqual([0, 0, 0, 0]);
  });
  it('threshold is inclusive and alpha/mu are parameters', () => {
    // p = .5, p~ = .625 -> mu * p~ = .5 exactly
    const shuffled = [true, true, true, true, true, false, false, false];
    expect(temporalBonus([true, false], shuffled, 0.5, 0.8)).toEqual([0.5, 0]);
    expect(temporalBonus([true, false], shuffled, 0.5, 0.81)).toEqual([0, 0]);
  });
});

