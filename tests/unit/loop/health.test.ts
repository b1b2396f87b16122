// The health guard through `veripo run`: a diverging stage ends the run `diverged` with a
// non-zero exit and the stage's starting weights back (checked by weights.bin checksums).
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, getRun } from '../../../src/main/store';
import { initBackend } from '../../../src/main/model/backend';
import { createPolicy, disposePolicy } from '../../../src/main/model/policy';
import { presetConfig } from '../../../src/main/model/config';
import { benchmarkTokenizer, benchmarkPolicyData } from '../../../src/main/model/prompt';
import { saveCheckpoint } from '../../../src/main/model/checkpoint';
import { weightsChecksum } from '../../../src/main/loop/guard';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'veripo.js');
// The smoke preset, shrunk so a test runs it in seconds; the guard sees the same first update.
const SMALL = [
  '--set', 'sft.steps=6', '--set', 'sft.batch_size=4', '--set', 'sft.save_steps=0',
  '--set', 'grpo.steps=2', '--set', 'grpo.per_step_prompts=2', '--set', 'grpo.num_generations=4', '--set', 'grpo.max_completion_length=24',
  '--set', 'data.val_size=4', '--set', 'data.train_size=8',
  // Six SFT steps leave every answer wrong; a length reward gives GRPO groups unequal rewards to update on.
  '--set', 'grpo.reward_weights.length=1',
];

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

function veripo(args: string[]) {
  const home = mkdtempSync(join(tmpdir(), 'veripo-health-'));
  const db = join(home, 'r.db');
  const r = spawnSync(process.execPath, [BIN, 'run', ...args, '--db', db, '--json'], { env: { ...process.env, VERIPO_HOME: home }, encoding: 'utf8', timeout: 300_000 });
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1) || 'null');
  const d = openDb(db);
  const run = getRun(d, 1)!;
  d.close();
  const checkpoint = (ordinal: number, kind: string) => join(home, 'r-data', 'runs', '1', `stage-${ordinal}-${kind}`, 'weights.bin');
  return { r, out, run, checkpoint };
}

beforeAll(async () => {
  await initBackend();
});

describe('veripo run with a diverging stage', () => {
  it('grpo.learning_rate=1e6: status diverged, exit 3, the GRPO stage restored to its start (checksums)', () => {
    const { r, out, run, checkpoint } = veripo(['--preset', 'smoke', '--set', 'model.init_checkpoint=null', '--set', 'grpo.learning_rate=1e6', ...SMALL]);
    expect(r.status, r.stderr).toBe(3);
    expect(out.status).toBe('diverged');
    expect(run.status).toBe('diverged');
    expect(run.error).toMatch(/^grpo: weight_norm is .* at step \d+ .*health\.weight_norm_factor 10/);
    // Nothing after the diverged stage ran.
    expect(run.stages.map((s) => [s.kind, s.status])).toEqual([['sft', 'finished'], ['grpo', 'failed']]);
    const d = run.stages[1]!.summary!.diverged as { check: string; start_checksum: string; restored_checksum: string; value: number; limit: number };
    expect(d.check).toBe('weight_norm');
    expect(d.value).toBeGreaterThan(1e6);
    // The stage started from SFT's checkpoint; what it leaves is those same bytes.
    const sftWeights = sha256(checkpoint(0, 'sft'));
    expect(d.start_checksum).toBe(sftWeights);
    expect(d.restored_checksum).toBe(sftWeights);
    expect(sha256(checkpoint(1, 'grpo'))).toBe(sftWeights);
  }, 300_000);

  it('sft.learning_rate=1e6 with no checkpoint yet: the initial policy comes back, not the diverged weights', () => {
    const { r, run, checkpoint } = veripo(['--preset', 'smoke', '--set', 'model.init_checkpoint=null', '--set', 'sft.learning_rate=1e6', ...SMALL]);
    expect(r.status, r.stderr).toBe(3);
    expect(run.status).toBe('diverged');
    expect(run.stages.map((s) => [s.kind, s.status])).toEqual([['sft', 'failed']]);
    const tokenizer = benchmarkTokenizer();
    const initial = createPolicy(presetConfig('tiny', benchmarkPolicyData(tokenizer)), 0);
    const initialSum = weightsChecksum(initial);
    disposePolicy(initial);
    expect((run.stages[0]!.summary!.diverged as { restored_checksum: string }).restored_checksum).toBe(initialSum);
    expect(sha256(checkpoint(0, 'sft'))).toBe(initialSum);
  }, 300_000);

  it('grpo.learning_rate=1e38 from model.init_checkpoint: diverged, never "verify stage without a GRPO stage"', () => {
    const dir = mkdtempSync(join(tmpdir(), 'veripo-init-'));
    const tokenizer = benchmarkTokenizer();
    const policy = createPolicy(presetConfig('tiny', benchmarkPolicyData(tokenizer)), 4);
    saveCheckpoint(dir, policy, tokenizer);
    disposePolicy(policy);
    const { r, run, checkpoint } = veripo(['--preset', 'smoke', '--set', 'grpo.learning_rate=1e38', '--set', `model.init_checkpoint=${dir}`, ...SMALL]);
    expect(r.status, r.stderr).toBe(3);
    expect(run.status).toBe('diverged');
    expect(run.error).not.toMatch(/verify stage/);
    expect(run.stages.map((s) => [s.kind, s.status])).toEqual([['grpo', 'failed']]);
    expect(sha256(checkpoint(0, 'grpo'))).toBe(sha256(join(dir, 'weights.bin')));
  }, 300_000);
});
