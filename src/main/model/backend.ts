// Run-time choice of the TensorFlow.js backend: tfjs-node-gpu (native TensorFlow) when it
// loads, else wasm with SIMD, else the pure-JS cpu backend. Every caller gets back which
// backend runs and why each faster one did not, so runs can record it.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core's Node entry registers no gradients; ./gradients does (see there).
import './gradients';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import path from 'node:path';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

export interface BackendChoice {
  backend: string;
  /** One line per backend tried (or skipped) explaining the outcome. */
  reasons: string[];
}

let chosen: BackendChoice | null = null;

function message(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!.slice(0, 200);
}

async function tryTensorflow(): Promise<string | null> {
  try {
    // A variable specifier keeps bundlers and tsc from requiring the optional package.
    const name = '@tensorflow/tfjs-node-gpu';
    await import(/* @vite-ignore */ name);
  } catch (err) {
    return `tensorflow: @tensorflow/tfjs-node-gpu did not load (${message(err)})`;
  }
  if (!(await tf.setBackend('tensorflow'))) return 'tensorflow: package loaded but the backend failed to initialise';
  return null;
}

async function tryWasm(): Promise<string | null> {
  try {
    // In Node the .wasm binaries are read from the package's dist folder on disk.
    const require = createRequire(import.meta.url);
    const dist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
    setWasmPaths(dist);
    if (!(await tf.setBackend('wasm'))) return 'wasm: backend failed to initialise';
    await tf.ready();
  } catch (err) {
    return `wasm: ${message(err)}`;
  }
  return null;
}

/** Current backend's capabilities, e.g. "wasm (simd, 1 thread)". */
export async function describeBackend(): Promise<string> {
  const name = tf.getBackend();
  if (name !== 'wasm') return name;
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  return `wasm (${simd ? 'simd' : 'no simd'}, ${threads ? 'multi-threaded' : '1 thread'})`;
}

/**
 * Initialise the fastest backend that works. `prefer` (or the VERIPO_BACKEND environment
 * variable, which wins) forces one; a forced backend that fails is an error, not a fallback.
 * Idempotent: later calls return the first choice unless a different backend is forced.
 */
export async function initBackend(prefer?: BackendName): Promise<BackendChoice> {
  const envForced = process.env.VERIPO_BACKEND?.trim();
  if (envForced && !BACKEND_NAMES.includes(envForced as BackendName)) {
    throw new Error(`VERIPO_BACKEND=${envForced} is not one of ${BACKEND_NAMES.join(', ')}`);
  }
  const forced = (envForced as BackendName | undefined) || prefer;
  if (chosen && (!forced || chosen.backend === forced)) return chosen;

  const reasons: string[] = [];
  const order: BackendName[] = forced ? [forced] : [...BACKEND_NAMES];
  if (forced) reasons.push(`${forced}: forced by ${envForced ? 'VERIPO_BACKEND' : 'caller'}`);
  for (const name of order) {
    let failure: string | null;
    if (name === 'tensorflow') failure = await tryTensorflow();
    else if (name === 'wasm') failure = await tryWasm();
    else failure = (await tf.setBackend('cpu')) ? null : 'cpu: backend failed to initialise';
    if (failure === null) {
      await tf.ready();
      if (name === 'wasm' && !(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))) reasons.push('wasm: running without SIMD');
      reasons.push(`${name}: selected (${await describeBackend()})`);
      chosen = { backend: name, reasons };
      return chosen;
    }
    reasons.push(failure);
  }
  throw new Error(`no TensorFlow.js backend could be initialised: ${reasons.join('; ')}`);
}
