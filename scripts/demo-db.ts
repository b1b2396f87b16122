// A demo database for developing and testing the workbench UI before (and besides) a real
// smoke run: three runs with the VerIPO stage sequence, per-step metrics, ~2 300 rollouts with
// verifier verdicts (flagged spans included), pairs of every kind and a rubric. Everything
// goes through the store functions, so the shapes are the ones the loop writes.
import {
  openDb,
  createRun,
  markRunStarted,
  markRunFinished,
  startStage,
  finishStage,
  insertMetrics,
  insertRollouts,
  insertPairs,
  saveRubricVersion,
  type MetricPoint,
  type NewRollout,
  type NewPair,
} from '../src/main/store';
import { mulberry32 } from '../src/main/video/prng';

/** Deterministic PRNG (the benchmark's mulberry32) so the demo DB is the same every time. */
const rng = mulberry32;

const FAMILIES = ['direction', 'rotation', 'count_turns', 'order', 'final_position', 'count_visible', 'entry_side'];
const COLOURS = ['red', 'blue', 'green', 'yellow'];
const SHAPES = ['circle', 'square', 'triangle'];
const LETTERS = ['A', 'B', 'C', 'D'];

interface StagePlan {
  kind: 'sft' | 'grpo' | 'verify' | 'dpo' | 'eval';
  iteration: number;
  steps: number;
  wall_s: number;
}

interface RunPlan {
  experiment: string;
  name: string;
  preset: string;
  seed: number;
  status: 'finished' | 'failed' | 'interrupted';
  stages: StagePlan[];
  /** rollouts per GRPO step: prompts × generations */
  prompts: number;
  generations: number;
  skill: number;
}

const VERIPO: StagePlan[] = [
  { kind: 'sft', iteration: 0, steps: 20, wall_s: 14 },
  { kind: 'grpo', iteration: 1, steps: 16, wall_s: 96 },
  { kind: 'verify', iteration: 1, steps: 1, wall_s: 3.5 },
  { kind: 'dpo', iteration: 1, steps: 10, wall_s: 13 },
  { kind: 'grpo', iteration: 2, steps: 16, wall_s: 90 },
  { kind: 'eval', iteration: 2, steps: 1, wall_s: 4 },
];

const PLANS: RunPlan[] = [
  { experiment: 'veripo-demo', name: 'veripo seed 1', preset: 'smoke', seed: 1, status: 'finished', stages: VERIPO, prompts: 8, generations: 8, skill: 0.75 },
  {
    experiment: 'veripo-demo',
    name: 'grpo baseline seed 1',
    preset: 'grpo-baseline',
    seed: 1,
    status: 'finished',
    stages: [
      { kind: 'sft', iteration: 0, steps: 40, wall_s: 28 },
      { kind: 'grpo', iteration: 1, steps: 16, wall_s: 95 },
      { kind: 'grpo', iteration: 2, steps: 16, wall_s: 93 },
      { kind: 'eval', iteration: 2, steps: 1, wall_s: 4 },
    ],
    prompts: 4,
    generations: 8,
    skill: 0.6,
  },
  {
    experiment: 'veripo-demo',
    name: 'veripo seed 2',
    preset: 'smoke',
    seed: 2,
    status: 'interrupted',
    stages: VERIPO.slice(0, 3),
    prompts: 2,
    generations: 8,
    skill: 0.7,
  },
];

function question(r: () => number, family: string): { prompt: string; answer: string } {
  const colour = COLOURS[Math.floor(r() * COLOURS.length)]!;
  const shape = SHAPES[Math.floor(r() * SHAPES.length)]!;
  const answer = LETTERS[Math.floor(r() * 4)]!;
  const q: Record<string, string> = {
    direction: `In which direction does the ${colour} ${shape} move?`,
    rotation: `Does the ${colour} ${shape} rotate clockwise or counter-clockwise?`,
    count_turns: `How many times does the ${colour} ${shape} change direction?`,
    order: `Which object enters the scene first?`,
    final_position: `Where is the ${colour} ${shape} at the end of the video?`,
    count_visible: `How many objects are visible in the last frame?`,
    entry_side: `From which side does the ${colour} ${shape} enter?`,
  };
  return {
    prompt: `<video> ${q[family]} Options: ${family.startsWith('count') ? '(A) 1 (B) 2 (C) 3 (D) 4' : family === 'order' ? `(A) the ${colour} ${shape} (B) the blue circle (C) the green square (D) they enter together` : family === 'rotation' ? '(A) clockwise (B) counter-clockwise (C) it does not rotate (D) both' : '(A) left (B) right (C) up (D) down'}. Think step by step inside <think></think> and answer inside <answer></answer>.`,
    answer,
  };
}

