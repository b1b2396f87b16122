// Cold-start SFT on gold chains, reusing a finished SFT of the same model, config and seed.
import { join } from 'node:path';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { copyWeights, loadCheckpoint, saveCheckpoint } from '../../model/checkpoint';
import { disposePolicy, type Policy } from '../../model/policy';
import type { Tokenizer } from '../../model/tokenizer';
import type { TrainEvent } from '../../model/worker-protocol';
import { runSft } from '../../train/sft';
import type { RunConfig } from '../config';
import type { LoopContext } from './context';

function sftCacheKey(config: RunConfig): string {
  // workers changes how a batch is computed, not what is learned (up to float rounding).
  const { cache: _cache, workers: _workers, ...sft } = config.sft;
  return createHash('sha256').update(JSON.stringify({ model: config.model.preset, sft, seed: config.seed, v: 1 })).digest('hex').slice(0, 16);
}

export async function sftStage(ctx: LoopContext, policy: Policy, tokenizer: Tokenizer, onEvent: (ev: TrainEvent) => void): Promise<Record<string, unknown>> {
  const { config } = ctx;
  const cacheDir = join(ctx.cacheDir, `sft-${sftCacheKey(config)}`);
  if (config.sft.cache && existsSync(join(cacheDir, 'model.json'))) {
    const cached = loadCheckpoint(cacheDir).policy;
    copyWeights(cached, policy);
    disposePolicy(cached);
    ctx.emit({ type: 'log', level: 'info', message: `sft: reused the cached cold-start checkpoint ${cacheDir}` });
    return { cached: cacheDir };
  }
  const { cache: _cache, ...sft } = config.sft;
  const r = await runSft(policy, tokenizer, { ...sft, seed: config.seed }, { onEvent, shouldStop: ctx.shouldStop });
  if (config.sft.cache && !r.stopped) {
    const tmp = `${cacheDir}.tmp-${process.pid}`;
    saveCheckpoint(tmp, policy, tokenizer, { sft: sft });
    rmSync(cacheDir, { recursive: true, force: true });
    cpSync(tmp, cacheDir, { recursive: true });
    rmSync(tmp, { recursive: true, force: true });
  }
  return { steps: r.steps, final_loss: r.losses.at(-1) ?? null, response_tokens: r.response_tokens };
}
