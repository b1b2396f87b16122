// Rubric presets shipped in resources/rubrics, bundled as JSON so the CLI bundle and the
// app find them without locating the resources folder at run time.
import { readFile } from 'node:fs/promises';
import defaultPreset from '../../../resources/rubrics/default.json';
import judgePreset from '../../../resources/rubrics/judge.json';
import lenientPreset from '../../../resources/rubrics/lenient.json';
import strictPreset from '../../../resources/rubrics/strict.json';
import { parseRubric, type Rubric } from './rubric';

export const RUBRIC_PRESET_TEXT: Record<'default' | 'strict' | 'lenient' | 'judge', string> = {
  default: JSON.stringify(defaultPreset, null, 2),
  strict: JSON.stringify(strictPreset, null, 2),
  lenient: JSON.stringify(lenientPreset, null, 2),
  judge: JSON.stringify(judgePreset, null, 2),
};
export type RubricPresetName = keyof typeof RUBRIC_PRESET_TEXT;

export function rubricPreset(name: RubricPresetName): Rubric {
  return parseRubric(RUBRIC_PRESET_TEXT[name], `resources/rubrics/${name}.json`);
}

/** A preset name ("strict") or a path to a rubric JSON file. */
export async function loadRubric(nameOrPath: string): Promise<Rubric> {
  if (nameOrPath in RUBRIC_PRESET_TEXT) return rubricPreset(nameOrPath as RubricPresetName);
  return parseRubric(await readFile(nameOrPath, 'utf8'), nameOrPath);
}