/** A chain of thought plus the spans its flaws occupy, built piece by piece so offsets are exact. */
function makeCot(r: () => number, opts: { answer: string; correct: boolean; consistent: boolean; repetitive: boolean; reflective: boolean; ungrounded: boolean; truncated: boolean }) {
  let text = '<think>';
  const spans: Record<string, [number, number][]> = { repetition: [], consistency: [], grounding: [], reflection: [] };
  const push = (s: string, kind?: keyof typeof spans) => {
    const start = text.length;
    text += s;
    if (kind) spans[kind]!.push([start, text.length]);
  };
  const given = opts.correct ? opts.answer : LETTERS[(LETTERS.indexOf(opts.answer) + 1 + Math.floor(r() * 3)) % 4]!;
  const concluded = opts.consistent ? given : LETTERS[(LETTERS.indexOf(given) + 1) % 4]!;
  push(`In frame 1 the ${COLOURS[Math.floor(r() * 4)]} ${SHAPES[Math.floor(r() * 3)]} is near the left edge. `);
  push(`By frame 3 it has moved ${['two cells right', 'one cell up', 'to the centre'][Math.floor(r() * 3)]}. `);
  if (opts.ungrounded) push('A purple star appears in frame 2. ', 'grounding');
  if (opts.repetitive) {
    const s = 'The object keeps moving in the same direction. ';
    push(s);
    push(s + s, 'repetition');
  }
  if (opts.reflective) {
    push(`So the answer might be ${LETTERS[(LETTERS.indexOf(given) + 2) % 4]}. `);
    push('Wait, let me re-check this. ', 'reflection');
    push('Looking again at frames 3 to 5, the motion continues the other way. ');
  }
  if (opts.truncated) {
    push('Then in frame 6 the object');
    return { text, spans, given, concluded };
  }
  push(`Therefore the answer is ${concluded}.`, opts.consistent ? undefined : 'consistency');
  text += `</think><answer>${given}</answer>`;
  return { text, spans, given, concluded };
}

function verdictFor(
  cot: ReturnType<typeof makeCot>,
  f: { correct: boolean; consistent: boolean; repetitive: boolean; reflective: boolean; ungrounded: boolean; truncated: boolean },
): Record<string, unknown> {
  const words = cot.text.split(/\s+/).length;
  const checks = [
    { name: 'accuracy', pass: f.correct, score: f.correct ? 1 : 0, reason: f.correct ? 'answer matches the ground truth' : `answer ${cot.given} is wrong`, spans: [] },
    { name: 'format', pass: !f.truncated, score: f.truncated ? 0 : 1, reason: f.truncated ? 'no <answer> tag' : '<think> then <answer>', spans: [] },
    {
      name: 'consistency',
      pass: f.consistent,
      score: f.consistent ? 1 : 0,
      reason: f.consistent ? `reasoning concludes ${cot.concluded}, answer ${cot.given}` : `reasoning concludes ${cot.concluded} but the answer says ${cot.given}`,
      spans: cot.spans.consistency,
    },
    {
      name: 'repetition',
      pass: !f.repetitive,
      score: f.repetitive ? 0.2 : 1,
      reason: f.repetitive ? 'a sentence repeats 3 times (max 1)' : 'no repeated sentences',
      spans: cot.spans.repetition,
    },
    { name: 'length', pass: words >= 20, score: Math.min(1, words / 40), reason: `${words} words (min 20)`, spans: [] },
    { name: 'reflection', pass: true, score: f.reflective ? 1 : 0, reason: f.reflective ? 'notices and revises an earlier conclusion' : 'no self-correction', spans: cot.spans.reflection },
    {
      name: 'grounding',
      pass: !f.ungrounded,
      score: f.ungrounded ? 0.5 : 1,
      reason: f.ungrounded ? '1 of 3 observations not in the fact log' : 'all observations match the fact log',
      spans: cot.spans.grounding,
    },
  ];
  const reasons = checks.filter((c) => !c.pass).map((c) => `${c.name}: ${c.reason}`);
  const weights: Record<string, number> = { accuracy: 1, format: 0.5, consistency: 1, repetition: 0.5, length: 0.25, reflection: 0, grounding: 1 };
  let sw = 0;
  let s = 0;
  for (const c of checks) {
    sw += weights[c.name]!;
    s += weights[c.name]! * c.score;
  }
  return {
    correct: f.correct,
    consistent: f.consistent,
    repetitive: f.repetitive,
    truncated: f.truncated,
    reflective: f.reflective,
    formatted: !f.truncated,
    length: words,
    score: s / sw,
    checks,
    reasons,
  };
}

