// In-stage checkpoints: every `save_steps` steps a long stage leaves its weights, its
// optimizer state and its step in runs/<id>/stage-<ordinal>-<kind>.step-<n>/, so a run killed
// mid-stage resumes at that step instead of redoing the whole stage. progress.json is
// written last: a folder without it was cut short and is ignored. They are removed when
// the stage ends; only the newest is kept while it runs.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Policy } from '../model/policy';
import type { Tokenizer } from '../model/tokenizer';
import type { AdamWState } from '../model/optim';
import { saveCheckpoint } from '../model/checkpoint';

export interface StageProgress {
  /** Steps of the stage done when the checkpoint was taken. */
  step: number;
  /** The run-wide metric step of the stage's step 0, so resumed metrics continue the same axis. */
  stepBase: number;
  optimizer: AdamWState;
}

interface ProgressJSON {
  kind: 'veripo-stage-progress';
  version: 1;
  stage: string;
  step: number;
  step_base: number;
  optimizer_t: number;
  /** Moments in optimizer.bin: for each parameter, m then v, float32 little-endian. */
  moments: { name: string; size: number }[];
}

const prefix = (ordinal: number, kind: string) => `stage-${ordinal}-${kind}.step-`;

export function saveStageProgress(runDir: string, ordinal: number, kind: string, policy: Policy, tokenizer: Tokenizer, progress: StageProgress): string {
  const dir = join(runDir, `${prefix(ordinal, kind)}${progress.step}`);
  rmSync(dir, { recursive: true, force: true });
  saveCheckpoint(dir, policy, tokenizer, { stage: kind, ordinal, step: progress.step, in_stage: true });
  const names = Object.keys(progress.optimizer.moments);
  const total = names.reduce((n, k) => n + 2 * progress.optimizer.moments[k]!.m.length, 0);
  const flat = new Float32Array(total);
  let at = 0;
  for (const k of names) {
    const { m, v } = progress.optimizer.moments[k]!;
    flat.set(m, at);
    flat.set(v, at + m.length);
    at += 2 * m.length;
  }
  writeFileSync(join(dir, 'optimizer.bin'), new Uint8Array(flat.buffer));
  const json: ProgressJSON = {
    kind: 'veripo-stage-progress',
    version: 1,
    stage: kind,
    step: progress.step,
    step_base: progress.stepBase,
    optimizer_t: progress.optimizer.t,
    moments: names.map((name) => ({ name, size: progress.optimizer.moments[name]!.m.length })),
  };
  writeFileSync(join(dir, 'progress.json.tmp'), JSON.stringify(json, null, 2));
  renameSync(join(dir, 'progress.json.tmp'), join(dir, 'progress.json'));
  // The new one is complete: older ones of this stage are no longer needed.
  for (const old of stageProgressDirs(runDir, ordinal, kind)) if (old.step !== progress.step) rmSync(old.dir, { recursive: true, force: true });
  return dir;
}

/** The newest complete in-stage checkpoint of a stage, or null. The weights are loaded by the caller (loadCheckpoint(dir)). */
export function latestStageProgress(runDir: string, ordinal: number, kind: string): (StageProgress & { dir: string }) | null {
  const complete = stageProgressDirs(runDir, ordinal, kind).filter((d) => existsSync(join(d.dir, 'progress.json')));
  const newest = complete.sort((a, b) => b.step - a.step)[0];
  if (!newest) return null;
  const file = join(newest.dir, 'progress.json');
  const json = JSON.parse(readFileSync(file, 'utf8')) as ProgressJSON;
  if (json.kind !== 'veripo-stage-progress' || json.version !== 1) throw new Error(`${file}: kind/version is not veripo-stage-progress 1`);
  const binFile = join(newest.dir, 'optimizer.bin');
  const flat = new Float32Array(new Uint8Array(readFileSync(binFile)).buffer);
  const expected = json.moments.reduce((n, e) => n + 2 * e.size, 0);
  if (flat.length !== expected) throw new Error(`${binFile}: holds ${flat.length} values, progress.json lists ${expected}`);
  const moments: AdamWState['moments'] = {};
  let at = 0;
  for (const e of json.moments) {
    moments[e.name] = { m: flat.slice(at, at + e.size), v: flat.slice(at + e.size, at + 2 * e.size) };
    at += 2 * e.size;
  }
  return { dir: newest.dir, step: json.step, stepBase: json.step_base, optimizer: { t: json.optimizer_t, moments } };
}

export function clearStageProgress(runDir: string, ordinal: number, kind: string): void {
  for (const d of stageProgressDirs(runDir, ordinal, kind)) rmSync(d.dir, { recursive: true, force: true });
}

function stageProgressDirs(runDir: string, ordinal: number, kind: string): { dir: string; step: number }[] {
  if (!existsSync(runDir)) return [];
  const p = prefix(ordinal, kind);
  return readdirSync(runDir)
    .filter((name) => name.startsWith(p) && /^\d+$/.test(name.slice(p.length)))
    .map((name) => ({ dir: join(runDir, name), step: Number(name.slice(p.length)) }));
}
