// Property/fuzz test of web mode: random methods, paths, headers and bodies (JSON shaped like
// the API's arguments, random JSON, random bytes, deep nesting) against a real server on
// 127.0.0.1 over a seeded database. Whatever arrives, the server answers (no crash), never
// with a 500, and every refusal says which field or part of the request was wrong.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fc from 'fast-check';
import { Agent } from 'node:http';
import { Worker } from 'node:worker_threads';
import { API_METHODS } from '../../../src/shared/api';
import { rawRequest, type RawResponse } from './request';

const RUNS = Number(process.env.VERIPO_FUZZ_RUNS ?? 10_000);
const TOKEN = 'f'.repeat(40);
let server: Worker;
let port: number;
const agent = new Agent({ keepAlive: true, maxSockets: 8 });

// The server runs on its own thread, as in `veripo serve`: the fuzzer and the server then use
// both cores, and a server that blocks or dies shows up as a timeout or a reset here.
beforeAll(async () => {
  server = new Worker(new URL('./fuzz-server.mjs', import.meta.url), { workerData: { token: TOKEN } });
  port = await new Promise<number>((resolve, reject) => {
    server.once('message', (m: { port: number }) => resolve(m.port));
    server.once('error', reject);
  });
});
afterAll(async () => {
  agent.destroy();
  await server?.terminate();
});

// ---- generators ---------------------------------------------------------------------------
const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 });
const urlChar = fc.constantFrom(...'abcxyz019/._-~%?&=#[]:@!$()*+,;'.split(''), '%2e', '%2f', '%00', '%E0%A4', '%ZZ', '..', '//');
const randomPath = fc.array(urlChar, { maxLength: 30 }).map((cs) => '/' + cs.join(''));
const ARG_KEYS = ['run_id', 'run_ids', 'names', 'experiment_id', 'status', 'preset', 'overrides', 'experiment', 'name', 'stage_id', 'step', 'correct', 'consistent', 'repetitive', 'reflective', 'in_pair', 'offset', 'limit', 'task_id', 'kind', 'pair_id', 'action', 'chosen_text', 'chosen_rollout_id', 'rejected_rollout_id', 'format', 'conversational', 'body', 'compare_to', 'sample', 'base_url', 'model', 'api_key', 'extra'];
const CONFIG_KEYS = ['verifier.rubric', 'model.init_checkpoint', 'loop.iterations', 'grpo.learning_rate', 'grpo.num_generations', 'seed', 'verifier.judge', 'model.preset', 'a..b', '__proto__.x', 'constructor.prototype.x'];
const PATHISH = ['/etc/passwd', '../../etc/shadow', 'mine', '#1', '#999', 'strict', '', '\u0000', 'C:\\Windows\\win.ini', '/proc/self/environ', '%2e%2e/x'];
const scalar = fc.oneof(fc.integer({ min: -3, max: 8 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.string({ maxLength: 30 }), fc.constantFrom(...PATHISH), fc.constantFrom('accept', 'reject', 'edit', 'swap', 'reset', 'trl', 'llamafactory', 'pending', 'accepted', 'smoke', 'grpo', 'chosen', '{}', '{"checks":{}}'));
const value = fc.oneof({ weight: 5, arbitrary: scalar }, { weight: 1, arbitrary: fc.array(scalar, { maxLength: 4 }) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) });
const overrides = fc.dictionary(fc.oneof(fc.constantFrom(...CONFIG_KEYS), fc.string({ maxLength: 20 })), scalar, { maxKeys: 4 });
const apiArgs = fc.dictionary(fc.constantFrom(...ARG_KEYS), value, { maxKeys: 5 }).chain((a) => (a.overrides !== undefined ? overrides.map((o) => ({ ...a, overrides: o })) : fc.constant(a)));
const nesting = fc.tuple(fc.integer({ min: 1, max: 12_000 }), fc.constantFrom('[', '{"a":'), fc.boolean()).map(([n, open, closed]) => {
  const close = open === '[' ? ']' : '}';
  return open.repeat(n) + (open === '[' ? '' : '1') + (closed ? close.repeat(n) : '');
});
const body = fc.oneof(
  { weight: 6, arbitrary: apiArgs.map((a) => JSON.stringify(a)) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  { weight: 1, arbitrary: nesting },
  { weight: 1, arbitrary: fc.constant('') },
);
const anyRequest = fc.record({
  method: fc.oneof({ weight: 8, arbitrary: fc.constant('POST') }, { weight: 3, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH') }),
  path: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...API_METHODS).map((m) => `/api/${m}`) },
    { weight: 1, arbitrary: fc.constantFrom('/api/events', '/api/health', '/api/', '/api/constructor', '/api/__proto__', '/api/toString') },
    { weight: 2, arbitrary: randomPath },
    { weight: 1, arbitrary: randomPath.map((p) => '/api' + p) },
  ),
  auth: fc.oneof({ weight: 8, arbitrary: fc.constant('bearer') }, { weight: 1, arbitrary: fc.constantFrom('none', 'query', 'wrong', 'cookie') }),
  host: fc.oneof({ weight: 10, arbitrary: fc.constant('self') }, { weight: 1, arbitrary: printable }),
  origin: fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: fc.constantFrom('self', 'null', 'http://evil.example') }, { weight: 1, arbitrary: printable }),
  contentType: fc.option(fc.oneof(fc.constant('application/json'), printable)),
  extra: fc.dictionary(fc.stringMatching(/^x-[a-z]{1,8}$/), printable, { maxKeys: 2 }),
  body,
});