export interface SeedSummary {
  runs: number[];
  rollouts: number;
  pairs: number;
}

export interface SeedOptions {
  /** rollouts in an extra run of imported external rollouts (no stage, no task video); 0 for none */
  imported?: number;
  /** pending pairs over the imported run's rollouts */
  importedPairs?: number;
}

export function seedDemoDb(dbPath: string, opts: SeedOptions = {}): SeedSummary {
  const db = openDb(dbPath);
  const summary: SeedSummary = { runs: [], rollouts: 0, pairs: 0 };
  try {
    for (const plan of PLANS) {
      const r = rng(plan.seed * 7919 + plan.prompts);
      const runId = createRun(db, {
        experiment: plan.experiment,
        name: plan.name,
        preset: plan.preset,
        seed: plan.seed,
        config: {
          preset: plan.preset,
          seed: plan.seed,
          grpo: { num_generations: plan.generations, beta: 0.04, loss_type: 'dr_grpo', epsilon: 0.2, epsilon_high: 0.28, learning_rate: 3e-4 },
          dpo: { beta: 0.1, loss_type: 'sigmoid' },
          loop: { iterations: 2, discard_solved: 0.8 },
        },
      });
      summary.runs.push(runId);
      markRunStarted(db, runId, { backend: 'wasm', backendReason: 'tfjs-node-gpu is not installed; wasm (SIMD, 2 threads) is the fastest available', pid: process.pid });
      let globalStep = 0;
      let skill = plan.skill * 0.55;
      let incons = 0.18;
      let length = 60;
      plan.stages.forEach((st, ordinal) => {
        const stageId = startStage(db, runId, ordinal, st.iteration, st.kind);
        const points: MetricPoint[] = [];
        const rollouts: NewRollout[] = [];
        // As the loop stores them: wall_s restarts in every stage; the last tenth of a stage is its eval.
        const trainS = st.wall_s * 0.9;
        const stepWall = trainS / st.steps;
        for (let step = 0; step < st.steps; step++) {
          const wall = (step + 1) * stepWall;
          const m = (name: string, value: number) => points.push({ stage_id: stageId, step: globalStep, name, value, wall_s: wall });
          if (st.kind === 'sft') {
            m('sft/loss', 3.2 * Math.exp(-step / 8) + 0.6 + r() * 0.1);
          } else if (st.kind === 'grpo') {
            skill += (plan.skill - skill) * 0.06;
            // GRPO alone tends to raise inconsistency; after DPO it starts lower.
            incons = Math.min(0.45, incons + 0.004 + (r() - 0.5) * 0.01);
            length += 0.8 + r();
            const acc = Math.min(0.98, skill + (r() - 0.5) * 0.08);
            m('grpo/reward', acc * 1 + 0.45 + (r() - 0.5) * 0.05);
            m('grpo/rewards/accuracy/mean', acc);
            m('grpo/rewards/format/mean', 0.9 + r() * 0.1);
            m('grpo/accuracy', acc);
            m('grpo/completions/mean_length', length + (r() - 0.5) * 6);
            m('grpo/kl', 0.002 * step + r() * 0.003);
            m('grpo/clip_ratio/region_mean', 0.02 + r() * 0.03);
            m('grpo/entropy', 2.1 - step * 0.03 + r() * 0.05);
            m('grpo/grad_norm', 0.4 + r() * 0.3);
            m('grpo/loss', (r() - 0.5) * 0.02);
            for (let p = 0; p < plan.prompts; p++) {
              const family = FAMILIES[(p + step) % FAMILIES.length]!;
              const promptId = `train-${plan.seed}-${family}-${st.iteration}-${step}-${p}`;
              const q = question(r, family);
              for (let g = 0; g < plan.generations; g++) {
                const flags = {
                  correct: r() < acc,
                  consistent: r() > incons,
                  repetitive: r() < 0.12,
                  reflective: r() < 0.08,
                  ungrounded: r() < 0.15,
                  truncated: r() < 0.04,
                };
                const cot = makeCot(r, { answer: q.answer, ...flags });
                const parts = { accuracy: flags.correct ? 1 : 0, format: flags.truncated ? 0 : 1 };
                const words = cot.text.split(/\s+/).length;
                // Every third prompt comes from an imported file: no task_id, as external imports have none.
                const taskId = p % 3 === 2 ? null : `train-${plan.seed * 1000 + p}-${family}-video-d2`;
                rollouts.push({
                  stage_id: stageId,
                  step: globalStep,
                  prompt_id: promptId,
                  task_id: taskId,
                  group_index: g,
                  prompt: q.prompt,
                  ground_truth: q.answer,
                  text: cot.text,
                  token_count: words + 6,
                  reward: parts.accuracy + 0.5 * parts.format,
                  reward_parts: parts,
                  advantage: (r() - 0.5) * 2,
                  truncated: flags.truncated,
                  verdict: verdictFor(cot, flags),
                  meta: {
                    family,
                    ...(g % 2 === 0 ? { word_logprobs: cot.text.split(/(\s+)/).filter((t) => t.trim()).map(() => -Math.abs(r() * 3)) } : {}),
                  },
                });
              }
            }
          } else if (st.kind === 'dpo') {
            incons *= 0.93;
            length += 3;
            m('dpo/loss', 0.69 * Math.exp(-step / 6) + 0.2 + r() * 0.03);
            m('dpo/rewards/margins', 0.1 + step * 0.12 + r() * 0.05);
            m('dpo/rewards/accuracies', 0.55 + step * 0.035);
          }
          globalStep++;
        }
        insertMetrics(db, runId, points);
        if (rollouts.length) insertRollouts(db, runId, rollouts);
        summary.rollouts += rollouts.length;
        const val =
          st.kind === 'grpo' || st.kind === 'dpo' || st.kind === 'eval' || st.kind === 'sft'
            ? { accuracy: Math.min(0.97, skill + (r() - 0.5) * 0.04), mean_length: length, inconsistency_rate: incons, format_rate: 0.95 }
            : null;
        if (val) {
          insertMetrics(db, runId, [
            { stage_id: stageId, step: globalStep - 1, name: 'val/accuracy', value: val.accuracy, wall_s: st.wall_s },
            { stage_id: stageId, step: globalStep - 1, name: 'val/mean_length', value: val.mean_length, wall_s: st.wall_s },
            { stage_id: stageId, step: globalStep - 1, name: 'val/inconsistency_rate', value: val.inconsistency_rate, wall_s: st.wall_s },
          ]);
        }
        const interruptedHere = plan.status === 'interrupted' && ordinal === plan.stages.length - 1;
        if (!interruptedHere) {
          finishStage(db, stageId, { status: 'finished', wall_s: st.wall_s, val, summary: { train_s: trainS, ...(st.kind === 'verify' ? { pairs: 0 } : {}) } });
        }
        if (st.kind === 'verify') {
          summary.pairs += seedPairs(db, runId, stageId, r);
        }
      });
      if (plan.status === 'interrupted') markRunFinished(db, runId, 'interrupted', 'the process running this run stopped before it finished');
      else markRunFinished(db, runId, plan.status);
    }
    if ((opts.imported ?? 0) > 0) {
      const imported = seedImported(db, opts.imported!, summary);
      summary.runs.push(imported);
      if (opts.importedPairs) summary.pairs += seedImportedPairs(db, imported, opts.importedPairs);
    }
    const rubric = {
      name: 'default',
      version: 1,
      description: 'VerIPO paper defaults',
      checks: {
        accuracy: { enabled: true, weight: 1, min_score: 0.5 },
        format: { enabled: true, weight: 0.5 },
        consistency: { enabled: true, weight: 1, no_conclusion: 'pass' },
        repetition: { enabled: true, weight: 0.5, ngram: 4, max_ngram_repeat: 0.3, max_repeated_sentences: 1, min_sentence_chars: 16 },
        length: { enabled: true, weight: 0.25, min_words: 20, max_words: 4096, min_relative_to_median: 0.5 },
        reflection: { enabled: true, weight: 0 },
        grounding: { enabled: true, weight: 1, min_rate: 0.8 },
        judge: { enabled: false, weight: 1, min_score: 0.5 },
      },
    };
    saveRubricVersion(db, 'default', JSON.stringify(rubric, null, 2));
    rubric.checks.repetition.max_repeated_sentences = 0;
    saveRubricVersion(db, 'default', JSON.stringify(rubric, null, 2));
  } finally {
    db.close();
  }
  return summary;
}

