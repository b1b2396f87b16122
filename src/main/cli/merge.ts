// `veripo merge`: average GRPO runs trained from one checkpoint into a new checkpoint (WARP's
// weight averaging; see train/merge.ts for why it helps), to evaluate, export or train on.
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../model/backend';
import { loadCheckpoint, saveCheckpoint } from '../model/checkpoint';
import { mergePolicies } from '../train/merge';
import { CliError, type CliCommand } from './command';

const USAGE = `veripo merge --from BASE --out DIR [--alpha A] RUN_DIR [RUN_DIR…]

Writes to DIR the checkpoint BASE + A * (mean of the RUN_DIR checkpoints - BASE): with the
default A = 1, the weight-by-weight mean of runs trained from BASE (e.g. \`veripo grpo --from
BASE --seed S --save RUN_DIR\` for several S). A < 1 moves part of the way from BASE, A > 1
goes further. Every run must have BASE's architecture; the tokenizer is BASE's.`;

export const command: CliCommand = {
  name: 'merge',
  summary: 'average checkpoints trained from one base (weight averaging of GRPO runs)',
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseArgs({ args: argv, options: { from: { type: 'string' }, out: { type: 'string' }, alpha: { type: 'string' } }, allowPositionals: true });
    if (!values.from) throw new CliError(`missing --from BASE\n${USAGE}`, 2);
    if (!values.out) throw new CliError(`missing --out DIR\n${USAGE}`, 2);
    if (positionals.length === 0) throw new CliError(`give at least one RUN_DIR to average\n${USAGE}`, 2);
    const alpha = values.alpha === undefined ? 1 : Number(values.alpha);
    if (!Number.isFinite(alpha)) throw new CliError(`--alpha must be a number, got "${values.alpha}"`, 2);
    await initBackend();
    const base = load(values.from);
    const runs = positionals.map((dir) => ({ source: dir, policy: load(dir).policy }));
    const merged = userError(() => mergePolicies({ source: values.from!, policy: base.policy }, runs, alpha));
    for (const [name, v] of base.policy.params) v.assign(tf.tensor(merged.get(name)!, v.shape, 'float32'));
    saveCheckpoint(values.out, base.policy, base.tokenizer, { merge: { from: values.from, runs: positionals, alpha } });
    console.log(`${values.out}: mean of ${positionals.length} run${positionals.length === 1 ? '' : 's'} from ${values.from}, alpha ${alpha}`);
    return 0;
  },
};

/** A bad checkpoint is the user's input: its message (which names the file) without a stack. */
function userError<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

const load = (dir: string) => userError(() => loadCheckpoint(dir));
