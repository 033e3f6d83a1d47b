/**
 * bin/build and its surroundings: target architecture, LLD linking, where go comes from,
 * what the cache layers say on rebuilds, and a full build under busybox sh with only
 * busybox tools on PATH.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseLayerToml } from '../../src/cnb/files';
import { busyboxPath, elfInfo, hostGoArch, otherGoArch, realGo, useFixtures } from './sandbox';

jest.setTimeout(120_000);

const fixture = useFixtures();

function expectBuilt(result: { code: number; output: string }): void {
  if (result.code !== 0) throw new Error(`build failed (${result.code}):\n${result.output}`);
}

const elfMachine = (goarch: string) => (goarch === 'arm64' ? 'aarch64' : 'x86-64');
const withLibc = { CNB_TARGET_DISTRO_NAME: 'debian', CNB_TARGET_DISTRO_VERSION: '12' };

describe('target architecture', () => {
  test('CNB_TARGET_ARCH (the run image) decides GOARCH when the user did not set it', () => {
    const sandbox = fixture('v2-module');
    const result = sandbox.build({ CNB_TARGET_ARCH: otherGoArch });
    expectBuilt(result);
    expect(result.stdout).toContain(`linux/${otherGoArch}`);
    expect(elfInfo(sandbox.bin('tool')).machine).toBe(elfMachine(otherGoArch));
  });

  test("the user's GOARCH wins over CNB_TARGET_ARCH", () => {
    const sandbox = fixture('v2-module');
    expectBuilt(sandbox.build({ CNB_TARGET_ARCH: hostGoArch, GOARCH: otherGoArch }));
    expect(elfInfo(sandbox.bin('tool')).machine).toBe(elfMachine(otherGoArch));
  });
});

describe('BP_GO_ENABLE_LLD', () => {
  test('a builder without ld.lld is a clear error', () => {
    // PATH: busybox tools, go and a C compiler, but no ld.lld.
    const ccDir = mkdtempSync(join(tmpdir(), 'gobuild-cnb-cc-'));
    try {
      const gcc = execFileSync('sh', ['-c', 'command -v gcc || command -v cc']).toString().trim();
      symlinkSync(gcc, join(ccDir, 'gcc'));
      const result = fixture('v2-module').build({ ...withLibc, BP_GO_ENABLE_LLD: 'true', PATH: busyboxPath([dirname(realGo), ccDir]) });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('BP_GO_ENABLE_LLD=true but the builder has no ld.lld on PATH');
    } finally {
      rmSync(ccDir, { recursive: true, force: true });
    }
  });

  test('a builder without a C compiler is a clear error', () => {
    const lldDir = mkdtempSync(join(tmpdir(), 'gobuild-cnb-lld-'));
    try {
      writeFileSync(join(lldDir, 'ld.lld'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
      const result = fixture('v2-module').build({ ...withLibc, BP_GO_ENABLE_LLD: 'true', PATH: busyboxPath([dirname(realGo), lldDir]) });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/BP_GO_ENABLE_LLD=true needs a C compiler for external linking, but '\S*gcc' is not on PATH/);
    } finally {
      rmSync(lldDir, { recursive: true, force: true });
    }
  });

  test('LLD needs cgo, so a static build refuses it', () => {
    const result = fixture('v2-module').build({ BP_GO_ENABLE_LLD: 'true' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('needs cgo, but this build is static');
  });

  test('a value that is not a boolean is an error', () => {
    const result = fixture('v2-module').build({ BP_GO_ENABLE_LLD: 'yes please' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('BP_GO_ENABLE_LLD=yes please: expected true or false');
  });
});

describe('finding go', () => {
  test('no go on PATH nor in the fallback dirs: the builder needs a Go toolchain', () => {
    const result = fixture('v2-module').build({ PATH: busyboxPath([]), GOBUILD_CNB_GO_FALLBACK_DIRS: '/nonexistent' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('the builder image needs a Go toolchain');
  });

  test('go outside PATH is found in the fallback dirs (default /usr/local/go/bin)', () => {
    const sandbox = fixture('v2-module');
    const result = sandbox.build({ PATH: busyboxPath([]), GOBUILD_CNB_GO_FALLBACK_DIRS: `/nonexistent:${dirname(realGo)}` });
    expectBuilt(result);
    expect(result.stdout).toContain(`(${realGo}, the builder's)`);
    expect(sandbox.runBinary('tool')).toBe('tool v2\n');
  });
});

describe('cache layers across builds', () => {
  test('cold, then reused, with the go version and target recorded in gocache.toml', () => {
    const sandbox = fixture('v2-module');
    const first = sandbox.build();
    expectBuilt(first);
    expect(first.stdout).toContain('gocache: cold (first build)');
    const metadata = parseLayerToml(sandbox.read('gocache.toml'), 'gocache.toml').metadata;
    const goVersion = execFileSync(realGo, ['env', 'GOVERSION'], { encoding: 'utf8' }).trim();
    expect(metadata).toEqual({ 'go-version': goVersion, goos: 'linux', goarch: hostGoArch });

    sandbox.restoreSources();
    const second = sandbox.build();
    expectBuilt(second);
    expect(second.stdout).toContain(`gocache: reused (${goVersion} linux/${hostGoArch})`);

    sandbox.restoreSources();
    const otherTarget = sandbox.build({ CNB_TARGET_ARCH: otherGoArch });
    expectBuilt(otherTarget);
    expect(otherTarget.stdout).toContain(`target changed linux/${hostGoArch} -> linux/${otherGoArch}`);
  });

  test('a Go version change clears gocache before anything is compiled', () => {
    const sandbox = fixture('v2-module', false);
    const gocache = join(sandbox.layers, 'gocache');
    mkdirSync(gocache, { recursive: true });
    writeFileSync(join(gocache, 'marker'), 'from go1.0.0');
    writeFileSync(
      join(sandbox.layers, 'gocache.toml'),
      '[types]\n  cache = true\n\n[metadata]\n  go-version = "go1.0.0"\n  goos = "linux"\n  goarch = "amd64"\n',
    );
    // A flag the buildpack refuses stops the build right after the cache step: no cold compile.
    const result = sandbox.build({ BP_GO_BUILD_FLAGS: '-o stop-here' });
    expect(result.stdout).toMatch(/gocache: Go version changed go1\.0\.0 -> go1\.\S+, clearing/);
    expect(existsSync(join(gocache, 'marker'))).toBe(false);
    unlinkSync(join(sandbox.layers, 'gocache.toml'));
  });
});

test('a full build under busybox sh with only busybox tools and go on PATH', () => {
  const sandbox = fixture('embed');
  const result = sandbox.build({ BP_KEEP_FILES: 'static/*', BP_GO_BUILD_LDFLAGS: '-s -w' }, 'busybox');
  expectBuilt(result);
  expect(sandbox.runBinary('embed')).toBe('embedded hello\n');
  expect(sandbox.appTree()).toEqual(['static/', 'static/message.txt', 'static/notes.md']);
  expect(sandbox.read('launch.toml')).toContain(`command = ["${sandbox.bin('embed')}"]`);
  expect(JSON.parse(sandbox.read('targets.sbom.cdx.json'))).toMatchObject({ bomFormat: 'CycloneDX' });
  expect(result.stdout).toMatch(/Completed in \d+\.\d{3}s/);
});
