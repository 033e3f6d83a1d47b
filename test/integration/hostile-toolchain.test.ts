/**
 * The Go toolchain an app asks for (issue #11 part 3), against the real engine with a real
 * toolchain and no internet: the machine's own Go is published at test time as the module
 * golang.org/toolchain@v0.0.1-go<ver>.linux-<arch> in a file:// GOPROXY (the way cmd/distpack
 * lays it out), baked into a builder made from the test builder whose `go` says it is an older Go
 * (go1.25.0) and refuses to build: only a toolchain the buildpack provides can build the app.
 * Each case asserts the exit code and message, that nothing is left (containers, volumes, temp
 * dirs), and where it built, the binary's `go version -m`, the SBOM, and that the toolchain is in
 * no layer of the image.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeWithDocker } from '../helpers/docker';
import { docker, REPO_ROOT, removeImage, runCli, TEST_BUILDER, type CliResult } from '../helpers/cli';
import { expectNothingLeft, expectWarmBuild, imageBytes, privateTmp } from '../helpers/hostile';

const SCOPE = 'hostile-toolchain';
const VOLUME_PREFIX = `gobuild-cnb-test-${SCOPE}`;
/** The one cache volume of this suite: the toolchain layer is cached in it between cases. */
const VOLUME = `${VOLUME_PREFIX}-cache`;
const TAG = `gobuild-cnb-test/${SCOPE}-hello:it`;
const FAIL_TAG = `gobuild-cnb-test/${SCOPE}-fail:it`;
const HELLO = join(REPO_ROOT, 'fixtures', 'hello');
const FAKE_GO_VERSION = 'go1.25.0';
const PROXY_IN_BUILDER = '/toolchain-proxy';

/** The machine's Go: the toolchain the fixture proxy serves. */
const realGo = execFileSync('sh', ['-c', 'command -v go || echo /usr/local/go/bin/go'], { encoding: 'utf8' }).trim();
const [goVersion, goRoot, goHostArch] = execFileSync(realGo, ['env', 'GOVERSION', 'GOROOT', 'GOHOSTARCH'], { encoding: 'utf8' }).trim().split('\n');
const wanted = goVersion.replace(/^go/, '');
const moduleVersion = `v0.0.1-${goVersion}.linux-${goHostArch}`;

/**
 * A file:// module proxy holding the machine's Go as golang.org/toolchain, as cmd/distpack makes
 * it: bin/go and gofmt, pkg/include and the build tools of pkg/tool, no api/doc/misc/test, nested
 * go.mod files renamed _go.mod; tests and testdata are left out too (smaller, same compiler).
 * Kept between runs in a directory of its own, keyed by the version.
 */
