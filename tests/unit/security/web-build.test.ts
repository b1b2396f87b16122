// `veripo serve` from a fresh clone serves the UI: the renderer build has its own config that
// `npm run build:web` uses, `prepare` (run by npm install / npm ci) runs it, and serve reads
// the folder it writes.
import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import webConfig from '../../../vite.web.config';
import { rendererDir } from '../../../src/main/cli/serve';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const scripts = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;

describe('web UI build', () => {
  it('build:web names a config that exists, and prepare runs it', () => {
    const config = /--config (\S+)/.exec(scripts['build:web'] ?? '')?.[1];
    expect(config).toBeDefined();
    expect(existsSync(join(ROOT, config!))).toBe(true);
    expect(scripts.prepare).toMatch(/npm run build:web/);
  });

  it('writes the folder `veripo serve` serves, with relative asset URLs for app:// and http', () => {
    expect(webConfig.build?.outDir).toBe(join(ROOT, 'out', 'renderer'));
    expect(webConfig.base).toBe('./');
    const dir = rendererDir();
    if (dir) expect(dir).toBe(join(ROOT, 'out', 'renderer'));
  });

  it('electron-vite builds the renderer from the same config', () => {
    expect(readFileSync(join(ROOT, 'electron.vite.config.ts'), 'utf8')).toMatch(/import renderer from '\.\/vite\.web\.config';[\s\S]*renderer,/);
  });
});
