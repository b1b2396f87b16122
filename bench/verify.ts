// Rules-only verification throughput: 10 000 synthetic rollouts (1 250 groups of 8, a mix
// of correct, wrong, inconsistent, looping, reflective and cut-off completions of 60-400
// words) through verifyAll + buildAllPairs on one thread. Target: < 10 s.
// Run: npx tsx bench/verify.ts [N]
// With --labelled [FILE] (default tests/fixtures/verifier/labelled.jsonl) it instead prints
// how far the default rubric's verdicts agree with the file's hand labels.
import type { AnswerSpec } from '../src/main/answers/spec';
import { readLabelledRollouts } from '../src/main/io/labelled';
import { labelAgreement } from '../src/main/verifier/agreement';
import { buildAllPairs, countPairsByKind } from '../src/main/verifier/pairs';
import { defaultRubric } from '../src/main/verifier/rubric';
import type { Rollout } from '../src/main/verifier/types';
import { verifyAll } from '../src/main/verifier/verify';

const labelledAt = process.argv.indexOf('--labelled');
if (labelledAt >= 0) {
  const arg = process.argv[labelledAt + 1];
  const file = arg && !arg.startsWith('--') ? arg : 'tests/fixtures/verifier/labelled.jsonl';
  const { rollouts, labels } = await readLabelledRollouts(file);
  const { disagreements, ...figures } = labelAgreement(await verifyAll(rollouts, defaultRubric()), labels);
  console.log(JSON.stringify({ file, ...figures, disagreeing_indices: disagreements }, null, 2));
  process.exit(0);
}

const N = Number(process.argv[2] ?? 10_000);
let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];

const VOCAB = (
  'the camera pans left across a table where several objects stand near the window light falls on one shape while another sits ' +
  'behind it and moves slowly toward the edge of the frame person hand reaches shelf door opens closes counter floor wall cube sphere ' +
  'cone cylinder red blue green yellow first then after before under over next to beside moving stops turns rolls'
).split(' ');
const sentence = () => {
  const n = 8 + Math.floor(rand() * 12);
  const w: string[] = [];
  for (let i = 0; i < n; i++) w.push(pick(VOCAB));
  return `${w.join(' ')}.`;
};
const reasoning = (words: number) => {
  const out: string[] = [];
  let count = 0;
  while (count < words) {
    const s = sentence();
    out.push(s);
    count += s.split(' ').length;
  }
  return out.join(' ');
};

function makeCompletion(gold: string, kind: number): string {
  const letters = ['A', 'B', 'C', 'D'];
  const other = letters.find((l) => l !== gold)!;
  const body = reasoning(60 + Math.floor(rand() * 340));
  switch (kind) {
    case 0: case 1: case 2: return `<think>${body} So the answer is ${gold}.</think><answer>${gold}</answer>`;
    case 3: return `<think>${body} So the answer is ${other}.</think><answer>${other}</answer>`;
    case 4: return `<think>${body} So the answer is ${other}.</think><answer>${gold}</answer>`;
    case 5: return `<think>${body} ${'The person opens the fridge door. '.repeat(10)}So the answer is ${gold}.</think><answer>${gold}</answer>`;
    case 6: return `<think>At first the answer is ${other}. Wait, let me re-check. ${body} So the answer is ${gold}.</think><answer>${gold}</answer>`;
    default: return `<think>${body}`;
  }
}

const rollouts: Rollout[] = [];
for (let i = 0; i < N; i++) {
  const g = Math.floor(i / 8);
  const gold = 'ABCD'[g % 4];
  const spec: AnswerSpec = { answer: gold, answerType: 'mc', options: ['A. a red cube', 'B. a blue sphere', 'C. a green cone', 'D. a yellow cylinder'] };
  rollouts.push({ index: i, promptId: `p${g}`, prompt: `Question ${g}`, completion: makeCompletion(gold, Math.floor(rand() * 8)), spec });
}
const chars = rollouts.reduce((s, r) => s + r.completion.length, 0);

const rubric = defaultRubric();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const verdicts = await verifyAll(rollouts, rubric);
const t1 = performance.now();
const pairs = buildAllPairs(rollouts, verdicts, rubric);
const t2 = performance.now();
const cpu = process.cpuUsage(cpu0);

const seconds = (t2 - t0) / 1000;
console.log(
  JSON.stringify(
    {
      n: N,
      seconds: +seconds.toFixed(3),
      per_second: Math.round(N / seconds),
      verify_seconds: +((t1 - t0) / 1000).toFixed(3),
      pairs_seconds: +((t2 - t1) / 1000).toFixed(3),
      // CPU time of this process: what the wall time would be on an idle core
      cpu_seconds: +((cpu.user + cpu.system) / 1e6).toFixed(3),
      mean_chars: Math.round(chars / N),
      accuracy: +(verdicts.filter((v) => v.correct).length / N).toFixed(3),
      pairs: countPairsByKind(pairs),
      target_met: seconds < 10,
    },
    null,
    2,
  ),
);
