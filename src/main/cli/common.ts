// Small helpers shared by the CLI's subcommands.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { defaultDbPath } from '../store/db';
import { CliError } from './command';

type OptionSpecs = NonNullable<ParseArgsConfig['options']>;
type ParsedValues<O extends OptionSpecs> = ReturnType<typeof parseArgs<{ options: O; strict: true }>>['values'];

/** `--set key=value`, repeatable; the run config's dotted keys (grpo.beta, dpo.loss_type, …). */
export const SET_FLAG = {
  // parseArgs hands back this very array when --set is absent: frozen, so no caller can change every later call's default.
  set: { type: 'string', multiple: true, default: Object.freeze([]) as unknown as string[] },
} as const;
/** `--db FILE`; resolveDbPath gives the default. */
export const DB_FLAG = { db: { type: 'string' } } as const;
/** `--json`: one JSON document on stdout instead of the human summary. */
export const JSON_FLAG = { json: { type: 'boolean', default: false } } as const;

/**
 * A subcommand's flags, strictly: an unknown flag, a missing value or a positional the command
 * does not take is a usage error (exit code 2) naming it, followed by `usage` when given.
 */
export function parseCliArgs<const O extends OptionSpecs>(
  argv: readonly string[],
  options: O,
  opts: { usage?: string; positionals?: boolean } = {},
): { values: ParsedValues<O>; positionals: string[] } {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: opts.positionals ?? false }) as { values: ParsedValues<O>; positionals: string[] };
  } catch (err) {
    // Other codes are a wrong option spec (the program's fault), not the user's.
    if (!String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')) throw err;
    const message = (err as Error).message;
    throw new CliError(opts.usage ? `${message}\nusage: ${opts.usage}` : message, 2);
  }
}

/** `--set` items as [key, value] text pairs in the order given; an item without `key=` is a usage error. */
export function parseSetFlags(items: readonly string[]): [string, string][] {
  return items.map((item) => {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new CliError(`--set takes key=value, got "${item}"`, 2);
    return [item.slice(0, eq).trim(), item.slice(eq + 1)];
  });
}

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
