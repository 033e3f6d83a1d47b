/**
 * The buildpack's shell helpers (buildpack/lib/*.sh), run under dash and under busybox sh
 * with a busybox-only PATH: flag word splitting, LLD ldflags merging, binary naming,
 * BP_GO_VERSION matching and BP_KEEP_FILES source removal. No go build here: fast.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildpackDir, busyboxPath, Sandbox, Shell } from './sandbox';

const shells: Shell[] = ['sh', 'busybox'];

/** Run a snippet with lib/common.sh and lib/build.sh sourced; $1.. are args. */
function lib(shell: Shell, snippet: string, args: string[] = [], env: Record<string, string> = {}, cwd?: string) {
  const script = `. "${buildpackDir}/lib/common.sh"; . "${buildpackDir}/lib/build.sh"; ${snippet}`;
  const [command, argv] =
    shell === 'busybox' ? ['busybox', ['sh', '-c', script, 'lib', ...args]] : ['sh', ['-c', script, 'lib', ...args]];
  const path = shell === 'busybox' ? busyboxPath([]) : (process.env.PATH ?? '');
  const result = spawnSync(command, argv, { encoding: 'utf8', env: { PATH: path, ...env }, cwd });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The words split_words makes of input, as an array. */
function words(shell: Shell, input: string, env: Record<string, string> = {}): string[] {
  const result = lib(shell, 'line=$(split_words "$1") || exit 3; eval "set -- $line"; for w; do printf "<%s>" "$w"; done', [input], env);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return [...result.stdout.matchAll(/<([^>]*)>/gs)].map((m) => m[1]);
}

describe.each(shells)('split_words under %s (BP_GO_BUILD_FLAGS)', (shell) => {
  test('single-quoted ldflags with spaces stay one word', () => {
    expect(words(shell, "-ldflags='-X main.version=1.2.3 -s -w' -tags=netgo")).toEqual([
      '-ldflags=-X main.version=1.2.3 -s -w',
      '-tags=netgo',
    ]);
  });

  test('double quotes keep inner single quotes; backslash escapes', () => {
    expect(words(shell, `-ldflags="-X 'main.msg=hello world'" a\\ b "c\\"d" 'e\\f'`)).toEqual([
      "-ldflags=-X 'main.msg=hello world'",
      'a b',
      'c"d',
      'e\\f',
    ]);
  });

  test('blanks separate words; an empty quoted word survives', () => {
    expect(words(shell, "  -v \t -x  ''")).toEqual(['-v', '-x', '']);
  });

  test('$VAR and ${VAR} are expanded outside single quotes, as Paketo does', () => {
    expect(words(shell, "-X=$APP_VERSION -Y=${APP_VERSION}x '$APP_VERSION' \"$APP_VERSION\" $", { APP_VERSION: '9' })).toEqual([
      '-X=9',
      '-Y=9x',
      '$APP_VERSION',
      '9',
      '$',
    ]);
  });

  test.each([
    ["-ldflags='-s -w", 'unterminated single quote'],
    ['-ldflags="-s -w', 'unterminated double quote'],
    ['-tags=x \\', 'trailing backslash'],
  ])('%s cannot be parsed: %s', (input, message) => {
    const result = lib(shell, 'split_words "$1"', [input]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(message);
  });
});

describe.each(shells)('helpers under %s', (shell) => {
  test.each([
    ['', '-extldflags=-fuse-ld=lld -linkmode=external'],
    ['-s -w', '-s -w -extldflags=-fuse-ld=lld -linkmode=external'],
    ['-extldflags=-static', "-extldflags '-static -fuse-ld=lld' -linkmode=external"],
    [
      "-X main.v=1 -extldflags '-Wl,--build-id=none -static'",
      "-X main.v=1 -extldflags '-Wl,--build-id=none -static -fuse-ld=lld' -linkmode=external",
    ],
  ])('LLD merges into ldflags %p', (input, merged) => {
    const result = lib(shell, 'merge_lld_ldflags "$1"', [input]);
    expect(result.stdout.trim()).toBe(merged);
  });

  test.each([
    ['example.com/tool/v2', '1', 'tool'],
    ['example.com/tool/v10', '1', 'tool'],
    ['example.com/tool/v1', '1', 'v1'],
    ['example.com/tool/v0', '1', 'v0'],
    ['example.com/tool/v2beta', '1', 'v2beta'],
    ['v2', '1', 'v2'],
    ['example.com/tool/v2', '0', 'v2'],
    ['example.com/multi/cmd/api', '1', 'api'],
  ])('go build names %s (module mode %s) %s', (importPath, moduleMode, name) => {
    expect(lib(shell, 'binary_name "$1" "$2"', [importPath, moduleMode]).stdout).toBe(name);
  });

  test.each([
    ['1.26.*', 'go1.26.8', true],
    ['1.26', 'go1.26.8', true],
    ['~1.26.3', 'go1.26.8', true],
    ['>= 1.25', 'go1.26.8', true],
    ['1.26.8', 'go1.26.8', true],
    ['1.2', 'go1.26.8', false],
    ['1.25.*', 'go1.26.8', false],
    ['~1.26.9', 'go1.26.8', false],
    ['1.26.7', 'go1.26.8', false],
  ])('BP_GO_VERSION=%s with %s satisfied: %p', (want, have, ok) => {
    const result = lib(shell, 'check_go_version "$1" "$2"', [want, have]);
    expect(result.code).toBe(ok ? 0 : 1);
    if (!ok) expect(result.stderr).toContain(`builder's Go is ${have}`);
  });

  test('an unknown BP_GO_VERSION syntax warns and carries on', () => {
    const result = lib(shell, 'check_go_version "$1" "$2"', ['^1.2 || 1.3', 'go1.26.8']);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('not a constraint this buildpack understands');
  });
});

describe.each(shells)('BP_KEEP_FILES source removal under %s', (shell) => {
  const tree = [
    '.env',
    '.git/HEAD',
    'README.md',
    'main.go',
    'go.mod',
    'docs/guide.md',
    'static/index.html',
    'static/css/site.css',
    'config/app.yaml',
    'config/other.yaml',
    'assets/img/logo.png',
    'assets/img/photo.jpg',
    'assets/fonts/a.woff',
    'abc',
    'a/b',
  ];
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gobuild-cnb-keep-'));
    for (const rel of tree) {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      writeFileSync(join(dir, rel), rel);
    }
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const keep = (globs: string | undefined): string[] => {
    const env: Record<string, string> = globs === undefined ? {} : { BP_KEEP_FILES: globs };
    const result = lib(shell, 'remove_sources "$PWD"', [], env, dir);
    expect(result.stderr).toBe('');
    const sandboxLike = Object.create(Sandbox.prototype) as Sandbox;
    Object.defineProperty(sandboxLike, 'app', { value: dir });
    return sandboxLike.appTree();
  };

  test('without BP_KEEP_FILES everything goes, dotfiles too', () => {
    expect(keep(undefined)).toEqual([]);
  });

  test('a glob ending in /* keeps the whole subtree of what it matches', () => {
    expect(keep('static/*')).toEqual(['static/', 'static/css/', 'static/css/site.css', 'static/index.html']);
  });

  test('a file glob keeps its parent directories but not their other files', () => {
    expect(keep('config/app.yaml:assets/img/*.png:.env')).toEqual([
      '.env',
      'assets/',
      'assets/img/',
      'assets/img/logo.png',
      'config/',
      'config/app.yaml',
    ]);
  });

  test('a leading part ending in /* keeps its subtree, as in Paketo: assets/*/logo.png keeps all of assets/*', () => {
    expect(keep('assets/*/logo.png')).toEqual(['assets/', 'assets/fonts/', 'assets/fonts/a.woff', 'assets/img/', 'assets/img/logo.png', 'assets/img/photo.jpg']);
  });

  test('a /* glob keeps the subtree whatever the order of the globs', () => {
    const subtree = ['static/', 'static/css/', 'static/css/site.css', 'static/index.html'];
    expect(keep('static/css:static/*')).toEqual(subtree);
    expect(keep('static/*:static/css')).toEqual(subtree);
  });

  test('* does not cross a /, like filepath.Match; a matched directory keeps no contents', () => {
    expect(keep('*.md:a*')).toEqual(['README.md', 'a/', 'abc', 'assets/']);
  });
});
