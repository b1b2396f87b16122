// Bad input to `veripo verify` / `import` / `export`: each case ends with a clear word and
// a non-zero exit (or, for huge but valid input, a normal run), and nothing half-written.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureOutput } from '../capture';
import { command as exportCommand } from '../../../src/main/cli/export';
import { command as importCommand } from '../../../src/main/cli/import';
import { command as verify } from '../../../src/main/cli/verify';
import { getRollouts, openDb, queryPairs } from '../../../src/main/store';

const dir = mkdtempSync(join(tmpdir(), 'veripo-bad-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const io = captureOutput();
const file = (name: string, content: string | Buffer) => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};
const row = (completion: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ prompt: 'Which one?\nA. red\nB. blue\nC. green', completion, ground_truth: 'B', prompt_id: 'q1', ...extra });
const think = (concl: string) => `<think>The first object is a sphere and it is painted in a deep blue shade across every frame of the clip. ${concl}</think>`;
const GOOD = row(`${think('So the answer is B.')}<answer>B</answer>`);
const WRONG = row(`${think('So the answer is C.')}<answer>C</answer>`);
const tmpFiles = (d: string) => readdirSync(d).filter((f) => f.includes('.tmp-'));

describe('bad input', () => {
  it('a 50 MB completion is verified without crashing', async () => {
    const loop = 'The ball rolls to the left and stops near the wall. '.repeat(1_000_000);
    const p = file('huge.jsonl', `${row(`<think>${loop}So the answer is B.</think><answer>B</answer>`)}\n${GOOD}\n`);
    const out = join(dir, 'huge.verdicts.jsonl');
    expect(await verify.run(['--rollouts', p, '--out', out, '--json'])).toBe(0);
    const s = JSON.parse(io.stdout);
    expect(s.n).toBe(2);
    expect(s.repetition_rate).toBe(0.5);
  }, 120_000);

  it('empty input exits non-zero with a clear word', async () => {
    const p = file('empty.jsonl', '\n\n');
    await expect(verify.run(['--rollouts', p])).rejects.toMatchObject({ message: expect.stringMatching(/empty input, no rollouts; nothing written/), exitCode: 1 });
    await expect(importCommand.run(['--rollouts', p, '--db', join(dir, 'e.sqlite')])).rejects.toThrow(/empty input/);
    await expect(exportCommand.run(['pairs', '--pairs', p, '--format', 'trl', '--out', join(dir, 'e.out.jsonl')])).rejects.toThrow(/no pairs to export/);
  });

  it('all-skipped input exits non-zero and says every record was skipped', async () => {
    const p = file('allbad.jsonl', '{"prompt": "x"}\nnot json\n');
    const out = join(dir, 'allbad.out.jsonl');
    await expect(verify.run(['--rollouts', p, '--on-error', 'skip', '--out', out])).rejects.toThrow(/all 2 records were skipped; nothing to verify, nothing written/);
    expect(existsSync(out)).toBe(false);
  });

  it('invalid UTF-8 is reported with its line (fail), or skipped with its line (skip)', async () => {
    const bad = Buffer.concat([Buffer.from(`${GOOD}\n`), Buffer.from('{"prompt": "caf'), Buffer.from([0xc3, 0x28]), Buffer.from(`", "completion": "x", "ground_truth": "B"}\n${WRONG}\n`)]);
    const p = file('latin.jsonl', bad);
    await expect(verify.run(['--rollouts', p])).rejects.toThrow(new RegExp(`latin\\.jsonl:2: invalid UTF-8 at byte 16 of the line`));
    expect(await verify.run(['--rollouts', p, '--on-error', 'skip', '--json'])).toBe(0);
    expect(io.stderr).toMatch(/latin\.jsonl:2: invalid UTF-8 .*\(skipped\)/);
    expect(JSON.parse(io.stdout.trim().split('\n').pop()!)).toMatchObject({ n: 2, skipped: 1 });
  });

  it('output paths are checked before any work', async () => {
    const missingDir = join(dir, 'no', 'such', 'dir', 'v.jsonl');
    // the input does not exist either: the output path is refused first, before reading anything
    await expect(verify.run(['--rollouts', join(dir, 'nope.jsonl'), '--out', missingDir])).rejects.toThrow(/--out .*folder .* does not exist/);
    mkdirSync(join(dir, 'adir'));
    const p = file('ok.jsonl', `${GOOD}\n${WRONG}\n`);
    await expect(verify.run(['--rollouts', p, '--pairs', join(dir, 'adir')])).rejects.toThrow(/is a folder, not a file/);
    await expect(verify.run(['--rollouts', p, '--out', p])).rejects.toThrow(/would overwrite the input/);
    await expect(importCommand.run(['--rollouts', p, '--db', missingDir])).rejects.toThrow(/--db .*does not exist/);
    await expect(exportCommand.run(['pairs', '--pairs', p, '--format', 'trl', '--out', missingDir])).rejects.toThrow(/--out .*does not exist/);
  });

  it('no temp file is left behind when a run fails or the process exits mid-write', async () => {
    const outDir = join(dir, 'outs');
    mkdirSync(outDir);
    const p = file('half.jsonl', `${GOOD}\n{"prompt": 1}\n`);
    await expect(verify.run(['--rollouts', p, '--out', join(outDir, 'v.jsonl'), '--pairs', join(outDir, 'p.jsonl')])).rejects.toThrow(/half\.jsonl:2/);
    expect(readdirSync(outDir)).toEqual([]);
    // a writer interrupted by the process exiting: its temp file is removed on exit
    const script = file(
      'exit-mid-write.mts',
      `import { AtomicWriter } from ${JSON.stringify(resolve('src/main/io/jsonl.ts'))};\nconst w = new AtomicWriter(${JSON.stringify(join(outDir, 'x.jsonl'))});\nawait w.writeJson({ a: 1 });\nprocess.exit(1);\n`,
    );
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(tmpFiles(outDir)).toEqual([]);
    expect(readdirSync(outDir)).toEqual([]);
  });

  it('import --on-error skip links every pair to the rollouts it names', async () => {
    // bad lines before the good ones shift positions: pairs must still point at their own rollouts
    const lines = ['not json', '{"prompt": "no completion"}', GOOD, WRONG, row(`${think('So the answer is B.')}<answer>C</answer>`), GOOD.replace('deep blue', 'dark blue')];
    const p = file('skips.jsonl', `${lines.join('\n')}\n`);
    const db = join(dir, 'skips.sqlite');
    expect(await importCommand.run(['--rollouts', p, '--db', db, '--on-error', 'skip', '--json'])).toBe(0);
    expect(JSON.parse(io.stdout)).toMatchObject({ rollouts: 4, skipped: 2 });
    const h = openDb(db);
    try {
      const { pairs } = queryPairs(h, { run_id: 1, offset: 0, limit: 100 });
      expect(pairs.length).toBeGreaterThan(0);
      for (const pair of pairs) {
        expect(pair.rejected_rollout_id).not.toBeNull();
        expect(getRollouts(h, [pair.rejected_rollout_id!])[0].text).toBe(pair.rejected_text);
        if (pair.chosen_rollout_id != null) expect(getRollouts(h, [pair.chosen_rollout_id])[0].text).toBe(pair.chosen_text);
      }
    } finally {
      h.close();
    }
  });
});

describe('the CLI process', () => {
  it('exits 1 with the word on io.stderr for empty input', () => {
    const p = file('empty2.jsonl', '');
    const r = spawnSync(process.execPath, ['bin/veripo.js', 'verify', '--rollouts', p], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/empty input/);
  });
});
