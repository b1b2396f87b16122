import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../../src/main/model/backend';
import { createPolicy } from '../../src/main/model/policy';
import { presetConfig } from '../../src/main/model/config';
import { loadCheckpoint, saveCheckpoint } from '../../src/main/model/checkpoint';
import { Tokenizer } from '../../src/main/model/tokenizer';
import { mergePolicies, mergeWeights } from '../lib/merge';
import { mergeCheckpoints } from '../scripts/merge';

beforeAll(async () => {
  await initBackend();
});

describe('mergeWeights', () => {
  const base = [1, 2, 3];
  const runs = [
    [2, 2, 0],
    [4, 0, 3],
  ];
  it('alpha 1 is the mean of the runs, 0 the base, between and beyond move along the line', () => {
    expect([...mergeWeights(base, runs)]).toEqual([3, 1, 1.5]);
    expect([...mergeWeights(base, runs, 0)]).toEqual(base);
    expect([...mergeWeights(base, runs, 0.5)]).toEqual([2, 1.5, 2.25]);
    expect([...mergeWeights(base, runs, 2)]).toEqual([5, 0, 0]);
  });
  it('rejects runs of another length and an empty list', () => {
    expect(() => mergeWeights(base, [[1, 2]])).toThrow(/2 weights where the base has 3/);
    expect(() => mergeWeights(base, [])).toThrow(/no runs/);
  });
});

describe('mergePolicies and merge.ts', () => {
  const tokenizer = Tokenizer.fromWords(['red', 'circle', 'at', '1', '2', '.']);
  const config = presetConfig('tiny', { vocab_size: tokenizer.size, frame_height: 8, frame_width: 8, max_frames: 4 });
  const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'veripo-merge-'));

  it('averages every parameter of runs from one base and names a run of another architecture', () => {
    const base = createPolicy(config, 1);
    const a = createPolicy(config, 2);
    const b = createPolicy(config, 3);
    const merged = mergePolicies({ source: 'base', policy: base }, [{ source: 'a', policy: a }, { source: 'b', policy: b }]);
    expect([...merged.keys()]).toEqual([...base.params.keys()]);
    const name = [...base.params.keys()][0]!;
    const want = tf.tidy(() => tf.div(tf.add(a.params.get(name)!, b.params.get(name)!), 2).dataSync());
    expect(merged.get(name)!).toEqual(Float32Array.from(want));
    const wider = createPolicy(presetConfig('tiny', { vocab_size: tokenizer.size + 1, frame_height: 8, frame_width: 8, max_frames: 4 }), 4);
    expect(() => mergePolicies({ source: 'base', policy: base }, [{ source: '/runs/other', policy: wider }])).toThrow(`/runs/other: config.vocab_size is ${tokenizer.size + 1} but base has ${tokenizer.size}`);
  });

  it('merge.ts writes the mean checkpoint and records where it came from', async () => {
    const dir = tmp();
    const [baseDir, aDir, bDir, out] = ['base', 'a', 'b', 'out'].map((d) => path.join(dir, d));
    saveCheckpoint(baseDir!, createPolicy(config, 1), tokenizer);
    saveCheckpoint(aDir!, createPolicy(config, 2), tokenizer);
    saveCheckpoint(bDir!, createPolicy(config, 3), tokenizer);
    expect(await mergeCheckpoints(['--from', baseDir!, '--out', out!, '--alpha', '0.5', aDir!, bDir!])).toMatch(/mean of 2 runs/);
    const [base, a, b, m] = [baseDir, aDir, bDir, out].map((d) => loadCheckpoint(d!));
    for (const [name, v] of m!.policy.params) {
      const want = mergeWeights(base!.policy.params.get(name)!.dataSync(), [a!.policy.params.get(name)!.dataSync(), b!.policy.params.get(name)!.dataSync()], 0.5);
      expect(v.dataSync()).toEqual(want);
    }
    expect(m!.meta).toEqual({ merge: { from: baseDir, runs: [aDir, bDir], alpha: 0.5 } });
    fs.rmSync(dir, { recursive: true });
  });

  it('merge.ts names a run folder that holds no checkpoint and asks for runs', async () => {
    const dir = tmp();
    saveCheckpoint(path.join(dir, 'base'), createPolicy(config, 1), tokenizer);
    await expect(mergeCheckpoints(['--from', path.join(dir, 'base'), '--out', path.join(dir, 'out'), path.join(dir, 'missing')])).rejects.toThrow(/missing\/model.json: no checkpoint here/);
    await expect(mergeCheckpoints(['--from', path.join(dir, 'base'), '--out', path.join(dir, 'out')])).rejects.toThrow(/at least one RUN_DIR/);
    expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);
    fs.rmSync(dir, { recursive: true });
  });
});
