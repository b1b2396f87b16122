// The cold-start SFT checkpoint, cached by content: the model preset, the SFT config, its seed
// and a hash of the data it trains on. The cache is per user, not per database or VERIPO_HOME,
// so every run and every experiment with the same cold start reuses one SFT.
import { join } from 'node:path';
import { homedir } from 'node:os';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { initBackend } from '../model/backend';
import { createPolicy, disposePolicy } from '../model/policy';
import { presetConfig } from '../model/config';
import { benchmarkPolicyData, benchmarkTokenizer } from '../model/prompt';
import { saveCheckpoint } from '../model/checkpoint';
import type { TrainEvent } from '../model/worker-protocol';
import { runSft } from '../train/sft';
import { sampleTasks } from '../video';
import { hashInts } from '../video/prng';
import type { RunConfig } from './config';

/** $VERIPO_CACHE, else $XDG_CACHE_HOME/veripo, else ~/.cache/veripo. */
export function sharedCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VERIPO_CACHE?.trim()) return env.VERIPO_CACHE.trim();
  return join(env.XDG_CACHE_HOME?.trim() || join(homedir(), '.cache'), 'veripo');
}

/**
 * A fingerprint of the SFT data: the first batch of every (modality, difficulty) the config
 * trains on, frames and gold chains included, so a change in the task generator is a new key.
 */
function sftDataHash(config: RunConfig): string {
  const h = createHash('sha256');
  for (const modality of config.sft.modalities) {
    for (const difficulty of config.sft.difficulties) {
      for (const t of sampleTasks({ n: config.sft.batch_size, seed: hashInts(config.seed, 0), split: 'train', modality, difficulty })) {
        h.update(JSON.stringify({ q: t.question, o: t.options, a: t.answer, s: t.sceneText, cot: t.cot }));
        if (t.frames) h.update(t.frames);
      }
    }
  }
  return h.digest('hex').slice(0, 16);
}

export function sftCacheKey(config: RunConfig): string {
  // workers changes how a batch is computed, save_steps how often it is saved: neither what is learned (up to float rounding).
  const { cache: _cache, workers: _workers, save_steps: _saveSteps, ...sft } = config.sft;
  return createHash('sha256').update(JSON.stringify({ model: config.model.preset, sft, seed: config.seed, data: sftDataHash(config), v: 2 })).digest('hex').slice(0, 16);
}

export function sftCachePath(cacheRoot: string, config: RunConfig): string {
  return join(cacheRoot, `sft-${sftCacheKey(config)}`);
}

/**
 * The cold-start checkpoint of `config` (its model preset, sft.* and seed): the cached one, or
 * a fresh SFT saved into the cache. Written to a temporary folder and renamed, so two processes
 * racing for one key never see half a checkpoint.
 */
export async function coldStartCheckpoint(
  config: RunConfig,
  cacheRoot: string,
  hooks: { onEvent?: (ev: TrainEvent) => void; shouldStop?: () => boolean } = {},
): Promise<{ dir: string; cached: boolean; steps: number; seconds: number }> {
  const dir = sftCachePath(cacheRoot, config);
  if (existsSync(join(dir, 'model.json'))) return { dir, cached: true, steps: config.sft.steps, seconds: 0 };
  const started = performance.now();
  await initBackend(config.model.backend ?? undefined);
  const tokenizer = benchmarkTokenizer();
  const policy = createPolicy(presetConfig(config.model.preset, benchmarkPolicyData(tokenizer)), config.seed);
  try {
    const { cache: _cache, save_steps: _saveSteps, ...sft } = config.sft;
    const r = await runSft(policy, tokenizer, { ...sft, seed: config.seed }, { onEvent: hooks.onEvent, shouldStop: hooks.shouldStop });
    if (r.stopped) throw new Error('cold-start SFT stopped before it finished');
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    saveCheckpoint(tmp, policy, tokenizer, { sft });
    if (existsSync(join(dir, 'model.json'))) rmSync(tmp, { recursive: true, force: true });
    else {
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
    }
  } finally {
    disposePolicy(policy);
  }
  return { dir, cached: false, steps: config.sft.steps, seconds: (performance.now() - started) / 1000 };
}
