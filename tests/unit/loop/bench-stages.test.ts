// `veripo bench stages` times the main job's situation: the policy comes from the cold-start
// SFT `veripo run` caches (or a short SFT the bench caches itself), the stages from the veripo preset.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/main/model/backend';
import { saveCheckpoint } from '../../../src/main/model/checkpoint';
import { presetConfig } from '../../../src/main/model/config';
import { createPolicy, disposePolicy } from '../../../src/main/model/policy';
import { benchmarkPolicyData, benchmarkTokenizer } from '../../../src/main/model/prompt';
import { BENCH_SFT_STEPS, benchStages, resolveBenchPolicy, verifierPairs } from '../../../src/main/loop/bench-stages';
import type { GrpoRollout } from '../../../src/main/train/grpo';
import { sampleTasks } from '../../../src/main/video/tasks';
import { resolveRunConfig } from '../../../src/main/loop/config';
import { sftCachePath } from '../../../src/main/loop/cold-start';

let dir: string;
beforeAll(async () => {
  await initBackend();
  dir = mkdtempSync(join(tmpdir(), 'bench-stages-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function saveTiny(at: string, seed: number): void {
  const tokenizer = benchmarkTokenizer();
  const policy = createPolicy(presetConfig('tiny', benchmarkPolicyData(tokenizer)), seed);
  saveCheckpoint(at, policy, tokenizer);
  disposePolicy(policy);
}

describe('bench stages', () => {
  it("takes the policy from --checkpoint, else the main job's cached SFT, else the bench's own cached SFT", async () => {
    const config = resolveRunConfig({ preset: 'veripo', sets: [['model.preset', 'tiny']] });
    const cache = join(dir, 'cache');
    const given = join(dir, 'given');
    saveTiny(given, 1);
    saveTiny(join(cache, `bench-sft-tiny-${BENCH_SFT_STEPS}`), 2);
    const resolve = (checkpoint?: string) => resolveBenchPolicy(config, { checkpoint, cacheDir: cache, onProgress: () => {} });
    const a = await resolve(given);
    expect([a.checkpoint, a.source]).toEqual([given, 'given']);
    const b = await resolve();
    expect(b.source).toBe('bench SFT cache');
    const mainJob = sftCachePath(cache, config);
    saveTiny(mainJob, 3);
    const c = await resolve();
    expect([c.checkpoint, c.source]).toEqual([mainJob, 'main job SFT cache']);
    for (const r of [a, b, c]) disposePolicy(r.policy);
  });

  it('prints the per-prompt, per-completion and per-sequence times and their ratio', async () => {
    const lines: string[] = [];
    const r = await benchStages({ preset: 'tiny', checkpoint: join(dir, 'given'), steps: 1, pairs: 2, onProgress: (l) => lines.push(l) });
    for (const key of ['grpo_s_per_prompt', 'dpo_s_per_prompt', 'grpo_update_s_per_completion', 'dpo_s_per_sequence'] as const) expect(r[key], key).toBeGreaterThan(0);
    expect(r.ratio).toBeCloseTo(r.grpo_s_per_prompt / r.dpo_s_per_prompt, 10);
    expect(r.workers).toBeGreaterThanOrEqual(1);
    // The veripo preset's stages: GRPO's prompts, group and cap; DPO's epochs over each pair.
    expect([r.prompts_per_step, r.num_generations, r.max_completion_length, r.dpo_epochs, r.dpo_pairs]).toEqual([4, 8, 176, 1, 2]);
    expect([r.dpo_pairs_source, r.dpo_prompts]).toEqual(['gold/inconsistent', 2]);
    expect(r.dpo_s_per_sequence).toBeCloseTo(r.dpo_s_per_prompt / (2 * r.dpo_epochs), 10);
    expect(r.grpo_update_s_per_completion * r.num_generations).toBeLessThan(r.grpo_s_per_prompt);
    expect(lines.some((l) => /grpo step 1\/1/.test(l)) && lines.some((l) => /dpo step/.test(l))).toBe(true);
  }, 600_000);

  it("trains DPO on the verifier's pairs of the GRPO rollouts, one encoded prompt per task", async () => {
    const tokenizer = benchmarkTokenizer();
    // Chains long enough for the default rubric's length floor.
    const [a, b] = sampleTasks({ n: 24, seed: 5, split: 'train', modality: 'video', difficulty: 2 }).filter((t) => t.family === 'rotation');
    const row = (task: typeof a, text: string, i: number): GrpoRollout => ({
      step: 1, task_id: task!.id, shuffled: false, group_index: i, prompt: task!.question, ground_truth: task!.answer,
      text, tokens: [], logprobs: [], reward: 0, reward_parts: {}, advantage: 0, truncated: false,
    });
    // Task a: two right chains and one that reasons inconsistently; task b: nothing to prefer.
    const rows = [row(a, a!.cot.gold, 0), row(a, a!.cot.inconsistent, 1), row(a, a!.cot.gold, 2), row(b, b!.cot.gold, 0), row(b, b!.cot.gold, 1)];
    const pairs = await verifierPairs(rows, tokenizer, 'default');
    expect(pairs.length).toBeGreaterThan(0);
    for (const p of pairs) {
      expect(p.chosen).toBe(a!.cot.gold);
      expect(p.rejected).toBe(a!.cot.inconsistent);
      expect(p.prompt).toBe(pairs[0]!.prompt);
    }
    expect(pairs[0]!.prompt.tokens.length).toBeGreaterThan(0);
  });
});
