// LLM judge client for OpenAI-compatible chat-completions servers (Ollama, vLLM,
// llama.cpp server, LM Studio). One request per rollout; the reply must be a JSON
// verdict, validated with zod. Failures never throw out of the verifier: verify.ts turns
// a JudgeError into an errored judge check (judge_failed) and keeps every other check's
// result. A circuit breaker stops asking a dead or hung server after N failures in a row,
// so 10,000 rollouts do not each wait out their timeouts and retries.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Rubric } from './rubric';
import type { CheckResult } from './types';

export const judgeVerdictSchema = z.object({
  /** absent in consistency-only prompts: then 1 when consistent, else 0 */
  score: z.number().min(0).max(1).optional(),
  consistent: z.boolean(),
  /** whether the answer is right, when the prompt asks */
  correct: z.boolean().optional(),
  logical: z.boolean().optional(),
  reason: z.string(),
});
export type JudgeVerdict = z.infer<typeof judgeVerdictSchema>;

export interface JudgeInput {
  question: string;
  reasoning: string;
  answer: string;
  ground_truth: string;
}

export type JudgeErrorKind = 'unreachable' | 'timeout' | 'http' | 'malformed' | 'circuit_open';

export class JudgeError extends Error {
  constructor(
    readonly kind: JudgeErrorKind,
    message: string,
    readonly attempts = 1,
  ) {
    super(message);
  }
}

export type JudgeConfig = Rubric['judge'];

/** Replace {question} {reasoning} {answer} {ground_truth}; other braces (JSON examples) stay. */
export function fillTemplate(template: string, input: JudgeInput): string {
  return template.replace(/\{(question|reasoning|answer|ground_truth)\}/g, (_, k: keyof JudgeInput) => input[k]);
}

/** The JSON object in a model reply: the whole content, a ```json fence, or the outermost {…}. */
export function parseVerdictContent(content: string): JudgeVerdict {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(content);
  let text = (fenced ? fenced[1] : content).trim();
  if (!text.startsWith('{')) {
    const a = text.indexOf('{');
    const b = text.lastIndexOf('}');
    if (a >= 0 && b > a) text = text.slice(a, b + 1);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new JudgeError('malformed', `judge reply is not JSON (${(e as Error).message}): ${clip(content)}`);
  }
  const v = judgeVerdictSchema.safeParse(data);
  if (!v.success) {
    const issue = v.error.issues[0];
    throw new JudgeError('malformed', `judge verdict invalid at "${issue.path.join('.') || '(root)'}": ${issue.message}: ${clip(content)}`);
  }
  return v.data;
}

export interface JudgeClientOptions {
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  /** circuit breaker: stop calling after this many failed calls in a row (default: never) */
  maxConsecutiveFailures?: number;
}

