// JSONL in and out. Reading streams line by line (files of rollouts can be large) and
// reports every malformed line (not UTF-8, not JSON) with file:line — skipped or fatal, as
// the caller chooses, never silent. Writing goes to a temporary file renamed into place
// on commit, so a failed import or export never leaves a half-written file behind.
import { createReadStream, createWriteStream, rmSync, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export type OnError = 'skip' | 'fail';

export interface JsonlLine {
  /** 1-based line number in the file */
  line: number;
  value: unknown;
}

export interface LineProblem {
  file: string;
  line: number;
  message: string;
}

/** A bad line in an input file: names file, line and (when known) the field. */
export class InputError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly detail: string,
    /** parquet records are rows, not lines */
    readonly unit: 'line' | 'row' = 'line',
  ) {
    super(`${file}${unit === 'row' ? (line ? `: row ${line}` : '') : `:${line}`}: ${detail}`);
  }
}

export interface ReadJsonlOptions {
  onError?: OnError;
  /** told about each skipped line (mode 'skip') */
  onProblem?: (p: LineProblem) => void;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Lines of a file as bytes; chunks of a long line are joined once, not per chunk. */
async function* byteLines(file: string): AsyncGenerator<{ line: number; bytes: Buffer }> {
  let parts: Buffer[] = [];
  let line = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, start)) {
      parts.push(chunk.subarray(start, i));
      line++;
      yield { line, bytes: parts.length === 1 ? parts[0] : Buffer.concat(parts) };
      parts = [];
      start = i + 1;
    }
    if (start < chunk.length) parts.push(chunk.subarray(start));
  }
  if (parts.length) yield { line: line + 1, bytes: Buffer.concat(parts) };
}

/** Parsed lines of a JSONL file; blank lines ignored; bad lines (not UTF-8, not JSON) skipped-and-reported or thrown. */
export async function* readJsonl(file: string, opts: ReadJsonlOptions = {}): AsyncGenerator<JsonlLine> {
  const problem = (line: number, message: string) => {
    if ((opts.onError ?? 'fail') === 'fail') throw new InputError(file, line, message);
    opts.onProblem?.({ file, line, message });
  };
  for await (const { line, bytes } of byteLines(file)) {
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      problem(line, `invalid UTF-8 at byte ${firstInvalidUtf8(bytes)} of the line`);
      continue;
    }
    if (line === 1) text = text.replace(/^\uFEFF/, '');
    if (!text.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      problem(line, `malformed JSON: ${(e as Error).message}`);
      continue;
    }
    yield { line, value };
  }
}

/** Byte offset (1-based) of the first invalid UTF-8 sequence. */
export function firstInvalidUtf8(bytes: Buffer): number {
  let lo = 0;
  let hi = bytes.length;
  // the longest valid prefix, by bisection on whole-prefix validity (a prefix may end mid-character: stream mode allows that)
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const valid = (n: number) => {
    try {
      decoder.decode(bytes.subarray(0, n), { stream: true });
      decoder.decode();
      return true;
    } catch {
      return false;
    }
  };
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (valid(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

// Temp files of writers not yet committed or aborted: removed if the process exits or is
// interrupted first, so no failure leaves one behind.
const pending = new Set<string>();
let cleanupInstalled = false;
function trackTemp(tmp: string) {
  pending.add(tmp);
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.once('exit', () => {
    for (const t of pending) rmSync(t, { force: true });
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const t of pending) rmSync(t, { force: true });
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

/** Writes lines to `<file>.tmp-…` and renames onto `file` on commit(); abort() removes the temp file. */
export class AtomicWriter {
  private readonly tmp: string;
  private readonly stream: WriteStream;
  private failed: Error | null = null;
  private done = false;

  constructor(readonly file: string) {
    this.tmp = join(dirname(file), `.${basename(file)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
    this.stream = createWriteStream(this.tmp, { encoding: 'utf8' });
    trackTemp(this.tmp);
    this.stream.on('error', (e) => (this.failed = e));
  }

  async write(text: string): Promise<void> {
    if (this.failed) throw this.failed;
    if (!this.stream.write(text)) await new Promise<void>((resolve) => this.stream.once('drain', resolve));
  }

  writeJson(value: unknown): Promise<void> {
    return this.write(`${JSON.stringify(value)}\n`);
  }

  async commit(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await new Promise<void>((resolve, reject) => this.stream.end((e?: Error | null) => (e ? reject(e) : resolve())));
    try {
      if (this.failed) throw this.failed;
      await rename(this.tmp, this.file);
    } catch (e) {
      await rm(this.tmp, { force: true });
      throw e;
    } finally {
      pending.delete(this.tmp);
    }
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await new Promise<void>((resolve) => this.stream.end(() => resolve()));
    await rm(this.tmp, { force: true });
    pending.delete(this.tmp);
  }
}

/** Write all values as JSONL atomically. */
export async function writeJsonlAtomic(file: string, values: Iterable<unknown>): Promise<void> {
  const w = new AtomicWriter(file);
  try {
    for (const v of values) await w.writeJson(v);
    await w.commit();
  } catch (e) {
    await w.abort();
    throw e;
  }
}

/** Write a whole text file atomically. */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const w = new AtomicWriter(file);
  try {
    await w.write(text);
    await w.commit();
  } catch (e) {
    await w.abort();
    throw e;
  }
}
