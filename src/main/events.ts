// In-process fan-out of run events from the loop (worker threads) to the transports.
import type { RunEvent } from '../shared/events';

export interface EventHub {
  emit(event: RunEvent): void;
  subscribe(listener: (event: RunEvent) => void): () => void;
}

export function createEventHub(): EventHub {
  const listeners = new Set<(event: RunEvent) => void>();
  return {
    emit(event) {
      for (const l of [...listeners]) {
        try {
          l(event);
        } catch {
          // A broken subscriber (closed socket) must not stop a run or other subscribers.
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
