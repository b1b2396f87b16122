// How RL stages split a step's work between threads: by its cost, not by its row count.
import { describe, it, expect } from 'vitest';
import { presetConfig } from '../../../src/main/model/config';
import { BENCHMARK_FRAME, benchmarkTokenizer } from '../../../src/main/model/prompt';
import type { Policy } from '../../../src/main/model/policy';
import type { PolicyPrompt } from '../../../src/main/model/inputs';
import { balancedRanges, paddedCost, prefixLength, type EncodedPair, type GrpoUpdateChunk } from '../../../src/main/train/data-parallel';
import { dpoShards } from '../../../src/main/train/dpo-parallel';
import { splitChunks } from '../../../src/main/train/grpo-update';

const tokenizer = benchmarkTokenizer();
// Only the config is read when costs are estimated.
const policy = { config: presetConfig('tiny', { vocab_size: tokenizer.size, ...BENCHMARK_FRAME }), params: new Map() } as Policy;

const sumCost = (costs: number[]) => (a: number, b: number) => costs.slice(a, b).reduce((s, c) => s + c, 0);
const prompt = (tokens: number): PolicyPrompt => ({ frames: null, numFrames: 0, tokens: Array.from({ length: tokens }, (_, i) => i + 1) });
const ids = (n: number, first = 1) => Array.from({ length: n }, (_, i) => first + i);

describe('balancedRanges', () => {
  it('cuts contiguous runs that minimise the costliest, the cheapest run first', () => {
    expect(balancedRanges(6, 2, sumCost([5, 1, 1, 1, 1, 1]))).toEqual([{ start: 0, end: 1 }, { start: 1, end: 6 }]);
    expect(balancedRanges(5, 2, sumCost([1, 1, 1, 1, 8]))).toEqual([{ start: 0, end: 4 }, { start: 4, end: 5 }]);
    // Count-based halves would give 3 | 10; the balanced cut gives 6 | 7, cheaper run first.
    expect(balancedRanges(4, 2, sumCost([1, 1, 4, 7]))).toEqual([{ start: 0, end: 3 }, { start: 3, end: 4 }]);
    const three = balancedRanges(6, 3, sumCost([2, 2, 2, 2, 2, 2]));
    expect(three.map((r) => r.end - r.start)).toEqual([2, 2, 2]);
  });

  it('never makes more runs than items, nor empty ones', () => {
    expect(balancedRanges(2, 4, sumCost([3, 3]))).toEqual([{ start: 0, end: 1 }, { start: 1, end: 2 }]);
    expect(balancedRanges(3, 1, sumCost([1, 2, 3]))).toEqual([{ start: 0, end: 3 }]);
  });

  it('works with a cost that pads every row to the longest', () => {
    const lens = [100, 100, 10, 10, 10, 10];
    const padded = (a: number, b: number) => paddedCost([], lens.slice(a, b));
    // [100, 100] costs 200 and [10 x 4] 40; any other cut puts a 100 with the 10s (>= 300).
    expect(balancedRanges(6, 2, padded)).toEqual([{ start: 2, end: 6 }, { start: 0, end: 2 }]);
  });
});

describe('paddedCost and prefixLength', () => {
  it('counts each prompt once at the longest prefix and each row at the longest completion', () => {
    expect(paddedCost([10, 30], [5, 50, 20])).toBe(2 * 30 + 3 * 50);
    expect(paddedCost([], [])).toBe(0);
  });

  it('adds the visual slots of a video prompt', () => {
    const c = policy.config;
    const video: PolicyPrompt = { frames: new Uint8Array(0), numFrames: 3, tokens: ids(12) };
    expect(prefixLength(policy, video)).toBe(12 + 3 * (c.keep_patches + 1));
    expect(prefixLength(policy, prompt(12))).toBe(12);
  });
});

describe('dpoShards', () => {
  const A = prompt(20);
  const B = prompt(20);
  const C = prompt(20);
  const pair = (p: PolicyPrompt, chosen: number, rejected: number, first = 1): EncodedPair => ({ prompt: p, chosen: ids(chosen, first), rejected: ids(rejected, first + 500), cut: 0 });

  it("covers the batch once and balances the passes' slots, a prompt's pairs together where splitting them costs more", () => {
    // A: one long chosen against three rejected; B and C: short pairs.
    const pairs = [pair(A, 150, 40), pair(A, 150, 45, 1), pair(A, 150, 50, 1), pair(B, 30, 30), pair(C, 35, 30), pair(C, 35, 25)];
    pairs[1]!.chosen = pairs[0]!.chosen;
    pairs[2]!.chosen = pairs[0]!.chosen;
    const shards = dpoShards(policy, pairs, 2);
    expect(shards).toHaveLength(2);
    expect(shards.flat().sort()).toEqual([0, 1, 2, 3, 4, 5]);
    const shardOf = (i: number) => shards.findIndex((s) => s.includes(i));
    expect(new Set([0, 1, 2].map(shardOf)).size).toBe(1);
    expect(new Set([4, 5].map(shardOf)).size).toBe(1);
    // A's rows (150 long) in one shard, the short prompts in the other: the first is this thread's, the cheaper.
    expect(shards[0]!.sort()).toEqual([3, 4, 5]);
    expect(shards[1]!.sort()).toEqual([0, 1, 2]);
  });

  it('splits one prompt between threads rather than leave a thread idle', () => {
    const pairs = [pair(A, 60, 40), pair(A, 61, 40), pair(A, 62, 40), pair(A, 63, 40)];
    const shards = dpoShards(policy, pairs, 2);
    expect(shards).toHaveLength(2);
    expect(shards.flat().sort()).toEqual([0, 1, 2, 3]);
    expect(dpoShards(policy, pairs.slice(0, 1), 2)).toEqual([[0]]);
    expect(dpoShards(policy, pairs, 1).map((shard) => [...shard].sort())).toEqual([[0, 1, 2, 3]]);
  });
});

describe('splitChunks', () => {
  it('gives each thread micro-batches of about equal tokens, not of equal count', () => {
    const chunk = (len: number): GrpoUpdateChunk => {
      const p = prompt(10);
      return { rows: [0, 1].map(() => ({ prompt: p, tokens: ids(len), truncated: false, advantage: 1 })), weight: 1, tokenShare: 0 };
    };
    const chunks = [chunk(10), chunk(10), chunk(10), chunk(100)];
    const [own, peer] = splitChunks(policy, chunks, 2);
    expect(own).toEqual(chunks.slice(0, 3));
    expect(peer).toEqual(chunks.slice(3));
  });
});