/** Pairs from the GRPO stage just before this verify stage: correct+consistent vs the rest. */
function seedPairs(db: ReturnType<typeof openDb>, runId: number, stageId: number, r: () => number): number {
  const rows = db
    .prepare(
      `SELECT id, prompt_id, prompt, text, verdict FROM rollouts WHERE run_id = ? AND stage_id = (
         SELECT MAX(stage_id) FROM rollouts WHERE run_id = ? AND stage_id < ?) ORDER BY id`,
    )
    .all(runId, runId, stageId) as { id: number; prompt_id: string; prompt: string; text: string; verdict: string }[];
  const byPrompt = new Map<string, typeof rows>();
  for (const row of rows) byPrompt.set(row.prompt_id, [...(byPrompt.get(row.prompt_id) ?? []), row]);
  const pairs: NewPair[] = [];
  for (const [promptId, group] of byPrompt) {
    const v = (row: (typeof rows)[number]) => JSON.parse(row.verdict) as { correct: boolean; consistent: boolean; repetitive: boolean; reflective: boolean; reasons: string[] };
    const good = group.filter((g) => v(g).correct && v(g).consistent && !v(g).repetitive);
    const bad = group.filter((g) => !(v(g).correct && v(g).consistent && !v(g).repetitive));
    for (let i = 0; i < Math.min(2, good.length, bad.length); i++) {
      const c = good[i]!;
      const b = bad[i]!;
      const kind = v(c).reflective ? 'reflective' : v(b).correct && !v(b).consistent ? 'hard_negative' : 'standard';
      const status = r() < 0.15 ? 'accepted' : r() < 0.05 ? 'rejected' : 'pending';
      pairs.push({
        stage_id: stageId,
        prompt_id: promptId,
        prompt: c.prompt,
        chosen_rollout_id: c.id,
        rejected_rollout_id: b.id,
        chosen_text: c.text,
        rejected_text: b.text,
        kind,
        source: 'auto',
        status,
        reasons: ['chosen: correct, consistent, not repetitive', ...v(b).reasons.map((x) => 'rejected: ' + x)],
      });
    }
    if (good[0] && r() < 0.3) {
      const c = good[0];
      const insert = c.text.indexOf('Therefore');
      const chosen = insert > 0 ? c.text.slice(0, insert) + 'Wait, let me re-check this. ' + c.text.slice(insert) : c.text;
      pairs.push({
        stage_id: stageId,
        prompt_id: promptId,
        prompt: c.prompt,
        chosen_rollout_id: null,
        rejected_rollout_id: c.id,
        chosen_text: chosen,
        rejected_text: c.text,
        kind: 'reflective_constructed',
        source: 'auto',
        reasons: ['chosen: constructed self-correction of the rejected chain'],
      });
    }
  }
  insertPairs(db, runId, pairs);
  db.prepare(`UPDATE stages SET summary = json_set(COALESCE(summary, '{}'), '$.pairs', ?) WHERE id = ?`).run(pairs.length, stageId);
  return pairs.length;
}

