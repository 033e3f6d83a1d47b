/**
 * Entry point: commander wiring. The only place that prints errors and calls process.exit;
 * everything below reports through a Reporter and throws typed errors.
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode } from '../errors';
import { exitCodeOf, renderError, toGobuildError } from './render';
import { registerBuildCommand } from './commands/build';
import { registerCacheCommand } from './commands/cache';
import { PACKAGE_ROOT } from '../app/inputs';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export function createProgram(): Command {
  const program = new Command('gobuild-cnb')
    .description('Build a Go app into a runnable container image, the way `pack build` does with the Paketo Go buildpack.')
    .version(packageVersion(), '--version', 'print the gobuild-cnb version')
    .showHelpAfterError('(run with --help for usage and examples)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
  program.addHelpText(
    'after',
    `
Examples:
  gobuild-cnb build ./app -t my-app                 build ./app into the Docker daemon as my-app
  gobuild-cnb build -t my-app --builder gobuild-cnb/test-builder:bookworm --pull-policy never
  gobuild-cnb cache ls                              list build caches

Exit codes: 0 ok, 1 other error, 2 usage, 3 no Docker engine, 4 image missing or pull failed,
20 detection failed, 21 detection error, 51 build failed, 62 export failed, 130 interrupted.
Docs: docs/cli.md`,
  );
  registerBuildCommand(program);
  registerCacheCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = createProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message (or the help / version).
      const ok = ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(err.code);
      process.exitCode = ok ? 0 : ExitCode.Usage;
      return;
    }
    const error = toGobuildError(err);
    process.stderr.write(renderError(error, process.env.GOBUILD_CNB_DEBUG === '1'));
    process.exitCode = exitCodeOf(error);
  }
}
