import { describe, it, expect, afterEach } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/main/model/backend';

afterEach(() => {
  delete process.env.VERIPO_BACKEND;
});

describe('backend choice', () => {
  it('falls back past tfjs-node-gpu and says why', async () => {
    const r = await initBackend();
    expect(['tensorflow', 'wasm', 'cpu']).toContain(r.backend);
    expect(tf.getBackend()).toBe(r.backend);
    expect(r.reasons[0]).toMatch(/^tensorflow: /);
    expect(r.reasons.at(-1)).toMatch(new RegExp(`^${r.backend}: selected`));
  });

  it('VERIPO_BACKEND forces a backend and rejects unknown names', async () => {
    process.env.VERIPO_BACKEND = 'cpu';
    const r = await initBackend('wasm');
    expect(r.backend).toBe('cpu');
    expect(r.reasons[0]).toBe('cpu: forced by VERIPO_BACKEND');
    expect(tf.getBackend()).toBe('cpu');
    process.env.VERIPO_BACKEND = 'gpu';
    await expect(initBackend()).rejects.toThrow(/VERIPO_BACKEND=gpu/);
  });
});
