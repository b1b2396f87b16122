// Throughput of the embedded engine: tokens/s of batched sampling with the KV cache against
// recomputing the prefix each step, and an SFT training step's GFLOP/s next to the same
// backend's matmul GFLOP/s. `veripo bench gen|train` prints them.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, describeBackend, type BackendName } from '../model/backend';
import { countParameters, createPolicy, disposePolicy, type Policy } from '../model/policy';
import { presetConfig, type PolicyConfig, type PresetName } from '../model/config';
import { benchmarkPolicyData, benchmarkTokenizer, taskPrompt } from '../model/prompt';
import { generate } from '../model/sample';
import { AdamW, clipByGlobalNorm, policyGradients } from '../model/optim';
import { DEFAULT_SFT_CONFIG } from './config';
import { sftBatch, sftLoss } from './sft';
import { sampleTasks, type Modality } from '../video/tasks';

export interface GenBenchOptions {
  preset: PresetName;
  prompts: number;
  generations: number;
  tokens: number;
  modality: Modality;
  backend?: BackendName;
}

export interface GenBenchResult {
  kv_tokens_per_s: number;
  naive_tokens_per_s: number;
  speedup: number;
  identical_tokens: boolean;
  backend: string;
  backend_detail: string;
  preset: string;
  params: number;
  batch: number;
  new_tokens: number;
  prompt_tokens: number;
}

function policyFor(preset: PresetName, seed = 0): { policy: Policy; config: PolicyConfig } {
  const tokenizer = benchmarkTokenizer();
  const config = presetConfig(preset, benchmarkPolicyData(tokenizer));
  return { policy: createPolicy(config, seed), config };
}

export async function benchGen(o: GenBenchOptions): Promise<GenBenchResult> {
  const backend = await initBackend(o.backend);
  const tokenizer = benchmarkTokenizer();
  const { policy, config } = policyFor(o.preset);
  const prompts = sampleTasks({ n: o.prompts, seed: 7, split: 'val', modality: o.modality }).map((t) => taskPrompt(t, tokenizer));
  // eosId -1 never matches, so every row generates exactly `tokens` tokens.
  const opts = { num_generations: o.generations, temperature: 1, max_completion_length: o.tokens, seed: 1, eosId: -1 };
  generate(policy, prompts, { ...opts, max_completion_length: 2 }); // warm-up: kernels, wasm memory
  const time = (useCache: boolean) => {
    const t0 = performance.now();
    const out = generate(policy, prompts, { ...opts, useCache });
    return { s: (performance.now() - t0) / 1000, out };
  };
  const kv = time(true);
  const naive = time(false);
  const batch = o.prompts * o.generations;
  const result: GenBenchResult = {
    kv_tokens_per_s: (batch * o.tokens) / kv.s,
    naive_tokens_per_s: (batch * o.tokens) / naive.s,
    speedup: naive.s / kv.s,
    identical_tokens: JSON.stringify(kv.out.tokens) === JSON.stringify(naive.out.tokens),
    backend: backend.backend,
    backend_detail: await describeBackend(),
    preset: o.preset,
    params: countParameters(config),
    batch,
    new_tokens: o.tokens,
    prompt_tokens: Math.max(...prompts.map((p) => p.tokens.length)),
  };
  disposePolicy(policy);
  return result;
}

export interface TrainBenchOptions {
  preset: PresetName;
  batch_size: number;
  steps: number;
  modality: Modality;
  backend?: BackendName;
}

export interface TrainBenchResult {
  /** Per CPU second of this process (see matmulGflops); *_wall are per wall second. */
  train_gflops: number;
  matmul_gflops: number;
  efficiency: number;
  train_gflops_wall: number;
  matmul_gflops_wall: number;
  efficiency_wall: number;
  /** The same backend on the MLP linear layer's shape in a step (per CPU second). */
  model_matmul_gflops: number;
  step_s: number;
  step_cpu_s: number;
  tokens_per_step: number;
  flops_per_step: number;
  backend: string;
  backend_detail: string;
  preset: string;
  params: number;
}

/**
 * Matmul FLOPs of one forward pass over [B, L] tokens (V visual, R response positions
 * through the LM head): patch embedding, the prev-window map, per layer qkv/proj/mlp
 * linears and the two attention products, the LM head, and with copy_head the pointer's
 * query/key maps and scores (and, with pointer_layers, its own window map, patch embedding
 * and MLP blocks). Embedding lookups, norms and elementwise ops are not counted (the 6·N·T
 * convention). Backward costs twice the forward.
 */
