// Checkpoints: a folder with weights.bin (little-endian float32, parameters in canonical
// order), model.json (policy config + weight manifest + free-form metadata) and
// tokenizer.json. The round trip is bit-exact.
import * as tf from '@tensorflow/tfjs-core';
import fs from 'node:fs';
import path from 'node:path';
import type { PolicyConfig } from './config';
import { parameterShapes, policyFromTensors, type Policy } from './policy';
import { Tokenizer, type TokenizerJSON } from './tokenizer';

export interface WeightEntry {
  name: string;
  shape: number[];
  /** Offset in float32 elements into weights.bin. */
  offset: number;
}

export interface ModelJSON {
  kind: 'veripo-policy';
  version: 1;
  config: PolicyConfig;
  weights: WeightEntry[];
  /** Whatever the saver wants to remember (stage, step, backend, val metrics...). */
  meta: Record<string, unknown>;
}

export function saveCheckpoint(dir: string, policy: Policy, tokenizer: Tokenizer, meta: Record<string, unknown> = {}): void {
  fs.mkdirSync(dir, { recursive: true });
  const entries: WeightEntry[] = [];
  let total = 0;
  for (const [name, shape] of parameterShapes(policy.config)) {
    entries.push({ name, shape, offset: total });
    total += shape.reduce((a, b) => a * b, 1);
  }
  const flat = new Float32Array(total);
  for (const e of entries) flat.set(policy.params.get(e.name)!.dataSync() as Float32Array, e.offset);
  const model: ModelJSON = { kind: 'veripo-policy', version: 1, config: policy.config, weights: entries, meta };
  // Write to temporary names then rename, so a crash never leaves a half-written checkpoint.
  const write = (file: string, data: string | Uint8Array) => {
    fs.writeFileSync(path.join(dir, `${file}.tmp`), data);
    fs.renameSync(path.join(dir, `${file}.tmp`), path.join(dir, file));
  };
  write('weights.bin', new Uint8Array(flat.buffer));
  write('tokenizer.json', JSON.stringify(tokenizer.toJSON()));
  write('model.json', JSON.stringify(model, null, 2));
}

export function readModelJSON(dir: string): ModelJSON {
  const file = path.join(dir, 'model.json');
  if (!fs.existsSync(file)) throw new Error(`${file}: no checkpoint here (model.json missing)`);
  const model = JSON.parse(fs.readFileSync(file, 'utf8')) as ModelJSON;
  if (model.kind !== 'veripo-policy' || model.version !== 1) throw new Error(`${file}: kind/version is not veripo-policy 1`);
  // Checkpoints from before patch pruning kept every patch; those from before rotary positions, text frames, previous-token inputs, the copy head and induction keys have none of them.
  model.config = { ...model.config, keep_patches: model.config.keep_patches ?? 0, rope: model.config.rope ?? false, text_frames: model.config.text_frames ?? null, prev_tokens: model.config.prev_tokens ?? 0, copy_head: model.config.copy_head ?? false, induction_keys: model.config.induction_keys ?? false, pointer_layers: model.config.pointer_layers ?? 0, cell_tokens: model.config.cell_tokens ?? null, option_labels: model.config.option_labels ?? null, number_tokens: model.config.number_tokens ?? null, number_values: model.config.number_values ?? false };
  return model;
}

export function loadCheckpoint(dir: string, opts: { trainable?: boolean } = {}): { policy: Policy; tokenizer: Tokenizer; meta: Record<string, unknown> } {
  const model = readModelJSON(dir);
  const binFile = path.join(dir, 'weights.bin');
  const buf = fs.readFileSync(binFile);
  // Copy into an aligned buffer: a Node Buffer may start at any byte offset of its pool.
  const flat = new Float32Array(new Uint8Array(buf).buffer);
  const tensors = new Map<string, tf.Tensor>();
  for (const e of model.weights) {
    const size = e.shape.reduce((a, b) => a * b, 1);
    if (e.offset + size > flat.length) throw new Error(`${binFile}: weight ${e.name} runs past the end of the file`);
    tensors.set(e.name, tf.tensor(flat.subarray(e.offset, e.offset + size), e.shape, 'float32'));
  }
  // Before the label role an option letter's key equalled its option's last word's; a zero role is that.
  if (model.config.copy_head && model.config.option_labels && !tensors.has('copy_label_role')) tensors.set('copy_label_role', tf.zeros([1, model.config.d_model]));
  const policy = policyFromTensors(model.config, tensors, opts.trainable ?? true);
  tf.dispose([...tensors.values()]);
  const tokenizer = Tokenizer.fromJSON(JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')) as TokenizerJSON);
  if (tokenizer.size !== model.config.vocab_size) {
    throw new Error(`${dir}: tokenizer.json has ${tokenizer.size} tokens but model.json config.vocab_size is ${model.config.vocab_size}`);
  }
  return { policy, tokenizer, meta: model.meta ?? {} };
}

/** A deep copy with its own variables, e.g. the frozen reference for GRPO's KL and DPO. */
export function clonePolicy(policy: Policy, opts: { trainable?: boolean } = {}): Policy {
  const tensors = new Map<string, tf.Tensor>();
  for (const [name, v] of policy.params) tensors.set(name, v.clone());
  const copy = policyFromTensors(policy.config, tensors, opts.trainable ?? false);
  tf.dispose([...tensors.values()]);
  return copy;
}

/** Copy weights from one policy into another of the same config (e.g. refresh a reference). */
export function copyWeights(from: Policy, to: Policy): void {
  for (const [name, v] of from.params) to.params.get(name)!.assign(v);
}
