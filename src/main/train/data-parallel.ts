// Data-parallel gradients across threads. The wasm backend runs every kernel on the thread
// that calls it, so one training thread uses one core however many the machine has. A
// GradientPeer is a worker thread (./grad-peer) holding a replica of the policy: for each
// step this thread copies its current weights into a shared buffer, the peer builds its rows
// of the batch itself (batches are deterministic in seed and step, so nothing else crosses),
// and returns the gradient of the SUMMED loss over its rows plus their token count. Summing
// every shard and dividing by the total token count gives the single-thread mean-loss
// gradient up to float rounding; the optimizer step stays on this thread.
import * as tf from '@tensorflow/tfjs-core';
import type { Worker } from 'node:worker_threads';
import type { Policy } from '../model/policy';
import type { PolicyConfig } from '../model/config';
import type { Tokenizer } from '../model/tokenizer';
import { spawnEntryWorker } from '../worker-entry';
import type { SftConfig } from './config';

/** Rows [start, end) of a step's batch. */
export interface RowRange {
  start: number;
  end: number;
}

export interface Shard {
  step: number;
  rows: RowRange;
}

/** What the peer computes shards of (tagged so other stages can be added). */
export type PeerJob = { kind: 'sft'; sft: SftConfig };

export interface ShardGradients {
  /** Gradients of the summed loss, keyed by short parameter name. */
  grads: Map<string, tf.Tensor>;
  lossSum: number;
  tokens: number;
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
    }
  | { type: 'shard'; id: number; shard: Shard };

export type PeerReply =
  | { type: 'ready'; backend: string }
  | { type: 'shard'; id: number; names: string[]; lossSum: number; tokens: number }
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
 * Sum the shards' gradients and divide by the total token count: the gradient of the mean
 * loss over the whole batch. Consumes (disposes) the shards' gradients.
 */
export function combineShardGrads(policy: Policy, shards: readonly ShardGradients[]): { loss: number; grads: Map<string, tf.Tensor>; tokens: number } {
  const tokens = shards.reduce((s, x) => s + x.tokens, 0);
  const denom = Math.max(tokens, 1);
  const grads = new Map<string, tf.Tensor>();
  try {
    for (const [name, v] of policy.params) {
      // Frozen parameters get no update here, whatever a replica computed for them.
      if (!v.trainable) continue;
      const parts = shards.map((s) => s.grads.get(name)).filter((g): g is tf.Tensor => g !== undefined);
      if (parts.length === 0) continue;
      grads.set(name, tf.tidy(() => tf.div(parts.length === 1 ? parts[0]! : tf.addN(parts), denom)));
    }
  } finally {
    for (const s of shards) tf.dispose([...s.grads.values()]);
  }
  return { loss: shards.reduce((s, x) => s + x.lossSum, 0) / denom, grads, tokens };
}

interface Pending {
  id: number;
  resolve: (r: ShardGradients) => void;
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

  /** Spawn a peer and wait until it holds a replica of `policy` for `job`. */
  static async start(policy: Policy, tokenizer: Tokenizer, job: PeerJob, name = 'gradient peer'): Promise<GradientPeer> {
    const layout = paramLayout(policy);
    const peer = new GradientPeer(spawnEntryWorker('grad-peer'), name, layout);
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
   * Gradients of the summed loss over `shard`, computed by the peer with `policy`'s current
   * weights. One request at a time; the caller computes its own shard meanwhile.
   */
  shardGrads(policy: Policy, shard: Shard): Promise<ShardGradients> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending) return Promise.reject(new Error(`${this.name}: a shard is already in flight`));
    // The peer reads this buffer only between a request and its reply, so no locking.
    for (const slot of this.layout) this.weights.set(policy.params.get(slot.name)!.dataSync() as Float32Array, slot.offset);
    const id = this.nextId++;
    return new Promise<ShardGradients>((resolve, reject) => {
      this.pending = { id, resolve, reject };
      const req: PeerRequest = { type: 'shard', id, shard };
      this.worker.postMessage(req);
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
    this.settle(m.id, (p) => {
      const grads = new Map<string, tf.Tensor>();
      for (const name of m.names) {
        const slot = this.slots.get(name)!;
        // A copy, not a view: the cpu backend would keep a view and see the next step's numbers.
        grads.set(name, tf.tensor(this.gradBuf.slice(slot.offset, slot.offset + slot.size), slot.shape));
      }
      p.resolve({ grads, lossSum: m.lossSum, tokens: m.tokens });
    });
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
