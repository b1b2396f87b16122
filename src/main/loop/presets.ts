// Named run configs: partial configs merged over the schema's defaults (`veripo run --preset`,
// the Runs page's preset menu). The VerIPO loop, a smoke check, a demo, and the baselines the
// paper compares against at the same budget.
import { smokeCheckpoint } from '../model/shipped';

/** Presets are partial configs merged over the defaults. */
export const RUN_PRESETS: Record<string, { description: string; config: Record<string, unknown> }> = {
  veripo: {
    description: 'VerIPO: cold-start SFT, then GRPO → verifier → DPO twice, then GRPO (small policy, embedded benchmark)',
    config: {
      experiment: 'veripo',
      grpo: { steps: 24, per_step_prompts: 4, num_generations: 8, learning_rate: 2e-5 },
      // One pass over each iteration's pairs: they are fresh from the verifier every time, and
      // a second pass would double DPO's cost, the stage VerIPO relies on being cheap.
      dpo: { epochs: 1, batch_size: 8, learning_rate: 2e-5 },
      loop: { method: 'veripo', iterations: 2 },
    },
  },
  smoke: {
    description: 'A few-minute check of the whole loop: GRPO → verify → DPO → GRPO from the shipped tiny policy (resources/checkpoints/smoke-tiny)',
    config: {
      experiment: 'smoke',
      // The shipped checkpoint already writes well-formed chains (its recipe:
      // resources/checkpoints/README.md), so the run shows real rollouts, verdicts and pairs
      // instead of a cold start's noise. `--set model.init_checkpoint=null` trains from scratch
      // with the SFT below instead.
      model: { preset: 'tiny', init_checkpoint: smokeCheckpoint() },
      data: { train_size: 64, val_size: 24, test_size: 24 },
      // The tiny policy's pointer shares its trunk, where the vocabulary-head loss does not help
      // (research/computed-word.md), so it is off.
      sft: { steps: 400, batch_size: 16, learning_rate: 3e-3, modalities: ['video'], difficulties: [1], cache: false, vocab_loss_weight: 0 },
      grpo: { steps: 3, per_step_prompts: 4, num_generations: 8 },
      dpo: { epochs: 1, batch_size: 4 },
      // The tiny policy's few right answers rarely ground their observations; the lenient rubric
      // (no grounding check, 5-word floor) still gives DPO real pairs to train on.
      verifier: { rubric: 'lenient' },
      loop: { method: 'veripo', iterations: 1 },
    },
  },
  demo: {
    description: 'A ten-minute demo with the small policy: one VerIPO iteration',
    config: {
      experiment: 'demo',
      sft: { steps: 150 },
      grpo: { steps: 8, per_step_prompts: 4 },
      loop: { method: 'veripo', iterations: 1 },
    },
  },
  grpo: {
    description: 'Baseline: continual GRPO (TRL loss_type grpo) with the same budget as veripo',
    config: { experiment: 'veripo', grpo: { steps: 24, per_step_prompts: 4, learning_rate: 2e-5 }, loop: { method: 'grpo', iterations: 2 } },
  },
  dapo: {
    description: 'Baseline: DAPO (loss_type dapo, clip-higher 0.28, dynamic sampling, no KL)',
    config: {
      experiment: 'veripo',
      grpo: { steps: 24, per_step_prompts: 4, learning_rate: 2e-5, loss_type: 'dapo', epsilon_high: 0.28, dynamic_sampling: true, beta: 0 },
      loop: { method: 'grpo', iterations: 2 },
    },
  },
  dr_grpo: {
    description: 'Baseline: Dr. GRPO (loss_type dr_grpo, no std scaling)',
    config: {
      experiment: 'veripo',
      grpo: { steps: 24, per_step_prompts: 4, learning_rate: 2e-5, loss_type: 'dr_grpo', scale_rewards: 'none' },
      loop: { method: 'grpo', iterations: 2 },
    },
  },
  gspo: {
    description: 'Baseline: GSPO (sequence-level importance sampling)',
    config: {
      experiment: 'veripo',
      grpo: { steps: 24, per_step_prompts: 4, learning_rate: 2e-5, importance_sampling_level: 'sequence', epsilon: 3e-4, epsilon_high: 4e-4 },
      loop: { method: 'grpo', iterations: 2 },
    },
  },
  't-grpo': {
    description: "Baseline: Video-R1's T-GRPO (shuffled-frame group, temporal bonus α=0.3, μ=0.8)",
    config: {
      experiment: 'veripo',
      grpo: { steps: 24, per_step_prompts: 4, learning_rate: 2e-5, temporal: true },
      loop: { method: 'grpo', iterations: 2 },
    },
  },
};

export const DEFAULT_PRESET = 'veripo';
