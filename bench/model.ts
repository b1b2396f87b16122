// Model benchmarks on every backend that initialises here: generation with the KV cache
// vs naive prefix recompute, and training-step GFLOP/s vs the backend's matmul GFLOP/s.
// Run: npx tsx bench/model.ts [--preset small] [--backends wasm,cpu]
// Prints a markdown table (for README); backends are switched in-process.
import { parseArgs } from 'node:util';
import { benchGen, benchTrain } from '../src/main/train/throughput';
import type { BackendName } from '../src/main/model/backend';
import type { PresetName } from '../src/main/model/config';

const { values } = parseArgs({ options: { preset: { type: 'string', default: 'small' }, backends: { type: 'string', default: 'wasm,cpu' } } });
const preset = values.preset as PresetName;
const rows: string[] = [];
for (const backend of values.backends.split(',') as BackendName[]) {
  try {
    const gen = await benchGen({ preset, prompts: 4, generations: 4, tokens: 64, modality: 'video', backend });
    const train = await benchTrain({ preset, batch_size: 16, steps: 2, modality: 'video', backend });
    rows.push(`| ${gen.backend_detail} | ${preset} (${(gen.params / 1e6).toFixed(2)}M) | ${gen.kv_tokens_per_s.toFixed(0)} | ${gen.naive_tokens_per_s.toFixed(0)} | ${gen.speedup.toFixed(1)}x | ${train.step_s.toFixed(2)} | ${train.train_gflops.toFixed(2)} | ${train.matmul_gflops.toFixed(2)} | ${train.efficiency.toFixed(2)} |`);
  } catch (err) {
    rows.push(`| ${backend} | failed: ${(err as Error).message.split('\n')[0]} | | | | | | | |`);
  }
}
console.log('| backend | preset | KV tok/s | naive tok/s | speedup | train s/step (wall) | train GFLOP/s per CPU-s | matmul 512² GFLOP/s per CPU-s | efficiency |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
