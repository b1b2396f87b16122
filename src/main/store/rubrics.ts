// Rubric versions: every save is a new version; nothing is overwritten.
import type { Db } from './db';
import { nowIso } from './db';
import type { Rubric } from '../../shared/api';

export function saveRubricVersion(db: Db, name: string, body: string): Rubric {
  return db.transaction(() => {
    const last = db.prepare('SELECT MAX(version) AS v FROM rubrics WHERE name = ?').get(name) as { v: number | null };
    const version = (last.v ?? 0) + 1;
    const id = Number(db.prepare('INSERT INTO rubrics (name, version, body, created_at) VALUES (?, ?, ?, ?)').run(name, version, body, nowIso()).lastInsertRowid);
    return db.prepare('SELECT * FROM rubrics WHERE id = ?').get(id) as Rubric;
  })();
}

export function listRubrics(db: Db): Rubric[] {
  return db.prepare('SELECT * FROM rubrics ORDER BY name, version').all() as Rubric[];
}

export function getRubric(db: Db, id: number): Rubric | null {
  return (db.prepare('SELECT * FROM rubrics WHERE id = ?').get(id) as Rubric | undefined) ?? null;
}

/** The newest saved version of a rubric, as a run config names it by name. */
export function latestRubric(db: Db, name: string): Rubric | null {
  return (db.prepare('SELECT * FROM rubrics WHERE name = ? ORDER BY version DESC LIMIT 1').get(name) as Rubric | undefined) ?? null;
}
