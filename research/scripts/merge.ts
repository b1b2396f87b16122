// Average GRPO runs trained from one checkpoint into a new checkpoint (WARP's weight
// averaging; research/lib/merge.ts says why it helps), to evaluate, export or train from.
//   npx tsx research/scripts/merge.ts --from BASE --out DIR [--alpha A] RUN_DIR [RUN_DIR…]
// Writes BASE + A * (mean of the RUN_DIR checkpoints - BASE): with the default A = 1, the
// weight-by-weight mean of runs trained from BASE (grpo-run.ts --from BASE --seed S --save
// RUN_DIR for several S). A < 1 moves part of the way from BASE, A > 1 goes further. Every run
// must have BASE's architecture; the tokenizer is BASE's.
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/main/model/backend';
import { loadCheckpoint, saveCheckpoint } from '../../src/main/model/checkpoint';
import { mergePolicies } from '../lib/merge';

/** Merge RUN_DIRs into --out; returns the line it reports. Errors name the checkpoint at fault. */
export async function mergeCheckpoints(argv: string[]): Promise<string> {
  const { values, positionals } = parseArgs({ args: argv, options: { from: { type: 'string' }, out: { type: 'string' }, alpha: { type: 'string' } }, allowPositionals: true });
  if (!values.from) throw new Error('missing --from BASE');
  if (!values.out) throw new Error('missing --out DIR');
  if (positionals.length === 0) throw new Error('give at least one RUN_DIR to average');
  const alpha = values.alpha === undefined ? 1 : Number(values.alpha);
  if (!Number.isFinite(alpha)) throw new Error(`--alpha must be a number, got "${values.alpha}"`);
  await initBackend();
  const base = loadCheckpoint(values.from);
  const runs = positionals.map((dir) => ({ source: dir, policy: loadCheckpoint(dir).policy }));
  const merged = mergePolicies({ source: values.from, policy: base.policy }, runs, alpha);
  for (const [name, v] of base.policy.params) v.assign(tf.tensor(merged.get(name)!, v.shape, 'float32'));
  saveCheckpoint(values.out, base.policy, base.tokenizer, { merge: { from: values.from, runs: positionals, alpha } });
  return `${values.out}: mean of ${positionals.length} run${positionals.length === 1 ? '' : 's'} from ${values.from}, alpha ${alpha}`;
}

if (process.argv[1]?.endsWith('merge.ts')) {
  mergeCheckpoints(process.argv.slice(2)).then(
    (line) => console.log(line),
    (err: Error) => {
      console.error(`merge: ${err.message}`);
      process.exitCode = 2;
    },
  );
}
