// What long-running model work (SFT, eval, GRPO, DPO) reports while it runs, and the
// messages a training worker thread exchanges with the process that answers the UI.
// Training functions take TrainHooks; the worker entry (owned by the loop) forwards
// their events over postMessage and answers `stop` by flipping shouldStop().

export type TrainEvent =
  | { type: 'progress'; stage: string; step: number; total: number }
  | { type: 'metric'; stage: string; step: number; name: string; value: number }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string };

export interface TrainHooks {
  onEvent?: (ev: TrainEvent) => void;
  /** Polled between steps; true ends the work early (the result says how far it got). */
  shouldStop?: () => boolean;
}

/** Parent -> worker. `job` is whatever the worker entry understands (plain JSON). */
export type WorkerRequest = { type: 'start'; job: unknown } | { type: 'stop' };

/** Worker -> parent. */
export type WorkerResponse =
  | { type: 'event'; event: TrainEvent }
  | { type: 'done'; result: unknown }
  | { type: 'error'; message: string; stack?: string };

export function emit(hooks: TrainHooks | undefined, ev: TrainEvent): void {
  hooks?.onEvent?.(ev);
}
