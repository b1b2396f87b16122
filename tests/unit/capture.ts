// What a CLI command run in-process writes to stdout and stderr, captured per test.
import { afterEach, beforeEach, vi } from 'vitest';

export function captureOutput(): { stdout: string; stderr: string } {
  const out = { stdout: '', stderr: '' };
  beforeEach(() => {
    out.stdout = '';
    out.stderr = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out.stdout += String(s)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((out.stderr += String(s)), true));
  });
  afterEach(() => vi.restoreAllMocks());
  return out;
}
