/**
 * Private modules with credentials that never leak (issue #11 part 2). A real Go module proxy on
 * 127.0.0.1: HTTPS with a certificate a CA made here signed, and basic auth; the real `go` in the
 * test builder is its client (the container shares the host's network: --network host). Without
 * credentials the build fails with the auth hint; with --netrc or a service binding (--volume) it
 * builds; then the password is looked for in every artefact: the image (docker save, history,
 * inspect), the CLI's stdout and stderr (--verbose, --json) and every file of the cache volume.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { describeWithDocker } from '../helpers/docker';
import { testdir, type TestDir } from '../helpers/testdir';
import { docker, REPO_ROOT, removeImage, runCli, TEST_BUILDER, type CliResult } from '../helpers/cli';
import { expectNothingLeft, expectSecretNowhere, expectWarmBuild, listenOnLoopback, privateTmp, type PrivateTmp } from '../helpers/hostile';
import { makeTestCa, serveGoModule } from '../helpers/module-proxy';

const SCOPE = 'gobuild-cnb-test-hostile-bindings';
const VOLUME = `${SCOPE}-cache`;
const TAG = 'gobuild-cnb-test/hostile-bindings-app:it';
const APP = join(REPO_ROOT, 'fixtures', 'proxied');
const USER = 'gopher';
// Random per run: a fixed string could be in an image or the volume for another reason.
const PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
const GIT_TOKEN = `tok-${randomBytes(12).toString('hex')}`;

/** The password in none of the places it could leak to: image, output, cache volume. */
function expectPasswordNowhere(secret: string, run: CliResult): void {
  expectSecretNowhere(secret, { image: TAG, run });
  const inVolume = docker(['run', '--rm', '--entrypoint', '/bin/sh', '-v', `${VOLUME}:/cache`, TEST_BUILDER, '-c', `grep -rlF '${secret}' /cache || true`]);
  expect(inVolume).toBe('');
}