function toolchainProxy(): string {
  const dir = join(tmpdir(), `gobuild-cnb-test-${SCOPE}-proxy-${goVersion}-${goHostArch}`);
  const versionDir = join(dir, 'golang.org', 'toolchain', '@v');
  if (existsSync(join(versionDir, 'list'))) return dir;
  const work = mkdtempSync(join(tmpdir(), `gobuild-cnb-test-${SCOPE}-stage-`));
  try {
    const root = join(work, 'golang.org', `toolchain@${moduleVersion}`);
    mkdirSync(join(work, 'golang.org'), { recursive: true });
    cpSync(goRoot, root, { recursive: true, dereference: false });
    const tools = 'asm|cgo|compile|cover|fix|link|preprofile|vet';
    execFileSync('sh', ['-euc', `
      cd "$1"
      chmod -R u+w .
      rm -rf api doc misc test .git pkg/obj pkg/distpack
      find pkg -mindepth 1 -maxdepth 1 ! -name include ! -name tool -exec rm -rf {} +
      find pkg/tool -mindepth 1 -maxdepth 1 ! -name "linux_$2" -exec rm -rf {} +
      find pkg/tool -type f | grep -Ev "/(${tools})$" | xargs -r rm -f
      find . -name testdata -type d -prune -exec rm -rf {} +
      find . -name '*_test.go' -delete
      find . -mindepth 2 -name go.mod -exec sh -c 'for f; do mv "$f" "\${f%go.mod}_go.mod"; done' sh {} +
    `, 'stage', root, goHostArch], { stdio: 'inherit', timeout: 120_000 });
    mkdirSync(join(work, 'out'), { recursive: true });
    execFileSync('zip', ['-qrX', join(work, 'out', `${moduleVersion}.zip`), `golang.org/toolchain@${moduleVersion}`], { cwd: work, timeout: 300_000 });
    writeFileSync(join(work, 'out', `${moduleVersion}.mod`), 'module golang.org/toolchain\n');
    writeFileSync(join(work, 'out', `${moduleVersion}.info`), JSON.stringify({ Version: moduleVersion, Time: '2026-01-01T00:00:00Z' }) + '\n');
    // A version this arch does not run and a pre-release, so a range must pick.
    writeFileSync(join(work, 'out', 'list'), [`v0.0.1-go1.26.99.linux-${goHostArch === 'amd64' ? 'arm64' : 'amd64'}`, `v0.0.1-go1.26rc1.linux-${goHostArch}`, moduleVersion].join('\n') + '\n');
    mkdirSync(join(dir, 'golang.org', 'toolchain'), { recursive: true });
    rmSync(versionDir, { recursive: true, force: true });
    renameSync(join(work, 'out'), versionDir);
    return dir;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A `go` that says it is FAKE_GO_VERSION and cannot build; anything else goes to the real one. */
const FAKE_GO = `#!/bin/sh
real=/usr/local/realgo/bin/go
case \${1:-} in
  build) echo "fake ${FAKE_GO_VERSION}: this builder's go cannot build" >&2; exit 2 ;;
  env)
    out=$("$real" "$@") || exit $?
    printf '%s\\n' "$out" | sed 's/^go1\\.[0-9][0-9.]*$/${FAKE_GO_VERSION}/'
    exit 0
    ;;
esac
exec "$real" "$@"
`;

/** The test builder with an older-looking go and the toolchain proxy at PROXY_IN_BUILDER (reused between runs). */
function fakeBuilder(): string {
  const recipe = execFileSync('sha256sum', { input: FAKE_GO + goVersion + goHostArch + TEST_BUILDER }).toString().slice(0, 12);
  const tag = `gobuild-cnb-test/${SCOPE}-builder:${recipe}`;
  try {
    execFileSync('docker', ['image', 'inspect', tag], { stdio: 'ignore', timeout: 30_000 });
    return tag;
  } catch {
    // not built yet
  }
  const context = mkdtempSync(join(tmpdir(), `gobuild-cnb-test-${SCOPE}-context-`));
  try {
    cpSync(toolchainProxy(), join(context, 'proxy'), { recursive: true });
    writeFileSync(join(context, 'go'), FAKE_GO, { mode: 0o755 });
    writeFileSync(
      join(context, 'Dockerfile'),
      [
        `FROM ${TEST_BUILDER}`,
        'USER root',
        'RUN mv /usr/local/go /usr/local/realgo && mkdir -p /usr/local/go/bin',
        'COPY go /usr/local/go/bin/go',
        `COPY proxy ${PROXY_IN_BUILDER}`,
        'USER cnb',
      ].join('\n') + '\n',
    );
    execFileSync('docker', ['build', '--pull=false', '--network', 'none', '-q', '-t', tag, context], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
    return tag;
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

/** The built binary and its SBOM, copied out of the image. */
function fromImage(image: string): { buildInfo: string; sbom: string } {
  const out = mkdtempSync(join(tmpdir(), `gobuild-cnb-test-${SCOPE}-out-`));
  const name = `${VOLUME_PREFIX}-copy`;
  try {
    docker(['create', '--name', name, image]);
    docker(['cp', `${name}:/layers/gobuild-cnb_go/targets/bin/hello`, join(out, 'hello')]);
    docker(['cp', `${name}:/layers/sbom/launch/gobuild-cnb_go/targets/sbom.cdx.json`, join(out, 'sbom.json')]);
    return { buildInfo: execFileSync(realGo, ['version', '-m', join(out, 'hello')], { encoding: 'utf8' }), sbom: readFileSync(join(out, 'sbom.json'), 'utf8') };
  } finally {
    try {
      docker(['rm', '-f', name]);
    } catch {
      // never created
    }
    rmSync(out, { recursive: true, force: true });
  }
}

/** The seconds of the step that ends with the line after `pattern` ("  Completed in 1.234s"). */
function stepSeconds(stderr: string, pattern: RegExp): number | undefined {
  const m = new RegExp(`${pattern.source}[^\\n]*\\n[^\\n]*Completed in (\\d+\\.\\d+)s`).exec(stderr);
  return m ? Number(m[1]) : undefined;
}

describeWithDocker('the Go toolchain go.mod or BP_GO_VERSION asks for (file:// GOPROXY, older builder Go)', () => {
  jest.setTimeout(600_000);
  let builder: string;
  const apps: string[] = [];
  const timings: string[] = [];

  /** The hello fixture with another go.mod. */
  function helloWith(goMod: string): string {
    const dir = mkdtempSync(join(tmpdir(), `gobuild-cnb-test-${SCOPE}-app-`));
    cpSync(HELLO, dir, { recursive: true });
    writeFileSync(join(dir, 'go.mod'), goMod);
    apps.push(dir);
    return dir;
  }

  async function build(app: string, tag: string, env: string[]): Promise<CliResult & { seconds: number }> {
    const tmp = privateTmp();
    try {
      const start = Date.now();
      const args = ['build', app, '-t', tag, '--builder', builder, '--pull-policy', 'never', '--cache-volume', VOLUME, '--verbose'];
      for (const e of [`GOPROXY=file://${PROXY_IN_BUILDER}`, 'GONOSUMDB=golang.org/toolchain', ...env]) args.push('-e', e);
      const result = await runCli(args, { env: tmp.env });
      const seconds = (Date.now() - start) / 1000;
      expectNothingLeft({ tmp, volumePrefix: VOLUME_PREFIX, allowedVolumes: [VOLUME] });
      return { ...result, seconds };
    } finally {
      tmp.cleanup();
    }
  }

  function expectBuiltWith(result: CliResult, image: string): void {
    expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({ code: 0, stderr: '' });
    const { buildInfo, sbom } = fromImage(image);
    expect(buildInfo.split('\n')[0]).toMatch(new RegExp(`: ${goVersion}$`));
    expect(sbom).toContain(`{"name": "go:toolchain", "value": "${goVersion}"}`);
    // The toolchain (about 190 MB) is in no layer, label or history entry.
    const bytes = imageBytes(image);
    expect(bytes.includes(Buffer.from(`toolchain/${goVersion}/bin/go`))).toBe(false);
    expect(bytes.includes(Buffer.from(`pkg/tool/linux_${goHostArch}/compile`))).toBe(false);
  }

  beforeAll(() => {
    builder = fakeBuilder();
    for (const v of docker(['volume', 'ls', '-q']).split('\n')) if (v.startsWith(VOLUME_PREFIX)) docker(['volume', 'rm', '-f', v]);
  });

  afterAll(() => {
    if (timings.length) process.stderr.write(`\n[${SCOPE}] ${timings.join('; ')}\n`);
    for (const dir of apps) rmSync(dir, { recursive: true, force: true });
    removeImage(TAG);
    try {
      docker(['volume', 'rm', '-f', VOLUME]);
    } catch {
      // already gone
    }
  });

  test("the builder's go really is older and cannot build (the premise of every case below)", async () => {
    const result = await build(HELLO, FAIL_TAG, []);
    expect(result.code).toBe(51);
    expect(result.stderr).toContain(`Go: ${FAKE_GO_VERSION} linux/${goHostArch} (/usr/local/go/bin/go, the builder's)`);
    expect(result.stderr).toContain(`fake ${FAKE_GO_VERSION}: this builder's go cannot build`);
  });

  test(`BP_GO_VERSION=${wanted}, first build: downloaded from the file GOPROXY, builds the app, never in the image`, async () => {
    const result = await build(HELLO, TAG, [`BP_GO_VERSION=${wanted}`]);
    expectBuiltWith(result, TAG);
    expect(result.stderr).toContain(`Downloading Go ${wanted} (golang.org/toolchain@${moduleVersion}) through GOPROXY=file://${PROXY_IN_BUILDER}`);
    expect(result.stderr).toContain(
      `Go: ${goVersion} linux/${goHostArch} (/layers/gobuild-cnb_go/toolchain/${goVersion}/bin/go) for BP_GO_VERSION=${wanted} (the builder has ${FAKE_GO_VERSION}): downloaded now`,
    );
    timings.push(`cold: build ${result.seconds.toFixed(1)} s, toolchain download+unpack ${stepSeconds(result.stderr, /Downloading Go/)} s`);
  });

  test('the same build again: the toolchain comes from the cache layer, nothing is downloaded', async () => {
    const result = await build(HELLO, TAG, [`BP_GO_VERSION=${wanted}`]);
    expectBuiltWith(result, TAG);
    expect(result.stderr).not.toContain('Downloading Go');
    expect(result.stderr).toContain(`(the builder has ${FAKE_GO_VERSION}): cached in the toolchain layer (golang.org/toolchain@${moduleVersion}, from GOPROXY=file://${PROXY_IN_BUILDER})`);
    expect(result.stderr).toMatch(/gocache: reused/);
    timings.push(`warm: build ${result.seconds.toFixed(1)} s`);
  });

  test("go.mod's toolchain line asks for it, without BP_GO_VERSION", async () => {
    const app = helloWith(`module example.com/hello\n\ngo 1.22\n\ntoolchain ${goVersion}\n`);
    const result = await build(app, TAG, []);
    expectBuiltWith(result, TAG);
    expect(result.stderr).toContain(`for go.mod says go 1.22, toolchain ${goVersion} (the builder has ${FAKE_GO_VERSION}): cached in the toolchain layer`);
  });

  test(`a range (BP_GO_VERSION=${wanted.replace(/\.\d+$/, '.*')}) is the newest release GOPROXY lists for this platform`, async () => {
    const range = wanted.replace(/\.\d+$/, '.*');
    const result = await build(HELLO, TAG, [`BP_GO_VERSION=${range}`]);
    expectBuiltWith(result, TAG);
    expect(result.stderr).toContain(`Listing the Go toolchains GOPROXY offers, for BP_GO_VERSION=${range}`);
    expect(result.stderr).toContain(`Go: ${goVersion} linux/${goHostArch}`);
  });

  test('a toolchain GOPROXY does not have: exit 52 naming it, with a hint, and the cached one survives', async () => {
    const result = await build(HELLO, FAIL_TAG, ['BP_GO_VERSION=1.99.0']);
    expect(result.code).toBe(52);
    expect(result.stderr).toMatch(/the Go toolchain go1\.99\.0 could not be downloaded \(bin\/build exited with 1\)/);
    expect(result.stderr).toMatch(/^hint: .*golang\.org\/toolchain/m);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe('');
    expect(() => execFileSync('docker', ['image', 'inspect', FAIL_TAG], { stdio: 'ignore', timeout: 30_000 })).toThrow();
    const again = await build(HELLO, TAG, [`BP_GO_VERSION=${wanted}`]);
    expectBuiltWith(again, TAG);
    expect(again.stderr).toContain('cached in the toolchain layer');
  });

  test("a builder whose Go will do builds with its own, the cache stays warm, and the toolchain layer goes", async () => {
    await expectWarmBuild(HELLO, TAG, VOLUME);
    const listing = docker(['run', '--rm', '--name', `${VOLUME_PREFIX}-ls`, '--network', 'none', '-v', `${VOLUME}:/cache:ro`, '--entrypoint', 'ls', TEST_BUILDER, '-a', '/cache']);
    expect(listing.split('\n')).not.toContain('toolchain');
    expect(listing.split('\n')).toContain('gocache');
  });
});