export class JudgeClient {
  readonly stats = { requests: 0, cacheHits: 0, failures: 0, consecutiveFailures: 0, breakerOpen: false };
  private readonly maxConsecutiveFailures: number;
  private readonly cache = new Map<string, Promise<JudgeVerdict>>();
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    readonly config: JudgeConfig,
    opts: JudgeClientOptions = {},
  ) {
    this.fetchImpl = opts.fetch ?? fetch;
    this.maxConsecutiveFailures = opts.maxConsecutiveFailures ?? Infinity;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  get endpoint(): string {
    const base = this.config.base_url.replace(/\/+$/, '');
    return /\/v1$/.test(base) ? `${base}/chat/completions` : `${base}/v1/chat/completions`;
  }

  /** Ask the judge; identical content is asked once (cache keyed by sha256 of the request). */
  judge(input: JudgeInput): Promise<JudgeVerdict> {
    const body = {
      model: this.config.model,
      temperature: this.config.temperature,
      max_tokens: this.config.max_tokens,
      messages: [
        { role: 'system', content: this.config.system_prompt },
        { role: 'user', content: fillTemplate(this.config.prompt_template, input) },
      ],
    };
    const key = createHash('sha256').update(JSON.stringify(body)).digest('hex');
    const hit = this.cache.get(key);
    if (hit) {
      this.stats.cacheHits++;
      return hit;
    }
    const p = this.fromDiskOrAsk(key, body);
    this.cache.set(key, p);
    // failures are not cached: a later call may find the server back up
    p.catch(() => this.cache.delete(key));
    return p;
  }

  private async fromDiskOrAsk(key: string, body: unknown): Promise<JudgeVerdict> {
    const dir = this.config.cache_dir;
    if (dir) {
      try {
        const v = judgeVerdictSchema.parse(JSON.parse(await readFile(join(dir, `${key}.json`), 'utf8')));
        this.stats.cacheHits++;
        return v;
      } catch {
        // not cached (or unreadable): ask
      }
    }
    const v = await this.withSlot(() => this.askWithRetries(body));
    this.stats.consecutiveFailures = 0;
    if (dir) {
      await mkdir(dir, { recursive: true });
      const tmp = join(dir, `${key}.json.${process.pid}.tmp`);
      await writeFile(tmp, JSON.stringify(v));
      await rename(tmp, join(dir, `${key}.json`));
    }
    return v;
  }

  private async withSlot<T>(fn: () => Promise<T>): Promise<T> {
    while (this.active >= this.config.concurrency) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  /** Why the breaker stopped the judge, for the command's summary; null while it is closed. */
  get breakerMessage(): string | null {
    return this.stats.breakerOpen ? `judge stopped after ${this.maxConsecutiveFailures} consecutive failures at ${this.endpoint}; the remaining rollouts were not judged` : null;
  }

  private async askWithRetries(body: unknown): Promise<JudgeVerdict> {
    if (this.stats.breakerOpen) throw new JudgeError('circuit_open', this.breakerMessage!, 0);
    try {
      return await this.askWithBackoff(body);
    } catch (e) {
      if (++this.stats.consecutiveFailures >= this.maxConsecutiveFailures) this.stats.breakerOpen = true;
      throw e;
    }
  }

  private async askWithBackoff(body: unknown): Promise<JudgeVerdict> {
    let last: JudgeError | undefined;
    for (let attempt = 0; attempt <= this.config.retries; attempt++) {
      if (attempt > 0) await this.sleep(this.config.backoff_ms * 2 ** (attempt - 1));
      try {
        return await this.askOnce(body);
      } catch (e) {
        last = e instanceof JudgeError ? e : new JudgeError('unreachable', String(e));
        // a 4xx other than 408/429 will not get better by asking again
        if (last.kind === 'http' && /^HTTP 4(?!08|29)/.test(last.message)) break;
      }
    }
    this.stats.failures++;
    const attempts = this.config.retries + 1;
    throw new JudgeError(last!.kind, `${last!.message} (after ${attempts} attempt${attempts > 1 ? 's' : ''})`, attempts);
  }

  private async askOnce(body: unknown): Promise<JudgeVerdict> {
    this.stats.requests++;
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), this.config.timeout_ms);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.config.api_key) headers.authorization = `Bearer ${this.config.api_key}`;
    try {
      let res: Response;
      try {
        res = await this.fetchImpl(this.endpoint, { method: 'POST', headers, body: JSON.stringify(body), signal: ctrl.signal });
      } catch (e) {
        if (ctrl.signal.aborted) throw new JudgeError('timeout', `judge timed out after ${this.config.timeout_ms} ms at ${this.endpoint}`);
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        throw new JudgeError('unreachable', `judge unreachable at ${this.endpoint}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
      }
      let text: string;
      try {
        text = await res.text();
      } catch (e) {
        if (ctrl.signal.aborted) throw new JudgeError('timeout', `judge timed out after ${this.config.timeout_ms} ms at ${this.endpoint}`);
        throw new JudgeError('unreachable', `judge connection failed while reading the reply: ${(e as Error).message}`);
      }
      if (!res.ok) throw new JudgeError('http', `HTTP ${res.status} from ${this.endpoint}: ${clip(text)}`);
      let data: { choices?: { message?: { content?: unknown } }[] };
      try {
        data = JSON.parse(text);
      } catch {
        throw new JudgeError('malformed', `judge server sent non-JSON: ${clip(text)}`);
      }
      const content = data.choices?.[0]?.message?.content;
      if (typeof content !== 'string') throw new JudgeError('malformed', `judge reply has no choices[0].message.content: ${clip(text)}`);
      return parseVerdictContent(content);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The judge's check result: a verdict scored against the rubric, or the error kept visible. */
export function judgeCheckResult(outcome: JudgeVerdict | JudgeError, rubric: Rubric): CheckResult {
  if (outcome instanceof JudgeError) {
    return { name: 'judge', pass: false, score: 0, reason: `judge error (${outcome.kind}): ${outcome.message}`, spans: [], error: outcome.message, details: { kind: outcome.kind } };
  }
  const score = outcome.score ?? (outcome.consistent ? 1 : 0);
  const pass = score >= rubric.checks.judge.min_score && outcome.consistent && outcome.correct !== false;
  return {
    name: 'judge',
    pass,
    score,
    reason: `judge ${score.toFixed(2)}${outcome.consistent ? '' : ', inconsistent'}${outcome.correct === false ? ', wrong' : ''}${outcome.logical === false ? ', illogical' : ''}: ${outcome.reason}`,
    spans: [],
    details: { ...outcome, score },
  };
}

function clip(s: string, n = 160): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > n ? `${one.slice(0, n)}…` : one;
}
