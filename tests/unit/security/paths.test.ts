import { describe, it, expect, afterEach } from 'vitest';
import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAppWorkbench } from '../../../src/main/app/services';
import type { OpenedWorkbench } from '../../../src/main/app/workbench';
import { createPathPolicy, resolveAllowedPath, checkRunConfigPaths, type PathPolicy } from '../../../src/main/app/paths';
import { dataDirFor } from '../../../src/main/loop/launcher';
import { resolveRunConfig } from '../../../src/main/loop/config';
import { resolveRubricRef } from '../../../src/main/loop/rubric-ref';
import * as store from '../../../src/main/store';
import { shippedCheckpointsDir, smokeCheckpoint } from '../../../src/main/model/shipped';

const SECRET = 'SECRET-LINE root:x:0:0';
let wb: (OpenedWorkbench & { paths: PathPolicy }) | null = null;
afterEach(async () => {
  await wb?.close();
  wb = null;
});

function home() {
  const dir = mkdtempSync(join(tmpdir(), 'veripo-paths-'));
  const dbPath = join(dir, 'w.db');
  const data = dataDirFor(dbPath);
  mkdirSync(data, { recursive: true });
  const outside = join(dir, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.json'), SECRET);
  return { dir, dbPath, data, outside };
}

describe('startRun: paths in overrides stay inside the allowed folders', () => {
  it('refuses verifier.rubric "/etc/passwd" without reading it, naming the field, storing no run', async () => {
    const h = home();
    wb = await openAppWorkbench({ dbPath: h.dbPath, mode: 'web' });
    for (const rubric of ['/etc/passwd', join(h.outside, 'secret.json'), '../outside/secret.json', `${h.data}/../outside/secret.json`]) {
      const err = await wb.api.startRun({ preset: 'smoke', overrides: { 'verifier.rubric': rubric } }).catch((e: Error & { status?: number }) => e);
      expect(err, rubric).toBeInstanceOf(Error);
      expect((err as { status?: number }).status).toBe(422);
      expect((err as Error).message).toMatch(/^verifier\.rubric: .* is outside the folders the API may read/);
      expect((err as Error).message).not.toMatch(/root:|SECRET/);
    }
    expect(store.listRuns(wb.db, {})).toEqual([]);
  });

  it('refuses model.init_checkpoint outside the data folder and picked folders', async () => {
    const h = home();
    wb = await openAppWorkbench({ dbPath: h.dbPath, mode: 'web' });
    for (const ckpt of ['/etc', h.outside, join(h.data, '..', 'outside')]) {
      await expect(wb.api.startRun({ preset: 'smoke', overrides: { 'model.init_checkpoint': ckpt } })).rejects.toThrow(/^model\.init_checkpoint: .* is outside/);
    }
    // Once the user allows the folder (desktop dialog / --workspace) it passes the path check.
    wb.paths.allow(h.outside);
    expect(resolveAllowedPath(wb.paths, 'model.init_checkpoint', h.outside)).toBe(h.outside);
    expect(store.listRuns(wb.db, {})).toEqual([]);
  });

  it('accepts the shipped checkpoints (the smoke preset starts from one), and nothing else beside them', async () => {
    const h = home();
    wb = await openAppWorkbench({ dbPath: h.dbPath, mode: 'web' });
    const smoke = resolveRunConfig({ preset: 'smoke' });
    expect(smoke.model.init_checkpoint).toBe(smokeCheckpoint());
    await checkRunConfigPaths(smoke, wb.paths, wb.db);
    expect(smoke.model.init_checkpoint).toBe(realpathSync(smokeCheckpoint()));
    for (const ckpt of [join(shippedCheckpointsDir(), '..', 'rubrics'), join(shippedCheckpointsDir(), '..', '..', 'package.json')]) {
      const config = resolveRunConfig({ preset: 'smoke', sets: [['model.init_checkpoint', ckpt]] });
      await expect(checkRunConfigPaths(config, wb.paths, wb.db)).rejects.toThrow(/^model\.init_checkpoint: .* is outside/);
    }
  });

  it('follows symlinks: a link inside the data folder that points outside is refused', () => {
    const h = home();
    symlinkSync(h.outside, join(h.data, 'link'));
    const policy = createPathPolicy(h.data);
    expect(() => resolveAllowedPath(policy, 'model.init_checkpoint', join(h.data, 'link'))).toThrow(/outside/);
    expect(() => resolveAllowedPath(policy, 'verifier.rubric', 'link/secret.json')).toThrow(/outside/);
    mkdirSync(join(h.data, 'runs', '1'), { recursive: true });
    expect(resolveAllowedPath(policy, 'model.init_checkpoint', 'runs/1')).toBe(join(h.data, 'runs', '1'));
    expect(() => resolveAllowedPath(policy, 'model.init_checkpoint', 'runs/2')).toThrow(/does not exist/);
    expect(() => resolveAllowedPath(policy, 'model.init_checkpoint', 'runs/1\0x')).toThrow(/outside/);
  });
});

describe('rubric references from the API', () => {
  it('accepts presets, saved rubrics by name or #id, and files inside a workspace', async () => {
    const h = home();
    wb = await openAppWorkbench({ dbPath: h.dbPath, mode: 'web', workspaces: [h.outside] });
    const saved = store.saveRubricVersion(wb.db, 'mine', JSON.stringify({ checks: { length: { min_words: 3 } } }));
    expect(resolveRubricRef(wb.db, 'strict')).toEqual({ kind: 'preset', name: 'strict' });
    expect(resolveRubricRef(wb.db, 'mine')).toMatchObject({ kind: 'saved', id: saved.id });
    expect(resolveRubricRef(wb.db, `#${saved.id}`)).toMatchObject({ kind: 'saved', name: 'mine' });
    expect(() => resolveRubricRef(wb!.db, '#999')).toThrow(/no saved rubric with id 999/);
    for (const rubric of ['strict', 'mine', `#${saved.id}`]) {
      const config = resolveRunConfig({ preset: 'smoke', sets: [['verifier.rubric', rubric]] });
      await expect(checkRunConfigPaths(config, wb.paths, wb.db)).resolves.toBeUndefined();
    }
    writeFileSync(join(h.outside, 'ok.json'), JSON.stringify({ checks: { length: { min_words: 5 } } }));
    const config = resolveRunConfig({ preset: 'smoke', sets: [['verifier.rubric', join(h.outside, 'ok.json')]] });
    await checkRunConfigPaths(config, wb.paths, wb.db);
    expect(config.verifier.rubric).toBe(join(h.outside, 'ok.json'));
  });

  it('a non-rubric file inside an allowed folder is refused without echoing its contents', async () => {
    const h = home();
    wb = await openAppWorkbench({ dbPath: h.dbPath, mode: 'web', workspaces: [h.outside] });
    writeFileSync(join(h.outside, 'keys.json'), JSON.stringify({ 'SECRET-KEY-NAME': 1 }));
    for (const file of ['secret.json', 'keys.json']) {
      const config = resolveRunConfig({ preset: 'smoke', sets: [['verifier.rubric', join(h.outside, file)]] });
      const err = await checkRunConfigPaths(config, wb.paths, wb.db).catch((e: Error) => e);
      expect((err as Error).message).toMatch(/^verifier\.rubric: .* is not a valid rubric/);
      expect((err as Error).message).not.toMatch(/SECRET|root:/);
    }
  });

  it('a rubric whose judge would write its cache outside the allowed folders is refused', async () => {
    const h = home();
    wb = await openAppWorkbench({ dbPath: h.dbPath, mode: 'web' });
    store.saveRubricVersion(wb.db, 'judged', JSON.stringify({ checks: { judge: { enabled: true } }, judge: { cache_dir: '/etc/veripo-cache' } }));
    const config = resolveRunConfig({ preset: 'smoke', sets: [['verifier.rubric', 'judged'], ['verifier.judge', true]] });
    await expect(checkRunConfigPaths(config, wb.paths, wb.db)).rejects.toThrow(/judge\.cache_dir: .* is outside/);
  });
});
