// Data-parallel work across threads. The wasm backend runs every kernel on the thread that
// calls it, so one training thread uses one core however many the machine has. A
// GradientPeer (./gradient-peer) is a worker thread (./grad-peer) holding a replica of the
// policy (and, for GRPO's KL, of the frozen reference): for each request this thread copies
// its current weights into a shared buffer and the peer computes its shard. SFT's peer
// builds its rows of the batch itself (batches are deterministic in seed and step); GRPO and
// DPO send their rows. A gradient shard is the gradient of the shard's part of the batch
// loss, so the shards add up to the single-thread gradient up to float rounding; GRPO's peer
// also samples its share of a step's groups. The optimizer step stays on this thread.
// Stages take their peers from a pool (./peer-pool) and give them back: starting a peer
// costs seconds, a large share of a short RL stage if every stage paid it.
import * as tf from '@tensorflow/tfjs-core';
import type { Policy } from '../model/policy';
import type { DpoConfig, GrpoConfig, SftConfig } from './config';
import type { PolicyPrompt } from '../model/inputs';

/** Rows [start, end) of a step's batch. */
export interface RowRange {
  start: number;
  end: number;
}

/** An SFT shard: rows of a step's batch. */
export interface Shard {
  kind?: 'sft';
  step: number;
  rows: RowRange;
}

/** A GRPO completion that enters the loss. */
export interface GrpoUpdateRow {
  prompt: PolicyPrompt;
  tokens: number[];
  truncated: boolean;
  advantage: number;
}

/** One GRPO micro-batch: its rows and its share of the step's loss (see grpo-update.ts). */
export interface GrpoUpdateChunk {
  rows: GrpoUpdateRow[];
  /** Factor on the micro-batch's own loss (microBatchWeight). */
  weight: number;
  /** The micro-batch's share of the step's trained tokens, for token-level statistics. */
  tokenShare: number;
}

/** A DPO pair as the trainer uses it: tokenised once, for every epoch and the reference pass. */
export interface EncodedPair {
  prompt: PolicyPrompt;
  chosen: number[];
  rejected: number[];
  /** How many of the two completions were cut to fit (0, 1 or 2). */
  cut: number;
}

/** Some of a DPO batch's pairs, with the batch totals their part of the loss is divided by. */
export interface DpoShardInput {
  pairs: EncodedPair[];
  /** The reference's sequence log-probs of each pair's completions (computed once per stage). */
  refChosen: number[];
  refRejected: number[];
  /** Pairs in the whole batch: the loss is a mean over them. */
  batchPairs: number;
  /** Chosen tokens in the whole batch: RPO's NLL is a mean over them. */
  batchChosenTokens: number;
}

/** What the peer computes shards of: the stage and its config. */
export type PeerJob = { kind: 'sft'; sft: SftConfig } | { kind: 'grpo'; grpo: GrpoConfig } | { kind: 'dpo'; dpo: DpoConfig };

/**
 * One gradient request: an SFT row range (the peer builds the rows), a GRPO step's
 * micro-batches for one of its num_iterations updates, or a DPO batch's pairs.
 */
export type GradTask = Shard | { kind: 'grpo'; step: number; iteration: number; chunks: GrpoUpdateChunk[] } | { kind: 'dpo'; input: DpoShardInput };

export interface ShardGradients {
  /** Gradients of the shard's part of the loss, keyed by short parameter name. */
  grads: Map<string, tf.Tensor>;
  lossSum: number;
  tokens: number;
  /** Statistics that add up over shards (each already divided by the whole batch's size). */
  stats?: Record<string, number>;
}

/**
 * Contiguous row ranges, one per thread, the first for this thread. Larger shards go to the
 * peers because this thread also runs the optimizer step while they sit idle.
 */
export function shardRows(batchSize: number, threads: number): RowRange[] {
  const n = Math.max(1, Math.min(threads, batchSize));
  const base = Math.floor(batchSize / n);
  const extra = batchSize - base * n;
  const out: RowRange[] = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    const size = base + (i >= n - extra ? 1 : 0);
    out.push({ start, end: start + size });
    start += size;
  }
  return out;
}

/**
 * Contiguous runs of n items, one per thread (at most n), that minimise the costliest run,
 * cheapest first: this thread takes the first, as it also runs the optimizer step while the
 * peers sit idle. `cost(start, end)` is the work of one run (not necessarily a sum of item
 * costs: a batch pads every row to its longest).
 */
