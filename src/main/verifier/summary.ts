// What a batch of verdicts says in numbers: the summary `veripo verify` prints and the loop's
// verify stage stores.
import { countPairsByKind, type PairKind, type PairRecord } from './pairs';
import { correctedReadings, misreadings } from './checks';
import type { Verdict } from './types';

export interface VerifySummary {
  n: number;
  skipped: number;
  accuracy: number;
  format_rate: number;
  inconsistency_rate: number;
  repetition_rate: number;
  truncation_rate: number;
  reflection_rate: number;
  /** share of rollouts keeping a reading the scene fact log contradicts (0 where no fact log) */
  misread_rate: number;
  /** rollouts that correct a misreading of their own ("… wait , …") */
  self_corrected: number;
  mean_length: number;
  mean_score: number;
  /** rollouts whose reasoning states no conclusion the rules could read (the rubric's no_conclusion decides their verdict) */
  no_conclusion: number;
  /** rollouts without ground truth: accuracy not checked, not counted in accuracy */
  no_ground_truth: number;
  judge_errors: number;
  pairs: Record<PairKind, number> & { total: number };
}

const noTruth = (v: Verdict) => v.checks.some((c) => c.name === 'accuracy' && c.details?.no_ground_truth === true);

export function summarise(verdicts: Verdict[], pairs: PairRecord[], skipped: number): VerifySummary {
  const n = verdicts.length;
  const rate = (f: (v: Verdict) => boolean) => (n ? verdicts.filter(f).length / n : 0);
  const mean = (f: (v: Verdict) => number) => (n ? verdicts.reduce((s, v) => s + f(v), 0) / n : 0);
  const round = (x: number) => Math.round(x * 10000) / 10000;
  const withTruth = verdicts.filter((v) => !noTruth(v));
  return {
    n,
    skipped,
    accuracy: round(withTruth.length ? withTruth.filter((v) => v.correct).length / withTruth.length : 0),
    format_rate: round(rate((v) => v.formatted)),
    inconsistency_rate: round(rate((v) => !v.consistent)),
    repetition_rate: round(rate((v) => v.repetitive)),
    truncation_rate: round(rate((v) => v.truncated)),
    reflection_rate: round(rate((v) => v.reflective)),
    misread_rate: round(rate((v) => misreadings(v.checks).length > 0)),
    self_corrected: verdicts.filter((v) => correctedReadings(v.checks).length > 0).length,
    mean_length: round(mean((v) => v.length)),
    mean_score: round(mean((v) => v.score)),
    no_conclusion: verdicts.filter((v) => v.concluded === false).length,
    no_ground_truth: verdicts.filter(noTruth).length,
    judge_errors: verdicts.filter((v) => v.checks.some((c) => c.name === 'judge' && c.error)).length,
    pairs: { ...countPairsByKind(pairs), total: pairs.length },
  };
}

/** The numbers of a verify stage worth a curve, as `verify/<name>` metrics: pairs by kind first. */
export function summaryMetrics(s: VerifySummary): Record<string, number> {
  const { pairs } = s;
  return {
    ...Object.fromEntries(Object.entries(pairs).map(([kind, n]) => [`pairs_${kind}`, n])),
    accuracy: s.accuracy,
    format_rate: s.format_rate,
    inconsistency_rate: s.inconsistency_rate,
    misread_rate: s.misread_rate,
    self_corrected: s.self_corrected,
    mean_length: s.mean_length,
  };
}
