/**
 * Which Go builds the app (issue #11 part 3): the version arithmetic and the choice between the
 * builder's Go and a toolchain from GOPROXY, under dash and busybox sh; and bin/build's decisions
 * that fail before compiling (no toolchain download succeeds here: GOPROXY is off). The download
 * itself is tested with a real toolchain module in test/integration/hostile-toolchain.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildpackDir, busyboxPath, type Shell, useFixtures } from './sandbox';

jest.setTimeout(60_000);

const shells: Shell[] = ['sh', 'busybox'];

/** Run a snippet with lib/common.sh and lib/build.sh sourced; $1.. are args. */
function lib(shell: Shell, snippet: string, args: string[] = [], input?: string) {
  const script = `. "${buildpackDir}/lib/common.sh"; . "${buildpackDir}/lib/build.sh"; ${snippet}`;
  const [command, argv] =
    shell === 'busybox' ? ['busybox', ['sh', '-c', script, 'lib', ...args]] : ['sh', ['-c', script, 'lib', ...args]];
  const path = shell === 'busybox' ? busyboxPath([]) : (process.env.PATH ?? '');
  const result = spawnSync(command, argv, { encoding: 'utf8', env: { PATH: path }, input });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe.each(shells)('Go version arithmetic under %s', (shell) => {
  test.each([
    ['1.26.8', 'go1.26.8', '0'],
    ['1.26.8', '1.26.10', '-1'],
    ['go1.27.0', '1.26.10', '1'],
    ['1.22', '1.22rc1', '-1'],
    ['1.22rc1', '1.22.0', '-1'],
    ['1.22beta1', '1.22rc1', '-1'],
    ['1.20', '1.20.0', '0'],
    ['1.21', '1.21.0', '-1'],
    ['1.13', '1.26.8', '-1'],
  ])('%s vs %s: %s', (a, b, want) => {
    expect(lib(shell, 'go_version_cmp "$1" "$2"', [a, b]).stdout.trim()).toBe(want);
  });

  test.each([
    ['1.24.3', '1.24.3'],
    ['go1.24.3', '1.24.3'],
    ['= 1.24.3', '1.24.3'],
    ['1.20', '1.20'],
    ['1.24', ''],
    ['1.24.*', ''],
    ['~1.24.3', ''],
    ['>=1.24', ''],
    ['1..3', ''],
  ])('BP_GO_VERSION=%s names the toolchain %p exactly', (want, exact) => {
    expect(lib(shell, 'exact_go_version "$1"', [want]).stdout).toBe(exact);
  });

  test.each([
    ['module m\n\ngo 1.22\n', '1.22 -'],
    ['module m\ngo 1.22.3 // needs 1.22.3\ntoolchain go1.26.8\n', '1.22.3 1.26.8'],
    ['module m\ngo 1.21\ntoolchain default\n', '1.21 -'],
    ['module m\n', '- -'],
    ['module m\ngo $(reboot)\ntoolchain go*\n', '- -'],
  ])('go.mod %p asks for go/toolchain %s', (goMod, want) => {
    const dir = join(process.env.TMPDIR ?? '/tmp', `gobuild-cnb-toolchain-test-${shell}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'go.mod'), goMod);
    expect(lib(shell, 'go_mod_requirement "$1"', [join(dir, 'go.mod')]).stdout.trim()).toBe(want);
  });

  test.each([
    ['go1.26.8', '1.22', '-', ''],
    ['go1.26.8', '1.26.8', '-', ''],
    ['go1.25.0', '1.26.8', '-', '1.26.8'],
    ['go1.25.0', '1.22', '1.26.8', '1.26.8'],
    ['go1.26.8', '1.22', '1.27.1', '1.27.1'],
    ['go1.25.0', '1.27.1', '1.26.8', '1.27.1'],
    ['go1.20.5', '1.22', '-', '1.22'],
    ['go1.26.8', '-', '-', ''],
  ])('builder %s, go %s, toolchain %s: switch to %p', (have, go, toolchain, want) => {
    expect(lib(shell, 'toolchain_for_go_mod "$1" "$2" "$3"', [have, go, toolchain]).stdout).toBe(want);
  });

  const listed = [
    'v0.0.1-go1.24.0.linux-amd64',
    'v0.0.1-go1.24.10.linux-amd64',
    'v0.0.1-go1.24.3.linux-amd64',
    'v0.0.1-go1.24.11.linux-arm64',
    'v0.0.1-go1.25rc1.linux-amd64',
    'v0.0.1-go1.25.0.linux-amd64',
    'v0.0.1-go1.26.8.darwin-amd64',
  ].join(' ');
  test.each([
    ['1.24.*', '1.24.10'],
    ['1.24', '1.24.10'],
    ['~1.24.3', '1.24.10'],
    ['>=1.24', '1.25.0'],
    ['1.25', '1.25.0'],
    ['1.26.*', ''],
    ['1.23.*', ''],
  ])('newest toolchain for linux/amd64 matching %s: %p (releases only, by version not by text)', (want, newest) => {
    expect(lib(shell, 'newest_matching_toolchain "$1" linux amd64', [want], listed).stdout).toBe(newest);
  });

  test('credentials in GOPROXY never reach a log line', () => {
    const out = lib(shell, 'redact_url_userinfo "$1"', ['https://u:s3cret@proxy.example/a,file:///x|https://tok@p2']).stdout;
    expect(out).toBe('https://proxy.example/a,file:///x|https://p2');
  });
});

describe('bin/build: which Go it chooses, before compiling', () => {
  const fixture = useFixtures();

  test('BP_GO_VERSION the builder satisfies: the builder builds, nothing is downloaded', () => {
    const sandbox = fixture('hello');
    const result = sandbox.build({ BP_GO_VERSION: '>=1.20' });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/BP_GO_VERSION=>=1\.20 is satisfied by the builder's go1\./);
    expect(result.stdout).toMatch(/ {2}Go: go1\.\S+ linux\/\w+ \(\S+\/go, the builder's\)/);
    expect(existsSync(join(sandbox.layers, 'toolchain'))).toBe(false);
  });

  test.each(shells)('under %s, an exact BP_GO_VERSION the builder lacks is downloaded through GOPROXY; GOPROXY=off fails before compiling, naming the toolchain', (shell) => {
    const result = fixture('hello').build({ BP_GO_VERSION: '1.99.1', GOPROXY: 'off' }, shell);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('Downloading Go 1.99.1 (golang.org/toolchain@v0.0.1-go1.99.1.');
    expect(result.stderr).toMatch(/Error: cannot download the Go toolchain go1\.99\.1 for BP_GO_VERSION=1\.99\.1 \(the builder has go1\.[\d.]+\): GOPROXY=off did not give/);
    expect(result.stderr).toContain('module lookup disabled by GOPROXY=off');
    expect(result.stdout).not.toContain('Running: go build');
  });

  test('a BP_GO_VERSION range the builder does not meet is resolved from the versions GOPROXY lists', () => {
    const result = fixture('hello').build({ BP_GO_VERSION: '1.0.*', GOPROXY: 'off' });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('Listing the Go toolchains GOPROXY offers, for BP_GO_VERSION=1.0.*');
    expect(result.stderr).toMatch(/cannot download the Go toolchain for BP_GO_VERSION=1\.0\.\* .*listing golang\.org\/toolchain on GOPROXY failed/);
  });

  test("go.mod's toolchain line newer than the builder's Go asks for that toolchain", () => {
    const sandbox = fixture('hello');
    writeFileSync(join(sandbox.app, 'go.mod'), 'module example.com/hello\n\ngo 1.22\n\ntoolchain go1.99.2\n');
    const result = sandbox.build({ GOPROXY: 'off' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cannot download the Go toolchain go1\.99\.2 for go\.mod says go 1\.22, toolchain go1\.99\.2 \(the builder has go1/);
  });

  test('a GOTOOLCHAIN the user set is left to go: BP_GO_VERSION is then only a check', () => {
    const sandbox = fixture('hello');
    writeFileSync(join(sandbox.platform, 'env', 'GOTOOLCHAIN'), 'local');
    const result = sandbox.build({ BP_GO_VERSION: '1.99.1', GOPROXY: 'off', GOTOOLCHAIN: 'local' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/BP_GO_VERSION=1\.99\.1 but the builder's Go is go1\.[\d.]+, and GOTOOLCHAIN is set/);
    expect(result.stdout).not.toContain('Downloading Go');
  });

  test('a toolchain layer an earlier build needed is removed when the builder will do', () => {
    const sandbox = fixture('hello');
    mkdirSync(join(sandbox.layers, 'toolchain', 'go1.99.1', 'bin'), { recursive: true });
    writeFileSync(join(sandbox.layers, 'toolchain.toml'), '[types]\n  cache = true\n[metadata]\n  version = "go1.99.1"\n');
    const result = sandbox.build();
    expect(result.code).toBe(0);
    expect(existsSync(join(sandbox.layers, 'toolchain'))).toBe(false);
    expect(existsSync(join(sandbox.layers, 'toolchain.toml'))).toBe(false);
  });
});
