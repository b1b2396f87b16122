// `veripo serve`: web mode. The built renderer plus the API on loopback, guarded by a token.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { CliCommand } from './command';
import { CliError } from './command';
import { resolveDbPath, parseIntFlag, parseCliArgs, DB_FLAG } from './common';
import { createWebServer } from '../transport/http';
import { checkTokenStrength, TokenPolicyError } from '../transport/http-guard';
import { openAppWorkbench } from '../app/services';
import { packageRoot } from '../model/shipped';

export function rendererDir(): string | null {
  const root = packageRoot();
  const renderer = root && join(root, 'out', 'renderer');
  return renderer && existsSync(join(renderer, 'index.html')) ? renderer : null;
}

/**
 * A source checkout whose renderer was never built (install scripts skipped) builds it once
 * here, so `veripo serve` always serves the UI; an installed package ships it prebuilt.
 */
function buildRendererIfMissing(): string | null {
  const root = packageRoot();
  if (rendererDir() || !root || !existsSync(join(root, 'vite.web.config.ts'))) return rendererDir();
  process.stderr.write('building the web UI once (npm run build:web)…\n');
  const r = spawnSync('npm', ['run', 'build:web'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) process.stderr.write(`could not build the web UI (exit ${r.status ?? r.signal}); serving the API only\n`);
  return rendererDir();
}

export const command: CliCommand = {
  name: 'serve',
  summary: 'web mode: serve the workbench UI and API on 127.0.0.1 with an access token',
  usage: 'veripo serve [--host 127.0.0.1] [--port 0] [--db FILE] [--token TOKEN (≥ 32 chars)] [--workspace DIR]…',
  async run(argv) {
    const { values } = parseCliArgs(
      argv,
      {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '7860' },
        ...DB_FLAG,
        token: { type: 'string' },
        workspace: { type: 'string', multiple: true },
      },
      { usage: command.usage },
    );
    const token = values.token ?? process.env.VERIPO_TOKEN;
    try {
      if (token != null) checkTokenStrength(token, values.token != null ? '--token' : 'VERIPO_TOKEN');
    } catch (err) {
      if (err instanceof TokenPolicyError) throw new CliError(err.message, 2);
      throw err;
    }
    for (const w of values.workspace ?? []) if (!existsSync(w)) throw new CliError(`--workspace ${w}: no such folder`, 2);
    const dbPath = resolveDbPath(values.db);
    const staticDir = buildRendererIfMissing();
    const wb = await openAppWorkbench({ dbPath, mode: 'web', workspaces: values.workspace });
    const web = createWebServer({ api: wb.api, events: wb.events, token, staticDir });
    const { url, host } = await web.listen(parseIntFlag('port', values.port, 7860), values.host);
    if (!staticDir) process.stderr.write('note: the renderer is not built (npm run build:web); serving the API only\n');
    if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
      process.stderr.write(`warning: listening on ${host}: anyone who can reach this address and knows the token can use the workbench\n`);
    }
    process.stderr.write(`API calls may read rubric and checkpoint files in: ${wb.paths.roots().join(', ')}\n`);
    process.stdout.write(`VerIPO Workbench (web mode) on ${dbPath}\n${url}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await web.close();
    await wb.close();
    return 0;
  },
};
