// What `verifier.rubric` in a run config names: a shipped preset (resources/rubrics), a rubric
// saved in the database (by name, or by id as "#12"), or a rubric JSON file. One reading for
// the API's path check and for the training thread that loads it.
import { readFile } from 'node:fs/promises';
import type { Db } from '../store';
import * as store from '../store';
import { RUBRIC_PRESET_TEXT, rubricPreset, type RubricPresetName } from '../verifier/presets';
import { parseRubric, type Rubric } from '../verifier/rubric';

export type RubricRef =
  | { kind: 'preset'; name: RubricPresetName }
  | { kind: 'saved'; id: number; name: string; version: number; body: string }
  | { kind: 'file'; path: string };

export class RubricRefError extends Error {}

/** Presets win over saved names (they cannot be shadowed); anything else is a file path. */
export function resolveRubricRef(db: Db | null, ref: string): RubricRef {
  if (Object.prototype.hasOwnProperty.call(RUBRIC_PRESET_TEXT, ref)) return { kind: 'preset', name: ref as RubricPresetName };
  const byId = /^#(\d+)$/.exec(ref.trim());
  if (byId) {
    const row = db ? store.getRubric(db, Number(byId[1])) : null;
    if (!row) throw new RubricRefError(`verifier.rubric: no saved rubric with id ${byId[1]}`);
    return { kind: 'saved', id: row.id, name: row.name, version: row.version, body: row.body };
  }
  const row = db ? store.latestRubric(db, ref) : null;
  if (row) return { kind: 'saved', id: row.id, name: row.name, version: row.version, body: row.body };
  return { kind: 'file', path: ref };
}

export async function loadRubricRef(ref: RubricRef): Promise<Rubric> {
  if (ref.kind === 'preset') return rubricPreset(ref.name);
  if (ref.kind === 'saved') return parseRubric(ref.body, `rubric "${ref.name}" v${ref.version} (#${ref.id})`);
  return parseRubric(await readFile(ref.path, 'utf8'), ref.path);
}
