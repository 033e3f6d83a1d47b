/**
 * What every hostile-input test asserts after a run (issue #10): nothing left behind (build
 * containers, cache volumes, temp dirs), no secret anywhere in the image, and a cache that is
 * still warm for the next normal build. Each suite owns a scope prefix (image tags
 * `gobuild-cnb-test/<scope>...`, volumes `gobuild-cnb-test-<scope>...`) so suites running
 * against one engine never count each other's leftovers.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildContainersLeft, docker, REPO_ROOT, runCli, TEST_BUILDER, type CliResult } from './cli';
import type { TestDir } from './testdir';

/** A private TMPDIR for the CLI under test: its temp dirs are ours to count. */
export interface PrivateTmp {
  path: string;
  env: NodeJS.ProcessEnv;
  /** Entries the CLI left in it. */
  left(): string[];
  cleanup(): void;
}

export function privateTmp(): PrivateTmp {
  const path = mkdtempSync(join(tmpdir(), 'gobuild-cnb-hostile-tmp-'));
  return {
    path,
    env: { TMPDIR: path },
    left: () => readdirSync(path),
    cleanup: () => rmSync(path, { recursive: true, force: true }),
  };
}

/** Volumes whose names start with `prefix`. */
export function volumesWithPrefix(prefix: string): string[] {
  return docker(['volume', 'ls', '-q'])
    .split('\n')
    .filter((name) => name.startsWith(prefix));
}

export interface LeftoverCheck {
  tmp: PrivateTmp;
  /** Volume name prefix of this suite, e.g. `gobuild-cnb-test-hostile-outputs`. */
  volumePrefix: string;
  /** Volumes that may remain (a shared warm cache the suite made on purpose). */
  allowedVolumes?: string[];
}

/** No temp dir, no build container and no unexpected cache volume of this suite remains. */
export function expectNothingLeft(check: LeftoverCheck): void {
  expect(check.tmp.left()).toEqual([]);
  expect(buildContainersLeft(undefined, check.volumePrefix)).toEqual([]);
  const allowed = new Set(check.allowedVolumes ?? []);
  expect(volumesWithPrefix(check.volumePrefix).filter((v) => !allowed.has(v))).toEqual([]);
}

/** Every byte of an image as the daemon has it (`docker save`: layers, config, labels, history). */
export function imageBytes(image: string): Buffer {
  return execFileSync('docker', ['save', image], { maxBuffer: 1024 * 1024 * 1024, timeout: 120_000 });
}

/** The secret appears in no layer, config, label or history entry of the image, nor in the run's output. */
export function expectSecretNowhere(secret: string, places: { image?: string; run?: CliResult }): void {
  if (places.image) {
    expect(imageBytes(places.image).includes(Buffer.from(secret))).toBe(false);
    expect(docker(['history', '--no-trunc', places.image]).includes(secret)).toBe(false);
    expect(docker(['inspect', places.image]).includes(secret)).toBe(false);
  }
  if (places.run) {
    expect(places.run.stdout.includes(secret)).toBe(false);
    expect(places.run.stderr.includes(secret)).toBe(false);
  }
}

/**
 * A normal build with the same cache volume right after: it succeeds and the buildpack reuses
 * the Go build cache (the hostile run before it did not damage or empty the volume).
 */
export async function expectWarmBuild(appDir: string, tag: string, volume: string, env?: NodeJS.ProcessEnv): Promise<CliResult> {
  const result = await runCli(['build', appDir, '-t', tag, '--cache-volume', volume, '--builder', TEST_BUILDER, '--pull-policy', 'never'], { env });
  expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({ code: 0, stderr: '' });
  expect(result.stderr).toMatch(/gocache: reused/);
  return result;
}

/**
 * A copy of the bundled buildpack with `code` run at the start of bin/<script> (or at its end):
 * sleeps and markers at the critical points force the timing a test needs instead of hoping for it.
 */
export function instrumentedBuildpack(scope: string, script: 'detect' | 'build', code: string, where: 'start' | 'end' = 'start'): TestDir {
  const dir = mkdtempSync(join(tmpdir(), `gobuild-cnb-test-${scope}-bp-`));
  cpSync(join(REPO_ROOT, 'buildpack'), dir, { recursive: true });
  const file = join(dir, 'bin', script);
  const text = readFileSync(file, 'utf8');
  if (!text.includes('set -eu\n')) throw new Error(`bin/${script} changed: the test hook has no place`);
  writeFileSync(file, where === 'start' ? text.replace('set -eu\n', `set -eu\n${code}\n`) : `${text}\n${code}\n`);
  return { path: dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** docker rm -f, quiet when there is nothing to remove. */
export function removeContainer(name: string): void {
  try {
    execFileSync('docker', ['rm', '-f', name], { stdio: 'ignore', timeout: 60_000 });
  } catch {
    // not there
  }
}

/** Starts a test server on 127.0.0.1 (never another address) and gives its port. */
export function listenOnLoopback(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}
