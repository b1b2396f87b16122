// Gradient peers kept between stages. A peer's start-up (thread spawn, tfjs/wasm init, the
// replica's build, the kernels' first calls) takes seconds: paid by every stage, it is a large
// share of a short GRPO or DPO stage, and the main job runs many. So a stage takes idle peers
// whose replica fits its policy (replicaKey: same backend, model config, tokenizer), gives
// them its job and reference (`configure`), spawns only the peers still missing, and gives
// them back at its end. A peer whose thread failed, whose request failed or that was still
// working when given back is closed instead. Idle peers do not keep the process alive.
import { availableParallelism } from 'node:os';
import type { Policy } from '../model/policy';
import type { Tokenizer } from '../model/tokenizer';
import type { PeerJob } from './data-parallel';
import { GradientPeer, replicaKey } from './gradient-peer';

/** Idle peers, oldest first. */
const idle: GradientPeer[] = [];

/** Idle peers beyond this are closed: more than one per core could never all be busy. */
const maxIdle = () => availableParallelism();

/**
 * Peers for a stage run with `workers` threads: none when one thread, no steps are left or
 * there is nothing to split. Pooled peers of the same replica are reused; if one fails to
 * start or configure, the others are given back and the error thrown.
 */
export async function startPeers(workers: number, steps: number, policy: Policy, tokenizer: Tokenizer, job: PeerJob, reference: Policy | null = null): Promise<GradientPeer[]> {
  if (workers <= 1 || steps <= 0) return [];
  const wanted = workers - 1;
  const taken = take(replicaKey(policy, tokenizer), wanted);
  const name = (i: number) => `gradient peer ${i + 1}`;
  const starting = await Promise.allSettled([
    ...taken.map(async (peer, i) => {
      peer.name = name(i);
      await peer.configureOrClose(job, reference);
      return peer;
    }),
    ...Array.from({ length: wanted - taken.length }, (_, i) => GradientPeer.start(policy, tokenizer, job, name(taken.length + i), reference)),
  ]);
  const peers = starting.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = starting.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await releasePeers(peers);
    throw failed.reason;
  }
  return peers;
}

/** A stage's end: healthy idle peers go back to the pool, the others are closed. */
export async function releasePeers(peers: readonly GradientPeer[]): Promise<void> {
  const closing: Promise<void>[] = [];
  for (const peer of peers) {
    if (idle.includes(peer)) continue;
    if (!peer.reusable) {
      closing.push(peer.close());
      continue;
    }
    peer.keepAlive(false);
    // A thread that dies while idle leaves the pool at once rather than at the next stage.
    peer.onFailure = () => {
      const i = idle.indexOf(peer);
      if (i >= 0) idle.splice(i, 1);
      void peer.close();
    };
    idle.push(peer);
  }
  while (idle.length > maxIdle()) closing.push(idle.shift()!.close());
  await Promise.all(closing);
}

/** Close every idle peer (tests, and a run's end). */
export async function closeIdlePeers(): Promise<void> {
  await Promise.all(idle.splice(0).map((p) => p.close()));
}

/** The thread ids of the idle peers, oldest first. */
export function idlePeerThreads(): number[] {
  return idle.map((p) => p.threadId);
}

function take(key: string, n: number): GradientPeer[] {
  const out: GradientPeer[] = [];
  for (let i = 0; i < idle.length && out.length < n; ) {
    const peer = idle[i]!;
    if (peer.key !== key || !peer.reusable) {
      i++;
      continue;
    }
    idle.splice(i, 1);
    peer.onFailure = null;
    peer.keepAlive(true);
    out.push(peer);
  }
  return out;
}
