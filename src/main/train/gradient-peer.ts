// This thread's handle on one gradient peer thread (./grad-peer) and the messages between
// them. Starting a peer (thread, tfjs backend, replica, first-call kernel set-up) costs far
// more than a short stage's steps, so a peer outlives its stage (./peer-pool): `init` builds
// what depends only on the model (backend, policy replica, tokenizer, shared buffers) and
// `configure` gives it a stage (its job and frozen reference). Weights travel through
// SharedArrayBuffers: this thread writes them before a request, the peer reads them while
// it works, and this thread reads its gradient after the reply.
import * as tf from '@tensorflow/tfjs-core';
import type { Worker } from 'node:worker_threads';
import type { Policy } from '../model/policy';
import type { PolicyConfig } from '../model/config';
import type { Tokenizer } from '../model/tokenizer';
import { spawnEntryWorker } from '../worker-entry';
import type { GenerateResult } from '../model/sample';
import type { PolicyPrompt } from '../model/inputs';
import type { EncodedPair, GradTask, PeerJob, ShardGradients } from './data-parallel';

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
      backend: string;
      layout: ParamSlot[];
      weights: SharedArrayBuffer;
      grads: SharedArrayBuffer;
      /** The frozen reference's weights (same layout), written before each `configure` that has one. */
      reference: SharedArrayBuffer;
    }
  | { type: 'configure'; id: number; job: PeerJob; reference: boolean }
  | { type: 'shard'; id: number; shard: GradTask }
  | { type: 'generate'; id: number; prompts: PolicyPrompt[]; seeds: number[] }
  | { type: 'pair-logps'; id: number; batches: EncodedPair[][] };

export type PeerReply =
  | { type: 'ready'; backend: string }
  | { type: 'configured'; id: number }
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

