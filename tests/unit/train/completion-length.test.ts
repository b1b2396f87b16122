// The completion cap must leave room for the benchmark's longest gold chain: a chain cut
// before its answer scores 0, so a cap below it poisons GRPO's groups and the verifier's pairs.
import { describe, expect, it } from 'vitest';
import { benchmarkTokenizer } from '../../../src/main/model/prompt';
import { DEFAULT_MAX_COMPLETION_LENGTH, GrpoConfigSchema } from '../../../src/main/train/config';
import { dpoCompletionCap, resolveRunConfig } from '../../../src/main/loop/config';
import { RUN_PRESETS } from '../../../src/main/loop/presets';
import { DIFFICULTIES, MODALITIES, familiesFor, sampleTasks } from '../../../src/main/video/tasks';

describe('max_completion_length', () => {
  it("the default covers every family's longest gold chain (with <eos>) with margin, in every loop preset", () => {
    const tokenizer = benchmarkTokenizer();
    let longest = 0;
    let where = '';
    for (const modality of MODALITIES) {
      for (const family of familiesFor(modality)) {
        for (const difficulty of DIFFICULTIES) {
          for (const task of sampleTasks({ n: 100, seed: 3, split: 'train', modality, family, difficulty })) {
            const n = tokenizer.encode(task.cot.gold).length + 1;
            if (n > longest) [longest, where] = [n, `${family} ${modality} d${difficulty}`];
          }
        }
      }
    }
    // The order family's difficulty-3 chains are the longest (151 tokens); had the sample missed them this test would prove little.
    expect(longest, where).toBeGreaterThanOrEqual(140);
    expect(DEFAULT_MAX_COMPLETION_LENGTH, `longest gold chain: ${longest} tokens (${where})`).toBeGreaterThanOrEqual(Math.ceil(longest * 1.1));
    expect(GrpoConfigSchema.parse({}).max_completion_length).toBe(DEFAULT_MAX_COMPLETION_LENGTH);
    for (const preset of Object.keys(RUN_PRESETS)) {
      const config = resolveRunConfig({ preset });
      expect(config.grpo.max_completion_length, preset).toBeGreaterThanOrEqual(Math.ceil(longest * 1.1));
      // DPO trains on the same chains: its cap is GRPO's plus the <eos> a cut completion gets back.
      expect(dpoCompletionCap(config), preset).toBe(config.grpo.max_completion_length + 1);
    }
  });
});