/** An imported TRL-style rollout file: a run without stages, rollouts without task ids (no frames). */
function seedImported(db: ReturnType<typeof openDb>, n: number, summary: SeedSummary): number {
  const r = rng(4242);
  const runId = createRun(db, { experiment: 'imports', name: 'imported: trl_rollouts.jsonl', preset: null, seed: 0, config: { source: 'trl_rollouts.jsonl' }, status: 'finished' });
  const rows: NewRollout[] = [];
  const generations = 8;
  for (let i = 0; i < n; i++) {
    const p = Math.floor(i / generations);
    const family = FAMILIES[p % FAMILIES.length]!;
    const q = question(rng(p + 1), family);
    const flags = { correct: r() < 0.6, consistent: r() > 0.2, repetitive: r() < 0.1, reflective: r() < 0.05, ungrounded: false, truncated: r() < 0.03 };
    const cot = makeCot(r, { answer: q.answer, ...flags });
    rows.push({
      stage_id: null,
      step: null,
      prompt_id: `ext-${String(p).padStart(5, '0')}`,
      task_id: null,
      group_index: i % generations,
      prompt: q.prompt.replace('<video>', '<video: clips/' + family + '_' + p + '.mp4>'),
      ground_truth: q.answer,
      text: cot.text,
      token_count: cot.text.split(/\s+/).length,
      reward: flags.correct ? 1 : 0,
      reward_parts: { accuracy: flags.correct ? 1 : 0 },
      truncated: flags.truncated,
      verdict: verdictFor(cot, flags),
      meta: { source: 'trl', line: i + 1, video: `clips/${family}_${p}.mp4` },
    });
  }
  insertRollouts(db, runId, rows);
  summary.rollouts += n;
  return runId;
}

