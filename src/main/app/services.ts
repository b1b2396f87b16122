// The workbench as the app ships it: the store plus the verifier, benchmark, judge client
// and run launcher behind the API. Tests that need only the store use openWorkbench directly.
import { openWorkbench, type OpenedWorkbench } from './workbench';
import type { WorkbenchServices } from '../api';

export function appServices(): Partial<WorkbenchServices> {
  return {};
}

export async function openAppWorkbench(opts: { dbPath: string; mode: 'electron' | 'web' | 'cli' }): Promise<OpenedWorkbench> {
  return openWorkbench({ ...opts, services: appServices() });
}
