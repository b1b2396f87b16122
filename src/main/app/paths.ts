// Which files an API caller may make the workbench read. The API is reachable from a browser
// tab (web mode) and from the renderer (desktop), so a path in its arguments is untrusted: it
// must lie inside the data folder or a folder the user chose on this machine (`veripo serve
// --workspace DIR`, or a folder picked in the desktop app's dialog). The CLI's own flags are
// the user's and do not pass through here.
import { existsSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import type { Db } from '../store';
import type { RunConfig } from '../loop/config';
import { shippedCheckpointsDir } from '../model/shipped';
import { resolveRubricRef, loadRubricRef, RubricRefError } from '../loop/rubric-ref';
import { RubricParseError } from '../verifier/rubric';

export class PathNotAllowedError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export interface PathPolicy {
  /** The allowed folders, data folder first. */
  roots(): string[];
  /** Allow one more folder (the desktop dialog, `--workspace`); it must exist. */
  allow(dir: string): void;
}

function realDir(dir: string): string {
  const abs = resolve(dir);
  return existsSync(abs) ? realpathSync(abs) : abs;
}

export function createPathPolicy(dataDir: string, workspaces: string[] = []): PathPolicy {
  const roots = [resolve(dataDir)];
  const policy: PathPolicy = {
    // Resolved on every use: the data folder may be created (or linked) after start-up.
    roots: () => [...new Set(roots.map(realDir))],
    allow(dir) {
      if (!existsSync(dir)) throw new Error(`workspace folder ${dir} does not exist`);
      if (!roots.includes(resolve(dir))) roots.push(resolve(dir));
    },
  };
  for (const w of workspaces) policy.allow(w);
  return policy;
}

function within(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
}

/**
 * The real path of `given` when it lies inside an allowed folder, after following symlinks
 * (a link inside pointing outside is refused). The error names the field and the allowed
 * folders, and says nothing about whether a refused path exists or what it holds.
 */
export function resolveAllowedPath(policy: PathPolicy, field: string, given: string, opts: { mayNotExist?: boolean } = {}): string {
  const roots = policy.roots();
  const refuse = () =>
    new PathNotAllowedError(field, `"${given}" is outside the folders the API may read (${roots.join(', ')}); put the file there, or allow its folder with \`veripo serve --workspace DIR\` or the desktop app's File menu`);
  if (given.includes('\0')) throw refuse();
  // Relative paths are read against the data folder, never the server's working directory.
  const lexical = resolve(roots[0]!, given);
  if (!roots.some((r) => within(r, lexical))) throw refuse();
  let existing = lexical;
  if (opts.mayNotExist) while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  if (!existsSync(existing)) throw new PathNotAllowedError(field, `"${given}" does not exist`);
  const real = realpathSync(existing);
  if (!roots.some((r) => within(r, real))) throw refuse();
  return existing === lexical ? real : lexical;
}

/**
 * Check the paths a run config from the API would read, before the run is stored:
 * `verifier.rubric` (preset, saved rubric or a file in an allowed folder), the rubric's judge
 * cache folder when the judge runs, and `model.init_checkpoint` (the data folder, an allowed folder
 * or the shipped checkpoints in resources/checkpoints).
 */
export async function checkRunConfigPaths(config: RunConfig, policy: PathPolicy, db: Db): Promise<void> {
  if (config.model.init_checkpoint != null) {
    // The checkpoints shipped with the workbench are readable too (the smoke preset starts from
    // one); relative paths still resolve against the data folder.
    const withShipped: PathPolicy = { roots: () => [...policy.roots(), realDir(shippedCheckpointsDir())], allow: (dir) => policy.allow(dir) };
    config.model.init_checkpoint = resolveAllowedPath(withShipped, 'model.init_checkpoint', config.model.init_checkpoint);
  }
  let ref;
  try {
    ref = resolveRubricRef(db, config.verifier.rubric);
  } catch (err) {
    if (err instanceof RubricRefError) throw new PathNotAllowedError('verifier.rubric', err.message.replace(/^verifier\.rubric: /, ''));
    throw err;
  }
  if (ref.kind === 'file') ref.path = config.verifier.rubric = resolveAllowedPath(policy, 'verifier.rubric', ref.path);
  let rubric;
  try {
    rubric = await loadRubricRef(ref);
  } catch (err) {
    // Only the location of the problem: the file is not shown back to the caller.
    const where = err instanceof RubricParseError ? err.errors.map((e) => [e.path || '(root)', e.line ? `line ${e.line}` : ''].filter(Boolean).join(' at ')).join('; ') : 'unreadable';
    throw new PathNotAllowedError('verifier.rubric', `"${config.verifier.rubric}" is not a valid rubric (${where})`);
  }
  const cacheDir = rubric.judge.cache_dir;
  if (config.verifier.judge && rubric.checks.judge.enabled && cacheDir) resolveAllowedPath(policy, 'verifier.rubric judge.cache_dir', cacheDir, { mayNotExist: true });
}
