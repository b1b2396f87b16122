// The README experiment: VerIPO vs continual GRPO at equal wall-clock, several seeds, on the
// embedded benchmark's test split. Both methods of a seed start from the same cold-start SFT
// checkpoint (sft.cache) and get the same RL training budget (loop.max_seconds).
//   npx tsx research/scripts/veripo-vs-grpo.ts [--db FILE] [--seeds 0,1,2] [--seconds 240] [--out research/figures] [--set k=v]…
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDb, getMetrics } from '../../src/main/store';
import { compareRuns } from '../../src/main/loop/compare';
import { lineChartSvg } from '../../src/main/io/svg-chart';

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: '/tmp/veripo-experiment.db' },
    seeds: { type: 'string', default: '0,1,2' },
    seconds: { type: 'string', default: '240' },
    out: { type: 'string', default: 'research/figures' },
    methods: { type: 'string', default: 'veripo,grpo' },
    set: { type: 'string', multiple: true, default: [] },
  },
});
const seeds = values.seeds!.split(',').filter((x) => x.trim() !== '').map(Number); // --seeds '' only re-reports
const methods = values.methods!.split(',');
const bin = join(import.meta.dirname, '..', '..', 'bin', 'veripo.js');
const runs: { method: string; seed: number; runId: number }[] = [];

// The methods of one seed run side by side, so they share the machine's load as well as the
// budget; both do the same deterministic cold-start SFT first.
const runOne = (method: string, seed: number) =>
  new Promise<{ method: string; seed: number; runId: number }>((resolve, reject) => {
    const args = [bin, 'run', '--preset', method, '--db', values.db!, '--json', '--experiment', 'readme-experiment',
      '--set', `seed=${seed}`, '--set', `loop.max_seconds=${values.seconds}`, '--set', 'loop.final_test=true',
      ...values.set!.flatMap((s) => ['--set', s])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${method} seed ${seed} failed (exit ${code})`));
      resolve({ method, seed, runId: JSON.parse(out.trim().split('\n').at(-1)!).run_id });
    });
  });
for (const seed of seeds) {
  process.stderr.write(`seed ${seed}: ${methods.join(' and ')} side by side…\n`);
  runs.push(...(await Promise.all(methods.map((m) => runOne(m, seed)))));
}

const db = openDb(values.db!);
// Every finished run of the experiment in this DB (earlier invocations included), by method and seed.
const stored = (db.prepare(`SELECT r.id, r.preset, r.seed FROM runs r JOIN experiments e ON e.id = r.experiment_id
  WHERE e.name = 'readme-experiment' AND r.status = 'finished' ORDER BY r.seed, r.preset`).all() as { id: number; preset: string; seed: number }[])
  .map((r) => ({ method: r.preset, seed: r.seed, runId: r.id }))
  // one run per method and seed: the latest
  .filter((r, _, all) => !all.some((o) => o.method === r.method && o.seed === r.seed && o.runId > r.runId));
void runs;
const rows = stored.map((r) => {
  const test = Object.fromEntries(getMetrics(db, [r.runId], ['test/accuracy', 'test/mean_length', 'test/inconsistency_rate']).map((s) => [s.name, s.points.at(-1)?.value ?? NaN]));
  const [cmp] = compareRuns(db, [r.runId]);
  const rl = cmp!.curve.filter((p) => p.kind !== 'sft');
  return { ...r, test, cmp: cmp!, rlSeconds: rl.length ? rl.at(-1)!.wall_s - (cmp!.curve.find((p) => p.kind === 'sft')?.wall_s ?? 0) : 0 };
});
db.close();

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
const fmt = (xs: number[], d = 3) => `${mean(xs).toFixed(d)} ± ${sd(xs).toFixed(d)}`;
const lines = [
  `| method | seeds | test accuracy | mean CoT length (tokens) | inconsistency rate | runs |`,
  `|---|---|---|---|---|---|`,
  ...methods.map((m) => {
    const rs = rows.filter((r) => r.method === m);
    return `| ${m} | ${rs.length} | ${fmt(rs.map((r) => r.test['test/accuracy']!))} | ${fmt(rs.map((r) => r.test['test/mean_length']!), 1)} | ${fmt(rs.map((r) => r.test['test/inconsistency_rate']!))} | ${rs.map((r) => r.runId).join(', ')} |`;
  }),
  '',
  '| run | method | seed | test acc | test len | test inconsistency |',
  '|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.runId} | ${r.method} | ${r.seed} | ${r.test['test/accuracy']!.toFixed(3)} | ${r.test['test/mean_length']!.toFixed(1)} | ${r.test['test/inconsistency_rate']!.toFixed(3)} |`),
];
mkdirSync(values.out!, { recursive: true });
writeFileSync(join(values.out!, 'veripo-vs-grpo-table.md'), lines.join('\n') + '\n');
// Val accuracy against cumulative wall-clock (SFT included, shared by both methods of a seed).
const svg = lineChartSvg({
  title: `VerIPO vs continual GRPO, val accuracy (${new Set(rows.map((r) => r.seed)).size} seeds, ${values.seconds} s RL budget)`,
  xLabel: 'wall-clock seconds (cumulative, incl. SFT and eval)',
  yLabel: 'val accuracy',
  series: rows.map((r) => ({ name: `${r.method} s${r.seed}`, points: r.cmp.curve.map((p) => [p.wall_s, p.accuracy] as [number, number]), dashed: r.method !== 'veripo', color: r.method === 'veripo' ? '#d62728' : '#1f77b4' })),
});
writeFileSync(join(values.out!, 'veripo-vs-grpo-val-accuracy.svg'), svg);
process.stdout.write(lines.join('\n') + '\n');
