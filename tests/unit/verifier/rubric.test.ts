import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rubricPreset } from '../../../src/main/verifier/presets';
import { defaultRubric, jsonValueOffsets, parseRubric, RubricParseError, rubricJsonSchema } from '../../../src/main/verifier/rubric';

const errorsOf = (text: string) => {
  try {
    parseRubric(text, 'my.json');
  } catch (e) {
    if (e instanceof RubricParseError) return e;
    throw e;
  }
  throw new Error('expected a RubricParseError');
};

describe('rubric', () => {
  it('{} is the default rubric and the default preset file states the same values', () => {
    const d = defaultRubric();
    expect(d.checks.accuracy.min_score).toBe(1);
    expect(d.checks.judge.enabled).toBe(false);
    expect(d.pairs.reflective.enabled).toBe(true);
    const file = parseRubric(readFileSync('resources/rubrics/default.json', 'utf8'));
    expect({ ...file, description: '' }).toEqual({ ...d, description: '' });
  });

  it('presets parse and differ where they say', () => {
    const strict = rubricPreset('strict');
    const lenient = rubricPreset('lenient');
    expect(strict.checks.consistency.no_conclusion).toBe('fail');
    expect(strict.checks.repetition.max_ngram_repeat).toBeLessThan(lenient.checks.repetition.max_ngram_repeat);
    expect(lenient.pairs.reject_when).not.toContain('repetitive');
    expect(strict.pairs.max_pairs_per_prompt).toBeLessThan(lenient.pairs.max_pairs_per_prompt);
  });

  it('schema errors name the JSON path, line and column', () => {
    const text = '{\n  "checks": {\n    "repetition": {\n      "ngram": 0\n    }\n  }\n}';
    const e = errorsOf(text);
    expect(e.errors[0]).toMatchObject({ path: 'checks.repetition.ngram', line: 4, column: 7 });
    expect(e.message).toMatch(/^my\.json:4:7: checks\.repetition\.ngram: Too small/);
  });

  it('unknown keys (typos) are errors pointing at the key', () => {
    const e = errorsOf('{\n  "pairs": {\n    "max_pair_per_prompt": 3\n  }\n}');
    expect(e.errors[0]).toMatchObject({ path: 'pairs', line: 3, column: 5 });
    expect(e.errors[0].message).toMatch(/max_pair_per_prompt/);
  });

  it('wrong enum values and types are reported', () => {
    const e = errorsOf('{"pairs": {"prefer": "shorter", "reject_when": ["wrong", "boring"]}}');
    expect(e.errors.map((x) => x.path).sort()).toEqual(['pairs.prefer', 'pairs.reject_when.1']);
  });

  it('JSON syntax errors give a line', () => {
    const e = errorsOf('{\n  "name": "x",\n  "version": 1,\n}');
    expect(e.errors[0].message).toMatch(/invalid JSON/);
    expect(e.errors[0].line).toBe(4);
  });

  it('offsets of values by path', () => {
    const text = '{"a": {"b": [1, {"c": true}]}}';
    const o = jsonValueOffsets(text);
    expect(text.slice(o.get('a.b.1.c')!)).toMatch(/^"c"/);
    expect(text.slice(o.get('a.b.0')!)).toMatch(/^1/);
  });

  it('exports a JSON Schema with descriptions for the editor', () => {
    const s = rubricJsonSchema() as { properties: Record<string, { description?: string; properties?: Record<string, { description?: string }> }> };
    expect(s.properties.checks.description).toMatch(/Which checks run/);
    expect(s.properties.checks.properties!.repetition.description).toMatch(/n-grams/);
    expect(JSON.stringify(s)).toContain('"enum":["longer","reflective","score"]');
  });
});
