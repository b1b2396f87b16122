// One real-shape file per trainer format (tests/fixtures/verifier/formats, written from each
// trainer's writer): `veripo verify` and `veripo import` take it as it is, say what they
// detected, and the pairs `veripo export pairs` writes carry prompt, completions, video and
// system prompt back unchanged.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureOutput } from '../capture';
import { command as exportCommand } from '../../../src/main/cli/export';
import { command as importCommand } from '../../../src/main/cli/import';
import { command as verify } from '../../../src/main/cli/verify';
import { readRollouts } from '../../../src/main/io/rollouts';
import { getRollouts, openDb, queryPairs } from '../../../src/main/store';

const F = 'tests/fixtures/verifier/formats';
const dir = mkdtempSync(join(tmpdir(), 'veripo-formats-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const io = captureOutput();
const lines = (p: string) =>
  readFileSync(p, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

const CASES = [
  { file: 'trl_completions_00010.parquet', format: 'trl', container: 'parquet', system: true, video: false },
  { file: 'verl_rollout_dump.jsonl', format: 'verl', container: 'jsonl', system: true, video: false },
  { file: 'verl_dataset_rows.json', format: 'verl', container: 'JSON document', system: true, video: true },
  { file: 'easyr1_generations.jsonl', format: 'easyr1', container: 'jsonl', system: true, video: false },
  { file: 'videor1_results.json', format: 'videor1', container: 'JSON document', system: false, video: true },
  { file: 'openr1_generations.jsonl', format: 'openr1', container: 'jsonl', system: false, video: false },
];

describe.each(CASES)('$format: $file', ({ file, format, container, system, video }) => {
  const input = join(F, file);
  const stem = file.replace(/\.\w+$/, '');

  it('verify takes it unreshaped, says what it detected, and export round-trips its pairs', async () => {
    const pairs = join(dir, `${stem}.pairs.jsonl`);
    expect(await verify.run(['--rollouts', input, '--pairs', pairs, '--json'])).toBe(0);
    expect(io.stderr).toContain(`${format} format in a ${container} file`);
    const s = JSON.parse(io.stdout);
    expect(s.n).toBe(8);
    expect(s.pairs.total).toBeGreaterThan(0);
    const src = lines(pairs);
    expect(src.every((p) => !!p.system === system && !!p.video === video)).toBe(true);

    const trl = join(dir, `${stem}.trl.jsonl`);
    expect(await exportCommand.run(['pairs', '--pairs', pairs, '--format', 'trl', '--conversational', '--out', trl])).toBe(0);
    lines(trl).forEach((row, i) => {
      const p = src[i];
      const user = row.prompt.at(-1);
      const text = Array.isArray(user.content) ? user.content.find((c: { type: string }) => c.type === 'text').text : user.content;
      expect(text).toBe(p.prompt);
      expect(row.chosen[0].content).toBe(p.chosen);
      expect(row.rejected[0].content).toBe(p.rejected);
      if (system) expect(row.prompt[0]).toEqual({ role: 'system', content: p.system });
      if (video) {
        expect(user.content[0]).toEqual({ type: 'video', video: p.video });
        expect(row.videos).toEqual([p.video]);
      }
    });
    const lf = join(dir, `${stem}.lf.json`);
    io.stdout = '';
    expect(await exportCommand.run(['pairs', '--pairs', pairs, '--format', 'llamafactory', '--out', lf, '--json'])).toBe(0);
    const info = JSON.parse(io.stdout).dataset_info[`${stem}.lf`];
    expect(info.columns.system === 'system').toBe(system);
    const rows = JSON.parse(readFileSync(lf, 'utf8'));
    rows.forEach((row: Record<string, any>, i: number) => {
      expect(row.chosen.value).toBe(src[i].chosen);
      expect(row.conversations[0].value.replace(/^<video>/, '')).toBe(src[i].prompt);
      expect(row.system).toBe(src[i].system);
    });
  });

  it('import stores it with its pairs linked to the rollouts they name', async () => {
    const db = join(dir, `${stem}.sqlite`);
    expect(await importCommand.run(['--rollouts', input, '--db', db, '--json'])).toBe(0);
    expect(JSON.parse(io.stdout)).toMatchObject({ rollouts: 8, format });
    const h = openDb(db);
    try {
      const { pairs } = queryPairs(h, { run_id: 1, offset: 0, limit: 100 });
      expect(pairs.length).toBeGreaterThan(0);
      for (const p of pairs) {
        if (p.rejected_rollout_id != null) expect(getRollouts(h, [p.rejected_rollout_id])[0].text).toBe(p.rejected_text);
        if (p.chosen_rollout_id != null) expect(getRollouts(h, [p.chosen_rollout_id])[0].text).toBe(p.chosen_text);
      }
    } finally {
      h.close();
    }
  });
});

describe('TRL logs and their dataset', () => {
  it('--dataset … --id-field problem joins ground truth, type and video by the prompt text', async () => {
    const r = await readRollouts(join(F, 'trl_completions_00010.parquet'));
    expect(r.noTruth).toBe(8);
    expect(r.rollouts[0].system).toMatch(/^You are a helpful assistant/);
    expect(r.rollouts[0].prompt).toMatch(/^What does the red car do/);
    expect(await verify.run(['--rollouts', join(F, 'trl_completions_00010.parquet'), '--dataset', join(F, 'trl_dataset.jsonl'), '--id-field', 'problem', '--json'])).toBe(0);
    const s = JSON.parse(io.stdout);
    expect(s.no_ground_truth).toBe(0);
    expect(s.accuracy).toBeCloseTo(5 / 8, 3);
    expect(io.stderr).not.toMatch(/no ground truth/);
  });
  it('without a dataset, says which checks ran', async () => {
    expect(await verify.run(['--rollouts', join(F, 'trl_completions_00010.parquet')])).toBe(0);
    expect(io.stderr).toMatch(/8 of 8 rollouts have no ground truth: accuracy is not checked for them, only consistency, repetition, length and format/);
    expect(io.stdout).toMatch(/8 without ground truth not counted/);
  });
  it('--format names the format instead of detecting it; a wrong name is a usage error', async () => {
    expect(await verify.run(['--rollouts', join(F, 'verl_rollout_dump.jsonl'), '--format', 'verl', '--json'])).toBe(0);
    expect(io.stderr).toMatch(/verl format .*given with --format/);
    await expect(verify.run(['--rollouts', join(F, 'verl_rollout_dump.jsonl'), '--format', 'deepspeed'])).rejects.toThrow(/--format must be auto or one of/);
  });
});
