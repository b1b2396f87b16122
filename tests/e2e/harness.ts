// Shared by the browser tests: start `veripo serve` on a fresh port and launch Debian's Chromium.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export interface Served {
  url: string;
  base: string;
  token: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

export const ROOT = join(import.meta.dirname, '..', '..');
export const SCREENSHOTS = join(ROOT, 'tests', 'e2e', 'screenshots');

export async function serve(dbPath: string, extraEnv: Record<string, string> = {}): Promise<Served> {
  const proc = spawn(process.execPath, [join(ROOT, 'bin', 'veripo.js'), 'serve', '--port', '0', '--db', dbPath], {
    cwd: ROOT,
    env: { ...process.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`veripo serve did not print its URL in 60 s\n${out}\n${err}`)), 60_000);
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /http:\/\/\S+token=\S+/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    });
    proc.on('exit', (code) => reject(new Error(`veripo serve exited with ${code}\n${out}\n${err}`)));
  });
  const u = new URL(url);
  return {
    url,
    base: u.origin,
    token: u.searchParams.get('token')!,
    proc,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode != null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(path)) throw new Error(`Chromium not found at ${path}: apt-get install chromium (or set CHROMIUM_PATH)`);
  return path;
}

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return join(SCREENSHOTS, `${name}.png`);
}
