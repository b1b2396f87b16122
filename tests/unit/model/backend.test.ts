import { describe, it, expect, afterEach } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import { initBackend } from '../../../src/main/model/backend';

afterEach(() => {
  delete process.env.VERIPO_BACKEND;
});

describe('backend choice', () => {
  // The optional native package fails to install offline; where it is absent the choice must
  // fall back to wasm (whose binaries ship with the npm package) and say why, in order.
  const nativeInstalled = (() => {
    try {
      createRequire(import.meta.url).resolve('@tensorflow/tfjs-node-gpu');
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(nativeInstalled)('falls back past tfjs-node-gpu to wasm and says why', async () => {
    const r = await initBackend();
    expect(r.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(r.reasons[0]).toMatch(/^tensorflow: @tensorflow\/tfjs-node-gpu did not load \(/);
    expect(r.reasons.at(-1)).toMatch(/^wasm: selected \(wasm \((no )?simd, /);
    expect(r.reasons.some((line) => line.startsWith('cpu'))).toBe(false);
  });

  it.skipIf(!nativeInstalled)('picks tfjs-node-gpu when it is installed', async () => {
    const r = await initBackend();
    expect(r.backend).toBe('tensorflow');
    expect(r.reasons).toEqual([expect.stringMatching(/^tensorflow: selected/)]);
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