/** What a replica is built from: a peer can serve any stage of a policy with the same key. */
export function replicaKey(policy: Policy, tokenizer: Tokenizer): string {
  return JSON.stringify([tf.getBackend(), policy.config, tokenizer.tokens, paramLayout(policy)]);
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
  /** A request failed inside the peer: its replica (or its wasm heap) may be left in any state. */
  private erred = false;
  private closing = false;
  private readonly weights: Float32Array;
  private readonly gradBuf: Float32Array;
  private readonly referenceBuf: Float32Array;
  private readonly slots: Map<string, ParamSlot>;
  private readyWaiter: { resolve: (backend: string) => void; reject: (err: Error) => void } | null = null;
  /** Called once if the peer fails (its thread errs or exits) while nobody waits on it. */
  onFailure: ((err: Error) => void) | null = null;
  /** The peer's backend, e.g. "wasm (simd, 1 thread)". */
  backend = '';

  private constructor(
    private readonly worker: Worker,
    /** Named in its errors; a pooled peer is renamed for each stage. */
    public name: string,
    private readonly layout: ParamSlot[],
    /** See replicaKey. */
    readonly key: string,
  ) {
    const total = layout.reduce((s, p) => s + p.size, 0);
    this.weights = new Float32Array(new SharedArrayBuffer(total * 4));
    this.gradBuf = new Float32Array(new SharedArrayBuffer(total * 4));
    this.referenceBuf = new Float32Array(new SharedArrayBuffer(total * 4));
    this.slots = new Map(layout.map((s) => [s.name, s]));
    worker.on('message', (m: PeerReply) => this.onMessage(m));
    worker.on('error', (err) => this.fail(new Error(`${this.name}: ${err.message}`)));
    worker.on('exit', (code) => {
      if (!this.closing) this.fail(new Error(`${this.name} exited unexpectedly (code ${code})`));
    });
  }

  /** Spawn a peer and wait until it holds a replica of `policy` (and of `reference`) for `job`. */
  static async start(policy: Policy, tokenizer: Tokenizer, job: PeerJob, name = 'gradient peer', reference: Policy | null = null): Promise<GradientPeer> {
    const peer = await GradientPeer.spawn(policy, tokenizer, name);
    await peer.configureOrClose(job, reference);
    return peer;
  }

  /** configure, closing the peer when that fails: its replica may be half rebuilt. */
  async configureOrClose(job: PeerJob, reference: Policy | null): Promise<void> {
    try {
      await this.configure(job, reference);
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /** Spawn a peer and wait until it holds a replica of `policy`, with no job yet (see configure). */
  static async spawn(policy: Policy, tokenizer: Tokenizer, name = 'gradient peer'): Promise<GradientPeer> {
    const layout = paramLayout(policy);
    const peer = new GradientPeer(spawnEntryWorker('grad-peer'), name, layout, replicaKey(policy, tokenizer));
    const ready = new Promise<string>((resolve, reject) => {
      peer.readyWaiter = { resolve, reject };
    });
    const init: PeerRequest = {
      type: 'init',
      policyConfig: policy.config,
      tokens: tokenizer.tokens,
      // Same kernels on both threads, so the shards' numbers are comparable.
      backend: tf.getBackend(),
      layout,
      weights: peer.weights.buffer as SharedArrayBuffer,
      grads: peer.gradBuf.buffer as SharedArrayBuffer,
      reference: peer.referenceBuf.buffer as SharedArrayBuffer,
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
   * Give the peer a stage: its job, and a replica of `reference` (GRPO's KL) or none. Drops
   * whatever the previous stage left (its reference, GRPO's cached step).
   */
  async configure(job: PeerJob, reference: Policy | null): Promise<void> {
    if (reference) {
      for (const slot of this.layout) {
        const v = reference.params.get(slot.name);
        if (!v || v.size !== slot.size) throw new Error(`${this.name}: the reference has no parameter ${slot.name} of ${slot.size} values`);
      }
    }
    await this.send('configured', (id) => {
      // Written here, after any earlier request was answered: the peer reads it on `configure`.
      if (reference) for (const slot of this.layout) this.referenceBuf.set(reference.params.get(slot.name)!.dataSync() as Float32Array, slot.offset);
      return { type: 'configure', id, job, reference: reference !== null };
    });
  }

  /** Whether the peer can serve another stage: alive, idle, and no request of its has failed. */
  get reusable(): boolean {
    return !this.failure && !this.closing && !this.pending && !this.readyWaiter && !this.erred;
  }

  /** The peer's thread id (differs between threads, so a reused peer can be told from a new one). */
  get threadId(): number {
    return this.worker.threadId;
  }

  /** Whether an idle peer's thread keeps the process alive (see ./peer-pool). */
  keepAlive(on: boolean): void {
    if (on) this.worker.ref();
    else this.worker.unref();
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
    for (const slot of this.layout) {
      const v = policy.params.get(slot.name);
      if (!v || v.size !== slot.size) return Promise.reject(new Error(`${this.name}: the weights sent have no parameter ${slot.name} of ${slot.size} values`));
    }
    return this.send(kind, (id) => {
      // The peer reads this buffer only between a request and its reply, so no locking.
      for (const slot of this.layout) this.weights.set(policy.params.get(slot.name)!.dataSync() as Float32Array, slot.offset);
      return message(id);
    });
  }

  /** Post one request (built once the peer is known to be free) and wait for its reply. */
  private send(kind: PeerReply['type'], message: (id: number) => PeerRequest): Promise<PeerReply> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending || this.readyWaiter) return Promise.reject(new Error(`${this.name}: a request is already in flight`));
    const id = this.nextId++;
    const m = message(id);
    return new Promise((resolve, reject) => {
      this.pending = { id, kind, resolve, reject };
      this.worker.postMessage(m);
    });
  }

  /** Stop the peer thread; an unanswered request is rejected. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.onFailure = null;
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
      this.erred = true;
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
    const onFailure = this.onFailure;
    this.onFailure = null;
    onFailure?.(err);
  }
}
