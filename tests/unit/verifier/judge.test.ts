// The judge client against a real HTTP server on 127.0.0.1 speaking the chat-completions
// protocol. The model name picks the server's behaviour.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fillTemplate, JudgeClient, JudgeError, parseVerdictContent, type JudgeConfig } from '../../../src/main/verifier/judge';
import { parseRubric } from '../../../src/main/verifier/rubric';
import { verifyAll } from '../../../src/main/verifier/verify';
import { chain, rollout, wrap } from './helpers';

let server: Server;
let baseUrl = '';
const seen: { model: string; auth?: string; user: string }[] = [];
let inFlight = 0;
let maxInFlight = 0;
let flakyCalls = 0;

const reply = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};
const completion = (content: string) => ({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] });
const GOOD = JSON.stringify({ score: 0.9, consistent: true, logical: true, reason: 'sound and supports B' });

async function handle(req: IncomingMessage, res: ServerResponse) {
  let raw = '';
  for await (const chunk of req) raw += chunk;
  if (req.url !== '/v1/chat/completions' || req.method !== 'POST') return reply(res, 404, { error: 'not found' });
  const body = JSON.parse(raw) as { model: string; messages: { role: string; content: string }[] };
  seen.push({ model: body.model, auth: req.headers.authorization, user: body.messages[1].content });
  // in-flight counting covers the 'good' model only: a 'slow' request of an earlier test may still be pending
  switch (body.model) {
    case 'good':
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      setTimeout(() => (reply(res, 200, completion(GOOD)), inFlight--), 20);
      return;
    case 'fenced':
      return reply(res, 200, completion('Here is my verdict:\n```json\n{"score": 0.2, "consistent": false, "reason": "concludes C, answers B"}\n```'));
    case 'malformed':
      return reply(res, 200, completion('The reasoning looks fine to me, score 0.8!'));
    case 'bad-schema':
      return reply(res, 200, completion('{"score": 7, "consistent": true, "reason": "out of range"}'));
    case 'not-json':
      return reply(res, 200, '<html>proxy error</html>');
    case 'http500':
      return reply(res, 500, { error: 'model crashed' });
    case 'flaky':
      return ++flakyCalls === 1 ? reply(res, 500, { error: 'warming up' }) : reply(res, 200, completion(GOOD));
    case 'slow':
      setTimeout(() => reply(res, 200, completion(GOOD)), 5000);
      return;
    default:
      return reply(res, 400, { error: `unknown model ${body.model}` });
  }
}

beforeAll(async () => {
  server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  seen.length = 0;
  maxInFlight = 0;
  flakyCalls = 0;
});

const config = (model: string, over: Partial<JudgeConfig> = {}): JudgeConfig => ({
  ...parseRubric('{}').judge,
  base_url: baseUrl,
  model,
  // generous for normal replies (the test machine may be busy); the slow tests set 200 ms
  timeout_ms: 3000,
  retries: 1,
  backoff_ms: 1,
  ...over,
});
const input = { question: 'What is first?', reasoning: 'so the answer is B', answer: 'B', ground_truth: 'B' };

