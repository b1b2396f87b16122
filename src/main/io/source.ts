// Records out of a trainer's output file, whatever holds them: JSONL (one record a line),
// a JSON document (an array, or an object holding one, like Video-R1's {"results": […]}),
// or parquet (TRL's completions/*.parquet, verl datasets) read with hyparquet. Every
// record keeps where it came from (line, or row for parquet) so errors can name it;
// bytes that are not UTF-8 are reported with their line, never silently replaced.
import { open, readFile } from 'node:fs/promises';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { firstInvalidUtf8, InputError, readJsonl, type LineProblem, type OnError } from './jsonl';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export type Container = 'jsonl' | 'json' | 'parquet';

export interface SourceRecord {
  /** 1-based line (JSONL, JSON document) or row (parquet) */
  line: number;
  value: unknown;
}

export interface SourceOptions {
  onError?: OnError;
  onProblem?: (p: LineProblem) => void;
}

/** Keys under which JSON documents hold their list of records, tried in order. */
const LIST_KEYS = ['results', 'data', 'rollouts', 'samples', 'records', 'items', 'rows', 'completions'];

/** What holds the records: parquet by its magic bytes, a JSON document when its first line is not a whole JSON value. */
export async function detectContainer(file: string): Promise<Container> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    const bytes = head.subarray(0, bytesRead);
    if (bytes.subarray(0, 4).toString('latin1') === 'PAR1') return 'parquet';
    const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
    const first = text.trimStart()[0];
    if (first === '[') return 'json';
    if (first !== '{') return 'jsonl';
    const nl = text.indexOf('\n', text.indexOf('{'));
    if (nl < 0) return bytesRead < head.length ? singleLineDocument(text) : 'jsonl';
    try {
      JSON.parse(text.slice(0, nl));
      return 'jsonl';
    } catch {
      return 'json';
    }
  } finally {
    await fh.close();
  }
}

// A one-line file holding {"results": [...]} is a document, not a one-record JSONL.
function singleLineDocument(text: string): Container {
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    return listIn(v) ? 'json' : 'jsonl';
  } catch {
    return 'jsonl';
  }
}

function listIn(doc: unknown): { key: string | null; list: unknown[] } | null {
  if (Array.isArray(doc)) return { key: null, list: doc };
  if (!doc || typeof doc !== 'object') return null;
  const obj = doc as Record<string, unknown>;
  const isRecords = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every((x) => x && typeof x === 'object' && !Array.isArray(x));
  for (const k of LIST_KEYS) if (isRecords(obj[k])) return { key: k, list: obj[k] as unknown[] };
  const lists = Object.keys(obj).filter((k) => isRecords(obj[k]));
  return lists.length === 1 ? { key: lists[0], list: obj[lists[0]] as unknown[] } : null;
}

/** Records of a JSON document, each with the line its element starts on. */
export async function readJsonDocument(file: string): Promise<SourceRecord[]> {
  const bytes = await readFile(file);
  let text: string;
  try {
    text = utf8.decode(bytes).replace(/^\uFEFF/, '');
  } catch {
    let line = 1;
    for (let start = 0; start < bytes.length; line++) {
      const nl = bytes.indexOf(10, start);
      const end = nl < 0 ? bytes.length : nl;
      try {
        utf8.decode(bytes.subarray(start, end));
      } catch {
        throw new InputError(file, line, `invalid UTF-8 at byte ${firstInvalidUtf8(bytes.subarray(start, end))} of the line`);
      }
      start = end + 1;
    }
    throw new InputError(file, 1, 'invalid UTF-8');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    const pos = /position (\d+)/.exec((e as Error).message);
    throw new InputError(file, pos ? lineAt(text, Number(pos[1])) : 1, `malformed JSON: ${(e as Error).message}`);
  }
  const found = listIn(doc);
  if (!found) {
    if (doc && typeof doc === 'object' && !Array.isArray(doc)) return [{ line: 1, value: doc }];
    throw new InputError(file, 1, `expected an array of records or an object holding one (${LIST_KEYS.slice(0, 3).join(', ')}, …)`);
  }
  const starts = elementStarts(text, found.key);
  return found.list.map((value, i) => ({ line: starts[i] !== undefined ? lineAt(text, starts[i]) : 1, value }));
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** Offsets where the elements of the records array start: the root array, or the array under a top-level key. */
function elementStarts(text: string, key: string | null): number[] {
  const starts: number[] = [];
  let depth = 0;
  let target = key === null ? 1 : -1; // depth of the array's elements once found
  let expectValue = key === null;
  let lastKey: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && key !== null) lastKey = JSON.parse(text.slice(i, j + 1)) as string;
      if (depth === target && expectValue) {
        starts.push(i);
        expectValue = false;
      }
      i = j;
      continue;
    }
    if (c === ' ' || c === '\n' || c === '\r' || c === '\t') continue;
    if (c === '[' || c === '{') {
      if (depth === target && expectValue) {
        starts.push(i);
        expectValue = false;
      }
      depth++;
      if (c === '[' && key !== null && target < 0 && depth === 2 && lastKey === key) {
        target = 2;
        expectValue = true;
      }
      continue;
    }
    if (c === ']' || c === '}') {
      depth--;
      if (target > 0 && depth < target - 1) break;
      continue;
    }
    if (c === ',' && depth === target - 1 && target > 0) {
      expectValue = true;
      continue;
    }
    if (depth === target && expectValue && c !== ':' && c !== ',') {
      starts.push(i);
      expectValue = false;
    }
  }
  return starts;
}

/** Rows of a parquet file as plain objects (INT64 values as numbers). */
export async function readParquet(file: string): Promise<SourceRecord[]> {
  let rows: Record<string, unknown>[];
  try {
    rows = (await parquetReadObjects({ file: await asyncBufferFromFile(file) })) as Record<string, unknown>[];
  } catch (e) {
    throw new InputError(file, 0, `not a readable parquet file: ${(e as Error).message}`, 'row');
  }
  return rows.map((r, i) => ({ line: i + 1, value: plain(r) }));
}

function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object' && !(v instanceof Uint8Array) && !(v instanceof Date)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

/** Every record of a file, whichever container holds it. */
export async function* readSource(file: string, container: Container, opts: SourceOptions = {}): AsyncGenerator<SourceRecord> {
  if (container === 'jsonl') yield* readJsonl(file, opts);
  else yield* container === 'json' ? await readJsonDocument(file) : await readParquet(file);
}
