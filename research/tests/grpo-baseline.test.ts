import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { baselineFingerprint, readBaseline, writeBaseline, type ValReport } from '../lib/stats';

function checkpoint(weights: number[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'veripo-ckpt-'));
  writeFileSync(join(dir, 'model.json'), '{"kind":"veripo-policy"}');
  writeFileSync(join(dir, 'tokenizer.json'), '{}');
  writeFileSync(join(dir, 'weights.bin'), Buffer.from(Float32Array.from(weights).buffer));
  return dir;
}

const report: ValReport = {
  accuracy: 0.5, format_rate: 1, inconsistency_rate: 0, mean_length: 70, grounding_rate: 0.8,
  per_task: [1, 0], by_family: { order: 0.5 }, sampled: null,
};

describe('grpo-run.ts --baseline (step-0 eval reused per checkpoint and val setting)', () => {
  it('fingerprints the checkpoint bytes, the val tasks and the eval settings', () => {
    const a = checkpoint([1, 2, 3]);
    const base = baselineFingerprint(a, ['t1', 't2'], { max_completion_length: 128 });
    expect(baselineFingerprint(checkpoint([1, 2, 3]), ['t1', 't2'], { max_completion_length: 128 })).toBe(base);
    expect(baselineFingerprint(checkpoint([1, 2, 3.0001]), ['t1', 't2'], { max_completion_length: 128 })).not.toBe(base);
    expect(baselineFingerprint(a, ['t1', 't3'], { max_completion_length: 128 })).not.toBe(base);
    expect(baselineFingerprint(a, ['t1', 't2'], { max_completion_length: 160 })).not.toBe(base);
  });

  it('returns the stored report under the same fingerprint, null when absent or stale', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'veripo-base-')), 'base.json');
    expect(readBaseline(file, 'f1', 2)).toBeNull();
    writeBaseline(file, 'f1', report);
    expect(readBaseline(file, 'f1', 2)).toEqual(report);
    expect(readBaseline(file, 'f2', 2)).toBeNull();
  });

  it('names the file when it is not a baseline, or holds the wrong number of tasks', () => {
    const dir = mkdtempSync(join(tmpdir(), 'veripo-base-'));
    writeFileSync(join(dir, 'bad.json'), '{"fingerprint": ');
    expect(() => readBaseline(join(dir, 'bad.json'), 'f1', 2)).toThrow(/bad\.json: not a baseline file/);
    writeFileSync(join(dir, 'null.json'), 'null');
    expect(() => readBaseline(join(dir, 'null.json'), 'f1', 2)).toThrow(/null\.json: not a baseline file/);
    writeBaseline(join(dir, 'short.json'), 'f1', { ...report, per_task: [1] });
    expect(() => readBaseline(join(dir, 'short.json'), 'f1', 2)).toThrow(/short\.json: field val\.per_task must list 2 scores/);
  });
});
