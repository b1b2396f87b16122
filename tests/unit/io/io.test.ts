import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportPairs, llamaFactoryDatasetInfo, readPairsFile, writeRows } from '../../../src/main/io/export';
import { AtomicWriter, InputError, readJsonl, writeJsonlAtomic, type LineProblem } from '../../../src/main/io/jsonl';
import { normaliseRollout, readRollouts } from '../../../src/main/io/rollouts';
import type { PairRecord } from '../../../src/main/verifier/pairs';

const dir = mkdtempSync(join(tmpdir(), 'veripo-io-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const collect = async <T>(it: AsyncIterable<T>) => {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
};

describe('readJsonl', () => {
  const text = '\uFEFF{"a": 1}\n\n{"a": 2\n{"a": 3}\r\n';
  it('skip: reports the bad line with file:line and the JSON error, keeps going', async () => {
    const p = file('mixed.jsonl', text);
    const problems: LineProblem[] = [];
    const lines = await collect(readJsonl(p, { onError: 'skip', onProblem: (x) => problems.push(x) }));
    expect(lines).toEqual([
      { line: 1, value: { a: 1 } },
      { line: 4, value: { a: 3 } },
    ]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: p, line: 3 });
    expect(problems[0].message).toMatch(/malformed JSON/);
  });
  it('fail: throws an InputError naming file and line', async () => {
    const p = file('mixed2.jsonl', text);
    const err = await collect(readJsonl(p, { onError: 'fail' })).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: malformed JSON`));
  });
});

describe('atomic writes', () => {
  it('commit renames into place; abort leaves neither target nor temp file', async () => {
    const target = join(dir, 'out.jsonl');
    await writeJsonlAtomic(target, [{ x: 1 }, { x: 2 }]);
    expect(readFileSync(target, 'utf8')).toBe('{"x":1}\n{"x":2}\n');
    const other = join(dir, 'aborted.jsonl');
    const w = new AtomicWriter(other);
    await w.writeJson({ half: true });
    expect(existsSync(other)).toBe(false); // nothing visible before commit
    await w.abort();
    expect(existsSync(other)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
  it('an error while producing rows leaves the old file untouched', async () => {
    const target = join(dir, 'keep.jsonl');
    await writeJsonlAtomic(target, [{ v: 'old' }]);
    function* rows() {
      yield { v: 'new' };
      throw new Error('boom');
    }
    await expect(writeJsonlAtomic(target, rows())).rejects.toThrow('boom');
    expect(readFileSync(target, 'utf8')).toBe('{"v":"old"}\n');
  });
});

describe('normaliseRollout', () => {
  it('accepts every field-name variant', () => {
    const a = normaliseRollout({ question: 'Q?', model_output: '<answer>B</answer>', answer: 'B', question_id: 7 }, 'f', 1, 0);
    expect(a).toMatchObject({ prompt: 'Q?', completion: '<answer>B</answer>', promptId: '7', spec: { answer: 'B', answerType: 'mc' } });
    const b = normaliseRollout({ problem: 'How many?', response: 'x', solution: '<answer> 3 </answer>', group_id: 'g' }, 'f', 2, 1);
    expect(b.spec).toMatchObject({ answer: '3', answerType: 'numeric' });
  });
  it('TRL conversational: last user text as prompt, assistant content as completion', () => {
    const r = normaliseRollout(
      {
        prompt: [
          { role: 'system', content: 'Be careful.' },
          { role: 'user', content: [{ type: 'video' }, { type: 'text', text: 'Which one?' }] },
        ],
        completion: [{ role: 'assistant', content: '<think>t</think><answer>A</answer>' }],
        ground_truth: 'A',
        reward: 2,
        finish_reason: 'length',
      },
      'f',
      1,
      0,
    );
    expect(r).toMatchObject({ prompt: 'Which one?', completion: '<think>t</think><answer>A</answer>', promptId: 'Which one?', reward: 2, truncated: true });
  });
  it('Video-R1: problem_type, options appended to the prompt, path kept', () => {
    const r = normaliseRollout(
      { problem_id: 1, problem: 'What?', problem_type: 'multiple choice', options: ['A. x', 'B. y'], solution: '<answer>B</answer>', path: './v.mp4', model_output: 'o' },
      'f',
      1,
      0,
    );
    expect(r).toMatchObject({ promptId: '1', prompt: 'What?\nOptions:\nA. x\nB. y', video: './v.mp4', spec: { answer: 'B', answerType: 'mc', options: ['A. x', 'B. y'] } });
  });
  it.each([
    [{ completion: 'c', ground_truth: 'B' }, /^f:3: missing field "prompt" \(or "question", "problem"\)/],
    [{ prompt: 'p', ground_truth: 'B' }, /^f:3: missing field "completion"/],
    [{ prompt: 'p', completion: 'c' }, /^f:3: missing field "ground_truth"/],
    [{ prompt: 'p', completion: 5, ground_truth: 'B' }, /field "completion": expected a string or a list/],
    [{ prompt: 'p', completion: 'c', ground_truth: 'B', problem_type: 'ranking' }, /field "problem_type": "ranking" is not supported/],
    [{ prompt: 'p', completion: 'c', ground_truth: 'B', reward: 'high' }, /field "reward": expected a number/],
    [[1, 2], /expected a JSON object/],
  ])('%j -> error naming file, line and field', (value, re) => {
    expect(() => normaliseRollout(value, 'f', 3, 0)).toThrow(re);
  });
});

describe('readRollouts over the sample files', () => {
  it('TRL sample: 24 rollouts in 3 groups', async () => {
    const r = await readRollouts('resources/samples/trl_rollouts.jsonl');
    expect(r.rollouts).toHaveLength(24);
    expect(new Set(r.rollouts.map((x) => x.promptId)).size).toBe(3);
    expect(r.problems).toEqual([]);
  });
  it('Video-R1 sample: options and videos', async () => {
    const r = await readRollouts('resources/samples/videor1_rollouts.jsonl');
    expect(r.rollouts.length).toBe(16);
    expect(r.rollouts.every((x) => x.video?.endsWith('.mp4'))).toBe(true);
    expect(r.rollouts.filter((x) => x.spec.answerType === 'numeric')).toHaveLength(6);
  });
  it('malformed sample: skip keeps aligned placeholders, fail throws the first bad line', async () => {
    const p = 'resources/samples/trl_rollouts_malformed.jsonl';
    const r = await readRollouts(p, { onError: 'skip' });
    expect(r.records.map((x) => x.ok)).toEqual([true, true, false, true, false, true]);
    expect(r.problems.map((x) => x.line)).toEqual([3, 5]);
    expect(r.problems[1].message).toMatch(/missing field "completion"/);
    await expect(readRollouts(p, { onError: 'fail' })).rejects.toThrow(/trl_rollouts_malformed\.jsonl:3: malformed JSON/);
  });
});

describe('export formats', () => {
  const pairs: PairRecord[] = [
    { prompt_id: 'p', prompt: 'Which?', chosen: 'good', rejected: 'bad', kind: 'hard_negative', reasons: ['r'], chosen_index: 0, rejected_index: 1, video: 'v.mp4', ground_truth: 'B' },
    { prompt_id: 'q', prompt: 'How many?', chosen: 'g2', rejected: 'b2', kind: 'standard', reasons: [], chosen_index: 2, rejected_index: 3 },
  ];
  it('TRL standard and conversational', () => {
    expect(exportPairs(pairs, 'trl')).toEqual([
      { prompt: 'Which?', chosen: 'good', rejected: 'bad', videos: ['v.mp4'] },
      { prompt: 'How many?', chosen: 'g2', rejected: 'b2' },
    ]);
    expect(exportPairs(pairs.slice(1), 'trl', { conversational: true, system: 'S' })).toEqual([
      {
        prompt: [
          { role: 'system', content: 'S' },
          { role: 'user', content: 'How many?' },
        ],
        chosen: [{ role: 'assistant', content: 'g2' }],
        rejected: [{ role: 'assistant', content: 'b2' }],
      },
    ]);
  });
  it('LLaMA-Factory sharegpt with a <video> token where there is a video', () => {
    expect(exportPairs(pairs, 'llamafactory')).toEqual([
      { conversations: [{ from: 'human', value: '<video>Which?' }], chosen: { from: 'gpt', value: 'good' }, rejected: { from: 'gpt', value: 'bad' }, videos: ['v.mp4'] },
      { conversations: [{ from: 'human', value: 'How many?' }], chosen: { from: 'gpt', value: 'g2' }, rejected: { from: 'gpt', value: 'b2' } },
    ]);
    expect(llamaFactoryDatasetInfo('d', 'd.json', true)).toEqual({
      d: { file_name: 'd.json', formatting: 'sharegpt', ranking: true, columns: { messages: 'conversations', chosen: 'chosen', rejected: 'rejected', videos: 'videos' } },
    });
  });
  it('pairs round-trip through PAIRS.jsonl; .json gets an array', async () => {
    const p = join(dir, 'pairs.jsonl');
    await writeJsonlAtomic(p, pairs);
    expect(await readPairsFile(p)).toEqual(pairs);
    const out = join(dir, 'lf.json');
    await writeRows(out, exportPairs(pairs, 'llamafactory'));
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(exportPairs(pairs, 'llamafactory'));
  });
  it('a pairs line missing "rejected" is named', async () => {
    const p = file('badpairs.jsonl', '{"prompt": "x", "chosen": "y"}\n');
    await expect(readPairsFile(p)).rejects.toThrow(/badpairs\.jsonl:1: field "rejected"/);
  });
});
