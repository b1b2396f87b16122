// `veripo tasks sample|render`: look at the embedded benchmark from the shell.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CliError, type CliCommand } from './command';
import { parseCliArgs, JSON_FLAG } from './common';
import { FAMILIES, MODALITIES, SPLIT_SEEDS, filmstripPng, generateTask, sampleTasks, type Modality, type Split, type Task } from '../video';

const USAGE = `veripo tasks sample --n N --seed S [--family F] [--modality video|image|text] [--split train|val|test] [--difficulty 1|2|3] [--json] [--frames]
veripo tasks render --seed S --out DIR [--family F] [--modality M] [--difficulty D]

sample  prints N tasks (id, family, modality, question, options, answer, gold CoT, frame shape);
        --json prints a JSON array, --frames adds the RGB frames as base64. Same seed, same bytes.
render  writes DIR/<task id>.png (frames side by side, x4 nearest neighbour) and DIR/<task id>.txt
        and prints the PNG path. Seeds: train ${SPLIT_SEEDS.train.join('..')}, val ${SPLIT_SEEDS.val.join('..')}, test ${SPLIT_SEEDS.test.join('..')}.
families: ${FAMILIES.join(', ')}`;

function int(name: string, value: string | undefined, required = true): number | undefined {
  if (value === undefined) {
    if (required) throw new CliError(`missing --${name}\n${USAGE}`, 2);
    return undefined;
  }
  if (!/^-?\d+$/.test(value)) throw new CliError(`--${name} must be an integer, got "${value}"`, 2);
  return Number(value);
}

function choice<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) throw new CliError(`--${name} must be one of ${allowed.join(', ')}, got "${value}"`, 2);
  return value as T;
}

/** The printable view of a task; frames only on request (they dominate the size). */
function taskRecord(task: Task, withFrames: boolean) {
  return {
    id: task.id,
    seed: task.seed,
    split: task.split,
    family: task.family,
    modality: task.modality,
    difficulty: task.difficulty,
    question: task.question,
    options: task.options,
    answer: task.answer,
    answerType: task.answerType,
    frameShape: task.frameShape,
    sceneText: task.sceneText,
    cot: task.cot.gold,
    ...(withFrames && task.frames ? { frames: Buffer.from(task.frames).toString('base64') } : {}),
  };
}

export function describeTask(task: Task, withFrames = false): string {
  const lines = [`${task.id}`, `  family: ${task.family}  modality: ${task.modality}  difficulty: ${task.difficulty}  frames: [${task.frameShape.join(', ')}]`];
  if (task.sceneText) lines.push(`  scene: ${task.sceneText}`);
  lines.push(`  question: ${task.question}`);
  if (task.options) task.options.forEach((o, i) => lines.push(`    ${'ABCDE'[i]}. ${o}`));
  lines.push(`  answer: ${task.answer}`, `  gold: ${task.cot.gold}`);
  if (withFrames && task.frames) lines.push(`  frames (base64): ${Buffer.from(task.frames).toString('base64')}`);
  return lines.join('\n');
}

const options = {
  n: { type: 'string' },
  seed: { type: 'string' },
  family: { type: 'string' },
  modality: { type: 'string' },
  split: { type: 'string' },
  difficulty: { type: 'string' },
  out: { type: 'string' },
  ...JSON_FLAG,
  frames: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const command: CliCommand = {
  name: 'tasks',
  summary: 'sample or render tasks of the embedded synthetic video-reasoning benchmark',
  usage: USAGE,
  async run(argv) {
    const [sub, ...rest] = argv;
    const { values } = parseCliArgs(rest, options, { usage: USAGE });
    if (values.help || !sub) {
      process.stdout.write(`${USAGE}\n`);
      return sub || values.help ? 0 : 2;
    }
    const family = choice('family', values.family, FAMILIES);
    const modality = choice<Modality>('modality', values.modality, MODALITIES);
    const split = choice<Split>('split', values.split, ['train', 'val', 'test']);
    const difficulty = int('difficulty', values.difficulty, false);
    const seed = int('seed', values.seed)!;
    // Library errors (unsupported family/modality pairs, seeds outside a split) are user errors here.
    const guard = <T>(fn: () => T): T => {
      try {
        return fn();
      } catch (err) {
        throw new CliError((err as Error).message, 2);
      }
    };

    if (sub === 'sample') {
      const n = int('n', values.n)!;
      const tasks = guard(() => sampleTasks({ n, seed, split, family, modality, difficulty }));
      if (values.json) process.stdout.write(`${JSON.stringify(tasks.map((t) => taskRecord(t, values.frames)), null, 2)}\n`);
      else process.stdout.write(`${tasks.map((t) => describeTask(t, values.frames)).join('\n\n')}\n`);
      return 0;
    }
    if (sub === 'render') {
      if (!values.out) throw new CliError(`missing --out\n${USAGE}`, 2);
      const task = guard(() => generateTask(seed, { family, modality, difficulty, split }));
      const dir = resolve(values.out);
      mkdirSync(dir, { recursive: true });
      const png = join(dir, `${task.id}.png`);
      writeFileSync(png, filmstripPng(task));
      const cots = Object.entries(task.cot).map(([k, v]) => `${k}: ${v}`);
      writeFileSync(join(dir, `${task.id}.txt`), `${describeTask(task)}\n\nall chains of thought:\n${cots.join('\n')}\n`);
      process.stdout.write(`${png}\n`);
      return 0;
    }
    throw new CliError(`unknown subcommand "tasks ${sub}"\n${USAGE}`, 2);
  },
};
