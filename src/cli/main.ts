/**
 * Entry point: commander wiring. The only place that prints errors and calls process.exit;
 * everything below reports through a Reporter and throws typed errors.
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, UsageError, type GobuildError } from '../errors';
import { exitCodeOf, renderError, renderJsonError, toGobuildError } from './render';
import { resolveEngineEndpoint } from '../docker/endpoint';
import { selectEngine } from '../docker/dockerode-client';
import { registerBuildCommand } from './commands/build';
import { registerCacheCommand } from './commands/cache';
import { PACKAGE_ROOT } from '../build/prepare/inputs';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** `error: unknown option '--nope'\n` -> `unknown option '--nope'`. */
function commanderMessage(text: string): string {
  return text.replace(/^error: /, '').trimEnd();
}

export function createProgram(): Command {
  const program = new Command('gobuild-cnb')
    .description('Build a Go app into a runnable container image, the way `pack build` does with the Paketo Go buildpack.')
    .version(packageVersion(), '--version', 'print the gobuild-cnb version')
    .option('--context <name>', 'docker context to use (default: DOCKER_HOST, else DOCKER_CONTEXT, else the current context of the docker config)')
    .exitOverride()
    // --context is a global option: every command's --help shows it.
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      writeOut: (s) => process.stdout.write(s),
      // commander's own errors (unknown flag, missing value) look like ours: ERROR: and a hint.
      outputError: (s, write) => write(renderError(new UsageError(commanderMessage(s)))),
    });
  program.addHelpText(
    'after',
    `
Examples:
  gobuild-cnb build ./app -t my-app                 build ./app into the Docker daemon as my-app
  gobuild-cnb build -t my-app --builder gobuild-cnb/test-builder:bookworm --pull-policy never
  gobuild-cnb cache ls                              list build caches
  gobuild-cnb --context build-host build ./app -t my-app    build on the engine of a docker context
  DOCKER_HOST=ssh://me@build-host gobuild-cnb build ./app -t my-app   build on a remote engine over ssh

Exit codes: 0 ok, 1 other error, 2 usage, 3 no Docker engine, 4 image missing or pull failed,
5 cache volume busy, 20 detection failed, 21 detection error, 51 build failed, 52 fetching
modules failed, 53 out of disk or memory, 54 a server's TLS certificate not trusted, 62 export failed,
130 interrupted.
Docs: docs/cli.md`,
  );
  // Before any command talks to an engine: the engine is chosen once, as the docker CLI does,
  // and a malformed address or an unknown context is a usage error, not a bug.
  program.hook('preAction', () => {
    const { context } = program.opts<{ context?: string }>();
    selectEngine(resolveEngineEndpoint({ context }, process.env));
  });
  registerBuildCommand(program);
  registerCacheCommand(program);
  return program;
}

/** --json among the arguments (before a `--`): errors are then also one JSON object on stdout. */
export function wantsJson(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).includes('--json');
}

/**
 * A reader that closes early (`gobuild-cnb --help | head -1`) is not an error of ours: further
 * output to that stream is dropped instead of ending in an EPIPE stack trace.
 */
export function endQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') return;
    throw err;
  });
}

function report(error: GobuildError, json: boolean): void {
  process.stderr.write(renderError(error, process.env.GOBUILD_CNB_DEBUG === '1'));
  if (json) process.stdout.write(renderJsonError(error));
  process.exitCode = exitCodeOf(error);
}

export async function main(argv: string[]): Promise<void> {
  endQuietlyOnClosedPipe(process.stdout);
  endQuietlyOnClosedPipe(process.stderr);
  const json = wantsJson(argv.slice(2));
  // Last resort: a stray error ends with our ERROR:/hint: lines, not Node's stack dump.
  const crash = (err: unknown): void => {
    report(toGobuildError(err), json);
    process.exit();
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  const program = createProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message (or the help / version).
      const ok = ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(err.code);
      process.exitCode = ok ? 0 : ExitCode.Usage;
      if (!ok && json) process.stdout.write(renderJsonError(new UsageError(commanderMessage(err.message))));
      return;
    }
    report(toGobuildError(err), json);
  }
}

// Run by the launcher (bin/gobuild-cnb runs `node -- dist/cli/main.js ARGS`).
if (require.main === module) void main(process.argv);
