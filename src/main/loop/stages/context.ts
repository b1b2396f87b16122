// What the loop hands its stages: the run, its database and folders, and how to report.
import type { Db } from '../../store';
import type { RunConfig } from '../config';

export interface LoopEvent {
  type: 'progress' | 'stage_started' | 'stage_finished' | 'metric' | 'log';
  [k: string]: unknown;
}

export interface LoopContext {
  db: Db;
  runId: number;
  config: RunConfig;
  /** Checkpoints and caches live here (next to the DB). */
  dataDir: string;
  cacheDir: string;
  emit: (event: LoopEvent) => void;
  shouldStop: () => boolean;
}
