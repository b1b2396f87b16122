// Assembles a workbench for one database: store, event hub, run launcher, services.
// The Electron shell, `veripo serve` and the tests all start from here.
import { openDb, reconcileInterruptedRuns, type Db } from '../store';
import { createEventHub, type EventHub } from '../events';
import { createWorkbench, type RunLauncher, type WorkbenchServices } from '../api';
import type { WorkbenchApi } from '../../shared/api';

export interface OpenedWorkbench {
  api: WorkbenchApi;
  events: EventHub;
  db: Db;
  dbPath: string;
  close(): Promise<void>;
}

export interface OpenWorkbenchOptions {
  dbPath: string;
  mode: 'electron' | 'web' | 'cli';
  launcher?: (db: Db, dbPath: string, events: EventHub) => RunLauncher & { shutdown?(): Promise<void> };
  services?: Partial<WorkbenchServices>;
}

export async function openWorkbench(opts: OpenWorkbenchOptions): Promise<OpenedWorkbench> {
  const db = openDb(opts.dbPath);
  reconcileInterruptedRuns(db);
  const events = createEventHub();
  const launcher = opts.launcher?.(db, opts.dbPath, events);
  const api = createWorkbench({
    db,
    dbPath: opts.dbPath,
    mode: opts.mode,
    events,
    launcher,
    services: opts.services,
    judge: { base_url: process.env.VERIPO_JUDGE_URL ?? null, model: process.env.VERIPO_JUDGE_MODEL ?? null },
  });
  return {
    api,
    events,
    db,
    dbPath: opts.dbPath,
    async close() {
      await launcher?.shutdown?.();
      db.close();
    },
  };
}
