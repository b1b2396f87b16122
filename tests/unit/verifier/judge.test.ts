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
import { buildAllPairs, isChosenCandidate } from '../../../src/main/verifier/pairs';
import { judgeClientFor, verifyAll } from '../../../src/main/verifier/verify';
import { command as verifyCommand } from '../../../src/main/cli/verify';
import { command as importCommand } from '../../../src/main/cli/import';
import { writeFileSync } from 'node:fs';
import { vi } from 'vitest';
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
    case 'disagrees':
      return reply(res, 200, completion('{"consistent": false, "reason": "the reasoning concludes C, the answer says B"}'));
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

describe('a judge that counts', () => {
  const rubric = (model: string, over: Record<string, unknown> = {}, pairs: Record<string, unknown> = {}) =>
    parseRubric(JSON.stringify({ checks: { judge: { enabled: true, ...over } }, pairs, judge: { base_url: baseUrl, model, timeout_ms: 3000, retries: 0, backoff_ms: 1 } }));
  const good = () => rollout(wrap(chain('B', 60), 'B'));

  it('override: the judge\'s "consistent: false" makes the rollout inconsistent, so it is never chosen', async () => {
    const r = good();
    const [rules] = await verifyAll([r], parseRubric('{}'));
    expect(rules.consistent).toBe(true);
    const [judged] = await verifyAll([r], rubric('disagrees'));
    expect(judged).toMatchObject({ consistent: false, judge_failed: true });
    expect(judged.checks.find((c) => c.name === 'judge')).toMatchObject({ pass: false, score: 0 });
    expect(isChosenCandidate(judged, rubric('disagrees'))).toBe(false);
    // and a judge that agrees clears a rollout the rules found inconsistent
    const [cleared] = await verifyAll([rollout(wrap(chain('C', 60), 'B'))], rubric('good'));
    expect(cleared.consistent).toBe(true);
  });

  it('score mode: the judge only adds its weighted score', async () => {
    const [v] = await verifyAll([good()], rubric('disagrees', { mode: 'score' }));
    const [rules] = await verifyAll([good()], parseRubric('{}'));
    expect(v.consistent).toBe(true);
    expect(v.score).toBeLessThan(rules.score);
  });

  it('judge_failed in reject_when: a failed call is judge_failed; such rollouts are rejected, never chosen', async () => {
    const rb = rubric('http500', {}, { reject_when: ['wrong', 'judge_failed'] });
    const group = [good(), rollout(wrap(chain('B', 61), 'B')), rollout(wrap(chain('C', 62), 'C'))];
    const vs = await verifyAll(group, rb);
    expect(vs.every((v) => v.judge_failed)).toBe(true);
    expect(buildAllPairs(group, vs, rb)).toEqual([]);
  });

  it('the circuit breaker stops calling a dead judge after N consecutive failures and says so', async () => {
    const rb = rubric('http500', { max_consecutive_failures: 3 });
    rb.judge.concurrency = 1;
    const client = judgeClientFor(rb);
    const rs = Array.from({ length: 20 }, (_, i) => rollout(wrap(chain('B', 40 + i), 'B'), undefined, { promptId: `p${i}` }));
    const vs = await verifyAll(rs, rb, { judge: client });
    expect(seen.filter((x) => x.model === 'http500')).toHaveLength(3);
    expect(vs.every((v) => v.judge_failed)).toBe(true);
    expect(vs.filter((v) => v.checks.find((c) => c.name === 'judge')!.details?.kind === 'circuit_open')).toHaveLength(17);
    expect(client.breakerMessage).toMatch(/judge stopped after 3 consecutive failures/);
  });

  it('verify and import exit non-zero when the rubric requires the judge and it failed; import asks the rubric\'s judge', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'judge-cli-'));
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
    try {
      const rf = join(dir, 'rubric.json');
      const rows = [good(), rollout(wrap(chain('C', 50), 'C'))].map((r) => JSON.stringify({ prompt: r.prompt, completion: r.completion, ground_truth: 'B' }));
      const rolls = join(dir, 'r.jsonl');
      writeFileSync(rolls, rows.join('\n') + '\n');
      writeFileSync(rf, JSON.stringify({ checks: { judge: { enabled: true, max_consecutive_failures: 1 } }, judge: { base_url: baseUrl, model: 'http500', retries: 0 } }));
      expect(await verifyCommand.run(['--rollouts', rolls, '--rubric', rf, '--json'])).toBe(3);
      expect(out.join('')).toMatch(/the judge is required by the rubric and failed on 2 of 2 rollouts/);
      expect(out.join('')).toMatch(/judge stopped after 1 consecutive failures/);
      seen.length = 0;
      writeFileSync(rf, JSON.stringify({ checks: { judge: { enabled: true } }, judge: { base_url: baseUrl, model: 'good', retries: 0 } }));
      expect(await importCommand.run(['--rollouts', rolls, '--rubric', rf, '--db', join(dir, 'db.sqlite'), '--json'])).toBe(0);
      expect(seen.filter((x) => x.model === 'good').length).toBe(2);
    } finally {
      vi.restoreAllMocks();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the shipped judge preset asks for consistency with a one-line reason and overrides the rules', async () => {
    const { rubricPreset } = await import('../../../src/main/verifier/presets');
    const j = rubricPreset('judge');
    expect(j.checks.judge).toMatchObject({ enabled: true, mode: 'override', required: true });
    expect(j.pairs.reject_when).toContain('judge_failed');
    expect(j.judge.prompt_template).toMatch(/\{reasoning\}[\s\S]*\{answer\}/);
    expect(j.judge.prompt_template).toMatch(/one line/);
    expect(parseVerdictContent('{"consistent": false, "reason": "concludes C, answers B"}')).toMatchObject({ consistent: false });
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
