// Preference pairs: built by the verifier (auto) or by hand (manual), curated, fed to DPO.
import type { Db } from './db';
import { nowIso } from './db';
import { parseJsonColumn, toJsonColumn } from './json';
import type { Pair } from '../../shared/api';
import { getRollouts } from './rollouts';

export interface NewPair {
  stage_id: number | null;
  prompt_id: string;
  prompt: string;
  chosen_rollout_id?: number | null;
  rejected_rollout_id?: number | null;
  chosen_text: string;
  rejected_text: string;
  kind: string;
  source: 'auto' | 'manual';
  status?: 'pending' | 'accepted' | 'rejected';
  reasons: string[];
  meta?: Record<string, unknown> | null;
}

export function insertPairs(db: Db, runId: number | null, pairs: NewPair[]): number[] {
  const stmt = db.prepare(
    `INSERT INTO pairs (run_id, stage_id, prompt_id, prompt, chosen_rollout_id, rejected_rollout_id, chosen_text, rejected_text,
       kind, source, status, reasons, meta, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const now = nowIso();
  return db.transaction(() =>
    pairs.map((p) =>
      Number(
        stmt.run(
          runId,
          p.stage_id,
          p.prompt_id,
          p.prompt,
          p.chosen_rollout_id ?? null,
          p.rejected_rollout_id ?? null,
          p.chosen_text,
          p.rejected_text,
          p.kind,
          p.source,
          p.status ?? 'pending',
          JSON.stringify(p.reasons),
          toJsonColumn(p.meta ?? null),
          now,
          now,
        ).lastInsertRowid,
      ),
    ),
  )();
}

interface PairRow extends Omit<Pair, 'reasons' | 'edited' | 'meta'> {
  reasons: string;
  edits: string | null;
  meta: string | null;
}

function toPair(row: PairRow): Pair {
  const { edits, ...rest } = row;
  return { ...rest, reasons: parseJsonColumn<string[]>(row.reasons) ?? [], edited: edits != null, meta: parseJsonColumn(row.meta) };
}

export function getPair(db: Db, id: number): Pair | null {
  const row = db.prepare('SELECT * FROM pairs WHERE id = ?').get(id) as PairRow | undefined;
  return row ? toPair(row) : null;
}

export interface PairQuery {
  run_id?: number;
  stage_id?: number;
  status?: Pair['status'];
  kind?: string;
  /** case-insensitive substring of the prompt, chosen or rejected text */
  search?: string;
  /** what a person has signed off: accepted, or edited and not rejected */
  curated?: boolean;
  offset: number;
  limit: number;
}

type PairScope = Omit<PairQuery, 'offset' | 'limit'>;

/** Set one status on every pair the query selects; returns the statuses it replaced. */
export function setStatusWhere(db: Db, q: PairScope, status: Pair['status']): { pair_id: number; status: Pair['status'] }[] {
  return db.transaction(() => {
    const { clause, params } = pairWhere(q);
    const previous = (db.prepare(`SELECT id AS pair_id, status FROM pairs ${clause} ORDER BY id`).all(...params) as { pair_id: number; status: Pair['status'] }[]).filter(
      (p) => p.status !== status,
    );
    setStatuses(db, previous.map((p) => ({ pair_id: p.pair_id, status })));
    return previous;
  })();
}

export function setStatuses(db: Db, changes: { pair_id: number; status: Pair['status'] }[]): number {
  const stmt = db.prepare('UPDATE pairs SET status = ?, updated_at = ? WHERE id = ?');
  const now = nowIso();
  return db.transaction(() => changes.reduce((n, c) => n + stmt.run(c.status, now, c.pair_id).changes, 0))();
}

function pairWhere(q: PairScope): { clause: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, ...values: unknown[]) => (where.push(sql), params.push(...values));
  if (q.run_id != null) add('run_id = ?', q.run_id);
  if (q.stage_id != null) add('stage_id = ?', q.stage_id);
  if (q.status) add('status = ?', q.status);
  if (q.kind) add('kind = ?', q.kind);
  if (q.search?.trim()) {
    const like = `%${q.search.trim().replace(/[\\%_]/g, (c) => '\\' + c)}%`;
    add("(prompt LIKE ? ESCAPE '\\' OR chosen_text LIKE ? ESCAPE '\\' OR rejected_text LIKE ? ESCAPE '\\')", like, like, like);
  }
  if (q.curated) where.push("(status = 'accepted' OR (edits IS NOT NULL AND status != 'rejected'))");
  return { clause: where.length ? 'WHERE ' + where.join(' AND ') : '', params };
}

export function queryPairs(db: Db, q: PairQuery) {
  // Counts describe the run, whatever the status/kind/search filter shows.
  const scope = pairWhere({ run_id: q.run_id, stage_id: q.stage_id });
  const byStatus = Object.fromEntries(
    (db.prepare(`SELECT status, COUNT(*) AS n FROM pairs ${scope.clause} GROUP BY status`).all(...scope.params) as { status: string; n: number }[]).map((r) => [r.status, r.n]),
  );
  const byKind = Object.fromEntries(
    (db.prepare(`SELECT kind, COUNT(*) AS n FROM pairs ${scope.clause} GROUP BY kind`).all(...scope.params) as { kind: string; n: number }[]).map((r) => [r.kind, r.n]),
  );
  const { clause, params } = pairWhere(q);
  const total = (db.prepare(`SELECT COUNT(*) AS n FROM pairs ${clause}`).get(...params) as { n: number }).n;
  const rows = q.limit > 0 ? (db.prepare(`SELECT * FROM pairs ${clause} ORDER BY id LIMIT ? OFFSET ?`).all(...params, q.limit, q.offset) as PairRow[]) : [];
  return { total, counts: { by_status: byStatus, by_kind: byKind }, pairs: rows.map(toPair) };
}

export type PairAction =
  | { action: 'accept' | 'reject' | 'reset' | 'swap' }
  | { action: 'edit'; chosen_text: string };

export class NotFoundError extends Error {}

export function updatePair(db: Db, id: number, change: PairAction): Pair {
  return db.transaction(() => {
    const row = db.prepare('SELECT * FROM pairs WHERE id = ?').get(id) as PairRow | undefined;
    if (!row) throw new NotFoundError(`pair ${id} does not exist`);
    const now = nowIso();
    switch (change.action) {
      case 'accept':
      case 'reject':
      case 'reset':
        db.prepare('UPDATE pairs SET status = ?, updated_at = ? WHERE id = ?').run(
          change.action === 'accept' ? 'accepted' : change.action === 'reject' ? 'rejected' : 'pending',
          now,
          id,
        );
        break;
      case 'swap':
        db.prepare(
          `UPDATE pairs SET chosen_text = rejected_text, rejected_text = chosen_text,
             chosen_rollout_id = rejected_rollout_id, rejected_rollout_id = chosen_rollout_id, updated_at = ? WHERE id = ?`,
        ).run(now, id);
        break;
      case 'edit': {
        // Keep every earlier chosen text so an edit can be audited or undone.
        const edits = parseJsonColumn<{ at: string; previous: string }[]>(row.edits) ?? [];
        edits.push({ at: now, previous: row.chosen_text });
        db.prepare('UPDATE pairs SET chosen_text = ?, edits = ?, updated_at = ? WHERE id = ?').run(change.chosen_text, JSON.stringify(edits), now, id);
        break;
      }
    }
    return getPair(db, id)!;
  })();
}

export function createManualPair(db: Db, chosenId: number, rejectedId: number, status: 'pending' | 'accepted' = 'pending'): Pair {
  if (chosenId === rejectedId) throw new Error('a pair needs two different rollouts');
  const rows = getRollouts(db, [chosenId, rejectedId]);
  const chosen = rows.find((r) => r.id === chosenId);
  const rejected = rows.find((r) => r.id === rejectedId);
  if (!chosen) throw new NotFoundError(`rollout ${chosenId} does not exist`);
  if (!rejected) throw new NotFoundError(`rollout ${rejectedId} does not exist`);
  if (chosen.prompt_id !== rejected.prompt_id || chosen.run_id !== rejected.run_id) {
    throw new Error(`rollouts ${chosenId} and ${rejectedId} answer different prompts; a preference pair compares answers to one prompt`);
  }
  const [id] = insertPairs(db, chosen.run_id, [
    {
      stage_id: chosen.stage_id,
      prompt_id: chosen.prompt_id,
      prompt: chosen.prompt,
      chosen_rollout_id: chosen.id,
      rejected_rollout_id: rejected.id,
      chosen_text: chosen.text,
      rejected_text: rejected.text,
      kind: 'manual',
      source: 'manual',
      status,
      reasons: ['picked by hand in the rollout inspector'],
      meta: { task_id: chosen.task_id, ...(chosen.meta ?? {}) },
    },
  ]);
  return getPair(db, id!)!;
}

/** Pairs DPO trains on: the verifier's not rejected by a person, plus accepted manual ones. */
export function pairsForTraining(db: Db, runId: number, stageId: number | null): Pair[] {
  const rows = db
    .prepare(
      `SELECT * FROM pairs WHERE run_id = ? AND status != 'rejected'
         AND ((source = 'auto' AND (? IS NULL OR stage_id = ?)) OR (source = 'manual' AND status = 'accepted'))
       ORDER BY id`,
    )
    .all(runId, stageId, stageId) as PairRow[];
  return rows.map(toPair);
}
