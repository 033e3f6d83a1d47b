/**
 * bin/build and the settings that shape `go build`: targets, flags, ldflags, defaults,
 * static vs dynamic, and Go's own variables passed through. Each test runs the binary or
 * reads its ELF headers / Go build info, so a setting that were ignored fails the test.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLaunchToml, parseLayerToml } from '../../src/cnb/files';
import { elfInfo, goproxyUrl, hostGoArch, realGo, Sandbox, useFixtures } from './sandbox';

jest.setTimeout(120_000);

const fixture = useFixtures();

/** A run image with a distro (so libc): the default, dynamic PIE build. */
const withLibc = { CNB_TARGET_DISTRO_NAME: 'debian', CNB_TARGET_DISTRO_VERSION: '12' };

function expectBuilt(result: { code: number; output: string }): void {
  if (result.code !== 0) throw new Error(`build failed (${result.code}):\n${result.output}`);
}

describe('default build of an app with several commands under cmd/', () => {
  let sandbox: Sandbox;
  let result: ReturnType<Sandbox['build']>;
  beforeAll(() => {
    sandbox = fixture('multi-cmd');
    result = sandbox.build();
    expectBuilt(result);
  });

  test('builds every main package under cmd/, not the library in internal/', () => {
    expect(sandbox.runBinary('api')).toBe('hello from api dev tags:none\n');
    expect(sandbox.runBinary('worker')).toBe('hello from worker\n');
    expect(sandbox.exists('targets/bin/greeting')).toBe(false);
  });

  test('launch.toml: one process per binary, absolute command array, first target is the default', () => {
    const launch = parseLaunchToml(sandbox.read('launch.toml'));
    expect(launch.processes).toEqual([
      { type: 'api', command: [sandbox.bin('api')], args: [], default: true, workingDir: undefined },
      { type: 'worker', command: [sandbox.bin('worker')], args: [], default: false, workingDir: undefined },
    ]);
    expect(sandbox.read('launch.toml')).not.toContain('direct');
  });

  test('layer TOMLs: targets is launch, gocache and modcache are cache, each with metadata', () => {
    const targets = parseLayerToml(sandbox.read('targets.toml'), 'targets.toml');
    expect(targets.types).toEqual({ launch: true, build: false, cache: false });
    expect(targets.metadata.targets).toEqual(['./cmd/api', './cmd/worker']);
    expect(targets.metadata.binaries).toEqual(['api', 'worker']);
    expect(targets.metadata['build-flags']).toEqual(['-buildmode=default', '-trimpath']);
    const gocache = parseLayerToml(sandbox.read('gocache.toml'), 'gocache.toml');
    expect(gocache.types).toEqual({ launch: false, build: false, cache: true });
    expect(gocache.metadata).toEqual({ 'go-version': targets.metadata['go-version'], goos: 'linux', goarch: hostGoArch });
    const modcache = parseLayerToml(sandbox.read('modcache.toml'), 'modcache.toml');
    expect(modcache.types).toEqual({ launch: false, build: false, cache: true });
  });

  test('logs each go command before it runs and how long it took', () => {
    expect(result.stdout).toContain(`Running: go build -o ${join(sandbox.layers, 'gocache', 'linked', `linux_${hostGoArch}`)}/ -buildmode=default -trimpath ./cmd/api ./cmd/worker`);
    expect(result.stdout).toMatch(/Completed in \d+\.\d{3}s/);
    expect(result.stdout).toContain("go list -buildmode=default -trimpath -f '{{.ImportPath}} {{.Name}}' ./cmd/api ./cmd/worker");
  });

  test('without a distro in the run image (no libc) the binaries are static and not PIE', () => {
    expect(result.stdout).toContain('Building static binaries (CGO_ENABLED=0)');
    expect(elfInfo(sandbox.bin('api'))).toEqual({ type: 'exec', machine: expect.any(String), interp: undefined });
    expect(sandbox.buildInfo('api')).toMatch(/build\tCGO_ENABLED=0\n/);
  });

  test('-trimpath by default: no build path in the binary', () => {
    expect(sandbox.buildInfo('api')).toContain('build\t-trimpath=true');
    expect(readFileSync(sandbox.bin('api')).includes(sandbox.root)).toBe(false);
  });

  test('removes the source code from the app dir', () => {
    expect(sandbox.appTree()).toEqual([]);
  });
});

