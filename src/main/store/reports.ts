// Experiment reports: what `veripo experiment` wrote (Markdown, SVG figures, the numbers).
import type { Db } from './db';
import { nowIso } from './db';
import { parseJsonColumn, toJsonColumn } from './json';
import type { ExperimentReport } from '../../shared/api';

export function saveExperimentReport(db: Db, experimentId: number, report: { command: string; markdown: string; figures: { name: string; svg: string }[]; summary: Record<string, unknown> }): number {
  return Number(
    db
      .prepare('INSERT INTO experiment_reports (experiment_id, created_at, command, markdown, figures, summary) VALUES (?, ?, ?, ?, ?, ?)')
      .run(experimentId, nowIso(), report.command, report.markdown, JSON.stringify(report.figures), toJsonColumn(report.summary)).lastInsertRowid,
  );
}

/** The newest report of an experiment, or null. */
export function latestExperimentReport(db: Db, experimentId: number): ExperimentReport | null {
  const row = db
    .prepare('SELECT id, experiment_id, created_at, command, markdown, figures FROM experiment_reports WHERE experiment_id = ? ORDER BY id DESC LIMIT 1')
    .get(experimentId) as { id: number; experiment_id: number; created_at: string; command: string; markdown: string; figures: string } | undefined;
  if (!row) return null;
  return { ...row, figures: parseJsonColumn<{ name: string; svg: string }[]>(row.figures) ?? [] };
}