// Arguments that pass validation often enough to reach the run launcher and the path policy.
const startRun = fc.record({ preset: fc.constantFrom('smoke', 'nope', 'quick'), overrides }, { requiredKeys: ['preset'] }).map((a): Req => ({
  method: 'POST',
  path: '/api/startRun',
  auth: 'bearer',
  host: 'self',
  origin: null,
  contentType: 'application/json',
  extra: {},
  body: JSON.stringify(a),
}));
const request = fc.oneof({ weight: 6, arbitrary: anyRequest }, { weight: 1, arbitrary: startRun });

type Req = typeof anyRequest extends fc.Arbitrary<infer T> ? T : never;

function send(r: Req): Promise<RawResponse> {
  const self = `127.0.0.1:${port}`;
  const headers: Record<string, string> = { ...r.extra, host: r.host === 'self' ? self : r.host };
  let path = r.path;
  if (r.auth === 'bearer') headers.authorization = `Bearer ${TOKEN}`;
  if (r.auth === 'wrong') headers.authorization = `Bearer ${'w'.repeat(40)}`;
  if (r.auth === 'query') path += (path.includes('?') ? '&' : '?') + `token=${TOKEN}`;
  if (r.auth === 'cookie') headers.cookie = `veripo_session_${port}=garbage`;
  if (r.origin) headers.origin = r.origin === 'self' ? `http://${self}` : r.origin;
  if (r.contentType) headers['content-type'] = r.contentType;
  const withBody = r.method !== 'GET' && r.method !== 'HEAD';
  // Bodies go with their length, as browsers send them. Node's own HTTP parser refuses a chunked
  // OPTIONS request with a bare 400 and closes the socket, which resets a client still uploading
  // a large body: a property of Node, not of this server (streamed bodies are tested separately).
  if (withBody) headers['content-length'] = String(Buffer.byteLength(r.body));
  return rawRequest(port, { method: r.method, path, headers, body: withBody ? r.body : undefined, agent });
}

/**
 * What a refusal must say: the field (validation), or the part of the request that was wrong.
 * Plain checks rather than expect(): this runs ten thousand times and must stay cheap.
 */
function checkAnswer(r: Req, res: RawResponse): void {
  const where = () => `${r.method} ${r.path} → ${res.status} ${res.text.slice(0, 300)}`;
  if (res.status >= 500 || res.status < 200) throw new Error(`server error: ${where()}`);
  if (res.status < 400 || r.method === 'HEAD' || !String(res.headers['content-type']).startsWith('application/json')) return;
  const b = res.json();
  if (typeof b.error !== 'string' || !b.error) throw new Error(`refusal without a message: ${where()}`);
  if (b.issues) {
    if (!b.issues.length) throw new Error(`validation error without issues: ${where()}`);
    // "(root)" is the name of the whole argument object (an array or a string sent instead).
    for (const i of b.issues) if (!b.error.includes(`${i.path || '(root)'}: `)) throw new Error(`error does not name field "${i.path}": ${where()}`);
  }
}

describe('web mode under fuzzing', () => {
  it(`answers ${RUNS} random requests without a crash or a 500, every error naming its field`, async () => {
    const started = performance.now();
    const statuses = new Map<number, number>();
    // Eight properties side by side (different seeds, one socket each) keep the server busy while
    // a client waits; each one still shrinks its own counterexample.
    const seed = process.env.VERIPO_FUZZ_SEED ? Number(process.env.VERIPO_FUZZ_SEED) : Date.now() % 1e9;
    const lanes = 8;
    await Promise.all(
      Array.from({ length: lanes }, (_, lane) =>
        fc.assert(
          fc.asyncProperty(request, async (r) => {
            const res = await send(r);
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
            checkAnswer(r, res);
          }),
          { numRuns: Math.ceil(RUNS / lanes), seed: seed + lane },
        ),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    console.log(`fuzz (seed ${seed}): ${RUNS} HTTP cases in ${seconds.toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`);
    // Still serving after all of it.
    expect((await rawRequest(port, { path: '/api/health', headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    // Every kind of answer was reached, so the generators exercise the whole server.
    for (const s of [200, 400, 401, 403, 404, 405, 421, 422]) expect(statuses.get(s) ?? 0, `status ${s}`).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(60);
  }, 120_000);
});
