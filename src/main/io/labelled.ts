// A labelled rollouts file: any rollouts file whose records also carry hand labels
// `label_correct`, `label_consistent`, `label_repetitive` (booleans), for measuring how
// far a rubric's verdicts agree with people (`bench/verify.ts --labelled`).
import type { HandLabel } from '../verifier/agreement';
import { InputError, readJsonl } from './jsonl';
import { readRollouts, type SourcedRollout } from './rollouts';

export async function readLabelledRollouts(file: string): Promise<{ rollouts: SourcedRollout[]; labels: HandLabel[] }> {
  const { rollouts } = await readRollouts(file);
  const labels: HandLabel[] = [];
  for await (const { line, value } of readJsonl(file)) {
    const r = value as Record<string, unknown>;
    const flag = (k: string) => {
      if (typeof r[k] !== 'boolean') throw new InputError(file, line, `field "${k}": expected true or false`);
      return r[k] as boolean;
    };
    labels.push({ correct: flag('label_correct'), consistent: flag('label_consistent'), repetitive: flag('label_repetitive') });
  }
  return { rollouts, labels };
}
