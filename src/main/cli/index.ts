// The `veripo` command: one entry for headless use, web mode and tests.
import type { CliCommand } from './command';
import { CliError } from './command';
import { command as serve } from './serve';
import { command as runs } from './runs';
import { command as run } from './run';
import { command as tasks } from './tasks';
import { command as importCmd } from './import';
import { command as verify } from './verify';
import { command as exportCmd } from './export';
import { command as bench } from './bench';
import { command as sft } from './sft';
import { command as grpo } from './grpo';
import { command as dpo } from './dpo';
import { command as experiment } from './experiment';

const COMMANDS: CliCommand[] = [run, experiment, runs, verify, importCmd, exportCmd, tasks, sft, grpo, dpo, bench, serve];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'veripo — VerIPO Workbench from the command line',
    '',
    'usage: veripo <command> [options]',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Commands that use the database (run, runs, experiment, dpo, import, export, verify, serve) take',
    '--db FILE (default $VERIPO_HOME/veripo.db, VERIPO_HOME defaulting to ~/.veripo).',
    'veripo <command> --help shows its options.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help() + '\n');
    return 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write('0.1.0\n');
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    process.stderr.write(`veripo: unknown command "${name}"\n\n${help()}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${cmd.summary}\n\nusage: ${cmd.usage}\n`);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`veripo ${name}: ${err.message}\n`);
      return err.exitCode;
    }
    const code = (err as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`veripo ${name}: ${(err as Error).message}\nusage: ${cmd.usage}\n`);
      return 2;
    }
    process.stderr.write(`veripo ${name}: ${(err as Error).message ?? String(err)}\n`);
    if (process.env.VERIPO_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    return 1;
  }
}

// Run when executed as the CLI (bundle or tsx), not when imported by tests.
const entry = process.argv[1] ?? '';
if (/veripo(\.js|\.mjs)?$|cli[\\/]index\.ts$/.test(entry)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`${err?.stack ?? err}\n`);
      process.exitCode = 1;
    },
  );
}
