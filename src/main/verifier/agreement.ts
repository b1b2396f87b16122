// How far the verifier's verdicts agree with hand labels: inconsistency precision and
// recall (the verdict a DPO pair turns on) and agreement on correct and repetitive.
// Used to measure a rubric against a labelled set (`bench/verify.ts --labelled`).
import type { Verdict } from './types';

export interface HandLabel {
  correct: boolean;
  consistent: boolean;
  repetitive: boolean;
}

export interface Agreement {
  n: number;
  /** labelled inconsistent */
  inconsistent: number;
  inconsistency_precision: number;
  inconsistency_recall: number;
  accuracy_agreement: number;
  consistency_agreement: number;
  repetition_agreement: number;
  /** indices of the rollouts whose verdict disagrees with a label, by label */
  disagreements: { correct: number[]; consistent: number[]; repetitive: number[] };
}

export function labelAgreement(verdicts: Verdict[], labels: HandLabel[]): Agreement {
  if (verdicts.length !== labels.length) throw new RangeError(`${verdicts.length} verdicts for ${labels.length} labels`);
  const n = labels.length;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  const dis = { correct: [] as number[], consistent: [] as number[], repetitive: [] as number[] };
  verdicts.forEach((v, i) => {
    const l = labels[i];
    const flagged = !v.consistent;
    const truth = !l.consistent;
    if (flagged && truth) tp++;
    else if (flagged) fp++;
    else if (truth) fn++;
    if (v.correct !== l.correct) dis.correct.push(v.index);
    if (v.consistent !== l.consistent) dis.consistent.push(v.index);
    if (v.repetitive !== l.repetitive) dis.repetitive.push(v.index);
  });
  const share = (bad: number[]) => (n ? 1 - bad.length / n : 1);
  const r4 = (x: number) => Math.round(x * 10000) / 10000;
  return {
    n,
    inconsistent: tp + fn,
    inconsistency_precision: r4(tp + fp ? tp / (tp + fp) : 1),
    inconsistency_recall: r4(tp + fn ? tp / (tp + fn) : 1),
    accuracy_agreement: r4(share(dis.correct)),
    consistency_agreement: r4(share(dis.consistent)),
    repetition_agreement: r4(share(dis.repetitive)),
    disagreements: dis,
  };
}
