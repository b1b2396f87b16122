// Property/fuzz test of the parsers that read other people's files: rollout records in every
// trainer format, whole JSONL files of random bytes, and rubric documents. Whatever they are
// given, they return a value or throw their own error (InputError, RubricParseError) that
// names the file, the line and the field; any other exception is a crash.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { normaliseRollout, readRollouts } from '../../../src/main/io/rollouts';
import { detectFormat, toFlat, FORMATS } from '../../../src/main/io/formats';
import { InputError } from '../../../src/main/io/jsonl';
import { parseRubric, RubricParseError, defaultRubric } from '../../../src/main/verifier/rubric';

const RUNS = Number(process.env.VERIPO_FUZZ_RUNS ?? 10_000);
const seed = process.env.VERIPO_FUZZ_SEED ? Number(process.env.VERIPO_FUZZ_SEED) : undefined;

const text = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('A', 'B', '(C)', '42', '3.5', '<answer>B</answer>', '<think>x</think><answer>A</answer>', '', ' ', 'multiple choice', 'numerical', 'OCR', 'length'));
const message = fc.record({ role: fc.constantFrom('user', 'assistant', 'system', 7, null), content: fc.oneof(text, fc.array(fc.oneof(text, fc.record({ type: fc.constant('text'), text }), fc.jsonValue({ maxDepth: 1 })), { maxLength: 3 }), fc.jsonValue({ maxDepth: 1 })) }, { requiredKeys: [] });
const field = fc.oneof({ weight: 4, arbitrary: text }, { weight: 2, arbitrary: fc.array(message, { maxLength: 3 }) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) }, { weight: 1, arbitrary: fc.double() });
const ROLLOUT_KEYS = ['prompt', 'question', 'problem', 'completion', 'completions', 'model_output', 'response', 'responses', 'output', 'ground_truth', 'answer', 'solution', 'prompt_id', 'question_id', 'group_id', 'problem_id', 'reward', 'rewards', 'problem_type', 'options', 'video', 'video_path', 'path', 'videos', 'system', 'truncated', 'finish_reason', 'messages', 'data_source', 'reward_model', 'extra_info', 'input', 'gts', 'score', 'step', 'advantages'];
const record = fc.oneof({ weight: 6, arbitrary: fc.dictionary(fc.constantFrom(...ROLLOUT_KEYS), field, { maxKeys: 8 }) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) });

/** An InputError must say where (file:line) and what: a quoted field name, or the record itself. */
function checkInputError(e: unknown, file: string): void {
  if (!(e instanceof InputError)) throw e;
  expect(e.message.startsWith(`${file}:`), e.message).toBe(true);
  expect(e.detail, e.message).toMatch(/"[A-Za-z_]+"|JSON object|record|UTF-8|JSON|line/);
}

describe('parsers under fuzzing', () => {
  it(`rollout records in every format: ${RUNS} random records, no crash, errors name file, line and field`, () => {
    const started = performance.now();
    fc.assert(
      fc.property(record, fc.constantFrom(...FORMATS, 'auto' as const), (value, choice) => {
        try {
          const format = choice === 'auto' ? detectFormat(value).format : choice;
          if (!value || typeof value !== 'object' || Array.isArray(value)) return;
          for (const flat of toFlat(format, value as Record<string, unknown>)) normaliseRollout(flat, 'in.jsonl', 7, 0, { truthOptional: true });
        } catch (e) {
          checkInputError(e, 'in.jsonl');
        }
      }),
      { numRuns: RUNS, seed },
    );
    console.log(`fuzz: ${RUNS} rollout records in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  });

  it('whole JSONL files of random lines and bytes: skipped lines are reported with their line, never thrown', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'veripo-fuzz-jsonl-'));
    let n = 0;
    const line = fc.oneof(record.map((r) => JSON.stringify(r)), fc.string({ maxLength: 60 }), fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b).toString('latin1')), fc.constant(''), fc.constant('{"prompt": "q", "completion": "<answer>A</answer>", "ground_truth": "A"}'));
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 12 }), fc.boolean(), async (lines, rawBytes) => {
        const file = join(dir, `f${n++}.jsonl`);
        writeFileSync(file, rawBytes ? Buffer.from(lines.join('\n'), 'latin1') : lines.join('\n'));
        try {
          const r = await readRollouts(file, { onError: 'skip' });
          for (const p of r.problems) {
            expect(p.line).toBeGreaterThan(0);
            expect(p.message.length).toBeGreaterThan(0);
          }
        } catch (e) {
          checkInputError(e, file);
        }
      }),
      { numRuns: Math.max(100, Math.round(RUNS / 25)), seed },
    );
  });

  // A rubric parse validates a whole schema (a few ms): a quarter of the cases keeps this under 15 s.
  const RUBRIC_RUNS = Math.ceil(RUNS / 4);
  it(`rubric documents: ${RUBRIC_RUNS} random texts and near-rubrics, errors name the JSON path or the line`, () => {
    const started = performance.now();
    const near = (v: unknown, depth = 0): fc.Arbitrary<unknown> => {
      const random = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.double(), fc.constantFrom(-1, 0, 1, 1e9, 'x', true, null));
      if (v && typeof v === 'object' && !Array.isArray(v) && depth < 4) {
        const parts = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, near(x, depth + 1)]));
        return fc.oneof({ weight: 5, arbitrary: fc.record(parts, { requiredKeys: [] }) }, { weight: 1, arbitrary: random });
      }
      return fc.oneof({ weight: 2, arbitrary: fc.constant(v) }, { weight: 1, arbitrary: random });
    };
    const doc = fc.oneof({ weight: 3, arbitrary: near(defaultRubric()).map((d) => JSON.stringify(d, null, 2)) }, { weight: 1, arbitrary: fc.string({ maxLength: 200 }) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((d) => JSON.stringify(d)) });
    fc.assert(
      fc.property(doc, (body) => {
        try {
          parseRubric(body, 'r.json');
        } catch (e) {
          if (!(e instanceof RubricParseError)) throw e;
          expect(e.errors.length).toBeGreaterThan(0);
          for (const err of e.errors) {
            // Where: a JSON path, a line, or (text that is not JSON at all) the document itself.
            expect(err.path !== '' || err.line !== undefined || /^invalid JSON/.test(err.message), e.message).toBe(true);
            expect(err.message.length).toBeGreaterThan(0);
          }
          expect(e.message.startsWith('r.json')).toBe(true);
        }
      }),
      { numRuns: RUBRIC_RUNS, seed },
    );
    console.log(`fuzz: ${RUBRIC_RUNS} rubric documents in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  });
});
