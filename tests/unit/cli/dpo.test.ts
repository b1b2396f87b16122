import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/main/cli/index';
import { initBackend } from '../../../src/main/model/backend';
import { loadCheckpoint, saveCheckpoint } from '../../../src/main/model/checkpoint';
import { presetConfig } from '../../../src/main/model/config';
import { createPolicy, disposePolicy } from '../../../src/main/model/policy';
import { benchmarkPolicyData, benchmarkTokenizer } from '../../../src/main/model/prompt';
import { mixedTasks } from '../../../src/main/video/tasks';
import * as store from '../../../src/main/store';

let dir: string;
let from: string;
let pairsFile: string;
let taskIds: string[];

/** Run the CLI in-process; stdout and stderr captured. */
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    const code = await main(args);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

function weightsOf(ckpt: string): Map<string, Float32Array> {
  const { policy } = loadCheckpoint(ckpt);
  const w = new Map([...policy.params].map(([k, v]) => [k, v.dataSync() as Float32Array]));
  disposePolicy(policy);
  return w;
}

beforeAll(async () => {
  await initBackend();
  dir = mkdtempSync(join(tmpdir(), 'veripo-dpo-cli-'));
  const tokenizer = benchmarkTokenizer();
  const policy = createPolicy(presetConfig('tiny', benchmarkPolicyData(tokenizer), { d_model: 16, n_layer: 1, d_ff: 32 }), 3);
  from = join(dir, 'from');
  saveCheckpoint(from, policy, tokenizer);
  disposePolicy(policy);
  pairsFile = join(dir, 'pairs.jsonl');
  const tasks = mixedTasks(3, 1, 'train');
  taskIds = tasks.map((t) => t.id);
  const rows = tasks.map((t) => ({ prompt_id: t.id, prompt: t.question, chosen: `<answer> ${t.answer} </answer>`, rejected: '<answer> no </answer>', kind: 'standard', reasons: [], meta: { task_id: t.id } }));
  writeFileSync(pairsFile, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const small = ['--set', 'dpo.steps=2', '--set', 'dpo.batch_size=2', '--set', 'dpo.max_completion_length=12', '--set', 'dpo.learning_rate=0.001'];

describe('veripo dpo', () => {
  it('trains on a PAIRS.jsonl, prints TRL metric keys as JSON and saves a changed checkpoint', async () => {
    const save = join(dir, 'after');
    const r = await cli(['dpo', '--from', from, '--pairs', pairsFile, ...small, '--save', save, '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out) as { steps: number; pairs: number; metrics: Record<string, number | null>; checkpoint: string };
    expect(res.pairs).toBe(3);
    expect(res.steps).toBe(2);
    for (const k of ['rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'loss']) expect(Number.isFinite(res.metrics[k])).toBe(true);
    expect(res.checkpoint).toBe(save);
    const before = weightsOf(from);
    const after = weightsOf(save);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    const maxDiff = Math.max(...[...before].map(([k, a]) => Math.max(...a.map((x, i) => Math.abs(x - after.get(k)![i]!)))));
    expect(maxDiff).toBeGreaterThan(0);
  }, 60_000);

  it("trains on a run's stored pairs, leaving out the ones a person rejected", async () => {
    const db = join(dir, 'veripo.db');
    const h = store.openDb(db);
    const runId = store.createRun(h, { experiment: 'dpo-cli', name: null, preset: 'smoke', config: {}, seed: 0 });
    const verify = store.startStage(h, runId, 1, 0, 'verify');
    store.insertPairs(h, runId, taskIds.map((id, i) => ({
      stage_id: verify, prompt_id: id, prompt: id, chosen_text: '<answer> A </answer>', rejected_text: '<answer> B </answer>',
      kind: 'standard', source: 'auto' as const, status: i === 0 ? ('rejected' as const) : ('pending' as const), reasons: [], meta: { task_id: id },
    })));
    h.close();
    const r = await cli(['dpo', '--from', from, '--run', String(runId), '--stage', '1', '--db', db, ...small, '--json']);
    expect(r.code, r.err).toBe(0);
    const res = JSON.parse(r.out) as { pairs: number; steps: number };
    expect(res.pairs).toBe(2);
    expect(res.steps).toBe(2);
    const none = await cli(['dpo', '--from', from, '--run', String(runId + 1), '--db', db]);
    expect(none.code).not.toBe(0);
    expect(none.err).toContain(`run ${runId + 1} does not exist`);
  }, 60_000);

  it('refuses an unknown dpo key, naming it', async () => {
    const r = await cli(['dpo', '--from', from, '--pairs', pairsFile, '--set', 'dpo.nope=1']);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('dpo.nope');
  });

  it('refuses a key outside dpo.*', async () => {
    const r = await cli(['dpo', '--from', from, '--pairs', pairsFile, '--set', 'grpo.beta=0.1']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('grpo.beta');
  });

  it('exits non-zero on an empty pairs file', async () => {
    const empty = join(dir, 'empty.jsonl');
    writeFileSync(empty, '');
    const r = await cli(['dpo', '--from', from, '--pairs', empty, '--json']);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('no preference pairs');
    expect(r.out).toBe('');
  });

  it('names file, line and field when a record has no benchmark task', async () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, `${JSON.stringify({ prompt: 'p', chosen: 'a', rejected: 'b', meta: { task_id: 'train-1-count-x-d1' } })}\n${JSON.stringify({ prompt: 'p', chosen: 'a', rejected: 'b' })}\n`);
    const r = await cli(['dpo', '--from', from, '--pairs', bad]);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain(`${bad}:1`);
    expect(r.err).toContain('meta.task_id');
  });
});