describeWithDocker('private modules: credentials from --netrc and bindings, which never leak', () => {
  jest.setTimeout(600_000);
  let work: TestDir;
  let tmp: PrivateTmp;
  let caFile: string;
  let server: https.Server;
  let port: number;
  /** Requests the proxy answered, by whether they carried the right credentials. */
  const seen = { authorized: 0, refused: 0 };

  const build = (extra: string[], options: { app?: string; env?: NodeJS.ProcessEnv } = {}) =>
    runCli(
      ['build', options.app ?? APP, '-t', TAG, '--builder', TEST_BUILDER, '--pull-policy', 'never', '--network', 'host', '--cache-volume', VOLUME,
        '--no-host-ca-certs', '--ca-certs', caFile, '-e', `GOPROXY=https://127.0.0.1:${port}`, '-e', 'GONOSUMDB=example.com', '-e', 'GOFLAGS=-mod=mod', ...extra],
      { env: { ...tmp.env, HTTP_PROXY: '', HTTPS_PROXY: '', http_proxy: '', https_proxy: '', ...options.env } },
    );
  const netrcFile = (name: string, machine: string): string => {
    const file = join(work.path, name);
    writeFileSync(file, `machine ${machine}\n  login ${USER}\n  password ${PASSWORD}\n`, { mode: 0o600 });
    return file;
  };
  const expectAuthFailure = (result: CliResult): void => {
    expect(result.stderr).toContain(`ERROR: fetching Go modules failed: 127.0.0.1:${port} asked for credentials`);
    expect(result.stderr).toMatch(/hint: Give the build credentials: --netrc <file>.*--volume <dir>:\/platform\/bindings\/<name>/);
    expect(result.code).toBe(52);
  };

  beforeAll(async () => {
    work = testdir({});
    tmp = privateTmp();
    const ca = makeTestCa(work.path, 'gobuild-cnb bindings test CA');
    caFile = ca.caFile;
    const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
    server = https.createServer({ key: ca.serverKey, cert: ca.serverCert }, (req, res) => {
      if (req.headers.authorization !== expected) {
        seen.refused++;
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="private modules"' }).end('unauthorized\n');
        return;
      }
      seen.authorized++;
      serveGoModule(req.url ?? '/', res);
    });
    port = await listenOnLoopback(server);
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    removeImage(TAG);
    try {
      docker(['volume', 'rm', '-f', VOLUME]);
    } catch {
      // already gone
    }
    work.cleanup();
    tmp.cleanup();
  });
  afterEach(() => {
    expectNothingLeft({ tmp, volumePrefix: SCOPE, allowedVolumes: [VOLUME] });
  });

  it('without credentials: exit 52, naming the host that asked, with the --netrc / binding hint', async () => {
    seen.refused = 0;
    const result = await build(['--clear-cache']);
    expectAuthFailure(result);
    expect(seen.refused).toBeGreaterThan(0);
  });

  it('a netrc machine without the port does not match: go compares host:port when the URL has a port', async () => {
    const result = await build(['--netrc', netrcFile('no-port.netrc', '127.0.0.1')]);
    expectAuthFailure(result);
    expectSecretNowhere(PASSWORD, { run: result });
  });

  it('with --netrc (machine 127.0.0.1:<port>): builds, the binary runs, the password is nowhere (--verbose, --json)', async () => {
    seen.authorized = 0;
    const result = await build(['--netrc', netrcFile('good.netrc', `127.0.0.1:${port}`), '--verbose', '--json']);
    expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(seen.authorized).toBeGreaterThan(0);
    expect(result.stderr).toContain('Binding(s) netrc (netrc): NETRC for go');
    expect(result.stderr).toMatch(/binding netrc \(type netrc, from --netrc \S*good\.netrc\): type, \.netrc/);
    expect(JSON.parse(result.stdout)).toMatchObject({ image: TAG });
    expect(docker(['run', '--rm', TAG])).toBe('quote v1.0.0 from the file proxy');
    expectPasswordNowhere(PASSWORD, result);
  });

  it('with --volume bindings (netrc and git-credentials) in pack syntax: builds from a cleared cache; nothing leaks', async () => {
    const root = join(work.path, 'bindings');
    mkdirSync(join(root, 'corp-proxy'), { recursive: true });
    writeFileSync(join(root, 'corp-proxy', 'type'), 'netrc\n');
    cpSync(netrcFile('for-binding.netrc', `127.0.0.1:${port}`), join(root, 'corp-proxy', '.netrc'));
    mkdirSync(join(root, 'git'));
    writeFileSync(join(root, 'git', 'type'), 'git-credentials\n');
    writeFileSync(join(root, 'git', 'credentials'), `username=${USER}\npassword=${GIT_TOKEN}\n`);
    seen.authorized = 0;
    const result = await build(['--clear-cache', '--volume', `${root}:/platform/bindings:ro`, '--verbose']);
    expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(seen.authorized).toBeGreaterThan(0);
    expect(result.stderr).toContain('Binding(s) corp-proxy (netrc): NETRC for go');
    expect(result.stderr).toContain('Binding git (git-credentials): git credential helper for this build');
    expect(docker(['run', '--rm', TAG])).toBe('quote v1.0.0 from the file proxy');
    expectPasswordNowhere(PASSWORD, result);
    expectPasswordNowhere(GIT_TOKEN, result);
  });

  it('a normal build right after finds the cache warm (the modules stay cached, the credentials do not)', async () => {
    await expectWarmBuild(APP, TAG, VOLUME, tmp.env);
  });

  it('a buildpack that prints a binding sees its secret masked in the output', async () => {
    // An instrumented copy of the buildpack: it echoes the netrc file before building.
    const buildpack = join(work.path, 'echo-buildpack');
    cpSync(join(REPO_ROOT, 'buildpack'), buildpack, { recursive: true });
    const script = join(buildpack, 'bin', 'build');
    const original = readFileSync(script, 'utf8');
    writeFileSync(script, original.replace('\nset -eu\n', '\nset -eu\ncat "$CNB_PLATFORM_DIR/bindings/netrc/.netrc"\n'));
    chmodSync(script, 0o755);
    const result = await build(['--netrc', netrcFile('echo.netrc', `127.0.0.1:${port}`), '--buildpack', buildpack]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`password [redacted:binding netrc]`);
    expectPasswordNowhere(PASSWORD, result);
  });

  it('--keep-container keeps the container without the bindings in it', async () => {
    const result = await build(['--netrc', netrcFile('kept.netrc', `127.0.0.1:${port}`), '--keep-container']);
    const kept = /docker exec -it (\w+) sh/.exec(result.stderr)?.[1];
    try {
      expect(result.code).toBe(0);
      expect(kept).toBeDefined();
      expect(docker(['exec', kept!, 'sh', '-c', 'ls -A /platform/bindings; grep -rlF "$0" /platform /tmp /workspace /layers 2>/dev/null || true', PASSWORD])).toBe('');
    } finally {
      if (kept) docker(['rm', '-f', kept]);
    }
  });

  it.each([
    ['a target outside /platform/bindings', (dir: string) => [`${dir}:/bindings/x`], /only bindings can be given, under \/platform\/bindings/],
    ['a binding without a type file', (dir: string) => [`${dir}:/platform/bindings/x`], /has no `type` file/],
    ['a symbolic link out of the binding', (dir: string) => {
      writeFileSync(join(dir, 'type'), 'netrc');
      writeFileSync(join(work.path, 'outside.netrc'), `machine 127.0.0.1 login ${USER} password ${PASSWORD}\n`);
      symlinkSync(join(work.path, 'outside.netrc'), join(dir, '.netrc'));
      return [`${dir}:/platform/bindings/x`];
    }, /\.netrc is a symbolic link to .*outside\.netrc, outside the binding folder/],
  ])('refuses %s before the build: exit 2 with a hint, nothing left', async (_what, volumes, message) => {
    const dir = join(work.path, `refused-${randomBytes(4).toString('hex')}`);
    mkdirSync(dir);
    const started = Date.now();
    const result = await build(volumes(dir).flatMap((v) => ['--volume', v]));
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/\nhint: /);
    expect(result.code).toBe(2);
    expect(Date.now() - started).toBeLessThan(10_000);
    expectSecretNowhere(PASSWORD, { run: result });
  });
});
