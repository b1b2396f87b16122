// `veripo run` as a user drives it: a --config file that is not an object is refused,
// SIGTERM stops a run as Ctrl-C does, a run that died during start-up is not left pending.
import { describe, it, expect } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, getRun, listRuns, createRun } from '../../../src/main/store';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'veripo.js');
// From a fresh policy (the preset's shipped checkpoint off): these runs go through SFT.
const TINY = [
  '--preset', 'smoke', '--set', 'model.init_checkpoint=null',
  '--set', 'sft.batch_size=4',
  '--set', 'grpo.steps=1', '--set', 'grpo.per_step_prompts=1', '--set', 'grpo.num_generations=2', '--set', 'grpo.max_completion_length=12',
  '--set', 'data.val_size=4', '--set', 'data.train_size=8',
];

function home() {
  const dir = mkdtempSync(join(tmpdir(), 'veripo-run-cli-'));
  return { dir, db: join(dir, 'r.db'), env: { ...process.env, VERIPO_HOME: dir } };
}

describe('veripo run --config', () => {
  for (const [content, got] of [['null', 'null'], ['[1, 2]', 'an array'], ['"grpo"', 'a string'], ['7', 'a number']] as const) {
    it(`refuses a file holding ${content}, naming the file, and starts nothing`, () => {
      const h = home();
      const file = join(h.dir, 'bad.json');
      writeFileSync(file, content);
      const r = spawnSync(process.execPath, [BIN, 'run', ...TINY, '--config', file, '--db', h.db], { env: h.env, encoding: 'utf8', timeout: 60_000 });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`${file}: a run config must be a JSON object`);
      expect(r.stderr).toContain(`got ${got}`);
      if (existsSync(h.db)) {
        const db = openDb(h.db);
        expect(listRuns(db)).toEqual([]);
        db.close();
      }
    });
  }
});

describe('veripo run and signals', () => {
  it('SIGTERM during SFT stops the run after the current step: status stopped, exit 143, no stage left running', async () => {
    const h = home();
    const child = spawn(process.execPath, [BIN, 'run', ...TINY, '--set', 'sft.steps=400', '--db', h.db, '--json'], { env: h.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // Signal once SFT has logged a few steps.
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      try {
        const db = openDb(h.db);
        const n = (db.prepare(`SELECT COUNT(*) AS n FROM metrics WHERE name = 'sft/loss'`).get() as { n: number }).n;
        db.close();
        if (n >= 2) break;
      } catch {
        // not created yet
      }
    }
    child.kill('SIGTERM');
    const code = await exited;
    expect(code, stderr).toBe(143);
    expect(stderr).toContain('SIGTERM: stopping after the current step');
    // --json keeps stdout for the JSON document; progress still reaches stderr.
    expect(stderr).toMatch(/^run 1 → /);
    const db = openDb(h.db);
    const run = getRun(db, 1)!;
    expect(run.status).toBe('stopped');
    expect(run.stages.some((s) => s.status === 'running')).toBe(false);
    db.close();
  }, 180_000);
});

describe('runs that died during start-up', () => {
  it('a pending run whose process is gone shows as interrupted on the next start', () => {
    const h = home();
    const db = openDb(h.db);
    const runId = createRun(db, { experiment: 'e', config: {}, seed: 0 });
    // The process that created it was killed before the training thread marked it running.
    db.prepare('UPDATE runs SET pid = ? WHERE id = ?').run(2 ** 22 + 4321, runId);
    db.close();
    const r = spawnSync(process.execPath, [BIN, 'runs', 'list', '--json', '--db', h.db], { env: h.env, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)[0]).toMatchObject({ id: runId, status: 'interrupted' });
  });
});
