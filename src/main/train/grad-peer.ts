// Gradient peer thread (see ./data-parallel): holds a policy replica, and for each request
// loads the weights the main thread put in the shared buffer, builds its rows of the step's
// batch, and writes the summed-loss gradient back into the shared gradient buffer.
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { describeBackend, initBackend, type BackendName } from '../model/backend';
import { parameterShapes, policyFromTensors, type Policy } from '../model/policy';
import { Tokenizer } from '../model/tokenizer';
import { sftShardGradients } from './sft';
import type { ParamSlot, PeerJob, PeerReply, PeerRequest, Shard, ShardGradients } from './data-parallel';

interface Replica {
  policy: Policy;
  tokenizer: Tokenizer;
  job: PeerJob;
  layout: ParamSlot[];
  slots: Map<string, ParamSlot>;
  weights: Float32Array;
  grads: Float32Array;
}

const port = parentPort;
if (!port) throw new Error('grad-peer must run in a worker thread');
const post = (m: PeerReply) => port.postMessage(m);
let replica: Replica | null = null;

async function init(m: Extract<PeerRequest, { type: 'init' }>): Promise<void> {
  await initBackend(m.backend as BackendName);
  const zeros = new Map(parameterShapes(m.policyConfig).map(([name, shape]) => [name, tf.zeros(shape)] as [string, tf.Tensor]));
  const policy = policyFromTensors(m.policyConfig, zeros);
  tf.dispose([...zeros.values()]);
  for (const slot of m.layout) {
    const v = policy.params.get(slot.name);
    if (!v || v.shape.join(',') !== slot.shape.join(',')) throw new Error(`parameter ${slot.name} [${slot.shape}] does not match the replica's [${v?.shape ?? 'missing'}]`);
  }
  replica = { policy, tokenizer: new Tokenizer(m.tokens), job: m.job, layout: m.layout, slots: new Map(m.layout.map((x) => [x.name, x])), weights: new Float32Array(m.weights), grads: new Float32Array(m.grads) };
  post({ type: 'ready', backend: await describeBackend() });
}

function computeShard(r: Replica, shard: Shard): ShardGradients {
  switch (r.job.kind) {
    case 'sft':
      return sftShardGradients(r.policy, r.tokenizer, r.job.sft, shard.step, shard.rows);
  }
}

function shard(r: Replica, id: number, s: Shard): void {
  tf.tidy(() => {
    // slice() copies out of the shared buffer so no backend keeps a view the main thread rewrites.
    for (const slot of r.layout) r.policy.params.get(slot.name)!.assign(tf.tensor(r.weights.slice(slot.offset, slot.offset + slot.size), slot.shape));
  });
  const { grads, lossSum, tokens } = computeShard(r, s);
  try {
    for (const [name, g] of grads) r.grads.set(g.dataSync() as Float32Array, r.slots.get(name)!.offset);
  } finally {
    tf.dispose([...grads.values()]);
  }
  post({ type: 'shard', id, names: [...grads.keys()], lossSum, tokens });
}

// Requests arrive one at a time (the main thread waits for each reply), so no queue.
port.on('message', (m: PeerRequest) => {
  const id = m.type === 'shard' ? m.id : null;
  const fail = (err: unknown) => post({ type: 'error', id, message: err instanceof Error ? err.message : String(err) });
  try {
    if (m.type === 'init') init(m).catch(fail);
    else if (!replica) throw new Error('shard request before init');
    else shard(replica, m.id, m.shard);
  } catch (err) {
    fail(err);
  }
});
