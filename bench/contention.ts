// How far two threads can speed up one DPO step on this machine: the same DPO shard (8
// gold/inconsistent pairs, small policy) timed on this thread and on a gradient peer, each
// alone, then both at once. Two cores share caches and memory bandwidth, so a shard run next
// to another is slower than alone; `ceiling` = 2 x alone / at once is the most any split of a
// step's work between two threads can gain (before it repeats a prefix or a row, or waits).
// Run: npx tsx bench/contention.ts [--pairs 8] [--rounds 5]
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/main/model/backend';
import { resolveBenchPolicy } from '../src/main/loop/bench-stages';
import { sharedCacheDir } from '../src/main/loop/cold-start';
import { resolveRunConfig } from '../src/main/loop/config';
import { DpoConfigSchema } from '../src/main/train/config';
import type { DpoShardInput } from '../src/main/train/data-parallel';
import { encodePairs } from '../src/main/train/dpo';
import { dpoShardGradients } from '../src/main/train/dpo-parallel';
import { GradientPeer } from '../src/main/train/gradient-peer';
import { trainTaskOf } from '../src/main/train/grpo-rollouts';
import { median } from '../src/main/verifier/verify';
import { sampleTasks } from '../src/main/video/tasks';

const { values } = parseArgs({ options: { pairs: { type: 'string', default: '8' }, rounds: { type: 'string', default: '5' } } });
const nPairs = Number(values.pairs);
const rounds = Number(values.rounds);
await initBackend();
const config = resolveRunConfig({ preset: 'veripo', sets: [] });
const { policy, tokenizer, checkpoint } = await resolveBenchPolicy(config, { cacheDir: sharedCacheDir(), onProgress: (l) => console.error(l) });
const tasks = sampleTasks({ n: nPairs, seed: 5, split: 'train', modality: config.data.modality, difficulty: config.data.difficulty });
const raw = tasks.map((t) => ({ prompt: trainTaskOf(t, tokenizer).prompt, chosen: t.cot.gold, rejected: t.cot.inconsistent }));
const pairs = encodePairs(policy, tokenizer, raw, config.grpo.max_completion_length);
const cfg = DpoConfigSchema.parse({});
const input: DpoShardInput = { pairs, refChosen: pairs.map(() => -50), refRejected: pairs.map(() => -50), batchPairs: pairs.length, batchChosenTokens: pairs.reduce((s, p) => s + p.chosen.length, 0) };
const peer = await GradientPeer.start(policy, tokenizer, { kind: 'dpo', dpo: cfg });

const here = () => {
  const t = performance.now();
  const r = dpoShardGradients(policy, input, cfg);
  tf.dispose([...r.grads.values()]);
  return performance.now() - t;
};
const there = async () => {
  const t = performance.now();
  const r = await peer.shardGrads(policy, { kind: 'dpo', input });
  tf.dispose([...r.grads.values()]);
  return performance.now() - t;
};

for (let i = 0; i < 2; i++) {
  here();
  await there();
}
const alone: number[] = [];
const together: number[] = [];
for (let i = 0; i < rounds; i++) {
  alone.push(here(), await there());
  const t = performance.now();
  const pending = peer.shardGrads(policy, { kind: 'dpo', input });
  here();
  const r = await pending;
  tf.dispose([...r.grads.values()]);
  together.push(performance.now() - t);
}
await peer.close();
const aloneMs = median(alone);
const togetherMs = median(together);
console.log(JSON.stringify({ checkpoint, pairs: nPairs, alone_ms: Math.round(aloneMs), both_at_once_ms: Math.round(togetherMs), ceiling: Number(((2 * aloneMs) / togetherMs).toFixed(2)) }));
process.exit(0);
