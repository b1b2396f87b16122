// A run killed mid-stage (SIGKILL) leaves the DB consistent, shows as interrupted, and
// `veripo run --resume` finishes it without redoing finished stages.
import { describe, it, expect } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, getRun, reconcileInterruptedRuns } from '../../../src/main/store';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'veripo.js');
// From a fresh policy (the preset's shipped checkpoint off): the run goes through SFT.
const TINY = [
  '--preset', 'smoke', '--set', 'model.init_checkpoint=null',
  '--set', 'sft.steps=4', '--set', 'sft.batch_size=4',
  '--set', 'grpo.steps=2', '--set', 'grpo.per_step_prompts=1', '--set', 'grpo.num_generations=2', '--set', 'grpo.max_completion_length=12',
  '--set', 'data.val_size=4', '--set', 'data.train_size=8',
];

function stagesFinished(dbPath: string): number {
  const db = openDb(dbPath);
  try {
    return (db.prepare(`SELECT COUNT(*) AS n FROM stages WHERE status = 'finished'`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('kill and resume', () => {
  it('SIGKILL mid-run leaves a consistent DB marked interrupted; --resume completes the run', async () => {
    const home = mkdtempSync(join(tmpdir(), 'veripo-resume-'));
    const dbPath = join(home, 'r.db');
    const env = { ...process.env, VERIPO_HOME: home };
    const child = spawn(process.execPath, [BIN, 'run', ...TINY, '--db', dbPath, '--json'], { env, stdio: 'ignore' });
    // Kill once the first stage (SFT) is recorded, while later stages are still to come.
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      try {
        if (stagesFinished(dbPath) >= 1) break;
      } catch {
        // the DB may not exist yet
      }
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    const db = openDb(dbPath);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.pragma('foreign_key_check')).toEqual([]);
    const before = getRun(db, 1)!;
    expect(before.status).toBe('running'); // what the dead process left behind…
    reconcileInterruptedRuns(db);
    const interrupted = getRun(db, 1)!;
    expect(interrupted.status).toBe('interrupted'); // …is shown as interrupted
    expect(interrupted.stages.every((s) => s.status !== 'running')).toBe(true);
    const finishedBefore = interrupted.stages.filter((s) => s.status === 'finished').map((s) => s.id);
    expect(finishedBefore.length).toBeGreaterThanOrEqual(1);
    db.close();

    const resumed = spawnSync(process.execPath, [BIN, 'run', '--resume', '1', '--db', dbPath, '--json'], { env, encoding: 'utf8', timeout: 240_000 });
    expect(resumed.status, resumed.stderr).toBe(0);
    const out = JSON.parse(resumed.stdout.trim().split('\n').at(-1)!);
    expect(out.status).toBe('finished');
    expect(out.stages.map((s: { kind: string }) => s.kind)).toEqual(['sft', 'grpo', 'verify', 'dpo', 'grpo']);

    const db2 = openDb(dbPath);
    const after = getRun(db2, 1)!;
    // finished stages were kept, not redone
    for (const id of finishedBefore) expect(after.stages.some((s) => s.id === id)).toBe(true);
    expect(after.stages.map((s) => s.ordinal)).toEqual([0, 1, 2, 3, 4]);
    db2.close();
  });

  it('SIGKILL during SFT, then --resume continues from the last in-stage checkpoint: every step trained once', async () => {
    const home = mkdtempSync(join(tmpdir(), 'veripo-resume-sft-'));
    const dbPath = join(home, 'r.db');
    const runDir = join(home, 'r-data', 'runs', '1');
    const env = { ...process.env, VERIPO_HOME: home };
    const STEPS = 48;
    const args = [...TINY, '--set', `sft.steps=${STEPS}`, '--set', 'sft.save_steps=8', '--db', dbPath, '--json'];
    const inStage = () => (existsSync(runDir) ? readdirSync(runDir).filter((d) => d.startsWith('stage-0-sft.step-') && existsSync(join(runDir, d, 'progress.json'))) : []);
    const child = spawn(process.execPath, [BIN, 'run', ...args], { env, stdio: 'ignore' });
    // Kill once SFT has saved at step 16 or later, well before its end.
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline && !inStage().some((d) => Number(d.split('.step-')[1]) >= 16)) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const saved = inStage().map((d) => Number(d.split('.step-')[1]));
    // Only the newest is kept (its predecessor only while the newest is being completed).
    expect(saved.length).toBeLessThanOrEqual(2);
    const resumeAt = Math.max(...saved);
    expect(resumeAt).toBeGreaterThanOrEqual(16);
    expect(resumeAt).toBeLessThan(STEPS);
    const db = openDb(dbPath);
    expect(getRun(db, 1)!.stages.map((s) => [s.kind, s.status])).toEqual([['sft', 'running']]);
    const lossesBefore = (db.prepare(`SELECT COUNT(*) AS n FROM metrics WHERE name = 'sft/loss'`).get() as { n: number }).n;
    db.close();
    expect(lossesBefore).toBeGreaterThanOrEqual(resumeAt);

    const resumed = spawnSync(process.execPath, [BIN, 'run', '--resume', '1', '--db', dbPath, '--json'], { env, encoding: 'utf8', timeout: 240_000 });
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout.trim().split('\n').at(-1)!).status).toBe('finished');

    const db2 = openDb(dbPath);
    const sft = getRun(db2, 1)!.stages[0]!;
    expect(sft.status).toBe('finished');
    // The stage picked up at the checkpoint's step and ran only the steps left.
    expect(sft.summary).toMatchObject({ steps: STEPS, resumed_from: resumeAt, steps_run: STEPS - resumeAt });
    // Its loss curve has each of the stage's steps exactly once: the first process's up to the
    // checkpoint, the resumed process's after it.
    const steps = (db2.prepare(`SELECT step FROM metrics WHERE name = 'sft/loss' AND stage_id = ? ORDER BY step`).all(sft.id) as { step: number }[]).map((r) => r.step);
    expect(steps).toEqual(Array.from({ length: STEPS }, (_, i) => steps[0]! + i));
    db2.close();
    expect(inStage()).toEqual([]);
  }, 420_000);
});
