// External video QA: the JSON / JSONL layout public video-reasoning evaluations use
// (Video-R1, VSI-Bench style: question_id, question or processed_question, answer,
// video_path, optional options), and frame extraction with ffmpeg when it is installed.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';

export interface ExternalVideoQa {
  questionId: string;
  question: string;
  answer: string;
  /** Resolved against the QA file's folder when relative. */
  videoPath: string;
  options: string[] | null;
  /** Where the record came from, for error messages downstream. */
  source: { file: string; line: number };
}

export function loadExternalVideoQa(file: string): ExternalVideoQa[] {
  if (!existsSync(file)) throw new Error(`${file}: file not found`);
  const text = readFileSync(file, 'utf8');
  const records: Array<{ value: unknown; line: number }> = [];
  if (text.trimStart().startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new Error(`${file}: invalid JSON: ${(err as Error).message}`);
    }
    const lines = topLevelElementLines(text);
    (parsed as unknown[]).forEach((value, i) => records.push({ value, line: lines[i] ?? 1 }));
  } else {
    text.split('\n').forEach((raw, i) => {
      if (!raw.trim()) return;
      try {
        records.push({ value: JSON.parse(raw), line: i + 1 });
      } catch (err) {
        throw new Error(`${file}:${i + 1}: invalid JSON line: ${(err as Error).message}`);
      }
    });
  }
  return records.map(({ value, line }) => toRecord(value, file, line));
}

function toRecord(value: unknown, file: string, line: number): ExternalVideoQa {
  const where = (field: string) => `${file}:${line}: field "${field}"`;
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${file}:${line}: expected a JSON object per record`);
  const r = value as Record<string, unknown>;
  const idOrText = (field: string, v: unknown): string => {
    if (typeof v === 'string' && v.length) return v;
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
    throw new Error(`${where(field)} must be a non-empty string or number, got ${JSON.stringify(v)}`);
  };
  if (r.question_id === undefined) throw new Error(`${where('question_id')} is missing`);
  const questionField = typeof r.processed_question === 'string' ? 'processed_question' : 'question';
  if (r[questionField] === undefined) throw new Error(`${where('question')} is missing (neither "question" nor "processed_question")`);
  if (r.answer === undefined) throw new Error(`${where('answer')} is missing`);
  if (typeof r.video_path !== 'string' || !r.video_path) throw new Error(`${where('video_path')} must be a non-empty string, got ${JSON.stringify(r.video_path)}`);
  let options: string[] | null = null;
  if (r.options !== undefined && r.options !== null) {
    if (!Array.isArray(r.options) || !r.options.every((o) => typeof o === 'string')) throw new Error(`${where('options')} must be an array of strings`);
    options = r.options as string[];
  }
  return {
    questionId: idOrText('question_id', r.question_id),
    question: idOrText(questionField, r[questionField]),
    answer: idOrText('answer', r.answer),
    videoPath: isAbsolute(r.video_path) ? r.video_path : resolve(dirname(file), r.video_path),
    options,
    source: { file, line },
  };
}

/** 1-based line on which each top-level element of a JSON array starts. */
function topLevelElementLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  let expecting = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\n') line++;
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (depth === 1 && expecting && !/\s/.test(ch) && ch !== ']') {
      lines.push(line);
      expecting = false;
    }
    if (ch === '"') inString = true;
    else if (ch === '[' || ch === '{') {
      depth++;
      if (depth === 1) expecting = true;
    } else if (ch === ']' || ch === '}') depth--;
    else if (ch === ',' && depth === 1) expecting = true;
  }
  return lines;
}

/** Absolute path of an executable on PATH, or null. */
export function findExecutable(name: string, pathEnv = process.env.PATH ?? ''): string | null {
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      if (statSync(candidate).isFile()) {
        accessSync(candidate, constants.X_OK);
        return candidate;
      }
    } catch {
      // not here
    }
  }
  return null;
}

function run(cmd: string, args: string[]): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePromise(Buffer.concat(out));
      else reject(new Error(`${cmd} exited with code ${code}: ${Buffer.concat(err).toString().trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

/**
 * n frames sampled uniformly over the video, each scaled to size x size RGB:
 * n*size*size*3 bytes. Needs ffmpeg and ffprobe on PATH.
 */
export async function extractFrames(
  videoPath: string,
  n: number,
  size: number,
  opts: { pathEnv?: string } = {},
): Promise<Uint8Array> {
  if (!existsSync(videoPath)) throw new Error(`video file not found: ${videoPath}`);
  const ffmpeg = findExecutable('ffmpeg', opts.pathEnv);
  const ffprobe = findExecutable('ffprobe', opts.pathEnv);
  if (!ffmpeg || !ffprobe) {
    throw new Error(
      `cannot extract frames from ${videoPath}: ${!ffmpeg ? 'ffmpeg' : 'ffprobe'} is not installed (not found on PATH). ` +
        'Install ffmpeg (e.g. `apt-get install ffmpeg` or `brew install ffmpeg`) and retry.',
    );
  }
  const probe = await run(ffprobe, ['-v', 'error', '-show_entries', 'format=duration', '-of', 'default=noprint_wrappers=1:nokey=1', videoPath]);
  const duration = Number(probe.toString().trim());
  if (!Number.isFinite(duration) || duration <= 0) throw new Error(`${videoPath}: ffprobe reported no duration`);
  // fps = n / duration samples n frames evenly; scale+pad keeps the aspect ratio in a square.
  const filter = `fps=${n / duration},scale=${size}:${size}:force_original_aspect_ratio=decrease,pad=${size}:${size}:(ow-iw)/2:(oh-ih)/2`;
  const raw = await run(ffmpeg, ['-v', 'error', '-i', videoPath, '-vf', filter, '-frames:v', String(n), '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']);
  const frameBytes = size * size * 3;
  const got = Math.floor(raw.length / frameBytes);
  if (got === 0) throw new Error(`${videoPath}: ffmpeg produced no frames`);
  // Short videos can yield fewer frames than asked; repeat the last one.
  const out = new Uint8Array(n * frameBytes);
  for (let i = 0; i < n; i++) out.set(raw.subarray(Math.min(i, got - 1) * frameBytes, (Math.min(i, got - 1) + 1) * frameBytes), i * frameBytes);
  return out;
}
