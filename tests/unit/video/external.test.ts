import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractFrames, loadExternalVideoQa } from '../../../src/main/video';

const dir = mkdtempSync(join(tmpdir(), 'veripo-extqa-'));
const write = (name: string, text: string) => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};

describe('external video QA', () => {
  it('reads JSONL with question or processed_question, resolving video paths', () => {
    const file = write(
      'qa.jsonl',
      [
        JSON.stringify({ question_id: 7, question: 'What moves?', answer: 'B', video_path: 'videos/a.mp4', options: ['A. x', 'B. y'] }),
        '',
        JSON.stringify({ question_id: 'q2', processed_question: 'How many?', question: 'raw', answer: 3, video_path: '/abs/b.mp4' }),
      ].join('\n'),
    );
    const qa = loadExternalVideoQa(file);
    expect(qa).toHaveLength(2);
    expect(qa[0]).toMatchObject({ questionId: '7', question: 'What moves?', answer: 'B', videoPath: join(dir, 'videos/a.mp4'), options: ['A. x', 'B. y'] });
    expect(qa[1]).toMatchObject({ questionId: 'q2', question: 'How many?', answer: '3', videoPath: '/abs/b.mp4', options: null, source: { file, line: 3 } });
  });

  it('reads a JSON array and reports the line of a bad element', () => {
    const good = write('ok.json', JSON.stringify([{ question_id: 1, question: 'q', answer: 'A', video_path: 'v.mp4' }]));
    expect(loadExternalVideoQa(good)[0].questionId).toBe('1');
    const bad = write('bad.json', '[\n  {"question_id": 1, "question": "q", "answer": "A", "video_path": "v.mp4"},\n  {"question_id": 2,\n   "question": "q", "answer": "A"}\n]');
    expect(() => loadExternalVideoQa(bad)).toThrow(`${bad}:3: field "video_path"`);
  });

  it('names file, line and field for bad JSONL', () => {
    const missing = write('m.jsonl', `${JSON.stringify({ question_id: 1, answer: 'A', video_path: 'v' })}\n`);
    expect(() => loadExternalVideoQa(missing)).toThrow(`${missing}:1: field "question"`);
    const broken = write('b.jsonl', `${JSON.stringify({ question_id: 1, question: 'q', answer: 'A', video_path: 'v' })}\n{oops\n`);
    expect(() => loadExternalVideoQa(broken)).toThrow(`${broken}:2: invalid JSON line`);
    const opts = write('o.jsonl', `${JSON.stringify({ question_id: 1, question: 'q', answer: 'A', video_path: 'v', options: [1] })}\n`);
    expect(() => loadExternalVideoQa(opts)).toThrow(`${opts}:1: field "options"`);
    expect(() => loadExternalVideoQa(join(dir, 'nope.jsonl'))).toThrow(/nope\.jsonl: file not found/);
  });

  it('extractFrames: clear errors for a missing video and a missing ffmpeg', async () => {
    await expect(extractFrames(join(dir, 'missing.mp4'), 4, 32)).rejects.toThrow(/video file not found: .*missing\.mp4/);
    const video = write('present.mp4', 'not really a video');
    await expect(extractFrames(video, 4, 32, { pathEnv: join(dir, 'empty-bin') })).rejects.toThrow(/ffmpeg is not installed .*Install ffmpeg/);
  });
});