export function balancedRanges(n: number, threads: number, cost: (start: number, end: number) => number): RowRange[] {
  const k = Math.max(1, Math.min(threads, n));
  // best[j][i]: the smallest possible costliest run when items [0, i) form j runs.
  const best = Array.from({ length: k + 1 }, () => new Float64Array(n + 1).fill(Infinity));
  const cut = Array.from({ length: k + 1 }, () => new Int32Array(n + 1));
  best[0]![0] = 0;
  for (let j = 1; j <= k; j++) {
    for (let i = j; i <= n - (k - j); i++) {
      for (let m = j - 1; m < i; m++) {
        const v = Math.max(best[j - 1]![m]!, cost(m, i));
        if (v < best[j]![i]!) {
          best[j]![i] = v;
          cut[j]![i] = m;
        }
      }
    }
  }
  const out: RowRange[] = [];
  for (let j = k, end = n; j > 0; j--) {
    const start = cut[j]![end]!;
    out.unshift({ start, end });
    end = start;
  }
  return out.map((r, i) => ({ r, c: cost(r.start, r.end), i })).sort((a, b) => a.c - b.c || a.i - b.i).map((x) => x.r);
}

/** balancedRanges for items whose costs add up (each its own forward pass). */
export function balancedSplit(costs: readonly number[], threads: number): RowRange[] {
  const sums = [0];
  for (const c of costs) sums.push(sums.at(-1)! + c);
  return balancedRanges(costs.length, threads, (a, b) => sums[b]! - sums[a]!);
}

/**
 * Token slots of one forward pass over rows, the shapes its matmuls run on: each distinct
 * prompt's prefix once, padded to the longest, and each row's completion padded to the
 * longest.
 */
export function paddedCost(prefixLens: readonly number[], completionLens: readonly number[]): number {
  return prefixLens.length * Math.max(0, ...prefixLens) + completionLens.length * Math.max(0, ...completionLens);
}

/** A prompt's prefix length: its tokens and at most (keep_patches + 1) visual slots per frame. */
export function prefixLength(policy: Policy, prompt: PolicyPrompt): number {
  const c = policy.config;
  const perFrame = c.keep_patches === 0 ? c.patch_grid * c.patch_grid : c.keep_patches + 1;
  return prompt.tokens.length + (prompt.frames ? prompt.numFrames * perFrame : 0);
}

/**
 * Sum the shards' gradients and divide by the total token count (SFT: shards return the
 * summed loss, so this gives the gradient of the mean loss over the whole batch) or by 1
 * (GRPO, DPO: shards already weight their part of the batch loss). Statistics are summed.
 * Consumes (disposes) the shards' gradients.
 */
export function combineShardGrads(
  policy: Policy,
  shards: readonly ShardGradients[],
  divideBy: 'tokens' | 1 = 'tokens',
): { loss: number; grads: Map<string, tf.Tensor>; tokens: number; stats: Record<string, number> } {
  const tokens = shards.reduce((s, x) => s + x.tokens, 0);
  const denom = divideBy === 'tokens' ? Math.max(tokens, 1) : 1;
  const stats: Record<string, number> = {};
  for (const s of shards) for (const [k, v] of Object.entries(s.stats ?? {})) stats[k] = (stats[k] ?? 0) + v;
  const grads = new Map<string, tf.Tensor>();
  try {
    for (const [name, v] of policy.params) {
      // Frozen parameters get no update here, whatever a replica computed for them.
      if (!v.trainable) continue;
      const parts = shards.map((s) => s.grads.get(name)).filter((g): g is tf.Tensor => g !== undefined);
      if (parts.length === 0) continue;
      grads.set(name, tf.tidy(() => (denom === 1 && parts.length === 1 ? tf.clone(parts[0]!) : tf.div(parts.length === 1 ? parts[0]! : tf.addN(parts), denom))));
    }
  } finally {
    for (const s of shards) tf.dispose([...s.grads.values()]);
  }
  return { loss: shards.reduce((s, x) => s + x.lossSum, 0) / denom, grads, tokens, stats };
}

/**
 * Run one task per peer and `local` on this thread at the same time; returns [local, ...the
 * peers'] in order. If anything fails, every gradient already computed is disposed.
 */
export async function parallelShards<P, T, R>(
  peers: readonly P[],
  policy: Policy,
  tasks: readonly T[],
  ask: (peer: P, task: T) => Promise<R>,
  local: () => R,
  release: (r: R) => void = () => {},
): Promise<R[]> {
  if (tasks.length > peers.length) throw new Error(`data-parallel: ${tasks.length} shards for ${peers.length} peers`);
  // Post the peers' requests first so they work while this thread does its own share.
  const settled = Promise.allSettled(tasks.map((t, i) => ask(peers[i]!, t)));
  const releaseFulfilled = (results: PromiseSettledResult<R>[]) => {
    for (const r of results) if (r.status === 'fulfilled') release(r.value);
  };
  let own: R;
  try {
    own = local();
  } catch (err) {
    void settled.then(releaseFulfilled);
    throw err;
  }
  const results = await settled;
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    releaseFulfilled(results);
    release(own);
    throw failed.reason;
  }
  return [own, ...results.map((r) => (r as PromiseFulfilledResult<R>).value)];
}

/** Dispose a shard's gradients (what parallelShards needs to clean up after a failure). */
export function releaseShard(s: ShardGradients): void {
  tf.dispose([...s.grads.values()]);
}