/** A review queue at scale: `pairs` pending pairs between rollouts of the imported run. */
function seedImportedPairs(db: ReturnType<typeof openDb>, runId: number, pairs: number): number {
  const rows = db.prepare('SELECT id, prompt_id, prompt, text, group_index FROM rollouts WHERE run_id = ? ORDER BY prompt_id, group_index').all(runId) as {
    id: number;
    prompt_id: string;
    prompt: string;
    text: string;
  }[];
  const out: NewPair[] = [];
  for (let i = 0; i + 1 < rows.length && out.length < pairs; i += 2) {
    const [c, b] = [rows[i]!, rows[i + 1]!];
    if (c.prompt_id !== b.prompt_id) continue;
    out.push({ stage_id: null, prompt_id: c.prompt_id, prompt: c.prompt, chosen_rollout_id: c.id, rejected_rollout_id: b.id, chosen_text: c.text, rejected_text: b.text, kind: 'standard', source: 'auto', reasons: ['imported for review'] });
  }
  insertPairs(db, runId, out);
  return out.length;
}

/** Add the 10k-row imported run (and optionally pending pairs over it) to an existing DB, e.g. one filled by a real smoke run. */
export function addImportedRollouts(dbPath: string, n: number, opts: { pairs?: number } = {}): number {
  const db = openDb(dbPath);
  try {
    const runId = seedImported(db, n, { runs: [], rollouts: 0, pairs: 0 });
    if (opts.pairs) seedImportedPairs(db, runId, opts.pairs);
    return runId;
  } finally {
    db.close();
  }
}

