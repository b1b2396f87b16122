// `veripo serve`: web mode. The built renderer plus the API on loopback, guarded by a token.
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliCommand } from './command';
import { resolveDbPath, parseIntFlag } from './common';
import { createWebServer } from '../transport/http';
import { openAppWorkbench } from '../app/services';

export function rendererDir(): string | null {
  // The CLI runs from out/cli (bundle) or src/main/cli (tsx): find the package root above it.
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
  const renderer = join(dir, 'out', 'renderer');
  return existsSync(join(renderer, 'index.html')) ? renderer : null;
}

export const command: CliCommand = {
  name: 'serve',
  summary: 'web mode: serve the workbench UI and API on 127.0.0.1 with an access token',
  usage: 'veripo serve [--host 127.0.0.1] [--port 0] [--db FILE] [--token TOKEN]',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '7860' },
        db: { type: 'string' },
        token: { type: 'string' },
      },
      strict: true,
    });
    const dbPath = resolveDbPath(values.db);
    const wb = await openAppWorkbench({ dbPath, mode: 'web' });
    const staticDir = rendererDir();
    const web = createWebServer({ api: wb.api, events: wb.events, token: values.token ?? process.env.VERIPO_TOKEN, staticDir });
    const { url, host } = await web.listen(parseIntFlag('port', values.port, 7860), values.host);
    if (!staticDir) process.stderr.write('note: the renderer is not built (npm run build); serving the API only\n');
    if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
      process.stderr.write(`warning: listening on ${host}: anyone who can reach this address and knows the token can use the workbench\n`);
    }
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
