/**
 * Every error a careless or hostile user can cause (issue #10 "Every error"): the CLI run as a
 * user would, against the real engine. Each case asserts the exit code, the message, its `hint:`
 * line, no stack trace, nothing left behind (containers, volumes, temp dirs) and no image written;
 * the cases that reached the shared cache volume also show the next normal build is still warm.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import { describeWithDocker } from '../helpers/docker';
import { testdir, type TestDir } from '../helpers/testdir';
import { CLI, docker, REPO_ROOT, removeImage, runCli, TEST_BUILDER, TEST_RUN_IMAGE, type CliResult } from '../helpers/cli';
import { expectNothingLeft, expectWarmBuild, listenOnLoopback, privateTmp } from '../helpers/hostile';

const VOLUME_PREFIX = 'gobuild-cnb-test-hostile-errors';
/** The one cache volume of this suite, warmed once with fixtures/hello. */
const WARM_VOLUME = `${VOLUME_PREFIX}-warm`;
const WARM_TAG = 'gobuild-cnb-test/hostile-errors-hello:it';
/** The name every failing build asks for: it must never appear. */
const FAIL_TAG = 'gobuild-cnb-test/hostile-errors-fail:it';
const HELLO = join(REPO_ROOT, 'fixtures', 'hello');
const PROXIED = join(REPO_ROOT, 'fixtures', 'proxied');
const COMPILE_ERROR = join(REPO_ROOT, 'fixtures', 'compile-error');

interface Expected {
  code: number;
  message: RegExp;
  hint: RegExp;
}

