// What the verifier reads and what it says. A rollout is one sampled completion for a
// prompt; rollouts sharing a promptId form the group that GRPO sampled together.
import type { AnswerSpec } from '../answers/spec';

export interface Rollout {
  /** position in the input (line order for files), echoed in verdicts */
  index: number;
  promptId: string;
  prompt: string;
  completion: string;
  spec: AnswerSpec;
  /** the trainer's own reward, if it logged one */
  reward?: number;
  /** set when the trainer knows generation hit max_completion_length */
  truncated?: boolean;
  video?: string;
  /** the system prompt the rollout was generated with, kept for export */
  system?: string;
  /** false when the source has no ground truth: only ground-truth-free checks run */
  hasTruth?: boolean;
}

/** A text range [start, end) in the completion. */
export type Span = [number, number];

export interface CheckResult {
  name: string;
  pass: boolean;
  /** in [0, 1], higher is better */
  score: number;
  reason: string;
  spans: Span[];
  /** the check did not run (disabled, or its input is missing); not scored */
  skipped?: boolean;
  /** the check failed to run (e.g. the judge server is down); not scored */
  error?: string;
  /** check-specific numbers (rep-n, word count, judge verdict …) */
  details?: Record<string, unknown>;
}

export interface Verdict {
  index: number;
  promptId: string;
  correct: boolean;
  consistent: boolean;
  repetitive: boolean;
  truncated: boolean;
  reflective: boolean;
  formatted: boolean;
  /** the reasoning states a conclusion the rules could read (null: nothing to compare) */
  concluded: boolean | null;
  /** the judge was asked and failed the rollout, or the call failed */
  judge_failed: boolean;
  /** reasoning length in words */
  length: number;
  /** weighted mean of the scores of the checks that ran */
  score: number;
  checks: CheckResult[];
  /** one line per failed check, human-readable */
  reasons: string[];
}

/** Grounding of a reasoning text against a scene fact log, supplied by the caller. */
export interface GroundingResult {
  total: number;
  grounded: number;
  rate: number;
  /** readings the fact log contradicts and the chain did not retract */
  ungrounded: Span[];
  /** the same readings as text, one per ungrounded span (default: the span's text) */
  misread?: string[];
  /** contradicted readings the chain took back and replaced by a supported one (self-corrections) */
  corrected?: string[];
}
export type GroundingFn = (text: string, rollout: Rollout) => GroundingResult | null;
