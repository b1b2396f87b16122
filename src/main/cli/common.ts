// Small helpers shared by the CLI's subcommands.
import { defaultDbPath } from '../store/db';
import { CliError } from './command';

export function resolveDbPath(flag: string | undefined): string {
  return flag && flag.trim() ? flag : defaultDbPath();
}

export function parseIntFlag(name: string, value: string | undefined, fallback: number): number {
  if (value == null) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new CliError(`--${name} must be an integer, got "${value}"`, 2);
  return n;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

/** Render rows as an aligned plain-text table (what a terminal user reads). */
export function formatTable(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = rows.map((r) => r.map((c) => (c == null ? '-' : typeof c === 'number' ? formatNumber(c) : c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

export function formatNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(1) : n.toFixed(3);
}
