// `veripo export pairs`: preference pairs → a DPO dataset TRL or LLaMA-Factory loads as is.
// Pairs come from a PAIRS.jsonl (`veripo verify --pairs`) or from a run in the database
// (--run ID --db FILE: what curation says, as the app's Export does: accepted and edited pairs,
// and with --pending the ones nobody has reviewed yet too; rejected pairs never).
import { basename } from 'node:path';
import { existsSync } from 'node:fs';
import { EXPORT_FORMATS, exportPairs, llamaFactoryDatasetInfo, readPairsFile, writeRows, type ExportFormat } from '../io/export';
import { InputError, type OnError } from '../io/jsonl';
import type { PairRecord } from '../verifier/pairs';
import { CliError, type CliCommand } from './command';
import { openDb, queryPairs, getRun } from '../store';
import { pairRecordFromStored } from '../io/export';
import { parseCliArgs, resolveDbPath, DB_FLAG, JSON_FLAG } from './common';
import { checkOutputPath } from './rollout-input';

/** Where pairs come from. */
export type PairSource = { kind: 'file'; file: string; onError: OnError } | { kind: 'run'; run: string; db: string; pending: boolean };

function runPairs(run: string, dbFile: string, pending: boolean): PairRecord[] {
  const runId = Number(run);
  if (!Number.isInteger(runId)) throw new CliError(`--run takes a run id, got "${run}"`, 2);
  const dbPath = resolveDbPath(dbFile || undefined);
  if (!existsSync(dbPath)) throw new CliError(`${dbPath}: no such database`);
  const db = openDb(dbPath);
  try {
    if (!getRun(db, runId)) throw new CliError(`run ${runId} does not exist in ${db.name}`);
    const all = queryPairs(db, { run_id: runId, offset: 0, limit: Number.MAX_SAFE_INTEGER }).pairs;
    const curated = queryPairs(db, { run_id: runId, curated: true, offset: 0, limit: Number.MAX_SAFE_INTEGER }).pairs;
    const chosen = pending ? all.filter((p) => p.status !== 'rejected') : curated;
    const unreviewed = all.filter((p) => p.status === 'pending').length;
    if (!pending && unreviewed > 0) {
      process.stderr.write(`run ${runId}: ${curated.length} curated pairs exported; ${unreviewed} pending pairs left out (--pending includes them)\n`);
    }
    return chosen.map(pairRecordFromStored);
  } finally {
    db.close();
  }
}

export async function loadPairs(source: PairSource): Promise<PairRecord[]> {
  if (source.kind === 'file') {
    return readPairsFile(source.file, {
      onError: source.onError,
      onProblem: (p) => process.stderr.write(`warning: ${p.file}:${p.line}: ${p.message} (skipped)\n`),
    });
  }
  return runPairs(source.run, source.db, source.pending);
}

const USAGE = [
  'veripo export pairs (--pairs PAIRS.jsonl | --run ID --db FILE) --format trl|llamafactory --out FILE',
  '                    [--pending] [--conversational] [--system TEXT] [--kind KIND,...] [--on-error skip|fail] [--json]',
  '',
  '--run exports the curated pairs (accepted, or edited and not rejected); --pending adds the unreviewed ones.',
  'trl: {prompt, chosen, rejected} strings, or message lists with --conversational.',
  'llamafactory: sharegpt {conversations, chosen, rejected, videos}; the dataset_info.json entry is printed.',
  'FILE ending in .json gets a JSON array, anything else JSONL.',
].join('\n');

export const command: CliCommand = {
  name: 'export',
  summary: 'Export preference pairs as a TRL or LLaMA-Factory DPO dataset',
  usage: USAGE,
  async run(argv) {
    const [what, ...rest] = argv;
    if (what !== 'pairs') throw new CliError(`usage: ${USAGE.split('\n')[0]}`, 2);
    const { values } = parseCliArgs(rest, {
      pairs: { type: 'string' },
      run: { type: 'string' },
      ...DB_FLAG,
      format: { type: 'string' },
      out: { type: 'string' },
      conversational: { type: 'boolean', default: false },
      pending: { type: 'boolean', default: false },
      system: { type: 'string' },
      kind: { type: 'string' },
      'on-error': { type: 'string', default: 'fail' },
      ...JSON_FLAG,
    });
    const format = values.format as ExportFormat | undefined;
    if (!format || !EXPORT_FORMATS.includes(format)) throw new CliError(`--format must be one of ${EXPORT_FORMATS.join(', ')}`, 2);
    if (!values.out) throw new CliError('missing --out FILE', 2);
    if (!!values.pairs === !!values.run) throw new CliError('give exactly one of --pairs FILE or --run ID', 2);
    if (values.run && !values.db) throw new CliError('--run needs --db FILE', 2);
    const onError = values['on-error'];
    if (onError !== 'skip' && onError !== 'fail') throw new CliError(`--on-error must be skip or fail, got "${onError}"`, 2);
    if (values.conversational && format !== 'trl') throw new CliError('--conversational applies to --format trl only', 2);

    checkOutputPath('out', values.out, values.pairs);
    let pairs: PairRecord[];
    try {
      pairs = await loadPairs(values.pairs ? { kind: 'file', file: values.pairs, onError } : { kind: 'run', run: values.run!, db: values.db!, pending: values.pending });
    } catch (e) {
      if (e instanceof InputError) throw new CliError(`${e.message}\nnothing written`);
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError(`no such file: ${values.pairs}`);
      throw e;
    }
    if (values.pairs && pairs.length === 0) throw new CliError(`${values.pairs}: no pairs to export (empty, or every line skipped); nothing written`);
    if (values.kind) {
      const kinds = new Set(values.kind.split(',').map((k) => k.trim()));
      pairs = pairs.filter((p) => kinds.has(p.kind));
    }
    const rows = exportPairs(pairs, format, { conversational: values.conversational, system: values.system });
    await writeRows(values.out, rows);

    const hasVideos = pairs.some((p) => p.video);
    const hasSystem = rows.some((r) => typeof r.system === 'string');
    const info = format === 'llamafactory' ? llamaFactoryDatasetInfo(basename(values.out).replace(/\.jsonl?$/, ''), basename(values.out), hasVideos, hasSystem) : undefined;
    if (values.json) process.stdout.write(`${JSON.stringify({ n: rows.length, format, out: values.out, ...(info ? { dataset_info: info } : {}) })}\n`);
    else {
      process.stdout.write(`${rows.length} pairs → ${values.out} (${format}${values.conversational ? ', conversational' : ''})\n`);
      if (info) process.stdout.write(`add to LLaMA-Factory's data/dataset_info.json:\n${JSON.stringify(info, null, 2)}\n`);
    }
    return 0;
  },
};