test('BP_GO_BUILD_FLAGS: quoted -ldflags value and build tags reach go build (busybox sh, busybox PATH)', () => {
  const sandbox = fixture('multi-cmd');
  const result = sandbox.build({ BP_GO_BUILD_FLAGS: "-ldflags='-X main.version=1.2.3 -s -w' -tags=netgo" }, 'busybox');
  expectBuilt(result);
  expect(sandbox.runBinary('api')).toBe('hello from api 1.2.3 tags:netgo\n');
  expect(result.stdout).toContain("'-ldflags=-X main.version=1.2.3 -s -w'");
  expect(result.stdout).toMatch(/Completed in \d+\.\d{3}s/);
});

test('BP_GO_BUILD_LDFLAGS wins over -ldflags in BP_GO_BUILD_FLAGS, in either spelling', () => {
  const sandbox = fixture('multi-cmd');
  const result = sandbox.build({
    BP_GO_TARGETS: './cmd/api',
    BP_GO_BUILD_FLAGS: '-ldflags "-X main.version=from-flags"',
    BP_GO_BUILD_LDFLAGS: '-X main.version=from-ldflags',
  });
  expectBuilt(result);
  expect(sandbox.runBinary('api')).toBe('hello from api from-ldflags tags:none\n');
  expect(result.stdout).not.toContain('from-flags');
});

test('BP_GO_TARGETS: blank- or colon-separated, in order; the first is the default process', () => {
  const sandbox = fixture('multi-cmd');
  expectBuilt(sandbox.build({ BP_GO_TARGETS: 'cmd/worker/  ./cmd/api' }));
  const launch = parseLaunchToml(sandbox.read('launch.toml'));
  expect(launch.processes.map((p) => [p.type, p.default])).toEqual([
    ['worker', true],
    ['api', false],
  ]);

  const single = fixture('multi-cmd');
  expectBuilt(single.build({ BP_GO_TARGETS: './cmd/api:' }));
  expect(single.exists('targets/bin/api')).toBe(true);
  expect(single.exists('targets/bin/worker')).toBe(false);
});

test('a target that is not a main package is a clear error', () => {
  const result = fixture('multi-cmd').build({ BP_GO_TARGETS: './internal/greeting' });
  expect(result.code).toBe(1);
  expect(result.stderr).toContain("BP_GO_TARGETS entry './internal/greeting': not a command (no 'package main'");
});

test('an unknown target fails the build with the setting named', () => {
  const result = fixture('multi-cmd').build({ BP_GO_TARGETS: './cmd/nope' });
  expect(result.code).toBe(1);
  expect(result.stderr).toContain("BP_GO_TARGETS entry './cmd/nope': no such directory");
});

test('unparsable BP_GO_BUILD_FLAGS fail the build (exit 1, not 100)', () => {
  const result = fixture('multi-cmd').build({ BP_GO_BUILD_FLAGS: '-tags="netgo' });
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('unterminated double quote');
});

test('a compile error fails the build and shows the compiler file:line message unchanged', () => {
  const result = fixture('compile-error').build();
  expect(result.code).not.toBe(0);
  expect(result.code).not.toBe(100);
  expect(result.stderr).toMatch(/^\.\/main\.go:5:2: undefined: undefinedFunction$/m);
  expect(result.stderr).toContain('go build failed');
});

