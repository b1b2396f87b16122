// The import graph of the repository's TypeScript and the rules DESIGN.md states for it:
// layers import downward only, the renderer and preload reach only src/shared, nothing in the
// product imports tests, bench, scripts or research, and no file imports itself in a cycle.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

export const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '../../..');

/** src/main's layers, lowest first: a file may import its own layer and the ones before it. */
export const MAIN_LAYERS = [
  'video', 'answers', 'model', 'train', 'verifier', 'store', 'io', 'engines', 'loop', 'api', 'transport', 'cli',
] as const;

/**
 * The layer of a file under src/ (null outside src/). Leaf helpers at src/main's root sit with
 * the layer that owns them: events.ts and app/ are the API's wiring, index.ts is the Electron
 * entry (beside cli), worker-entry.ts starts worker threads and imports nothing of the app.
 */
export function layerOf(file: string): string | null {
  const rel = relative(ROOT, file).split('\\').join('/');
  if (rel.startsWith('src/shared/')) return 'shared';
  if (rel.startsWith('src/renderer/')) return 'renderer';
  if (rel.startsWith('src/preload/')) return 'preload';
  if (!rel.startsWith('src/main/')) return null;
  const inMain = rel.slice('src/main/'.length);
  if (inMain === 'worker-entry.ts') return 'platform';
  if (inMain === 'api.ts' || inMain === 'events.ts' || inMain.startsWith('app/')) return 'api';
  // index.ts and desktop/ are the Electron shell: the top, beside the CLI.
  if (inMain === 'index.ts' || inMain.startsWith('desktop/')) return 'cli';
  const top = inMain.split('/')[0]!;
  return (MAIN_LAYERS as readonly string[]).includes(top) ? top : `unknown:${top}`;
}

function rank(layer: string): number {
  if (layer === 'shared' || layer === 'platform') return -1;
  return (MAIN_LAYERS as readonly string[]).indexOf(layer);
}

const SOURCE = /\.(ts|tsx|mts|mjs)$/;

export function sourceFiles(dirs: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name.startsWith('.')) continue;
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (SOURCE.test(name) && !name.endsWith('.d.ts')) out.push(p);
    }
  };
  for (const d of dirs) walk(join(ROOT, d));
  return out.sort();
}

function resolveImport(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null; // packages and node: builtins
  const base = resolve(dirname(from), spec);
  const stem = base.replace(/\.(js|mjs)$/, '');
  for (const c of [base, `${stem}.ts`, `${stem}.tsx`, `${stem}.mts`, `${base}.ts`, `${base}.tsx`, `${base}.mjs`, join(base, 'index.ts'), join(base, 'index.tsx')]) {
    if (existsSync(c) && statSync(c).isFile()) return c;
  }
  return base; // unresolved: still judged by where it points
}

export interface ImportEdge {
  from: string;
  to: string;
  line: number;
}

/** Every relative import of a file (static, `import type`, re-exports and `import()`), resolved. */
export function importsOf(file: string, text = readFileSync(file, 'utf8')): ImportEdge[] {
  const info = ts.preProcessFile(text, true, true);
  return info.importedFiles.flatMap((f) => {
    const to = resolveImport(file, f.fileName);
    if (!to) return [];
    const line = text.slice(0, f.pos).split('\n').length;
    return [{ from: file, to, line }];
  });
}

const rel = (p: string) => relative(ROOT, p).split('\\').join('/');

/** Why an import breaks a rule, or null when it is allowed. */
export function violation(e: ImportEdge): string | null {
  const from = rel(e.from);
  const to = rel(e.to);
  const area = (p: string) => p.split('/')[0]!;
  const fromArea = area(from);
  const toArea = area(to);
  if (fromArea === 'src' && ['tests', 'bench', 'scripts', 'research'].includes(toArea)) return `the product imports ${toArea}/`;
  if ((fromArea === 'scripts' || fromArea === 'bench') && toArea === 'tests') return `${fromArea}/ imports tests/`;
  if (fromArea === 'bench' && (toArea === 'research' || to.startsWith('src/main/cli/'))) return `bench/ imports ${toArea === 'research' ? 'research/' : 'the CLI'}`;
  if (fromArea !== 'src' || toArea !== 'src') return null;
  const a = layerOf(e.from)!;
  const b = layerOf(e.to)!;
  if (a.startsWith('unknown:')) return `${from} is in no layer of DESIGN.md (${a.slice(8)}/)`;
  if (b.startsWith('unknown:')) return `${to} is in no layer of DESIGN.md (${b.slice(8)}/)`;
  if (a === 'renderer' || a === 'preload') return b === a || b === 'shared' ? null : `${a} imports ${b} (only src/shared)`;
  if (b === 'renderer' || b === 'preload') return `${a} imports ${b}`;
  if (a === 'shared') return b === 'shared' ? null : `shared imports ${b}`;
  if (a === 'platform') return b === 'platform' ? null : `worker-entry.ts imports ${b}`;
  // The verifier judges rollouts of any trainer, so it reads answers through answers/, never
  // through the embedded trainer's code.
  if (a === 'verifier' && b === 'train') return 'verifier imports train (answer reading belongs in answers/)';
  return rank(b) <= rank(a) ? null : `upward: ${a} imports ${b}`;
}

/** Import cycles among the given files (each as the list of files around it, first repeated at the end). */
export function cycles(edges: readonly ImportEdge[]): string[][] {
  const graph = new Map<string, string[]>();
  for (const e of edges) {
    if (!graph.has(e.from)) graph.set(e.from, []);
    graph.get(e.from)!.push(e.to);
  }
  // Tarjan's strongly connected components; each component of 2+ files (or a self-import) is a cycle.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const strong = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(comp.map(rel).sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) strong(v);
  return found;
}

export function describe(e: ImportEdge, why: string): string {
  return `${rel(e.from)}:${e.line} imports ${rel(e.to)}: ${why}`;
}
