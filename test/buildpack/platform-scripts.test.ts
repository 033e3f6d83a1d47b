/**
 * Our own scripts that run in the build container (assets/): restore.sh, inventory.sh and the
 * phase wrapper's --inventory, under dash and under busybox sh with a busybox-only PATH, since
 * builders may be either.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxPath, type Shell } from './sandbox';
import { parseInventory } from '../../src/build/build-container';
import { testdir, type TestDir } from '../helpers/testdir';

const ASSETS = join(__dirname, '..', '..', 'assets');
const shells: Shell[] = ['sh', 'busybox'];

function run(shell: Shell, script: string, args: string[], cwd?: string, env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const options = { cwd, encoding: 'utf8' as const, timeout: 20_000 };
  // busybox plus the Go toolchain's dir: restore.sh checks that the builder has go.
  const result =
    shell === 'busybox'
      ? spawnSync('busybox', ['sh', join(ASSETS, script), ...args], { ...options, env: { PATH: busyboxPath(), ...env } })
      : spawnSync('sh', [join(ASSETS, script), ...args], { ...options, env: { PATH: process.env.PATH, ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const CACHE_TOML = '[types]\n  launch = false\n  build = false\n  cache = true\n\n[metadata]\n  go-version = "go1.26"\n';
const LAUNCH_TOML = '[types]\n  launch = true\n  build = false\n  cache = false\n';

describe.each(shells)('platform scripts under %s', (shell) => {
  let dir: TestDir;
  const layers = () => join(dir.path, 'layers');
  beforeEach(() => {
    dir = testdir({
      'layers/gocache.toml': CACHE_TOML,
      'layers/gocache/ab/cd': 'compiled',
      'layers/targets.toml': LAUNCH_TOML,
      'layers/targets/bin/app': 'binary',
      'layers/launch.toml': '[[processes]]\n  type = "app"\n',
      'layers/targets.sbom.cdx.json': '{"bomFormat":"CycloneDX"}',
    });
  });
  afterEach(() => dir.cleanup());

  it('inventory.sh lists every name and the content of the metadata files', () => {
    const result = run(shell, 'inventory.sh', [layers()]);
    expect(result.code).toBe(0);
    const { names, files } = parseInventory(result.stdout);
    expect(names).toEqual(['gocache', 'gocache.toml', 'launch.toml', 'targets', 'targets.sbom.cdx.json', 'targets.toml']);
    expect(files.get('gocache.toml')).toBe(CACHE_TOML);
    expect(files.get('targets.sbom.cdx.json')).toBe('{"bomFormat":"CycloneDX"}');
    expect(files.has('targets')).toBe(false);
  });

  it('inventory.sh lists nothing for a dir that does not exist', () => {
    const result = run(shell, 'inventory.sh', [join(dir.path, 'missing')]);
    expect(result).toMatchObject({ code: 0, stdout: '' });
  });

  it('restore.sh keeps only the cache layers and their metadata', () => {
    expect(run(shell, 'restore.sh', [layers()]).code).toBe(0);
    expect(parseInventory(run(shell, 'inventory.sh', [layers()]).stdout).names).toEqual(['gocache', 'gocache.toml']);
    expect(readFileSync(join(layers(), 'gocache', 'ab', 'cd'), 'utf8')).toBe('compiled');
  });

  it('restore.sh refuses a builder without go before it touches the layers', () => {
    // A PATH with the shell but no go (busybox only, or a dir holding just sh), and no fallback dir.
    const shOnly = join(dir.path, 'sh-only');
    mkdirSync(shOnly);
    symlinkSync(execFileSync('sh', ['-c', 'command -v sh'], { encoding: 'utf8' }).trim(), join(shOnly, 'sh'));
    const path = shell === 'busybox' ? busyboxPath([]) : shOnly;
    const noGo = run(shell, 'restore.sh', [layers()], undefined, { PATH: path, GOBUILD_CNB_GO_FALLBACK_DIRS: '/nonexistent' });
    expect(noGo).toMatchObject({ code: 3, stderr: 'gobuild-cnb: no go command in the builder\n' });
    expect(parseInventory(run(shell, 'inventory.sh', [layers()]).stdout).names).toContain('targets.toml');
  });

  it('phase.sh --inventory sends the program output to stderr and lists the layers dir on stdout once it succeeded', () => {
    const program = join(dir.path, 'program.sh');
    writeFileSync(program, 'echo "building $1"; echo "warning" >&2; exit "$2"\n');
    const appDir = join(dir.path, 'app');
    mkdirSync(appDir);
    writeFileSync(join(appDir, 'main.go'), 'package main\n');

    const ok = run(shell, 'phase.sh', ['--inventory', layers(), 'sh', program, 'app', '0'], appDir);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toBe('building app\nwarning\n');
    const listing = parseInventory(ok.stdout);
    expect(listing.names).toContain('targets.toml');
    expect(listing.files.get('gocache.toml')).toBe(CACHE_TOML);
    expect(listing.emptyAppDirMode).toBeUndefined();

    const failed = run(shell, 'phase.sh', ['--inventory', layers(), 'sh', program, 'app', '3'], appDir);
    expect(failed).toMatchObject({ code: 3, stdout: '' });
  });

  it('phase.sh --inventory says when the app dir is empty, with its mode', () => {
    const appDir = join(dir.path, 'app');
    mkdirSync(appDir);
    chmodSync(appDir, 0o2750);
    const result = run(shell, 'phase.sh', ['--inventory', layers(), 'true'], appDir);
    expect(result.code).toBe(0);
    expect(parseInventory(result.stdout)).toMatchObject({ emptyAppDirMode: 0o2750 });
    expect(parseInventory(result.stdout).files.get('launch.toml')).toBe('[[processes]]\n  type = "app"\n');

    writeFileSync(join(appDir, '.hidden'), '');
    expect(parseInventory(run(shell, 'phase.sh', ['--inventory', layers(), 'true'], appDir).stdout).emptyAppDirMode).toBeUndefined();
  });

  it('phase.sh without --inventory runs the program and writes nothing', () => {
    const result = run(shell, 'phase.sh', ['sh', '-c', 'echo "$0 $1"; exit 4', 'first', 'second']);
    expect(result).toMatchObject({ code: 4, stdout: 'first second\n' });
  });
});
