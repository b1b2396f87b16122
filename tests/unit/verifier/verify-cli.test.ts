// `veripo verify` and `veripo export pairs` run in-process over the sample rollouts.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureOutput } from '../capture';
import { command as exportCommand } from '../../../src/main/cli/export';
import { command as verify } from '../../../src/main/cli/verify';
import * as store from '../../../src/main/store';

const dir = mkdtempSync(join(tmpdir(), 'veripo-verify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const io = captureOutput();
const lines = (p: string) =>
  readFileSync(p, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

describe('veripo verify', () => {
  it('TRL sample: --json summary, one verdict per line in order, pairs by kind', async () => {
    const out = join(dir, 'trl_verdicts.jsonl');
    const pairs = join(dir, 'trl_pairs.jsonl');
    expect(await verify.run(['--rollouts', 'resources/samples/trl_rollouts.jsonl', '--out', out, '--pairs', pairs, '--json'])).toBe(0);
    const s = JSON.parse(io.stdout);
    expect(Object.keys(s)).toEqual(expect.arrayContaining(['n', 'accuracy', 'format_rate', 'inconsistency_rate', 'repetition_rate', 'mean_length', 'pairs']));
    expect(s.n).toBe(24);
    // the sample was written with 17 correct, 2 inconsistent, 2 looping and 2 cut-off rollouts
    expect(s.accuracy).toBeCloseTo(17 / 24, 3);
    expect(s.inconsistency_rate).toBeCloseTo(2 / 24, 3);
    expect(s.repetition_rate).toBeCloseTo(2 / 24, 3);
    expect(s.truncation_rate).toBeCloseTo(2 / 24, 3);
    expect(s.format_rate).toBeCloseTo(21 / 24, 3);
    expect(s.pairs.total).toBeGreaterThan(0);
    expect(s.pairs.hard_negative).toBeGreaterThan(0);
    expect(s.pairs.reflective).toBeGreaterThan(0);
    const vs = lines(out);
    expect(vs).toHaveLength(24);
    expect(vs.map((v) => v.index)).toEqual([...Array(24).keys()]);
    for (const v of vs) expect(v).toHaveProperty('reasons');
    expect(vs[3]).toMatchObject({ correct: true, consistent: false, repetitive: false });
    expect(vs[4]).toMatchObject({ repetitive: true });
    expect(vs[6]).toMatchObject({ truncated: true, correct: false });
    const ps = lines(pairs);
    expect(ps.length).toBe(s.pairs.total);
    // the solved group (ball_wall_007) gives no pairs
    expect(ps.some((p) => p.prompt_id === 'ball_wall_007')).toBe(false);
  });

  it('Video-R1 sample: human-readable summary; an answer naming the option text counts', async () => {
    const out = join(dir, 'vr1.jsonl');
    expect(await verify.run(['--rollouts', 'resources/samples/videor1_rollouts.jsonl', '--out', out])).toBe(0);
    expect(io.stdout).toMatch(/rollouts\s+16\n/);
    expect(io.stdout).toMatch(/accuracy\s+75\.0%/);
    expect(io.stdout).toMatch(/pairs\s+\d+ \(/);
    expect(lines(out)[3]).toMatchObject({ correct: true, consistent: true });
  });

  it('--rubric takes a preset or a file and changes the verdicts', async () => {
    await verify.run(['--rollouts', 'resources/samples/trl_rollouts.jsonl', '--rubric', 'lenient', '--json']);
    const lenient = JSON.parse(io.stdout);
    io.stdout = '';
    await verify.run(['--rollouts', 'resources/samples/trl_rollouts.jsonl', '--rubric', 'resources/rubrics/strict.json', '--json']);
    const strict = JSON.parse(io.stdout);
    expect(strict.pairs.total).toBeLessThan(lenient.pairs.total);
  });

  it('malformed line: fail writes nothing and names the line; skip reports it and keeps outputs aligned', async () => {
    const out = join(dir, 'bad_verdicts.jsonl');
    const input = 'resources/samples/trl_rollouts_malformed.jsonl';
    await expect(verify.run(['--rollouts', input, '--out', out])).rejects.toThrow(/trl_rollouts_malformed\.jsonl:3: malformed JSON[\s\S]*nothing written/);
    expect(existsSync(out)).toBe(false);
    expect(await verify.run(['--rollouts', input, '--out', out, '--on-error', 'skip', '--json'])).toBe(0);
    expect(io.stderr).toMatch(/trl_rollouts_malformed\.jsonl:3: malformed JSON/);
    expect(io.stderr).toMatch(/trl_rollouts_malformed\.jsonl:5: missing field "completion"/);
    expect(JSON.parse(io.stdout)).toMatchObject({ n: 4, skipped: 2 });
    const vs = lines(out);
    expect(vs).toHaveLength(6);
    expect(vs.map((v) => v.line)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(vs[2]).toMatchObject({ index: 2, skipped: true, correct: null });
  });

  it('usage errors', async () => {
    await expect(verify.run([])).rejects.toThrow(/missing --rollouts/);
    await expect(verify.run(['--rollouts', 'x', '--on-error', 'maybe'])).rejects.toThrow(/skip or fail/);
    await expect(verify.run(['--rollouts', join(dir, 'nope.jsonl')])).rejects.toThrow(/no such file/);
    await expect(verify.run(['--rollouts', 'resources/samples/trl_rollouts.jsonl', '--rubric', 'resources/samples/trl_rollouts.jsonl'])).rejects.toThrow(/invalid JSON/);
  });
});

describe('veripo export pairs', () => {
  it('verify --pairs → export trl / llamafactory round-trips the pairs', async () => {
    const pairs = join(dir, 'vr1_pairs.jsonl');
    await verify.run(['--rollouts', 'resources/samples/videor1_rollouts.jsonl', '--pairs', pairs, '--json']);
    const src = lines(pairs);
    const trl = join(dir, 'trl.jsonl');
    io.stdout = '';
    expect(await exportCommand.run(['pairs', '--pairs', pairs, '--format', 'trl', '--conversational', '--out', trl])).toBe(0);
    const rows = lines(trl);
    expect(rows).toHaveLength(src.length);
    rows.forEach((r, i) => {
      // the video rides in the user turn's content, as TRL's vision collators read it
      expect(r.prompt.at(-1)).toEqual({ role: 'user', content: [{ type: 'video', video: src[i].video }, { type: 'text', text: src[i].prompt }] });
      expect(r.chosen[0].content).toBe(src[i].chosen);
      expect(r.rejected[0].content).toBe(src[i].rejected);
      expect(r.videos).toEqual([src[i].video]);
    });
    const lf = join(dir, 'lf.json');
    io.stdout = '';
    expect(await exportCommand.run(['pairs', '--pairs', pairs, '--format', 'llamafactory', '--out', lf])).toBe(0);
    expect(io.stdout).toMatch(/"ranking": true/);
    const arr = JSON.parse(readFileSync(lf, 'utf8'));
    expect(arr[0].conversations[0].value).toBe(`<video>${src[0].prompt}`);
    expect(arr[0].chosen).toEqual({ from: 'gpt', value: src[0].chosen });
  });

  it('--run exports what curation says: accepted and edited pairs, --pending adds the unreviewed, rejected never', async () => {
    const db = join(dir, 'curated.db');
    const h = store.openDb(db);
    const runId = store.createRun(h, { experiment: 'export', name: null, preset: 'smoke', config: {}, seed: 0 });
    const verifyStage = store.startStage(h, runId, 1, 0, 'verify');
    const ids = store.insertPairs(h, runId, Array.from({ length: 10 }, (_, i) => ({
      stage_id: verifyStage, prompt_id: `p${i}`, prompt: `question ${i}`, chosen_text: `<answer> A${i} </answer>`, rejected_text: '<answer> B </answer>',
      kind: 'standard', source: 'auto' as const, status: 'pending' as const, reasons: [], meta: null,
    })));
    store.setStatuses(h, [...ids.slice(0, 3).map((pair_id) => ({ pair_id, status: 'accepted' as const })), ...ids.slice(3, 5).map((pair_id) => ({ pair_id, status: 'rejected' as const }))]);
    h.close();
    const out = join(dir, 'curated.jsonl');
    expect(await exportCommand.run(['pairs', '--run', String(runId), '--db', db, '--format', 'trl', '--out', out])).toBe(0);
    expect(lines(out).map((r) => r.prompt).sort()).toEqual(['question 0', 'question 1', 'question 2']);
    expect(io.stderr).toMatch(/3 curated pairs exported; 5 pending pairs left out/);
    expect(await exportCommand.run(['pairs', '--run', String(runId), '--db', db, '--format', 'trl', '--out', out, '--pending'])).toBe(0);
    expect(lines(out)).toHaveLength(8);
    expect(lines(out).some((r) => r.prompt === 'question 3' || r.prompt === 'question 4')).toBe(false);
  });

  it('usage errors', async () => {
    await expect(exportCommand.run(['pairs', '--pairs', 'x', '--format', 'csv', '--out', 'y'])).rejects.toThrow(/--format must be one of trl, llamafactory/);
    await expect(exportCommand.run(['pairs', '--format', 'trl', '--out', 'y'])).rejects.toThrow(/exactly one of --pairs FILE or --run ID/);
    await expect(exportCommand.run(['rollouts'])).rejects.toThrow(/usage/);
    await expect(exportCommand.run(['pairs', '--run', '3', '--db', join(dir, 'missing.db'), '--format', 'trl', '--out', join(dir, 'r.jsonl')])).rejects.toThrow(/no such database/);
    await expect(exportCommand.run(['pairs', '--run', 'x', '--db', join(dir, 'missing.db'), '--format', 'trl', '--out', join(dir, 'r.jsonl')])).rejects.toThrow(/run id/);
  });
});
