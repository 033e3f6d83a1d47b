/**
 * Our own scripts that run in the build container (assets/): restore.sh, inventory.sh and the
 * phase wrapper's --inventory, under dash and under busybox sh with a busybox-only PATH, since
 * builders may be either.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxPath, type Shell } from './sandbox';
import { parseInventory } from '../../src/app/build-container';
import { testdir, type TestDir } from '../helpers/testdir';

const ASSETS = join(__dirname, '..', '..', 'assets');
const shells: Shell[] = ['sh', 'busybox'];

function run(shell: Shell, script: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result =
    shell === 'busybox'
      ? spawnSync('busybox', ['sh', join(ASSETS, script), ...args], { env: { PATH: busyboxPath([]) }, encoding: 'utf8', timeout: 20_000 })
      : spawnSync('sh', [join(ASSETS, script), ...args], { env: { PATH: process.env.PATH }, encoding: 'utf8', timeout: 20_000 });
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

  it('phase.sh --inventory lists the layers dir once the program succeeded, and keeps its exit code', () => {
    const out = join(dir.path, 'plans', 'inventory');
    mkdirSync(join(dir.path, 'plans'));
    const program = join(dir.path, 'program.sh');
    writeFileSync(program, 'echo "building $1"; exit "$2"\n');

    const ok = run(shell, 'phase.sh', ['--inventory', layers(), out, 'sh', program, 'app', '0']);
    expect(ok).toMatchObject({ code: 0, stdout: 'building app\n' });
    expect(parseInventory(readFileSync(out, 'utf8')).names).toContain('targets.toml');

    const failedOut = join(dir.path, 'plans', 'after-failure');
    const failed = run(shell, 'phase.sh', ['--inventory', layers(), failedOut, 'sh', program, 'app', '3']);
    expect(failed.code).toBe(3);
    expect(existsSync(failedOut)).toBe(false);
  });

  it('phase.sh without --inventory runs the program and writes nothing', () => {
    const result = run(shell, 'phase.sh', ['sh', '-c', 'echo "$0 $1"; exit 4', 'first', 'second']);
    expect(result).toMatchObject({ code: 4, stdout: 'first second\n' });
  });
});
