// JSONL in and out. Reading streams line by line (files of rollouts can be large) and
// reports every malformed line with file:line and the JSON error — skipped or fatal, as
// the caller chooses, never silent. Writing goes to a temporary file renamed into place
// on commit, so a failed import or export never leaves a half-written file behind.
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

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
  ) {
    super(`${file}:${line}: ${detail}`);
  }
}

export interface ReadJsonlOptions {
  onError?: OnError;
  /** told about each skipped line (mode 'skip') */
  onProblem?: (p: LineProblem) => void;
}

/** Parsed lines of a JSONL file; blank lines are ignored, malformed lines skipped-and-reported or thrown. */
export async function* readJsonl(file: string, opts: ReadJsonlOptions = {}): AsyncGenerator<JsonlLine> {
  const onError = opts.onError ?? 'fail';
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const raw of rl) {
      line++;
      const text = line === 1 ? raw.replace(/^\uFEFF/, '') : raw;
      if (!text.trim()) continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        const problem = { file, line, message: `malformed JSON: ${(e as Error).message}` };
        if (onError === 'fail') throw new InputError(file, line, problem.message);
        opts.onProblem?.(problem);
        continue;
      }
      yield { line, value };
    }
  } finally {
    rl.close();
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
    if (this.failed) {
      await rm(this.tmp, { force: true });
      throw this.failed;
    }
    await rename(this.tmp, this.file);
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await new Promise<void>((resolve) => this.stream.end(() => resolve()));
    await rm(this.tmp, { force: true });
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
