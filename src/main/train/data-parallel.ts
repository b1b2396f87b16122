// Data-parallel work across threads. The wasm backend runs every kernel on the thread that
// calls it, so one training thread uses one core however many the machine has. A
// GradientPeer is a worker thread (./grad-peer) holding a replica of the policy (and of the
// frozen reference, for GRPO's KL and DPO): for each request this thread copies its current
// weights into a shared buffer and the peer computes its shard. SFT's peer builds its rows
// of the batch itself (batches are deterministic in seed and step); GRPO and DPO send their
// rows. A gradient shard is the gradient of the shard's part of the batch loss, so the
// shards add up to the single-thread gradient up to float rounding; GRPO's peer also
// samples its share of a step's groups. The optimizer step stays on this thread.
import * as tf from '@tensorflow/tfjs-core';
import type { Worker } from 'node:worker_threads';
import type { Policy } from '../model/policy';
import type { PolicyConfig } from '../model/config';
import type { Tokenizer } from '../model/tokenizer';
import { spawnEntryWorker } from '../worker-entry';
import type { DpoConfig, GrpoConfig, SftConfig } from './config';
import type { GenerateResult } from '../model/sample';
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

/** Where one parameter lives in the flat weight / gradient buffers. */
export interface ParamSlot {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

export type PeerRequest =
  | {
      type: 'init';
      policyConfig: PolicyConfig;
      tokens: readonly string[];
      job: PeerJob;
      backend: string;
      layout: ParamSlot[];
      weights: SharedArrayBuffer;
      grads: SharedArrayBuffer;
      /** The frozen reference's weights (same layout), written once; null without one. */
      reference: SharedArrayBuffer | null;
    }
  | { type: 'shard'; id: number; shard: GradTask }
  | { type: 'generate'; id: number; prompts: PolicyPrompt[]; seeds: number[] }
  | { type: 'pair-logps'; id: number; batches: EncodedPair[][] };

export type PeerReply =
  | { type: 'ready'; backend: string }
  | { type: 'shard'; id: number; names: string[]; lossSum: number; tokens: number; stats?: Record<string, number> }
  | { type: 'generated'; id: number; result: GenerateResult }
  | { type: 'pair-logps'; id: number; chosen: number[][]; rejected: number[][] }
  | { type: 'error'; id: number | null; message: string };

export function paramLayout(policy: Policy): ParamSlot[] {
  let offset = 0;
  return [...policy.params].map(([name, v]) => {
    const slot = { name, shape: [...v.shape], offset, size: v.size };
    offset += v.size;
    return slot;
  });
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
export async function parallelShards<T, R>(
  peers: readonly GradientPeer[],
  policy: Policy,
  tasks: readonly T[],
  ask: (peer: GradientPeer, task: T) => Promise<R>,
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

/**
 * Peers for a stage run with `workers` threads: none when one thread, no steps are left or
 * there is nothing to split. If one fails to start, the others are closed and the error thrown.
 */
export async function startPeers(workers: number, steps: number, policy: Policy, tokenizer: Tokenizer, job: PeerJob, reference: Policy | null = null): Promise<GradientPeer[]> {
  if (workers <= 1 || steps <= 0) return [];
  const starting = await Promise.allSettled(Array.from({ length: workers - 1 }, (_, i) => GradientPeer.start(policy, tokenizer, job, `gradient peer ${i + 1}`, reference)));
  const peers = starting.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = starting.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(peers.map((p) => p.close()));
    throw failed.reason;
  }
  return peers;
}

/** Dispose a shard's gradients (what parallelShards needs to clean up after a failure). */
export function releaseShard(s: ShardGradients): void {
  tf.dispose([...s.grads.values()]);
}

interface Pending {
  id: number;
  /** The reply type this request expects. */
  kind: PeerReply['type'];
  resolve: (m: PeerReply) => void;
  reject: (err: Error) => void;
}

export class GradientPeer {
  private nextId = 1;
  private pending: Pending | null = null;
  private failure: Error | null = null;
  private closing = false;
  private readonly weights: Float32Array;
  private readonly gradBuf: Float32Array;
  private readonly slots: Map<string, ParamSlot>;
  private readyWaiter: { resolve: (backend: string) => void; reject: (err: Error) => void } | null = null;
  /** The peer's backend, e.g. "wasm (simd, 1 thread)". */
  backend = '';

  private constructor(
    private readonly worker: Worker,
    readonly name: string,
    private readonly layout: ParamSlot[],
  ) {
    const total = layout.reduce((s, p) => s + p.size, 0);
    this.weights = new Float32Array(new SharedArrayBuffer(total * 4));
    this.gradBuf = new Float32Array(new SharedArrayBuffer(total * 4));
    this.slots = new Map(layout.map((s) => [s.name, s]));
    worker.on('message', (m: PeerReply) => this.onMessage(m));
    worker.on('error', (err) => this.fail(new Error(`${name}: ${err.message}`)));
    worker.on('exit', (code) => {
      if (!this.closing) this.fail(new Error(`${name} exited unexpectedly (code ${code})`));
    });
  }

  /** Spawn a peer and wait until it holds a replica of `policy` (and of `reference`) for `job`. */
  static async start(policy: Policy, tokenizer: Tokenizer, job: PeerJob, name = 'gradient peer', reference: Policy | null = null): Promise<GradientPeer> {
    const layout = paramLayout(policy);
    const peer = new GradientPeer(spawnEntryWorker('grad-peer'), name, layout);
    let referenceBuf: SharedArrayBuffer | null = null;
    if (reference) {
      const ref = new Float32Array(new SharedArrayBuffer(peer.weights.length * 4));
      for (const slot of layout) {
        const v = reference.params.get(slot.name);
        if (!v || v.size !== slot.size) throw new Error(`${name}: the reference has no parameter ${slot.name} of ${slot.size} values`);
        ref.set(v.dataSync() as Float32Array, slot.offset);
      }
      referenceBuf = ref.buffer as SharedArrayBuffer;
    }
    const ready = new Promise<string>((resolve, reject) => {
      peer.readyWaiter = { resolve, reject };
    });
    const init: PeerRequest = {
      type: 'init',
      policyConfig: policy.config,
      tokens: tokenizer.tokens,
      job,
      // Same kernels on both threads, so the shards' numbers are comparable.
      backend: tf.getBackend(),
      layout,
      weights: peer.weights.buffer as SharedArrayBuffer,
      grads: peer.gradBuf.buffer as SharedArrayBuffer,
      reference: referenceBuf,
    };
    peer.worker.postMessage(init);
    try {
      peer.backend = await ready;
    } catch (err) {
      await peer.close();
      throw err;
    }
    return peer;
  }

  /**
   * Gradients of the shard's part of the loss, computed by the peer with `policy`'s current
   * weights. One request at a time; the caller computes its own shard meanwhile.
   */
  async shardGrads(policy: Policy, shard: GradTask): Promise<ShardGradients> {
    const m = (await this.request(policy, 'shard', (id) => ({ type: 'shard', id, shard }))) as Extract<PeerReply, { type: 'shard' }>;
    // Read before the next request can overwrite the buffer: this runs as soon as the reply arrives.
    const grads = new Map<string, tf.Tensor>();
    for (const name of m.names) {
      const slot = this.slots.get(name)!;
      // A copy, not a view: the cpu backend would keep a view and see the next step's numbers.
      grads.set(name, tf.tensor(this.gradBuf.slice(slot.offset, slot.offset + slot.size), slot.shape));
    }
    return { grads, lossSum: m.lossSum, tokens: m.tokens, stats: m.stats };
  }

  /** Completions of `prompts` sampled by the peer with `policy`'s current weights (see sampleGroupsLocally). */
  async generate(policy: Policy, task: { prompts: PolicyPrompt[]; seeds: number[] }): Promise<GenerateResult> {
    const m = (await this.request(policy, 'generated', (id) => ({ type: 'generate', id, prompts: task.prompts, seeds: task.seeds }))) as Extract<PeerReply, { type: 'generated' }>;
    return m.result;
  }

  /** Sequence log-probs of each batch of pairs under `policy`'s weights (DPO's reference pass: pass the reference). */
  async pairLogps(policy: Policy, batches: EncodedPair[][]): Promise<{ chosen: number[][]; rejected: number[][] }> {
    const m = (await this.request(policy, 'pair-logps', (id) => ({ type: 'pair-logps', id, batches }))) as Extract<PeerReply, { type: 'pair-logps' }>;
    return { chosen: m.chosen, rejected: m.rejected };
  }

  private request(policy: Policy, kind: PeerReply['type'], message: (id: number) => PeerRequest): Promise<PeerReply> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending) return Promise.reject(new Error(`${this.name}: a request is already in flight`));
    // The peer reads this buffer only between a request and its reply, so no locking.
    for (const slot of this.layout) {
      const v = policy.params.get(slot.name);
      if (!v || v.size !== slot.size) return Promise.reject(new Error(`${this.name}: the weights sent have no parameter ${slot.name} of ${slot.size} values`));
      this.weights.set(v.dataSync() as Float32Array, slot.offset);
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending = { id, kind, resolve, reject };
      this.worker.postMessage(message(id));
    });
  }

  /** Stop the peer thread; an unanswered request is rejected. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.fail(new Error(`${this.name} was closed`));
    await this.worker.terminate();
  }

  private onMessage(m: PeerReply): void {
    if (m.type === 'ready') {
      this.readyWaiter?.resolve(m.backend);
      this.readyWaiter = null;
      return;
    }
    if (m.type === 'error') {
      const err = new Error(`${this.name}: ${m.message}`);
      if (m.id === null) this.fail(err);
      else this.settle(m.id, (p) => p.reject(err));
      return;
    }
    this.settle(m.id, (p) => (p.kind === m.type ? p.resolve(m) : p.reject(new Error(`${this.name}: a ${m.type} reply to a request for ${p.kind}`))));
  }

  private settle(id: number, f: (p: Pending) => void): void {
    const p = this.pending;
    if (!p || p.id !== id) return;
    this.pending = null;
    f(p);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.readyWaiter?.reject(err);
    this.readyWaiter = null;
    const p = this.pending;
    this.pending = null;
    p?.reject(err);
  }
}
