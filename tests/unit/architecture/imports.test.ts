import { readFileSync } from 'node:fs';
import { describe as group, expect, it } from 'vitest';
import { cycles, describe, importsOf, layerOf, ROOT, sourceFiles, violation, type ImportEdge } from './imports';

const FILES = sourceFiles(['src', 'bench', 'scripts', 'research']);
const EDGES: ImportEdge[] = FILES.flatMap((f) => importsOf(f));

group('imports point down (DESIGN.md, "Layers")', () => {
  it('reads the whole tree', () => {
    expect(FILES.some((f) => f.endsWith('src/main/cli/index.ts'))).toBe(true);
    expect(EDGES.length).toBeGreaterThan(500);
  });

  it('no file imports a layer above its own, and renderer/preload reach only src/shared', () => {
    const bad = EDGES.flatMap((e) => {
      const why = violation(e);
      return why ? [describe(e, why)] : [];
    });
    expect(bad).toEqual([]);
  });

  it('no import cycles in src/', () => {
    expect(cycles(EDGES.filter((e) => layerOf(e.from) !== null && layerOf(e.to) !== null))).toEqual([]);
  });

  // The rules themselves, on made-up edges, so a rule that stopped firing would show here.
  it('catches an upward import, loop → api, renderer → main, scripts → tests, bench → cli and a cycle', () => {
    const f = (p: string) => `${ROOT}/${p}`;
    const edge = (from: string, to: string): ImportEdge => ({ from: f(from), to: f(to), line: 1 });
    expect(violation(edge('src/main/model/policy.ts', 'src/main/train/grpo.ts'))).toBe('upward: model imports train');
    expect(violation(edge('src/main/verifier/checks.ts', 'src/main/train/rewards.ts'))).toBe('verifier imports train (answer reading belongs in answers/)');
    expect(violation(edge('src/main/verifier/checks.ts', 'src/main/answers/read.ts'))).toBeNull();
    expect(violation(edge('src/main/loop/veripo.ts', 'src/main/api.ts'))).toBe('upward: loop imports api');
    expect(violation(edge('src/renderer/src/App.tsx', 'src/main/store/index.ts'))).toMatch(/only src\/shared/);
    expect(violation(edge('scripts/seed-demo.ts', 'tests/e2e/seed.ts'))).toBe('scripts/ imports tests/');
    expect(violation(edge('bench/model.ts', 'src/main/cli/bench.ts'))).toBe('bench/ imports the CLI');
    expect(violation(edge('src/main/shared-nothing.ts', 'src/main/video/index.ts'))).toMatch(/no layer/);
    expect(violation(edge('src/main/train/grpo.ts', 'src/main/model/policy.ts'))).toBeNull();
    expect(violation(edge('research/scripts/x.ts', 'src/main/cli/grpo.ts'))).toBeNull();
    expect(cycles([edge('src/main/train/sft.ts', 'src/main/train/data-parallel.ts'), edge('src/main/train/data-parallel.ts', 'src/main/train/sft.ts')])).toEqual([
      ['src/main/train/data-parallel.ts', 'src/main/train/sft.ts'],
    ]);
  });
});

group('files of one idea', () => {
  it('no source file in src/ is over 450 lines', () => {
    const long = sourceFiles(['src'])
      .map((f) => ({ file: f.slice(ROOT.length + 1), lines: readFileSync(f, 'utf8').split('\n').length - 1 }))
      .filter((f) => f.lines > 450);
    expect(long).toEqual([]);
  });
});
