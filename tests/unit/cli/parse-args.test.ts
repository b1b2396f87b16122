// The CLI's shared flag parsing: strict flags as usage errors (exit code 2) naming the flag,
// `--set key=value` pairs in order, and every command refusing an unknown flag before any work.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureOutput } from '../capture';
import { CliError } from '../../../src/main/cli/command';
import { DB_FLAG, JSON_FLAG, parseCliArgs, parseSetFlags, SET_FLAG } from '../../../src/main/cli/common';
import { main } from '../../../src/main/cli/index';
import * as store from '../../../src/main/store';

const OPTIONS = { preset: { type: 'string' }, ...SET_FLAG, ...DB_FLAG, ...JSON_FLAG } as const;

function usageError(fn: () => unknown): CliError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(2);
    return err as CliError;
  }
  throw new Error('expected a usage error');
}

describe('parseCliArgs', () => {
  it('gives the shared flags their defaults', () => {
    const { values, positionals } = parseCliArgs([], OPTIONS);
    expect(values).toEqual({ set: [], json: false });
    expect(positionals).toEqual([]);
    // The default --set list is shared by every call, so nothing may add to it.
    expect(() => values.set.push('a=1')).toThrow(TypeError);
    expect(parseCliArgs([], OPTIONS).values.set).toEqual([]);
  });

  it('reads --set (repeatable, in order), --db and --json', () => {
    const { values } = parseCliArgs(['--set', 'a.b=1', '--db', 'x.db', '--set', 'c=2', '--json', '--preset', 'smoke'], OPTIONS);
    expect(values).toEqual({ set: ['a.b=1', 'c=2'], db: 'x.db', json: true, preset: 'smoke' });
  });

  it('an unknown flag is a usage error naming it, with the usage when given', () => {
    const bare = usageError(() => parseCliArgs(['--json', '--nope'], OPTIONS));
    expect(bare.message).toContain("'--nope'");
    expect(bare.message).not.toContain('usage:');
    const withUsage = usageError(() => parseCliArgs(['--nope'], OPTIONS, { usage: 'veripo x [--json]' }));
    expect(withUsage.message).toMatch(/'--nope'[^]*\nusage: veripo x \[--json\]$/);
  });

  it('a flag missing its value is a usage error naming it', () => {
    expect(usageError(() => parseCliArgs(['--db'], OPTIONS)).message).toContain('--db');
  });

  it('refuses positionals unless the command takes them', () => {
    expect(usageError(() => parseCliArgs(['stray'], OPTIONS)).message).toContain('stray');
    expect(parseCliArgs(['3', '--json', '4'], OPTIONS, { positionals: true })).toMatchObject({ values: { json: true }, positionals: ['3', '4'] });
  });

  it("a wrong option spec is the program's error, not a usage error", () => {
    const bad = { n: { type: 'number' } } as unknown as typeof OPTIONS;
    expect(() => parseCliArgs(['--n', '1'], bad)).toThrow(TypeError);
  });
});

describe('parseSetFlags', () => {
  it('gives the pairs in the order given; the value keeps any further "="', () => {
    const { values } = parseCliArgs(['--set', 'a.b=1', '--set', 'c=2', '--set', 'grpo.x= y=z'], OPTIONS);
    expect(parseSetFlags(values.set)).toEqual([
      ['a.b', '1'],
      ['c', '2'],
      ['grpo.x', ' y=z'],
    ]);
  });

  it('an item without key= is a usage error naming it', () => {
    expect(usageError(() => parseSetFlags(['a=1', 'oops'])).message).toBe('--set takes key=value, got "oops"');
    expect(usageError(() => parseSetFlags(['=1'])).message).toBe('--set takes key=value, got "=1"');
  });
});

describe('every command refuses an unknown flag with exit code 2 before doing anything', () => {
  const io = captureOutput();
  const dir = mkdtempSync(join(tmpdir(), 'veripo-args-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'never.db');

  // The commands that take --db get one, to show nothing is created before the flags are read.
  const withUsage = [['run', '--db', db], ['experiment', '--db', db], ['sft'], ['grpo'], ['dpo', '--db', db], ['serve', '--db', db], ['runs', 'list', '--db', db], ['bench', 'gen'], ['tasks', 'sample']];
  for (const argv of withUsage) {
    it(`veripo ${argv[0]} --nope: names the flag, then the usage`, async () => {
      expect(await main([...argv, '--nope'])).toBe(2);
      expect(io.stderr).toMatch(new RegExp(`^veripo ${argv[0]}: .*'--nope'.*\\nusage: veripo ${argv[0]} `));
      expect(existsSync(db)).toBe(false);
    });
  }

  for (const argv of [['export', 'pairs', '--db', db], ['import', '--db', db], ['verify', '--db', db]]) {
    it(`veripo ${argv[0]} --nope: names the flag`, async () => {
      expect(await main([...argv, '--nope'])).toBe(2);
      expect(io.stderr).toMatch(new RegExp(`^veripo ${argv[0]}: .*'--nope'`));
      expect(existsSync(db)).toBe(false);
    });
  }

  it('veripo run --set oops: names the item, exit code 2, no run stored', async () => {
    const runDb = join(dir, 'run.db');
    expect(await main(['run', '--set', 'a=1', '--set', 'oops', '--db', runDb])).toBe(2);
    expect(io.stderr).toBe('veripo run: --set takes key=value, got "oops"\n');
    const opened = store.openDb(runDb);
    expect(store.listRuns(opened)).toEqual([]);
    opened.close();
  });
});
