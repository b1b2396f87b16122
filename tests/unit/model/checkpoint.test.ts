import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../../../src/main/model/backend';
import { createPolicy } from '../../../src/main/model/policy';
import { presetConfig } from '../../../src/main/model/config';
import { clonePolicy, loadCheckpoint, saveCheckpoint } from '../../../src/main/model/checkpoint';
import { Tokenizer } from '../../../src/main/model/tokenizer';

beforeAll(async () => {
  await initBackend();
});

describe('checkpoint', () => {
  const tokenizer = Tokenizer.fromWords(['red', 'circle', 'at', '1', '2', '.']);
  const config = presetConfig('tiny', { vocab_size: tokenizer.size, frame_height: 8, frame_width: 8, max_frames: 4 });

  it('saves and loads bit-exactly, with config, tokenizer and metadata', () => {
    const policy = createPolicy(config, 11);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'veripo-ckpt-'));
    saveCheckpoint(dir, policy, tokenizer, { stage: 'sft', step: 3 });
    const back = loadCheckpoint(dir);
    expect(back.policy.config).toEqual(config);
    expect(back.tokenizer.tokens).toEqual(tokenizer.tokens);
    expect(back.meta).toEqual({ stage: 'sft', step: 3 });
    expect([...back.policy.params.keys()]).toEqual([...policy.params.keys()]);
    for (const [name, v] of policy.params) {
      const a = v.dataSync();
      const b = back.policy.params.get(name)!.dataSync();
      expect(Buffer.from(b.buffer, b.byteOffset, b.byteLength).equals(Buffer.from(a.buffer, a.byteOffset, a.byteLength))).toBe(true);
    }
    fs.rmSync(dir, { recursive: true });
  });

  it('rejects a checkpoint whose tokenizer does not match the config', () => {
    const policy = createPolicy(config, 1);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'veripo-ckpt-'));
    saveCheckpoint(dir, policy, Tokenizer.fromWords(['red']), {});
    expect(() => loadCheckpoint(dir)).toThrow(/vocab_size/);
    fs.rmSync(dir, { recursive: true });
  });

  it('clonePolicy is a frozen deep copy', () => {
    const policy = createPolicy(config, 2);
    const ref = clonePolicy(policy);
    expect([...ref.params.values()].every((v) => !v.trainable)).toBe(true);
    const w = policy.params.get('wte')!;
    const before = ref.params.get('wte')!.dataSync().slice();
    w.assign(tf.add(w, 1));
    expect(Array.from(ref.params.get('wte')!.dataSync())).toEqual(Array.from(before));
  });
});