/** A small run whose `n` pairs are all pending: the export test curates it from scratch. */
export function addCurationRun(dbPath: string, n = 10): number {
  const db = openDb(dbPath);
  try {
    const runId = createRun(db, { experiment: 'imports', name: 'imported: curation queue', preset: null, seed: 0, config: { source: 'curation.jsonl' }, status: 'finished' });
    const pairs: NewPair[] = Array.from({ length: n }, (_, i) => ({
      stage_id: null,
      prompt_id: `cur-${i}`,
      prompt: `Question ${i}: which way does the red circle move? Options: (A) left (B) right`,
      chosen_text: `<think>Frame 1 left, frame 4 right edge: it moves right.</think><answer>B</answer>`,
      rejected_text: `<think>It moves.</think><answer>A</answer>`,
      kind: 'standard',
      source: 'auto',
      reasons: ['chosen: correct, consistent'],
    }));
    insertPairs(db, runId, pairs);
    return runId;
  } finally {
    db.close();
  }
}

/**
 * Two trained runs that differ only in cold-start SFT length (150 vs 400 steps), stored as the
 * loop stores them: their GRPO curves must overlap on the RL step axis.
 */
export function addSftLengthRuns(dbPath: string): number[] {
  const db = openDb(dbPath);
  try {
    return [150, 400].map((sftSteps) => {
      const r = rng(sftSteps);
      const runId = createRun(db, {
        experiment: 'sft-length',
        name: `sft ${sftSteps} steps`,
        preset: 'smoke',
        seed: 1,
        config: { preset: 'smoke', seed: 1, sft: { steps: sftSteps }, grpo: { num_generations: 4, beta: 0.04 }, data: { val_size: 64 } },
      });
      markRunStarted(db, runId, { backend: 'wasm', backendReason: 'seeded', pid: process.pid });
      let step = 0;
      const plan: [StagePlan['kind'], number][] = [['sft', sftSteps], ['grpo', 16], ['verify', 0], ['dpo', 8], ['grpo', 16]];
      plan.forEach(([kind, steps], ordinal) => {
        const stageId = startStage(db, runId, ordinal, ordinal === 0 ? 0 : 1, kind);
        const points: MetricPoint[] = [];
        const rollouts: NewRollout[] = [];
        for (let i = 0; i < steps; i++, step++) {
          const wall = (i + 1) * 0.5;
          if (kind === 'sft') points.push({ stage_id: stageId, step, name: 'sft/loss', value: 3 * Math.exp(-i / 50) + r() * 0.1, wall_s: wall });
          if (kind === 'dpo') points.push({ stage_id: stageId, step, name: 'dpo/loss', value: 0.69 - i * 0.02, wall_s: wall });
          if (kind === 'grpo') {
            points.push({ stage_id: stageId, step, name: 'grpo/accuracy', value: 0.3 + i * 0.01 + r() * 0.05, wall_s: wall });
            points.push({ stage_id: stageId, step, name: 'grpo/kl', value: 0.0005 * i + r() * 0.0005, wall_s: wall });
            for (let p = 0; p < 2; p++) rollouts.push({ stage_id: stageId, step, prompt_id: `s${sftSteps}-${step}-${p}`, task_id: null, group_index: 0, prompt: 'q', ground_truth: 'A', text: '<think>x</think><answer>A</answer>', token_count: 4, reward: 1, reward_parts: { accuracy: 1 }, truncated: false, verdict: null, meta: null });
          }
        }
        const train = steps * 0.5;
        if (kind !== 'verify') points.push({ stage_id: stageId, step: Math.max(0, step - 1), name: 'val/accuracy', value: 0.3 + ordinal * 0.02, wall_s: train + 2 });
        insertMetrics(db, runId, points);
        if (rollouts.length) insertRollouts(db, runId, rollouts);
        finishStage(db, stageId, { status: 'finished', wall_s: train + (kind === 'verify' ? 0 : 2), val: null, summary: { train_s: train } });
      });
      markRunFinished(db, runId, 'finished');
      return runId;
    });
  } finally {
    db.close();
  }
}