describe('judge client', () => {
  it('parses a good verdict, sends the filled prompt and the API key, caches by content', async () => {
    const client = new JudgeClient(config('good', { api_key: 'sk-test' }));
    const v = await client.judge(input);
    expect(v).toEqual({ score: 0.9, consistent: true, logical: true, reason: 'sound and supports B' });
    expect(seen).toHaveLength(1);
    expect(seen[0].auth).toBe('Bearer sk-test');
    expect(seen[0].user).toContain('Model reasoning: so the answer is B');
    expect(seen[0].user).toContain('Ground truth: B');
    await client.judge({ ...input });
    expect(seen).toHaveLength(1);
    expect(client.stats.cacheHits).toBe(1);
    await client.judge({ ...input, answer: 'C' });
    expect(seen).toHaveLength(2);
  });

  it('reads a verdict inside a ```json fence', async () => {
    const v = await new JudgeClient(config('fenced')).judge(input);
    expect(v).toMatchObject({ score: 0.2, consistent: false });
  });

  it('malformed JSON, an invalid verdict and a non-JSON body are "malformed" errors after retries', async () => {
    const err = await new JudgeClient(config('malformed')).judge(input).catch((e) => e);
    expect(err).toBeInstanceOf(JudgeError);
    expect(err.kind).toBe('malformed');
    expect(err.message).toMatch(/judge reply is not JSON.*score 0\.8.*after 2 attempts/);
    expect(seen).toHaveLength(2);
    const bad = await new JudgeClient(config('bad-schema', { retries: 0 })).judge(input).catch((e) => e);
    expect(bad.message).toMatch(/verdict invalid at "score"/);
    const html = await new JudgeClient(config('not-json', { retries: 0 })).judge(input).catch((e) => e);
    expect(html.message).toMatch(/non-JSON: <html>proxy error/);
  });

  it('HTTP 500 is retried with backoff, then reported; a transient 500 recovers', async () => {
    const delays: number[] = [];
    const client = new JudgeClient(config('http500', { retries: 2, backoff_ms: 5 }), {
      sleep: async (ms) => void delays.push(ms),
    });
    const err = await client.judge(input).catch((e) => e);
    expect(err).toMatchObject({ kind: 'http', attempts: 3 });
    expect(err.message).toMatch(/^HTTP 500 from .*model crashed/);
    expect(delays).toEqual([5, 10]);
    expect(await new JudgeClient(config('flaky')).judge(input)).toMatchObject({ score: 0.9 });
    expect(flakyCalls).toBe(2);
  });

  it('a 4xx is not retried', async () => {
    const err = await new JudgeClient(config('unknown-model', { retries: 3 })).judge(input).catch((e) => e);
    expect(err.kind).toBe('http');
    expect(seen).toHaveLength(1);
  });

  it('slow responses time out', async () => {
    const err = await new JudgeClient(config('slow', { retries: 0, timeout_ms: 200 })).judge(input).catch((e) => e);
    expect(err).toMatchObject({ kind: 'timeout' });
    expect(err.message).toMatch(/timed out after 200 ms/);
  });

  it('an unreachable server is reported as such', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const err = await new JudgeClient(config('good', { base_url: `http://127.0.0.1:${port}`, retries: 0 })).judge(input).catch((e) => e);
    expect(err).toMatchObject({ kind: 'unreachable' });
    expect(err.message).toMatch(/unreachable at http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions: ECONNREFUSED/);
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    const client = new JudgeClient(config('good', { concurrency: 2 }));
    await Promise.all(Array.from({ length: 6 }, (_, i) => client.judge({ ...input, question: `q${i}` })));
    expect(seen).toHaveLength(6);
    expect(maxInFlight).toBe(2);
  });

  it('caches verdicts on disk across clients', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'judge-cache-'));
    try {
      await new JudgeClient(config('good', { cache_dir: dir })).judge(input);
      expect(readdirSync(dir).filter((f) => f.endsWith('.json'))).toHaveLength(1);
      const second = new JudgeClient(config('good', { cache_dir: dir }));
      expect(await second.judge(input)).toMatchObject({ score: 0.9 });
      expect(seen).toHaveLength(1);
      expect(second.stats.cacheHits).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('judge inside the verifier', () => {
  const rubricFor = (model: string) =>
    parseRubric(JSON.stringify({ checks: { judge: { enabled: true, min_score: 0.5 } }, judge: { base_url: baseUrl, model, timeout_ms: model === 'slow' ? 200 : 3000, retries: 0, backoff_ms: 1 } }));

  it('a good verdict becomes a passing judge check', async () => {
    const [v] = await verifyAll([rollout(wrap(chain('B'), 'B'))], rubricFor('good'));
    const judge = v.checks.find((c) => c.name === 'judge')!;
    expect(judge).toMatchObject({ pass: true, score: 0.9 });
    expect(judge.error).toBeUndefined();
  });

  it.each(['http500', 'malformed', 'slow'])('a %s judge leaves every other check intact', async (model) => {
    const rs = [rollout(wrap(chain('B'), 'B')), rollout(wrap(chain('C'), 'B'))];
    const withJudge = await verifyAll(rs, rubricFor(model));
    const rulesOnly = await verifyAll(rs, parseRubric('{}'));
    for (let i = 0; i < rs.length; i++) {
      const judge = withJudge[i].checks.find((c) => c.name === 'judge')!;
      expect(judge.error).toBeTruthy();
      expect(judge.reason).toMatch(/^judge error \((http|malformed|timeout)\)/);
      expect(withJudge[i].reasons.some((r) => r.startsWith('judge: judge error'))).toBe(true);
      const others = (cs: typeof judge[]) => cs.filter((c) => c.name !== 'judge');
      expect(others(withJudge[i].checks)).toEqual(others(rulesOnly[i].checks));
      // an errored judge is not scored, so the score is the rules-only score
      expect(withJudge[i].score).toBeCloseTo(rulesOnly[i].score);
      expect(withJudge[i]).toMatchObject({ correct: rulesOnly[i].correct, consistent: rulesOnly[i].consistent });
    }
  });
});

describe('judge helpers', () => {
  it('fills only the known placeholders', () => {
    expect(fillTemplate('{question}|{reasoning}|{answer}|{ground_truth}|{"score": 1}', input)).toBe('What is first?|so the answer is B|B|B|{"score": 1}');
  });
  it('parses a bare verdict and rejects a missing field', () => {
    expect(parseVerdictContent(' {"score": 1, "consistent": true, "reason": "ok"} ')).toMatchObject({ score: 1 });
    expect(() => parseVerdictContent('{"score": 1, "reason": "ok"}')).toThrow(/consistent/);
  });
});