function imageExists(ref: string): boolean {
  try {
    execFileSync('docker', ['image', 'inspect', ref], { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

/** Runs the CLI in a private TMPDIR and checks what every failure must show and leave. */
/** As nobody: without any group (the socket refuses), or in the docker group (the socket answers). */
type Nobody = 'no groups' | 'docker group';

function setprivArgs(nobody: Nobody): string[] {
  const groups = nobody === 'no groups' ? ['--clear-groups'] : [`--groups=${execFileSync('getent', ['group', 'docker'], { encoding: 'utf8' }).split(':')[2]}`];
  return ['setpriv', '--reuid=65534', '--regid=65534', ...groups];
}

async function expectFailure(args: string[], expected: Expected, options: { env?: NodeJS.ProcessEnv; asNobody?: Nobody } = {}): Promise<CliResult> {
  const tmp = privateTmp();
  try {
    let result: CliResult;
    if (options.asNobody) {
      chmodSync(tmp.path, 0o777);
      result = await runAs([...setprivArgs(options.asNobody), CLI, ...args], { ...tmp.env, ...options.env });
    } else {
      result = await runCli(args, { env: { ...tmp.env, ...options.env } });
    }
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: expected.code, stderr: expect.stringMatching(expected.message) });
    expect(result.stderr).toMatch(new RegExp(`^hint: .*${expected.hint.source}`, 'm'));
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stderr).not.toMatch(/looks like a bug/);
    if (!args.includes('--json')) expect(result.stdout).toBe('');
    expectNothingLeft({ tmp, volumePrefix: VOLUME_PREFIX, allowedVolumes: [WARM_VOLUME] });
    expect(imageExists(FAIL_TAG)).toBe(false);
    return result;
  } finally {
    tmp.cleanup();
  }
}

/** A command other than the CLI itself (setpriv in front of it), bounded like runCli. */
function runAs(command: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(command[0], command.slice(1), { cwd: REPO_ROOT, env: { ...process.env, CI: 'true', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describeWithDocker('every error has the right exit code and a hint (hostile input)', () => {
  jest.setTimeout(600_000);
  let files: TestDir;
  let tlsServer: Server;
  let notFoundServer: Server;
  let tlsPort: number;
  let notFoundPort: number;
  /** A build of `app` into FAIL_TAG with the test builder and the warm cache. */
  const build = (app: string, ...extra: string[]): string[] => [
    'build', app, '-t', FAIL_TAG, '--builder', TEST_BUILDER, '--pull-policy', 'never', '--cache-volume', WARM_VOLUME, ...extra,
  ];

  beforeAll(async () => {
    files = testdir({
      'bad.env': '# settings\nGOFLAGS=-mod=mod\nA B=1\n',
      'not-a-buildpack/README.md': 'no buildpack.toml here\n',
      'a-file': 'not a directory\n',
    });
    // A module proxy whose certificate nobody trusts, and one that has no module at all.
    const certDir = join(files.path, 'tls');
    mkdirSync(certDir);
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem'),
    ], { stdio: 'ignore', timeout: 30_000 });
    tlsServer = createHttpsServer({ key: readFileSync(join(certDir, 'key.pem')), cert: readFileSync(join(certDir, 'cert.pem')) }, (_req, res) => res.writeHead(404).end());
    notFoundServer = createHttpServer((_req, res) => res.writeHead(404).end('not found'));
    [tlsPort, notFoundPort] = await Promise.all([listenOnLoopback(tlsServer), listenOnLoopback(notFoundServer)]);

    const warm = await runCli(['build', HELLO, '-t', WARM_TAG, '--builder', TEST_BUILDER, '--pull-policy', 'never', '--cache-volume', WARM_VOLUME]);
    expect({ code: warm.code, stderr: warm.code === 0 ? '' : warm.stderr }).toEqual({ code: 0, stderr: '' });
  });

  afterAll(async () => {
    await Promise.all([tlsServer, notFoundServer].map((s) => new Promise((resolve) => (s ? s.close(resolve) : resolve(undefined)))));
    files?.cleanup();
    removeImage(WARM_TAG);
    removeImage(FAIL_TAG);
    try {
      docker(['volume', 'rm', '-f', WARM_VOLUME]);
    } catch {
      // already gone
    }
  });

  describe('flags and environment, refused before any engine call', () => {
    it('--env-file reaches gobuild-cnb, not Node (a missing file is our usage error)', async () => {
      const result = await expectFailure(build(HELLO, '--env-file', 'missing.env'), {
        code: 2,
        message: /ERROR: --env-file missing\.env: no such file/,
        hint: /NAME=VALUE lines/,
      });
      expect(result.stderr).not.toMatch(/^node:/m);
    });

    it('a malformed --env-file line is named file:line', async () => {
      await expectFailure(build(HELLO, '--env-file', join(files.path, 'bad.env')), {
        code: 2,
        message: /bad\.env:3: "A B" is not a valid environment variable name/,
        hint: /NAME=VALUE/,
      });
    });

    it.each([
      ['-e =x', ['-e', '=x'], /"" is not a valid environment variable name/],
      ['-e "A B=1"', ['-e', 'A B=1'], /"A B" is not a valid environment variable name/],
    ])('an env name that cannot be one: %s', async (_name, flags, message) => {
      await expectFailure(build(HELLO, ...flags), { code: 2, message, hint: /NAME=VALUE/ });
    });

    it.each<[string, string[], RegExp, RegExp]>([
      ['--pull-policy', ['--pull-policy', 'sometimes'], /--pull-policy "sometimes" is not one of always, if-not-present, never/, /pull-policy never/],
      ['--network syntax', ['--network', 'my net'], /--network "my net" is not a network name/, /docker network ls/],
      ['--cache-volume syntax', ['--cache-volume', '-x'], /--cache-volume "-x" is not a valid Docker volume name/, /letters, digits/],
      ['--default-process syntax', ['--default-process', 'a/b'], /--default-process "a\/b" is not a valid process type/, /binary names/],
      ['--insecure-registry syntax', ['--insecure-registry', 'http://127.0.0.1:5000/v2'], /is not a registry host/, /host:port/],
      ['--builder syntax', ['--builder', 'Not An Image'], /--builder "Not An Image" is not an image name/, /lowercase/],
    ])('%s', async (_name, flags, message, hint) => {
      // The later flag wins in commander, so the bad value is the one checked.
      await expectFailure(build(HELLO, ...flags), { code: 2, message, hint });
    });

    it('a --buildpack dir without buildpack.toml', async () => {
      await expectFailure(build(HELLO, '--buildpack', join(files.path, 'not-a-buildpack')), {
        code: 2,
        message: /not-a-buildpack has no buildpack\.toml/,
        hint: /CNB buildpack directory/,
      });
    });

    it('an app dir that is a file', async () => {
      await expectFailure(build(join(files.path, 'a-file')), { code: 2, message: /a-file is not a directory/, hint: /go\.mod/ });
    });

    it('--platform linux/sparc fails at once, naming what Go can target', async () => {
      const started = Date.now();
      await expectFailure(build(HELLO, '--platform', 'linux/sparc'), {
        code: 2,
        message: /--platform linux\/sparc: Go cannot target linux\/sparc/,
        hint: /arm64/,
      });
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it('DOCKER_HOST that is not an address is a usage error, not a bug', async () => {
      await expectFailure(build(HELLO), { code: 2, message: /DOCKER_HOST="htp:\/x" is not an engine address/, hint: /unix:\/\/\/var\/run\/docker\.sock/ }, { env: { DOCKER_HOST: 'htp:/x' } });
    });

    it('an unknown flag is a usage error with a hint', async () => {
      await expectFailure(build(HELLO, '--no-such-flag'), { code: 2, message: /ERROR: unknown option '--no-such-flag'/, hint: /--help/ });
    });

    it('--json failures print one error object on stdout', async () => {
      const result = await expectFailure(build(HELLO, '--json', '--pull-policy', 'sometimes'), { code: 2, message: /--pull-policy "sometimes"/, hint: /pull-policy never/ });
      expect(JSON.parse(result.stdout)).toEqual({
        error: { code: 2, message: expect.stringMatching(/^--pull-policy "sometimes" is not one of/), hint: expect.stringMatching(/pull-policy never/), phase: null },
      });
    });
  });

  describe('the engine', () => {
    it('no engine at DOCKER_HOST: exit 3', async () => {
      await expectFailure(build(HELLO), { code: 3, message: /no Docker engine answers at unix:\/\/\/nonexistent\/docker\.sock/, hint: /DOCKER_HOST/ }, {
        env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' },
      });
    });

    (process.getuid?.() === 0 ? it : it.skip)('permission denied on the socket: exit 3, join the docker group (run as nobody)', async () => {
      await expectFailure(build(HELLO), { code: 3, message: /permission denied on the Docker socket/, hint: /usermod -aG docker/ }, { asNobody: 'no groups' });
    });

    (process.getuid?.() === 0 ? it : it.skip)('a file in the app dir the user cannot read is named, never "no Docker engine"', async () => {
      const app = testdir({ 'go.mod': 'module example.com/hello\n\ngo 1.22\n', 'main.go': readFileSync(join(HELLO, 'main.go'), 'utf8'), 'private.key': { content: 'not yours\n', mode: 0 } });
      try {
        chmodSync(app.path, 0o755);
        const result = await expectFailure(build(app.path), { code: 2, message: /private\.key/, hint: /readable|chmod|exclude/ }, { asNobody: 'docker group' });
        expect(result.stderr).not.toMatch(/no Docker engine/);
      } finally {
        app.cleanup();
      }
    });

    it('a missing --network is refused in prepare, listing the networks (and --json says the phase)', async () => {
      const result = await expectFailure(build(HELLO, '--network', `${VOLUME_PREFIX}-no-such-net`, '--json'), {
        code: 2,
        message: /--network gobuild-cnb-test-hostile-errors-no-such-net: the Docker engine has no such network/,
        hint: /Networks it has: .*bridge/,
      });
      expect(JSON.parse(result.stdout).error).toMatchObject({ code: 2, phase: 'prepare' });
    });

    it('a builder image that is not there with --pull-policy never: exit 4', async () => {
      await expectFailure(build(HELLO, '--builder', 'gobuild-cnb-test/hostile-errors-no-such-builder:it'), {
        code: 4,
        message: /the builder gobuild-cnb-test\/hostile-errors-no-such-builder:it is not in the Docker daemon/,
        hint: /docker pull/,
      });
    });

    it('a builder without Go is refused in prepare, naming one with Go; the cache stays warm', async () => {
      await expectFailure(build(HELLO, '--builder', TEST_RUN_IMAGE), {
        code: 2,
        message: /the builder gobuild-cnb\/test-run:bookworm has no Go toolchain/,
        hint: /--builder golang:/,
      });
      await expectWarmBuild(HELLO, WARM_TAG, WARM_VOLUME);
    });
  });

  describe('a failed go build gets the hint for its cause', () => {
    it('a compile error: exit 51, the compiler hint, phase build in --json', async () => {
      const result = await expectFailure(build(COMPILE_ERROR, '--json'), { code: 51, message: /the Go code did not compile/, hint: /file:line/ });
      expect(JSON.parse(result.stdout).error).toMatchObject({ code: 51, phase: 'build' });
    });

    it('TLS: a module proxy with a self-signed certificate: exit 54, not a compiler hint', async () => {
      const result = await expectFailure(build(PROXIED, '-e', `GOPROXY=https://127.0.0.1:${tlsPort}`, '--network', 'host'), {
        code: 54,
        message: /TLS certificate is not trusted/,
        hint: /--ca-certs/,
      });
      expect(result.stderr).toMatch(/x509/);
    });

    it('DNS: a proxy host that does not exist: exit 52', async () => {
      await expectFailure(build(PROXIED, '-e', 'GOPROXY=https://nonexistent.invalid'), { code: 52, message: /the network, DNS or proxy did not answer/, hint: /GOPROXY/ });
    });

    it("connection refused: a closed port on the build container's own loopback: exit 52", async () => {
      await expectFailure(build(PROXIED, '-e', 'GOPROXY=http://127.0.0.1:9'), { code: 52, message: /the network, DNS or proxy did not answer/, hint: /--network/ });
    });

    it('a missing module (the proxy answers 404): exit 52', async () => {
      await expectFailure(build(PROXIED, '-e', `GOPROXY=http://127.0.0.1:${notFoundPort}`, '--network', 'host'), {
        code: 52,
        message: /a module or version does not exist/,
        hint: /go\.mod/,
      });
    });

    it('after all the failed builds the shared cache is still warm', async () => {
      await expectWarmBuild(HELLO, WARM_TAG, WARM_VOLUME);
    });
  });

  describe('output to a closed pipe', () => {
    it('--help into a reader that closed ends quietly with exit 0', async () => {
      const child = spawn(CLI, ['build', '--help'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      // The reader is gone before the CLI writes a byte: every write meets EPIPE.
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      clearTimeout(timer);
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    });

    it('a failure whose stderr reader closed still exits with its code', async () => {
      const tmp = privateTmp();
      try {
        const child = spawn(CLI, build(HELLO, '--pull-policy', 'sometimes'), { cwd: REPO_ROOT, env: { ...process.env, ...tmp.env }, stdio: ['ignore', 'pipe', 'pipe'] });
        child.stderr.destroy();
        child.stdout.destroy();
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
        clearTimeout(timer);
        expect(code).toBe(2);
        expectNothingLeft({ tmp, volumePrefix: VOLUME_PREFIX, allowedVolumes: [WARM_VOLUME] });
      } finally {
        tmp.cleanup();
      }
    });
  });
});
