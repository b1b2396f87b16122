// Starts runs in worker threads and relays their events: used by `veripo run` and by the
// API's launcher (app/run-launcher.ts). ../worker-entry finds the worker file in every build.
import { dirname, join, basename } from 'node:path';
import { spawnEntryWorker } from '../worker-entry';
import type { Db } from '../store';
import * as store from '../store';
import type { RunEvent } from '../../shared/events';
import type { LoopStatus } from '../../shared/api';
import { resolveRunConfig, type RunConfig } from './config';
import { sharedCacheDir } from './cold-start';

export interface RunWorkerData {
  runId: number;
  dbPath: string;
  dataDir: string;
  cacheDir: string;
  stop: SharedArrayBuffer;
}

export type WorkerMessage =
  | { type: 'event'; event: Record<string, unknown> & { run_id: number; t: number } }
  | { type: 'done'; status: LoopStatus; error?: string | null }
  | { type: 'error'; message: string; stack?: string };

export function dataDirFor(dbPath: string): string {
  return join(dirname(dbPath), `${basename(dbPath).replace(/\.[^.]+$/, '')}-data`);
}

export interface RunHandle {
  runId: number;
  done: Promise<{ status: LoopStatus | 'failed'; error: string | null }>;
  stop(): void;
}

export function startRunWorker(opts: { runId: number; dbPath: string; onEvent?: (e: RunEvent) => void }): RunHandle {
  if (opts.dbPath === ':memory:') throw new Error('runs need a database file (an in-memory DB cannot be shared with the training thread)');
  const stop = new SharedArrayBuffer(4);
  const data: RunWorkerData = { runId: opts.runId, dbPath: opts.dbPath, dataDir: dataDirFor(opts.dbPath), cacheDir: sharedCacheDir(), stop };
  const raiseStop = () => Atomics.store(new Int32Array(stop), 0, 1);
  const control = followControl(opts.dbPath, opts.runId, raiseStop);
  const worker = spawnEntryWorker('worker', { workerData: data });
  let error: string | null = null;
  let status: LoopStatus | 'failed' = 'failed';
  worker.on('message', (m: WorkerMessage) => {
    if (m.type === 'event') {
      control.record(m.event as unknown as RunEvent);
      opts.onEvent?.(m.event as unknown as RunEvent);
    }
    else if (m.type === 'done') {
      status = m.status;
      error = m.error ?? null;
    }
    else if (m.type === 'error') {
      status = 'failed';
      error = m.message;
    }
  });
  const done = new Promise<{ status: LoopStatus | 'failed'; error: string | null }>((resolve) => {
    worker.on('error', (err) => {
      error = err.message;
      status = 'failed';
    });
    worker.on('exit', () => {
      control.close();
      if (status === 'failed') markFailedIfUnfinished(opts.dbPath, opts.runId, error ?? 'the training thread exited without finishing');
      opts.onEvent?.({ type: 'run_finished', run_id: opts.runId, t: Date.now() / 1000, status, error });
      resolve({ status, error });
    });
  });
  return {
    runId: opts.runId,
    done,
    stop: raiseStop,
  };
}

/**
 * The database side of a running run, so any process can watch or stop it: polls the stop
 * request another process may store (Stop in any workbench window), and records progress
 * (at most once a second) and log lines for viewers that were not there when they happened.
 */
function followControl(dbPath: string, runId: number, onStop: () => void): { record(e: RunEvent): void; close(): void } {
  const db = store.openDb(dbPath);
  store.clearStopRequest(db, runId);
  let lastProgress = 0;
  const timer = setInterval(() => {
    try {
      if (store.stopRequested(db, runId)) onStop();
    } catch {
      // a busy or vanished DB file: try again on the next tick
    }
  }, 1000);
  timer.unref();
  return {
    record(e) {
      try {
        if (e.type === 'log') store.appendRunLog(db, runId, { t: e.t, level: e.level, message: e.message });
        else if (e.type === 'progress' || e.type === 'stage_started') {
          const now = Date.now();
          if (e.type === 'progress' && now - lastProgress < 1000 && e.step !== e.total) return;
          lastProgress = now;
          store.recordProgress(db, runId, e.type === 'progress' ? { stage: e.stage, iteration: e.iteration, step: e.step, total: e.total, t: e.t } : { stage: e.stage, iteration: e.iteration, step: 0, total: 0, t: e.t });
        }
      } catch {
        // watching must never stop training
      }
    },
    close() {
      clearInterval(timer);
      db.close();
    },
  };
}

/** A worker that died before it could record its own failure (bad build, crash): record it here. */
function markFailedIfUnfinished(dbPath: string, runId: number, error: string): void {
  const db = store.openDb(dbPath);
  try {
    const run = store.getRun(db, runId);
    if (run && (run.status === 'pending' || run.status === 'running')) store.markRunFinished(db, runId, 'failed', error);
  } finally {
    db.close();
  }
}

type RunRequest = { preset: string; overrides?: Record<string, unknown>; experiment?: string; name?: string; file?: Record<string, unknown> };

/** A preset + overrides (+ a config file) as one validated config; throws ConfigError. */
export function runConfigFromPreset(args: RunRequest): RunConfig {
  // Text values (CLI --set, form inputs) are parsed by their key's kind inside resolveRunConfig.
  return resolveRunConfig({ preset: args.preset, file: args.file, sets: Object.entries(args.overrides ?? {}) });
}

export function storeRun(db: Db, args: RunRequest, config: RunConfig): number {
  return store.createRun(db, {
    experiment: args.experiment ?? config.experiment,
    name: args.name ?? null,
    preset: args.preset,
    config: config as unknown as Record<string, unknown>,
    seed: config.seed,
  });
}

/** Turn a preset + overrides into a stored run (validated config), ready for a worker. */
export function createRunFromPreset(db: Db, args: RunRequest): { runId: number; config: RunConfig } {
  const config = runConfigFromPreset(args);
  return { runId: storeRun(db, args, config), config };
}