export function forwardFlops(c: PolicyConfig, B: number, V: number, L: number, R: number): number {
  const d = c.d_model;
  const perLayer = 2 * B * L * d * 3 * d + 2 * B * L * d * d + 2 * 2 * B * L * d * c.d_ff + 2 * 2 * B * L * L * d;
  const patchDim = (c.frame_height / c.patch_grid) * (c.frame_width / c.patch_grid) * 3;
  const text = B * (L - V);
  const embed = 2 * B * V * patchDim * d + 2 * text * c.prev_tokens * d * d;
  let flops = c.n_layer * perLayer + embed + 2 * B * R * d * c.vocab_size;
  if (c.copy_head) flops += 2 * 2 * B * L * d * d + 2 * B * R * L * d;
  if (c.copy_head && c.pointer_layers > 0) flops += embed + c.pointer_layers * 2 * 2 * B * L * d * c.d_ff;
  return flops;
}

/** Seconds of CPU this process used (user + system) since `from`. */
function cpuSeconds(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1e6;
}

/**
 * GFLOP/s of a [m, k] x [k, n] matmul on the current backend, per wall second and per CPU
 * second of this process (the backends here compute on one thread, so on a machine shared
 * with other work the CPU-time figure is the one that compares like with like).
 */
export function matmulGflops(m: number, k: number, n: number, seconds = 1): { wall: number; cpu: number } {
  const a = tf.randomNormal([m, k]);
  const b = tf.randomNormal([k, n]);
  tf.matMul(a, b).dataSync();
  let runs = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
    runs++;
  }
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(cpu0);
  tf.dispose([a, b]);
  const flops = 2 * m * k * n * runs;
  return { wall: flops / wall / 1e9, cpu: flops / cpu / 1e9 };
}

export async function benchTrain(o: TrainBenchOptions): Promise<TrainBenchResult> {
  const backend = await initBackend(o.backend);
  const tokenizer = benchmarkTokenizer();
  const { policy, config } = policyFor(o.preset);
  const optimizer = new AdamW(policy);
  const sft = { ...DEFAULT_SFT_CONFIG, batch_size: o.batch_size, modalities: [o.modality] };
  const step = (i: number) => {
    const { batch } = sftBatch(policy, tokenizer, sft, i);
    const { grads } = policyGradients(policy, () => sftLoss(policy, batch));
    clipByGlobalNorm(grads, 1);
    optimizer.step(grads, 1e-3);
    const B = batch.pack.batch;
    const L = batch.pack.visualLen + batch.pack.promptLen + batch.responseLen;
    return { flops: 3 * forwardFlops(config, B, batch.pack.visualLen, L, batch.responseLen), tokens: B * L };
  };
  step(0); // warm-up
  let flops = 0;
  let tokens = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 1; i <= o.steps; i++) {
    const s = step(i);
    flops += s.flops;
    tokens += s.tokens;
  }
  const stepS = (performance.now() - t0) / 1000 / o.steps;
  const stepCpuS = cpuSeconds(cpu0) / o.steps;
  const train = { wall: flops / o.steps / stepS / 1e9, cpu: flops / o.steps / stepCpuS / 1e9 };
  const matmul = matmulGflops(512, 512, 512, 2);
  const L = Math.round(tokens / o.steps / o.batch_size);
  const modelMatmul = matmulGflops(o.batch_size * L, config.d_model, config.d_ff);
  optimizer.dispose();
  disposePolicy(policy);
  return {
    train_gflops: train.cpu,
    matmul_gflops: matmul.cpu,
    efficiency: train.cpu / matmul.cpu,
    train_gflops_wall: train.wall,
    matmul_gflops_wall: matmul.wall,
    efficiency_wall: train.wall / matmul.wall,
    model_matmul_gflops: modelMatmul.cpu,
    step_s: stepS,
    step_cpu_s: stepCpuS,
    tokens_per_step: tokens / o.steps,
    flops_per_step: flops / o.steps,
    backend: backend.backend,
    backend_detail: await describeBackend(),
    preset: o.preset,
    params: countParameters(config),
  };
}
