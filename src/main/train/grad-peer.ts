// Gradient peer thread (see ./data-parallel, ./gradient-peer): holds a policy replica and, for
// GRPO's KL, one of the frozen reference. A peer serves many stages (./peer-pool), because
// starting one costs seconds: `init` builds what depends only on the model (backend, replica,
// tokenizer, shared buffers), `configure` sets a stage's job and reference and drops the last
// stage's state. For each request it loads the weights the main thread put in the shared
// buffer, then computes its shard: SFT rows of the step's batch, GRPO micro-batches or DPO
// pairs, writing the gradient into the shared gradient buffer; or samples GRPO groups, or
// computes DPO's reference log-probs (the reference's weights sent as the request's).
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { describeBackend, initBackend, type BackendName } from '../model/backend';
import { disposePolicy, parameterShapes, policyFromTensors, type Policy } from '../model/policy';
import { Tokenizer } from '../model/tokenizer';
import { sftShardGradients } from './sft';
import { dpoShardGradients } from './dpo-parallel';
import { batchSequenceLogps } from './dpo-loss';
import { disposeChunkTensors, grpoChunkTensors, grpoShardGradients, type GrpoChunkTensors } from './grpo-update';
import { sampleGroupsLocally } from './grpo-rollouts';
import type { GradTask, PeerJob, ShardGradients } from './data-parallel';
import type { ParamSlot, PeerReply, PeerRequest } from './gradient-peer';

interface Replica {
  policy: Policy;
  reference: Policy | null;
  /** GRPO: the step's micro-batch tensors, kept across its num_iterations updates. */
  grpoStep: { step: number; chunks: GrpoChunkTensors[] } | null;
  tokenizer: Tokenizer;
  /** The stage's job; null until `configure` (and after one that failed). */
  job: PeerJob | null;
  layout: ParamSlot[];
  slots: Map<string, ParamSlot>;
  weights: Float32Array;
  grads: Float32Array;
  /** Where `configure` finds the reference's weights. */
  referenceWeights: Float32Array;
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
  replica = {
    policy,
    reference: null,
    grpoStep: null,
    tokenizer: new Tokenizer(m.tokens),
    job: null,
    layout: m.layout,
    slots: new Map(m.layout.map((x) => [x.name, x])),
    weights: new Float32Array(m.weights),
    grads: new Float32Array(m.grads),
    referenceWeights: new Float32Array(m.reference),
  };
  post({ type: 'ready', backend: await describeBackend() });
}

/** A new stage: nothing of the last one (job, reference, GRPO's step tensors) may leak into it. */
function configure(r: Replica, id: number, m: Extract<PeerRequest, { type: 'configure' }>): void {
  r.job = null;
  if (r.grpoStep) disposeChunkTensors(r.grpoStep.chunks);
  r.grpoStep = null;
  if (r.reference) disposePolicy(r.reference);
  r.reference = null;
  if (m.reference) {
    const ref = r.referenceWeights;
    const tensors = new Map(r.layout.map((slot) => [slot.name, tf.tensor(ref.slice(slot.offset, slot.offset + slot.size), slot.shape)] as [string, tf.Tensor]));
    try {
      r.reference = policyFromTensors(r.policy.config, tensors, false);
    } finally {
      tf.dispose([...tensors.values()]);
    }
  }
  r.job = m.job;
  post({ type: 'configured', id });
}

function jobOf(r: Replica): PeerJob {
  if (!r.job) throw new Error('a request before configure');
  return r.job;
}

function computeShard(r: Replica, task: GradTask): ShardGradients {
  const job = jobOf(r);
  if (task.kind === 'grpo') {
    if (job.kind !== 'grpo') throw new Error(`a grpo shard sent to a ${job.kind} peer`);
    // Iteration 0 of a step brings new rows; later iterations reuse its tensors (old log-probs).
    if (task.iteration === 0 || r.grpoStep?.step !== task.step) {
      if (r.grpoStep) disposeChunkTensors(r.grpoStep.chunks);
      r.grpoStep = { step: task.step, chunks: grpoChunkTensors(r.policy, r.reference, task.chunks, job.grpo) };
    }
    return grpoShardGradients(r.policy, r.grpoStep.chunks, task.iteration, job.grpo);
  }
  if (task.kind === 'dpo') {
    if (job.kind !== 'dpo') throw new Error(`a dpo shard sent to a ${job.kind} peer`);
    return dpoShardGradients(r.policy, task.input, job.dpo);
  }
  if (job.kind !== 'sft') throw new Error(`an sft shard sent to a ${job.kind} peer`);
  return sftShardGradients(r.policy, r.tokenizer, job.sft, task.step, task.rows);
}

function loadWeights(r: Replica): void {
  tf.tidy(() => {
    // slice() copies out of the shared buffer so no backend keeps a view the main thread rewrites.
    for (const slot of r.layout) r.policy.params.get(slot.name)!.assign(tf.tensor(r.weights.slice(slot.offset, slot.offset + slot.size), slot.shape));
  });
}

function shard(r: Replica, id: number, task: GradTask): void {
  loadWeights(r);
  const { grads, lossSum, tokens, stats } = computeShard(r, task);
  try {
    for (const [name, g] of grads) r.grads.set(g.dataSync() as Float32Array, r.slots.get(name)!.offset);
  } finally {
    tf.dispose([...grads.values()]);
  }
  post({ type: 'shard', id, names: [...grads.keys()], lossSum, tokens, stats });
}

function pairLogps(r: Replica, id: number, m: Extract<PeerRequest, { type: 'pair-logps' }>): void {
  const job = jobOf(r);
  if (job.kind !== 'dpo') throw new Error(`a pair-logps request sent to a ${job.kind} peer`);
  loadWeights(r);
  post({ type: 'pair-logps', id, ...batchSequenceLogps(r.policy, m.batches, job.dpo.loss_type) });
}

function generate(r: Replica, id: number, m: Extract<PeerRequest, { type: 'generate' }>): void {
  const job = jobOf(r);
  if (job.kind !== 'grpo') throw new Error(`a generate request sent to a ${job.kind} peer`);
  loadWeights(r);
  post({ type: 'generated', id, result: sampleGroupsLocally(r.policy, r.tokenizer, job.grpo, m.prompts, m.seeds) });
}

// Requests arrive one at a time (the main thread waits for each reply), so no queue.
port.on('message', (m: PeerRequest) => {
  const id = m.type === 'init' ? null : m.id;
  const fail = (err: unknown) => post({ type: 'error', id, message: err instanceof Error ? err.message : String(err) });
  try {
    if (m.type === 'init') init(m).catch(fail);
    else if (!replica) throw new Error(`${m.type} request before init`);
    else if (m.type === 'configure') configure(replica, m.id, m);
    else if (m.type === 'generate') generate(replica, m.id, m);
    else if (m.type === 'pair-logps') pairLogps(replica, m.id, m);
    else shard(replica, m.id, m.shard);
  } catch (err) {
    fail(err);
  }
});
