/** `gobuild-cnb build`: flags -> BuildOptions -> runBuild -> result on stdout. */
import type { Command } from 'commander';
import { resolveBuildOptions, type BuildFlags } from '../../build/options';
import { runBuild, type BuildResult } from '../../build/build';
import { BUNDLED_BUILDPACK_DIR } from '../../build/prepare/inputs';
import { DockerodeClient, selectedEngine } from '../../docker/dockerode-client';
import { describeEndpoint } from '../../docker/endpoint';
import { ConsoleReporter, type Reporter } from '../../ui/reporter';
import { RedactingReporter, redactError, Redactor } from '../../ui/redact';
import { formatBytes, formatMs } from '../../ui/format';
import { STDOUT_PATH } from '../../image/output-path';
import { bindingSecrets } from '../../build/prepare/bindings';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerBuildCommand(program: Command): void {
  program
    .command('build')
    .description('Detect and build a Go app with the Go buildpack in a builder container, then export a runnable image.')
    .argument('[app-dir]', 'directory of the Go app (holds go.mod)', '.')
    .requiredOption('-t, --tag <image>', 'name of the image to make, e.g. my-app or my-app:1.0')
    .option('--builder <image>', 'builder image (default: $GOBUILD_CNB_BUILDER, else golang:1-bookworm)')
    .option('--run-image <image>', "run image (default: the builder's run image; `static` for a plain builder; `scratch` for empty)")
    .option('-e, --env <NAME=VALUE>', 'build-time env for the buildpack, repeatable; `--env NAME` copies your value', collect)
    .option('--env-file <file>', 'file of NAME=VALUE lines, repeatable', collect)
    .option('--pull-policy <policy>', 'always | if-not-present | never (default: if-not-present)')
    .option('--network <mode>', 'network of the build container, e.g. none for a hermetic build (default: the engine default)')
    .option('--default-process <type>', 'process the image starts by default (a binary name)')
    .option('--buildpack <dir>', 'buildpack directory (default: the bundled Go buildpack)')
    .option('--cache-volume <name>', 'Docker volume that keeps the Go caches between builds (default: one per image)')
    .option('--clear-cache', 'start with an empty build cache')
    .option('--output <target>', 'docker (default) | registry | oci:<dir> | oci-archive:<file.tar> | oci-archive:- (stdout)')
    .option('--publish', 'push the image to the registry of the -t name (same as --output registry)')
    .option('--insecure-registry <host>', 'allow plain HTTP to this registry host, repeatable', collect)
    .option('--platform <list>', 'os/arch list to cross-compile for, e.g. linux/amd64,linux/arm64')
    .option('--ca-certs <file>', 'PEM file of CA certificates the build trusts too (besides the host\'s), repeatable', collect)
    .option('--no-host-ca-certs', "do not give the build the CA certificates this host trusts (see docs/networks.md)")
    .option('--netrc <file>', 'netrc file with credentials for private modules (a binding of type netrc, for the build only), repeatable', collect)
    .option('--volume <dir:/platform/bindings/name>', "service binding folder (a `type` file and secret files), pack's syntax, repeatable", collect)
    .option('--keep-container', 'keep the build container for debugging and print how to get a shell in it')
    .option('--verbose', 'show every step and command')
    .option('--json', 'print one JSON result object on stdout')
    .option('--no-color', 'plain lines on stderr: no colors, no spinner (also when NO_COLOR is set)')
    .addHelpText(
      'after',
      `
Examples:
  gobuild-cnb build ./app -t my-app
  gobuild-cnb build . -t my-app --env BP_GO_BUILD_LDFLAGS="-X main.version=1.2.3"
  gobuild-cnb build . -t my-app --env GOPRIVATE --env-file build.env
  gobuild-cnb build . -t my-app --builder gobuild-cnb/test-builder:bookworm --pull-policy never
  gobuild-cnb build . -t my-app --run-image static --network none
  gobuild-cnb build . -t my-app --buildpack ./my-go-buildpack --run-image scratch
  gobuild-cnb build . -t my-app --default-process worker --keep-container --verbose
  gobuild-cnb build . -t my-app --cache-volume my-cache --clear-cache
  gobuild-cnb build . -t my-app --output oci:./out --platform linux/amd64,linux/arm64
  gobuild-cnb build . -t my-app --output oci-archive:./my-app.tar
  gobuild-cnb build . -t my-app --output oci-archive:- > my-app.tar
  gobuild-cnb build . -t 127.0.0.1:5000/my-app --publish --insecure-registry 127.0.0.1:5000
  gobuild-cnb build . -t my-app --ca-certs corp-root.pem
  gobuild-cnb build . -t my-app --no-host-ca-certs --ca-certs corp-root.pem
  gobuild-cnb build . -t my-app --json | jq -r .id
  gobuild-cnb build . -t my-app --no-color 2> build.log
  gobuild-cnb build . -t my-app --context build-host      on the engine of a docker context (docs/engines.md)
  gobuild-cnb build . -t my-app --netrc ~/.netrc -e GONOSUMDB=git.corp.example/*
  gobuild-cnb build . -t my-app --volume ./bindings/git:/platform/bindings/git -e GOPRIVATE=git.corp.example/*

stdout holds only the result ("<image> <id>"; "<repository>@<digest>" with --publish; or the JSON
object with --json); the story goes to stderr. With --output oci-archive:- stdout holds the
archive and the result goes to stderr.`,
    )
    .action(async (appDir: string, flags: BuildFlags) => {
      const options = resolveBuildOptions(appDir, flags, {
        cwd: process.cwd(),
        env: process.env,
        bundledBuildpackDir: BUNDLED_BUILDPACK_DIR,
      });
      // Secret values of the build env and the bindings never reach the terminal, the JSON or an error message.
      const redactor = Redactor.forBuildEnv(options.env, bindingSecrets(options.bindings));
      const reporter = new RedactingReporter(new ConsoleReporter({ verbose: options.verbose, color: flags.color }), redactor);
      const engine = selectedEngine();
      reporter.detail(`engine: ${describeEndpoint(engine)}`);
      let result: BuildResult & { engine: { address: string; source: string; context?: string } };
      try {
        const built = await runBuild(options, { docker: new DockerodeClient(), reporter });
        result = redactor.redactDeep({ ...built, engine: { address: engine.address, source: engine.source, context: engine.context } });
      } catch (err) {
        throw redactError(err, redactor);
      }
      printSummary(result, reporter);
      // With --output oci-archive:- stdout carried the archive: the result line goes to stderr.
      const archiveOnStdout = options.output.kind === 'oci-archive' && options.output.path === STDOUT_PATH;
      const resultStream = archiveOnStdout ? process.stderr : process.stdout;
      resultStream.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : `${resultLine(result, options.output.kind)}\n`);
    });
}

/** stdout: what a script needs. A pushed image is named by its digest, so it can be pulled as printed. */
export function resultLine(result: Pick<BuildResult, 'image' | 'id' | 'digest'>, output: string): string {
  if (output === 'registry' && result.digest) return `${result.image.replace(/:[^/:]+$/, '')}@${result.digest}`;
  return `${result.image} ${result.id}`;
}

function printSummary(result: BuildResult, reporter: Reporter): void {
  reporter.info('');
  reporter.info(`Image:     ${result.image}`);
  reporter.info(`ID:        ${result.id}`);
  if (result.digest) reporter.info(`Digest:    ${result.digest}`);
  if (result.size !== undefined) reporter.info(`Size:      ${formatBytes(result.size)}`);
  reporter.info(`Processes: ${result.processes.map((p) => (p.type === result.defaultProcess ? `${p.type} (default)` : p.type)).join(', ')}`);
  reporter.info(`Timings:   ${Object.entries(result.timings).map(([phase, ms]) => `${phase} ${formatMs(ms)}`).join(', ')}`);
}
