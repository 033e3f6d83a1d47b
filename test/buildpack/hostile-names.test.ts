/**
 * File names are data (issue #10): the buildpack's source removal, BP_KEEP_FILES and target
 * discovery with the nastiest names Linux allows (any byte but / and NUL), under dash and
 * under busybox sh with busybox tools only. A wrong line split once made the removal run
 * `rm -rf ..` from the app dir; here a sentinel next to the app dir must survive every case.
 * Also: a BP_KEEP_FILES that cannot be applied fails the build, and flags that reference a
 * variable are logged and recorded as written (the value may be a secret).
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLayerToml } from '../../src/cnb/files';
import { buildpackDir, busyboxPath, Shell, useFixtures } from './sandbox';

jest.setTimeout(120_000);

const shells: Shell[] = ['sh', 'busybox'];

/** Run a snippet with lib/common.sh and lib/build.sh sourced, in `cwd`. */
function lib(shell: Shell, snippet: string, cwd: string, env: Record<string, string> = {}, pathPrefix?: string) {
  const script = `. "${buildpackDir}/lib/common.sh"; . "${buildpackDir}/lib/build.sh"; ${snippet}`;
  const basePath = shell === 'busybox' ? busyboxPath([]) : (process.env.PATH ?? '');
  const path = pathPrefix ? `${pathPrefix}:${basePath}` : basePath;
  const [command, argv] = shell === 'busybox' ? ['busybox', ['sh', '-c', script]] : ['sh', ['-c', script]];
  const result = spawnSync(command, argv, { encoding: 'utf8', env: { PATH: path, ...env }, cwd, timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A name as raw bytes (some are not UTF-8). */
const raw = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Names at the app root that must all go (without BP_KEEP_FILES). */
const hostileFiles: Buffer[] = [
  'x\nREADME.md',
  '-rf',
  '--help',
  '-',
  ' leading space',
  'trailing space ',
  '*',
  '?',
  '[',
  ']',
  'a\\b',
  "'single'",
  '"double"',
  '$(touch PWNED)',
  '`touch PWNED2`',
  ';rm -rf ..;',
  'tab\there',
  '..x',
  '...',
  '.hidden',
  '\x1b[31mred',
  'name\n',
  '\n',
  'main.go',
  'go.mod',
].map((s) => Buffer.from(s));

interface Tree {
  root: string;
  app: string;
  cleanup(): void;
}

/**
 * root/app: the app, full of hostile names; root/outside and root/sentinel: what nothing may
 * touch. Directories named `a\n..`, `\n..` and `..\n` hold files of their own.
 */
function hostileTree(): Tree {
  const root = mkdtempSync(join(tmpdir(), 'gobuild-cnb-names-'));
  const app = join(root, 'app');
  mkdirSync(app);
  mkdirSync(join(root, 'outside'));
  writeFileSync(join(root, 'outside', 'data'), 'outside');
  writeFileSync(join(root, 'sentinel'), 'sentinel');
  const at = (...parts: (string | Buffer)[]): Buffer => Buffer.concat([Buffer.from(app), ...parts.map((p) => Buffer.concat([Buffer.from('/'), Buffer.from(p)]))]);
  for (const name of hostileFiles) writeFileSync(at(name), 'x');
  writeFileSync(at('README.md'), 'readme');
  writeFileSync(at(raw('\xff\xfe.go')), 'not utf-8');
  writeFileSync(at(raw('\xff.go')), 'one stray byte');
  writeFileSync(at('é.go'), 'one rune');
  writeFileSync(at('ab.go'), 'two runes');
  for (const dir of ['a\n..', '\n..', '..\n', '-rf dir', 'static', 'static/css', '.git']) mkdirSync(at(dir));
  writeFileSync(at('a\n..', 'main.go'), 'package main');
  writeFileSync(at('\n..', 'x'), 'x');
  writeFileSync(at('..\n', 'x'), 'x');
  writeFileSync(at('-rf dir', '--help'), 'x');
  writeFileSync(at('.git', 'HEAD'), 'ref');
  writeFileSync(at('static', 'x\nindex.html'), 'html');
  writeFileSync(at('static', 'css', 'keep me.css'), 'css');
  symlinkSync('../../outside', at('static', 'link-out'));
  // Links out of the app: removed as links, their targets untouched.
  symlinkSync('../outside', at('link-out'));
  symlinkSync(join(root, 'outside'), at('link-abs'));
  symlinkSync('../sentinel', at('link-file'));
  symlinkSync('/nonexistent/gobuild-cnb', at('dangling'));
  // A read-only directory: its files cannot be removed until it is made writable again.
  mkdirSync(at('ro'));
  writeFileSync(at('ro', 'f'), 'x');
  chmodSync(at('ro'), 0o555);
  return {
    root,
    app,
    cleanup: () => {
      if (existsSync(at('ro'))) chmodSync(at('ro'), 0o755);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Every path left under dir, relative, as JSON-ish strings (directories end in /), sorted. */
function treeOf(dir: string): string[] {
  const walk = (abs: Buffer, prefix: string): string[] =>
    (readdirSync(abs, { encoding: 'buffer' }) as Buffer[]).flatMap((name) => {
      const path = Buffer.concat([abs, Buffer.from('/'), name]);
      const rel = prefix + name.toString('latin1');
      const stat = lstatSync(path);
      if (stat.isSymbolicLink()) return [`${rel} -> ${readlinkSync(path, 'utf8')}`];
      return stat.isDirectory() ? [`${rel}/`, ...walk(path, `${rel}/`)] : [rel];
    });
  return walk(Buffer.from(dir), '').sort();
}

/** What must be exactly as it was: root/outside, root/sentinel, no PWNED file anywhere. */
function expectOutsideUntouched(tree: Tree): void {
  expect(readFileSync(join(tree.root, 'sentinel'), 'utf8')).toBe('sentinel');
  expect(readFileSync(join(tree.root, 'outside', 'data'), 'utf8')).toBe('outside');
  expect(treeOf(tree.root).filter((p) => !p.startsWith('app/'))).toEqual(['outside/', 'outside/data', 'sentinel']);
  expect(existsSync(join(tree.app, 'PWNED'))).toBe(false);
  expect(existsSync(join(tree.app, 'PWNED2'))).toBe(false);
}

describe.each(shells)('source removal with hostile names under %s', (shell) => {
  let tree: Tree;
  beforeEach(() => {
    tree = hostileTree();
  });
  afterEach(() => tree.cleanup());

  const removeSources = (keep?: string, pathPrefix?: string) =>
    lib(shell, 'remove_sources "$PWD"', tree.app, keep === undefined ? {} : { BP_KEEP_FILES: keep }, pathPrefix);

  test('without BP_KEEP_FILES every entry goes (newlines, dashes, globs, quotes, `a\\n..`), and nothing outside the app', () => {
    const result = removeSources();
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(treeOf(tree.app)).toEqual([]);
    expectOutsideUntouched(tree);
  });

  test('a kept README.md stays while x\\nREADME.md goes; static/* keeps its subtree, links as links', () => {
    const result = removeSources('README.md:static/*');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(treeOf(tree.app)).toEqual([
      'README.md',
      'static/',
      'static/css/',
      'static/css/keep me.css',
      'static/link-out -> ../../outside',
      'static/x\nindex.html',
    ]);
    expectOutsideUntouched(tree);
  });

  test('escaped glob characters keep only the file named by them; ? matches one character (a UTF-8 rune or a stray byte)', () => {
    const result = removeSources('\\*:\\[:a\\\\b:?.go');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(treeOf(tree.app)).toEqual(['*', '[', 'a\\b', '\xff.go', Buffer.from('é.go').toString('latin1')].sort());
    expectOutsideUntouched(tree);
  });

  test('a glob with a newline in it keeps that name only; a glob naming a dir keeps the dir, not its contents', () => {
    const result = removeSources('x\nREADME.md:a\n..:-rf dir/--help');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(treeOf(tree.app)).toEqual(['-rf dir/', '-rf dir/--help', 'a\n../', 'x\nREADME.md']);
    expectOutsideUntouched(tree);
  });

  test('a removal that fails fails remove_sources (no half-done removal that looks fine)', () => {
    const fakeBin = join(tree.root, 'fakebin');
    mkdirSync(fakeBin);
    writeFileSync(join(fakeBin, 'rm'), '#!/bin/sh\necho "rm: refusing" >&2\nexit 1\n', { mode: 0o755 });
    const result = removeSources(undefined, fakeBin);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('rm: refusing');
    rmSync(fakeBin, { recursive: true });
  });

  test('a matcher that fails fails remove_sources', () => {
    const fakeBin = join(tree.root, 'fakebin');
    mkdirSync(fakeBin);
    writeFileSync(join(fakeBin, 'awk'), '#!/bin/sh\nexit 3\n', { mode: 0o755 });
    const result = removeSources('static/*', fakeBin);
    expect(result.code).not.toBe(0);
    expect(existsSync(join(tree.app, 'main.go'))).toBe(true);
    rmSync(fakeBin, { recursive: true });
  });
});

describe.each(shells)('BP_KEEP_FILES that cannot be applied, under %s', (shell) => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gobuild-cnb-keepcheck-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test.each([
    ['[', '[', 'unterminated [...] class'],
    ['static/*:a[bc', 'a[bc', 'unterminated [...] class'],
    ['[]', '[]', 'malformed [...] class'],
    ['[^]', '[^]', 'malformed [...] class'],
    ['[a-]', '[a-]', 'malformed [...] class'],
    ['[-a]', '[-a]', 'malformed [...] class'],
    ['a\\', 'a\\', 'ends in a lone \\'],
    ['../secrets', '../secrets', 'has a .. part'],
    ['x/../y', 'x/../y', 'has a .. part'],
    ['[é]', '[é]', 'non-ASCII character in a [...] class'],
  ])('BP_KEEP_FILES=%s is an error naming the setting and the glob', (value, glob, why) => {
    const result = lib(shell, 'check_keep_files', dir, { BP_KEEP_FILES: value });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`Error: BP_KEEP_FILES=${value}: glob "${glob}" `);
    expect(result.stderr).toContain(why);
  });

  test.each(['[\\]]', '[^a-c]x', '*.go', 'a/*/b', '/static/*', 'static/', 'a::b', '\\[literal\\]', 'é*'])('BP_KEEP_FILES=%s is fine', (value) => {
    expect(lib(shell, 'check_keep_files', dir, { BP_KEEP_FILES: value })).toMatchObject({ code: 0, stderr: '' });
  });
});

describe.each(shells)('main packages in hostile directory names under %s', (shell) => {
  let tree: Tree;
  beforeEach(() => {
    tree = hostileTree();
    for (const dir of ['cmd/api', 'cmd/a b', 'cmd/x\nREADME.md', 'cmd/-rf', 'cmd/$(touch PWNED)', 'cmd/new\n..', 'cmd/vendor', 'cmd/_skip']) {
      mkdirSync(join(tree.app, dir), { recursive: true });
      writeFileSync(join(tree.app, dir, 'main.go'), 'package main\n\nfunc main() {}\n');
    }
    symlinkSync('../outside', join(tree.app, 'cmd', 'linked'));
  });
  afterEach(() => tree.cleanup());

  test('default targets: only dirs Go can build, each a whole word; the others are skipped with a warning', () => {
    const result = lib(shell, 'words=$(default_targets .) || exit 9; eval "set -- $words"; for t; do printf "<%s>" "$t"; done', tree.app);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('<./cmd/-rf><./cmd/api>');
    // Names shown in a warning have their control bytes replaced: no newline or escape reaches the log.
    expect(result.stderr).toContain('Warning: skipping the main package in cmd/a b:');
    expect(result.stderr).toContain('Warning: skipping the main package in cmd/x?README.md:');
    expect(result.stderr).toContain('Warning: skipping the main package in cmd/new?..:');
    expectOutsideUntouched(tree);
  });

  test('a .go file that cannot be read fails target discovery instead of dropping the command', () => {
    const fakeBin = join(tree.root, 'fakebin');
    mkdirSync(fakeBin);
    writeFileSync(join(fakeBin, 'grep'), '#!/bin/sh\necho "grep: Permission denied" >&2\nexit 2\n', { mode: 0o755 });
    const result = lib(shell, 'default_targets . || exit 9', tree.app, {}, fakeBin);
    expect(result.code).toBe(9);
    expect(result.stderr).toMatch(/Error: cannot read \.\/ab\.go to see whether it is a main package/);
    rmSync(fakeBin, { recursive: true });
  });
});

describe('bin/build', () => {
  const fixture = useFixtures();

  test.each(shells)('BP_KEEP_FILES=[ fails the build before compiling, naming the setting (%s)', (shell) => {
    const sandbox = fixture('hello');
    const result = sandbox.build({ BP_KEEP_FILES: '[' }, shell);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Error: BP_KEEP_FILES=\[: glob "\[" has an unterminated \[\.\.\.\] class/m);
    expect(sandbox.exists('targets/bin')).toBe(false);
    expect(sandbox.exists('launch.toml')).toBe(false);
  });

  test.each(shells)('a variable in the flags is expanded for go, logged and recorded as written (%s)', (shell) => {
    const build = (secret: string) => {
      const sandbox = fixture('multi-cmd');
      const result = sandbox.build(
        {
          MY_SECRET: secret,
          MY_TAGS: 'netgo',
          BP_GO_TARGETS: './cmd/api',
          BP_GO_BUILD_FLAGS: '-tags=${MY_TAGS}',
          BP_GO_BUILD_LDFLAGS: '-X main.version=$MY_SECRET',
        },
        shell,
      );
      if (result.code !== 0) throw new Error(`build failed (${result.code}):\n${result.output}`);
      return { sandbox, result, targets: parseLayerToml(sandbox.read('targets.toml'), 'targets.toml') };
    };
    const first = build('s3cr3t-one');
    // What the compiler bakes in is the user's choice: the value is in the binary.
    expect(first.sandbox.runBinary('api')).toBe('hello from api s3cr3t-one tags:netgo\n');
    expect(first.result.output).not.toContain('s3cr3t');
    expect(first.result.stdout).toContain("-tags=${MY_TAGS} '-ldflags=-X main.version=$MY_SECRET' -buildmode=default -trimpath ./cmd/api");
    expect(first.sandbox.read('targets.toml')).not.toContain('s3cr3t');
    expect(first.targets.metadata['build-flags']).toEqual(['-tags=${MY_TAGS}', '-ldflags=-X main.version=$MY_SECRET', '-buildmode=default', '-trimpath']);
    expect(first.targets.metadata['build-flags-sha256']).toMatch(/^[0-9a-f]{64}$/);
    // A changed value changes the hash, so the platform still sees that the flags changed.
    const second = build('s3cr3t-two');
    expect(second.targets.metadata['build-flags']).toEqual(first.targets.metadata['build-flags']);
    expect(second.targets.metadata['build-flags-sha256']).not.toBe(first.targets.metadata['build-flags-sha256']);
  });
});
