import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync, chmodSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import {
  openDb,
  SCHEMA_VERSION,
  SchemaTooNewError,
  createRun,
  listRuns,
  startStage,
  finishStage,
  getRun,
  insertRollouts,
  queryRollouts,
  insertPairs,
  updatePair,
  queryPairs,
  createManualPair,
  setStatusWhere,
  setStatuses,
  markRunStarted,
  reconcileInterruptedRuns,
  saveRubricVersion,
  listRubrics,
  insertMetrics,
  getMetrics,
  pairsForTraining,
  markRunFinished,
  openDbForReading,
} from '../../../src/main/store';

const tmpDb = () => join(mkdtempSync(join(tmpdir(), 'veripo-store-')), 'test.db');

describe('store', () => {
  it('migrates a fresh file to the current schema with WAL and foreign keys', () => {
    const file = tmpDb();
    const db = openDb(file);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type='table' ORDER BY name`).all() as { name: string }[]).map((t) => t.name);
    for (const t of ['experiments', 'runs', 'stages', 'metrics', 'rollouts', 'pairs', 'rubrics', 'checkpoints']) expect(tables).toContain(t);
    db.close();
    // Re-opening is idempotent.
    const again = openDb(file);
    expect(again.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    again.close();
  });

  it('refuses a database from a newer schema with a clear error and leaves it untouched', () => {
    const file = tmpDb();
    const raw = new Database(file);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 3}`);
    raw.close();
    expect(() => openDb(file)).toThrow(SchemaTooNewError);
    expect(() => openDb(file)).toThrow(/newer than this workbench supports/);
    const check = new Database(file);
    expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION + 3);
    check.close();
  });

  it('enforces foreign keys and stage kinds', () => {
    const db = openDb(':memory:');
    expect(() => startStage(db, 999, 0, 0, 'grpo')).toThrow(/FOREIGN KEY/);
    const runId = createRun(db, { experiment: 'e', config: {}, seed: 1 });
    expect(() => startStage(db, runId, 0, 0, 'bogus' as 'grpo')).toThrow(/CHECK/);
    db.close();
  });

  it('records a run with stages, metrics and final val', () => {
    const db = openDb(':memory:');
    const runId = createRun(db, { experiment: 'exp', preset: 'smoke', config: { a: 1 }, seed: 7 });
    markRunStarted(db, runId, { backend: 'wasm', backendReason: 'test', pid: process.pid });
    const s0 = startStage(db, runId, 0, 0, 'grpo');
    insertMetrics(db, runId, [
      { stage_id: s0, step: 0, name: 'reward', value: 0.5, wall_s: 1 },
      { stage_id: s0, step: 1, name: 'reward', value: NaN, wall_s: 2 },
      { stage_id: s0, step: 2, name: 'reward', value: 0.75, wall_s: 3 },
    ]);
    finishStage(db, s0, { status: 'finished', wall_s: 3.5, val: { accuracy: 0.4, mean_length: 50, inconsistency_rate: 0.1 } });
    const run = getRun(db, runId)!;
    expect(run.stages).toHaveLength(1);
    expect(run.wall_s).toBeCloseTo(3.5);
    expect(run.final_val?.accuracy).toBe(0.4);
    const [series] = getMetrics(db, [runId], ['reward']);
    expect(series!.points.map((p) => p.value)).toEqual([0.5, 0.75]); // NaN is not stored
    expect(listRuns(db)[0]!.status).toBe('running');
    db.close();
  });

  it('shows a run whose process died as interrupted, with its open stage', () => {
    const db = openDb(':memory:');
    const runId = createRun(db, { experiment: 'e', config: {}, seed: 1 });
    markRunStarted(db, runId, { backend: 'cpu', backendReason: '', pid: 2 ** 22 + 12345 });
    startStage(db, runId, 0, 0, 'dpo');
    expect(reconcileInterruptedRuns(db, () => false)).toBe(1);
    const run = getRun(db, runId)!;
    expect(run.status).toBe('interrupted');
    expect(run.stages[0]!.status).toBe('interrupted');
    db.close();
  });

  it('marks a pending run whose creating process is gone as interrupted, and leaves a live one alone', () => {
    const db = openDb(':memory:');
    const dead = createRun(db, { experiment: 'e', config: {}, seed: 1 });
    const live = createRun(db, { experiment: 'e', config: {}, seed: 2 });
    db.prepare('UPDATE runs SET pid = ? WHERE id = ?').run(2 ** 22 + 777, dead);
    expect(reconcileInterruptedRuns(db, (pid) => pid === process.pid)).toBe(1);
    expect(getRun(db, dead)!.status).toBe('interrupted');
    expect(getRun(db, dead)!.error).toMatch(/before the run started/);
    expect(getRun(db, live)!.status).toBe('pending');
    db.close();
  });

  it('stores the diverged status', () => {
    const db = openDb(':memory:');
    const runId = createRun(db, { experiment: 'e', config: {}, seed: 1 });
    markRunFinished(db, runId, 'diverged', 'grpo: weight_norm is 2e6 at step 0');
    expect(listRuns(db, { status: 'diverged' }).map((r) => r.id)).toEqual([runId]);
    db.close();
  });

  it('filters rollouts by verdict and curates pairs', () => {
    const db = openDb(':memory:');
    const runId = createRun(db, { experiment: 'e', config: {}, seed: 1 });
    const stage = startStage(db, runId, 0, 0, 'grpo');
    const ids = insertRollouts(db, runId, [
      { stage_id: stage, step: 0, prompt_id: 'p1', group_index: 0, prompt: 'q', text: 'good', verdict: { correct: true, consistent: true } },
      { stage_id: stage, step: 0, prompt_id: 'p1', group_index: 1, prompt: 'q', text: 'bad', verdict: { correct: false, consistent: false } },
      { stage_id: stage, step: 0, prompt_id: 'p2', group_index: 0, prompt: 'r', text: 'other' },
    ]);
    expect(queryRollouts(db, { run_id: runId, correct: true, offset: 0, limit: 10 }).rollouts.map((r) => r.text)).toEqual(['good']);
    expect(queryRollouts(db, { run_id: runId, correct: false, offset: 0, limit: 10 }).total).toBe(2);
    const [pairId] = insertPairs(db, runId, [
      { stage_id: stage, prompt_id: 'p1', prompt: 'q', chosen_rollout_id: ids[0], rejected_rollout_id: ids[1], chosen_text: 'good', rejected_text: 'bad', kind: 'accuracy', source: 'auto', reasons: ['r'] },
    ]);
    expect(updatePair(db, pairId!, { action: 'swap' }).chosen_text).toBe('bad');
    const edited = updatePair(db, pairId!, { action: 'edit', chosen_text: 'better' });
    expect(edited.chosen_text).toBe('better');
    expect(edited.edited).toBe(true);
    expect(updatePair(db, pairId!, { action: 'reject' }).status).toBe('rejected');
    expect(queryPairs(db, { offset: 0, limit: 10 }).counts.by_status).toEqual({ rejected: 1 });
    expect(() => createManualPair(db, ids[0]!, ids[2]!)).toThrow(/different prompts/);
    const manual = createManualPair(db, ids[0]!, ids[1]!);
    expect(manual.source).toBe('manual');
    // A hand-made pair is a proposal: pending, and not trained on until someone accepts it.
    expect(manual.status).toBe('pending');
    expect(pairsForTraining(db, runId, stage)).toEqual([]);
    updatePair(db, manual.id, { action: 'accept' });
    // Rejected pairs never reach DPO; accepted manual ones do.
    expect(pairsForTraining(db, runId, stage).map((p) => p.id)).toEqual([manual.id]);
    // Export's default selection: accepted, or edited and not rejected.
    expect(queryPairs(db, { curated: true, offset: 0, limit: 10 }).pairs.map((p) => p.id)).toEqual([manual.id]);
    expect(queryPairs(db, { search: 'BETTER', offset: 0, limit: 10 }).total).toBe(1);
    expect(queryPairs(db, { search: '100%', offset: 0, limit: 10 }).total).toBe(0);
    // A bulk decision on a filter returns what it replaced, so it can be undone exactly.
    const before = queryPairs(db, { offset: 0, limit: 10 }).pairs.map((p) => [p.id, p.status]);
    const previous = setStatusWhere(db, { run_id: runId }, 'accepted');
    expect(previous.map((p) => p.status).sort()).toEqual(['rejected']);
    expect(queryPairs(db, { status: 'accepted', offset: 0, limit: 10 }).total).toBe(2);
    setStatuses(db, previous);
    expect(queryPairs(db, { offset: 0, limit: 10 }).pairs.map((p) => [p.id, p.status])).toEqual(before);
    db.close();
  });

  it('versions rubrics instead of overwriting them', () => {
    const db = openDb(':memory:');
    saveRubricVersion(db, 'default', '{"a":1}');
    const v2 = saveRubricVersion(db, 'default', '{"a":2}');
    expect(v2.version).toBe(2);
    expect(listRubrics(db).map((r) => r.body)).toEqual(['{"a":1}', '{"a":2}']);
    db.close();
  });
});