describe('dynamic builds (run image with libc)', () => {
  test('default: -buildmode=pie -trimpath, a PIE with a dynamic loader', () => {
    const sandbox = fixture('multi-cmd');
    const result = sandbox.build({ ...withLibc, BP_GO_TARGETS: './cmd/api' });
    expectBuilt(result);
    expect(result.stdout).toContain('-buildmode=pie -trimpath ./cmd/api');
    const elf = elfInfo(sandbox.bin('api'));
    expect(elf.type).toBe('dyn');
    expect(elf.interp).toMatch(/^\/lib/);
    expect(sandbox.buildInfo('api')).toContain('build\t-buildmode=pie');
    expect(sandbox.runBinary('api')).toContain('hello from api');
  });

  test('a -buildmode in BP_GO_BUILD_FLAGS replaces the pie default', () => {
    const sandbox = fixture('multi-cmd');
    const result = sandbox.build({ ...withLibc, BP_GO_TARGETS: './cmd/api', BP_GO_BUILD_FLAGS: '-buildmode=exe' });
    expectBuilt(result);
    expect(result.stdout).not.toContain('-buildmode=pie');
    expect(elfInfo(sandbox.bin('api')).type).toBe('exec');
  });

  test('CGO_ENABLED=0 builds static even when the run image has libc', () => {
    const sandbox = fixture('multi-cmd');
    const result = sandbox.build({ ...withLibc, BP_GO_TARGETS: './cmd/api', CGO_ENABLED: '0' });
    expectBuilt(result);
    expect(result.stdout).toContain('Building static binaries (CGO_ENABLED=0): CGO_ENABLED=0');
    expect(elfInfo(sandbox.bin('api'))).toMatchObject({ type: 'exec', interp: undefined });
  });
});

test("Go's own variables reach every go command untouched", () => {
  // A go wrapper first on PATH records the environment of each go command it runs.
  const wrapperDir = mkdtempSync(join(tmpdir(), 'gobuild-cnb-gowrap-'));
  const envLog = join(wrapperDir, 'env.log');
  writeFileSync(join(wrapperDir, 'go'), `#!/bin/sh\nenv >>"${envLog}"\necho --- >>"${envLog}"\nexec "${realGo}" "$@"\n`);
  chmodSync(join(wrapperDir, 'go'), 0o755);
  try {
    const passed = {
      GOFLAGS: '-tags=netgo',
      GOPROXY: goproxyUrl,
      GOPRIVATE: 'example.com/private',
      GONOSUMDB: 'example.com/nosumdb',
      GOSUMDB: 'off',
      GOINSECURE: 'example.com/insecure',
      GOOS: 'linux',
      GOARCH: hostGoArch,
      CGO_ENABLED: '1',
    };
    const sandbox = fixture('multi-cmd');
    const result = sandbox.build({ ...withLibc, ...passed, BP_GO_TARGETS: './cmd/api', PATH: `${wrapperDir}:${process.env.PATH}` });
    expectBuilt(result);
    expect(sandbox.runBinary('api')).toContain('tags:netgo');
    const runs = readFileSync(envLog, 'utf8').split('---\n').filter((r) => r.trim());
    expect(runs.length).toBeGreaterThanOrEqual(3);
    for (const run of runs) {
      for (const [name, value] of Object.entries(passed)) expect(run).toContain(`\n${name}=${value}\n`);
    }
  } finally {
    rmSync(wrapperDir, { recursive: true, force: true });
  }
});

test('BP_GO_VERSION the builder cannot satisfy, with no toolchain to download, is a clear error', () => {
  const result = fixture('multi-cmd').build({ BP_GO_VERSION: '1.0.*' });
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/cannot download the Go toolchain for BP_GO_VERSION=1\.0\.\* \(the builder has go\d/);
});

test('-o in BP_GO_BUILD_FLAGS is refused: the buildpack decides where binaries go', () => {
  const result = fixture('multi-cmd').build({ BP_GO_BUILD_FLAGS: '-o /tmp/x' });
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('must not set -o');
});
