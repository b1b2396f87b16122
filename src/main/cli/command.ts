// One subcommand of `veripo`. Each lives in its own file under src/main/cli and is
// registered in index.ts; `run` gets the arguments after the subcommand name and
// returns the process exit code.
export interface CliCommand {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

/** A user-facing error: printed without a stack trace, exit code 1 (2 for usage). */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}