describe('migrations', () => {
  it('upgrades a version-1 database in place, keeping its rows', async () => {
    const { MIGRATIONS } = await import('../../../src/main/store/migrations');
    const file = tmpDb();
    const raw = new Database(file);
    raw.exec(MIGRATIONS[0]!);
    raw.pragma('user_version = 1');
    raw.prepare(`INSERT INTO experiments (name, created_at) VALUES ('old', 'then')`).run();
    raw.close();
    const db = openDb(file);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBeGreaterThan(1);
    expect(db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'rollouts_page_stage'`).get()).toBeTruthy();
    expect(db.prepare('SELECT name FROM experiments').all()).toEqual([{ name: 'old' }]);
    db.close();
  });
});

describe('database files', () => {
  it('names the file when it is not a database', () => {
    const file = tmpDb();
    writeFileSync(file, 'these are notes, not a database\n'.repeat(200));
    expect(() => openDb(file)).toThrow(`${file}: file is not a database`);
    // and leaves it as it was
    expect(readFileSync(file, 'utf8')).toMatch(/^these are notes/);
  });

  it('names the file when it is malformed', () => {
    const file = tmpDb();
    const db = openDb(file);
    db.pragma('journal_mode = DELETE');
    db.close();
    // Overwrite the schema page's cell content: the header stays valid, the schema does not.
    const bytes = readFileSync(file);
    bytes.fill(0x41, 200, bytes.length > 4096 ? 4096 : bytes.length);
    writeFileSync(file, bytes);
    expect(() => {
      const d = openDb(file);
      d.close();
    }).toThrow(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*malformed`));
  });

  it('upgrades a version-2 database to the diverged status without losing runs or their stages', async () => {
    const { MIGRATIONS } = await import('../../../src/main/store/migrations');
    const file = tmpDb();
    const raw = new Database(file);
    raw.exec(MIGRATIONS[0]!);
    raw.exec(MIGRATIONS[1]!);
    raw.pragma('user_version = 2');
    raw.prepare(`INSERT INTO experiments (id, name, created_at) VALUES (1, 'old', 'then')`).run();
    raw.prepare(`INSERT INTO runs (id, experiment_id, config, status, created_at) VALUES (1, 1, '{}', 'finished', 'then')`).run();
    raw.prepare(`INSERT INTO stages (run_id, ordinal, iteration, kind, status, started_at) VALUES (1, 0, 0, 'sft', 'finished', 'then')`).run();
    raw.close();
    const db = openDb(file);
    expect(getRun(db, 1)!.stages).toHaveLength(1);
    markRunFinished(db, 1, 'diverged', 'test');
    expect(getRun(db, 1)!.status).toBe('diverged');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    // The rebuilt table still cascades.
    db.prepare('DELETE FROM runs WHERE id = 1').run();
    expect(db.prepare('SELECT COUNT(*) AS n FROM stages').get()).toEqual({ n: 0 });
    db.close();
  });

  it('opens a database this user cannot write read-only for listing (`veripo runs list`)', () => {
    const home = mkdtempSync(join(tmpdir(), 'veripo-ro-'));
    const file = join(home, 'ro.db');
    const db = openDb(file);
    const runId = createRun(db, { experiment: 'shared', config: {}, seed: 3 });
    markRunFinished(db, runId, 'finished');
    db.close();
    chmodSync(file, 0o444);
    chmodSync(home, 0o555);
    const bin = join(import.meta.dirname, '..', '..', '..', 'bin', 'veripo.js');
    // Root writes anything: drop to nobody to be a user who may only read. nobody must be able
    // to reach the checkout, which may sit in a private (0700) folder such as mktemp's.
    const asRoot = process.getuid?.() === 0;
    const opened = asRoot ? openPathFor(dirname(bin)) : [];
    try {
      const asUser = asRoot ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
      const argv = [...asUser, process.execPath, bin, 'runs', 'list', '--json', '--db', file];
      const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: { ...process.env, HOME: home, VERIPO_HOME: home }, timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).map((x: { experiment: string; status: string }) => [x.experiment, x.status])).toEqual([['shared', 'finished']]);
      expect(statSync(file).mode & 0o777).toBe(0o444);
    } finally {
      chmodSync(home, 0o755);
      for (const [dir, mode] of opened) chmodSync(dir, mode);
    }
    // In-process, the same file opens read-only when SQLite says it cannot write it.
    const { db: again, readonly } = openDbForReading(file);
    expect(listRuns(again)).toHaveLength(1);
    if (process.getuid?.() !== 0) expect(readonly).toBe(true);
    again.close();
  });
});

/** Adds search (x) permission for others on every ancestor of `dir` lacking it; returns what to restore. */
function openPathFor(dir: string): Array<[string, number]> {
  const changed: Array<[string, number]> = [];
  for (let d = dir; ; d = dirname(d)) {
    const mode = statSync(d).mode & 0o7777;
    if ((mode & 0o001) === 0) {
      chmodSync(d, mode | 0o001);
      changed.push([d, mode]);
    }
    if (dirname(d) === d) break;
  }
  return changed;
}
