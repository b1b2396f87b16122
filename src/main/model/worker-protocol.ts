// What long-running model work (SFT, eval, GRPO, DPO) reports while it runs. Training
// functions take TrainHooks; the loop's worker thread forwards their events over postMessage
// and answers `stop` by flipping shouldStop().

export type TrainEvent =
  | { type: 'progress'; stage: string; step: number; total: number }
  | { type: 'metric'; stage: string; step: number; name: string; value: number }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string };

export interface TrainHooks {
  onEvent?: (ev: TrainEvent) => void;
  /** Polled between steps; true ends the work early (the result says how far it got). */
  shouldStop?: () => boolean;
}

export function emit(hooks: TrainHooks | undefined, ev: TrainEvent): void {
  hooks?.onEvent?.(ev);
}
