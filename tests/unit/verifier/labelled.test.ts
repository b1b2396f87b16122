// The verifier against hand labels: tests/fixtures/verifier/labelled.jsonl holds rollouts
// written the way real models write (letters, option texts, numbers with units, \boxed,
// reflections, six languages, OCR / free-form, truncated, looping), labelled by how each
// was written (see build-labelled.mjs), never by running the verifier.
import { describe, expect, it } from 'vitest';
import { readLabelledRollouts } from '../../../src/main/io/labelled';
import { labelAgreement } from '../../../src/main/verifier/agreement';
import { defaultRubric } from '../../../src/main/verifier/rubric';
import { verifyAll } from '../../../src/main/verifier/verify';

const FILE = 'tests/fixtures/verifier/labelled.jsonl';

describe('labelled corpus', () => {
  it('inconsistency precision and recall >= 0.9, accuracy agreement >= 0.98', async () => {
    const { rollouts, labels } = await readLabelledRollouts(FILE);
    expect(rollouts.length).toBeGreaterThanOrEqual(200);
    expect(labels.filter((l) => !l.consistent).length).toBeGreaterThanOrEqual(40);
    const a = labelAgreement(await verifyAll(rollouts, defaultRubric()), labels);
    expect(a.inconsistency_precision).toBeGreaterThanOrEqual(0.9);
    expect(a.inconsistency_recall).toBeGreaterThanOrEqual(0.9);
    expect(a.accuracy_agreement).toBeGreaterThanOrEqual(0.98);
    expect(a.repetition_agreement).toBeGreaterThanOrEqual(0.95);
  });

  it('covers the styles it claims', async () => {
    const { rollouts } = await readLabelledRollouts(FILE);
    const all = rollouts.map((r) => r.completion).join('\n');
    for (const needle of ['\\boxed{', '答案', 'réponse', 'respuesta', 'Antwort', 'resposta', 'Wait', 'meters']) expect(all).toContain(needle);
    const types = new Set(rollouts.map((r) => r.spec.answerType));
    expect([...types].sort()).toEqual(['free', 'mc', 'numeric', 'ocr', 'regression']);
    expect(rollouts.some((r) => !/<\/think>/.test(r.completion))).toBe(true); // truncated
  });
});
