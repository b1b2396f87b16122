import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { command as importCommand } from '../../../src/main/cli/import';
import { CliError } from '../../../src/main/cli/command';

const home = process.env.VERIPO_HOME;
afterEach(() => {
  if (home === undefined) delete process.env.VERIPO_HOME;
  else process.env.VERIPO_HOME = home;
  vi.restoreAllMocks();
});

describe('veripo import on a fresh machine', () => {
  it('creates $VERIPO_HOME for the default database', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'veripo-home-')), 'not-yet');
    process.env.VERIPO_HOME = dir;
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    expect(await importCommand.run(['--rollouts', 'resources/samples/videor1_rollouts.jsonl'])).toBe(0);
    expect(existsSync(join(dir, 'veripo.db'))).toBe(true);
  });

  it('still refuses a --db in a folder that does not exist', async () => {
    const db = join(tmpdir(), 'veripo-missing-folder', 'x', 'veripo.db');
    await expect(importCommand.run(['--rollouts', 'resources/samples/videor1_rollouts.jsonl', '--db', db])).rejects.toThrow(CliError);
    expect(existsSync(db)).toBe(false);
  });
});
