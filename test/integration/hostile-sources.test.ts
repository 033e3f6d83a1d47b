/**
 * Hostile repositories, built for real (issue #10 items 1, 2 and the buildpack half of 5): file
 * names that are data (newlines, dashes, glob and shell characters, `a\n..`, non-UTF-8 bytes,
 * links out of the app), BP_KEEP_FILES that cannot be applied, and a secret referenced in the
 * flags. The repos are made at test time (such names cannot live in git). Each case checks the
 * exit code and message, exactly what is left under /workspace in the image (kept files are
 * there, no source is), that nothing is left behind, and that the shared cache volume still
 * gives a warm build right after.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeWithDocker } from '../helpers/docker';
import { docker, removeImage, runCli, TEST_BUILDER, type CliResult } from '../helpers/cli';
import { expectNothingLeft, expectWarmBuild, privateTmp, type PrivateTmp } from '../helpers/hostile';

const SCOPE = 'hostile-sources';
const VOLUME_PREFIX = `gobuild-cnb-test-${SCOPE}`;
const VOLUME = `${VOLUME_PREFIX}-cache`;
const TAG = `gobuild-cnb-test/${SCOPE}:it`;
const WARM_TAG = `gobuild-cnb-test/${SCOPE}-warm:it`;

/** A tiny app (the standard library's os only): a cold build of it is quick on a busy machine. */
const BASE_FILES: Record<string, string> = {
  'go.mod': 'module example.com/hostile\n\ngo 1.22\n',
  'main.go': 'package main\n\nimport "os"\n\nvar version = "dev"\n\nfunc main() { os.Stdout.WriteString("hostile " + version + "\\n") }\n',
};

/** A file name as bytes: a string is UTF-8, raw() is one byte per character. */
type Name = string | Buffer;
const raw = (s: string): Buffer => Buffer.from(s, 'latin1');
/** A name as the listing shows it: one character per byte. */
const shown = (name: Name): string => (typeof name === 'string' ? Buffer.from(name) : name).toString('latin1');

interface AppSpec {
  files?: Name[];
  dirs?: Name[];
  /** [link name, target] */
  links?: [Name, string][];
}

function makeApp(spec: AppSpec): { path: string; cleanup(): void } {
  const root = mkdtempSync(join(tmpdir(), 'gobuild-cnb-hostile-src-'));
  const at = (name: Name): Buffer => Buffer.concat([Buffer.from(`${root}/`), typeof name === 'string' ? Buffer.from(name) : name]);
  for (const [name, content] of Object.entries(BASE_FILES)) writeFileSync(join(root, name), content);
  for (const dir of spec.dirs ?? []) mkdirSync(at(dir), { recursive: true });
  for (const file of spec.files ?? []) writeFileSync(at(file), `content of ${shown(file)}\n`);
  for (const [link, target] of spec.links ?? []) symlinkSync(target, at(link));
  return { path: root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** Every entry under /workspace in the image, "<type> <path>" (f, d or l), sorted, byte for byte. */
function workspaceOf(tag: string): string[] {
  const out = execFileSync('docker', ['run', '--rm', '--entrypoint', '/usr/bin/find', tag, '/workspace', '-mindepth', '1', '-printf', '%y %P\\0'], {
    timeout: 60_000,
  });
  return out
    .toString('latin1')
    .split('\0')
    .filter((e) => e !== '')
    .sort();
}

function imageExists(tag: string): boolean {
  try {
    docker(['image', 'inspect', tag]);
    return true;
  } catch {
    return false;
  }
}

describeWithDocker('hostile sources: names are data, settings that cannot be applied fail', () => {
  jest.setTimeout(300_000);
  let base: { path: string; cleanup(): void };

  const build = (appDir: string, tmp: PrivateTmp, env: string[] = []): Promise<CliResult> =>
    runCli(['build', appDir, '-t', TAG, '--cache-volume', VOLUME, '--builder', TEST_BUILDER, '--pull-policy', 'never', ...env.flatMap((e) => ['-e', e])], {
      env: tmp.env,
    });

  /** Build a hostile app; then the checks every case makes: nothing left, cache still warm. */
  async function hostileCase(spec: AppSpec, env: string[], check: (result: CliResult) => void): Promise<void> {
    const app = makeApp(spec);
    const tmp = privateTmp();
    removeImage(TAG);
    try {
      const result = await build(app.path, tmp, env);
      check(result);
      expectNothingLeft({ tmp, volumePrefix: VOLUME_PREFIX, allowedVolumes: [VOLUME] });
      await expectWarmBuild(base.path, WARM_TAG, VOLUME, tmp.env);
      expectNothingLeft({ tmp, volumePrefix: VOLUME_PREFIX, allowedVolumes: [VOLUME] });
    } finally {
      tmp.cleanup();
      app.cleanup();
    }
  }

  const expectBuilt = (result: CliResult): void => {
    expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({ code: 0, stderr: '' });
  };

  beforeAll(async () => {
    base = makeApp({});
    // The shared cache volume, warmed once: every case below must leave it so.
    const tmp = privateTmp();
    try {
      const warmup = await build(base.path, tmp);
      expectBuilt(warmup);
    } finally {
      tmp.cleanup();
    }
  });

  afterAll(() => {
    base?.cleanup();
    removeImage(TAG);
    removeImage(WARM_TAG);
    try {
      docker(['volume', 'rm', VOLUME]);
    } catch {
      // not made (no engine, or the warm-up failed before creating it)
    }
  });

  describe('BP_KEEP_FILES that cannot be applied fails the build (exit 51) and makes no image', () => {
    it.each([
      ['[', 'glob "[" has an unterminated [...] class'],
      ['static/*:a\\', 'glob "a\\" ends in a lone \\'],
      ['../secrets/*', 'glob "../secrets/*" has a .. part'],
      ['[]', 'glob "[]" has a malformed [...] class'],
    ])('BP_KEEP_FILES=%s', async (value, why) => {
      await hostileCase({ files: ['README.md'] }, [`BP_KEEP_FILES=${value}`], (result) => {
        expect(result.code).toBe(51);
        expect(result.stderr).toContain(`Error: BP_KEEP_FILES=${value}: ${why}`);
        expect(result.stderr).toMatch(/^hint: /m);
        expect(imageExists(TAG)).toBe(false);
      });
    });
  });

  describe('names that once broke the line-based removal', () => {
    it('x\\nREADME.md goes while the kept README.md stays', async () => {
      await hostileCase({ files: ['x\nREADME.md', 'README.md', 'README.md\n'] }, ['BP_KEEP_FILES=README.md'], (result) => {
        expectBuilt(result);
        expect(workspaceOf(TAG)).toEqual(['f README.md']);
      });
    });

    it('directories named a\\n.., \\n.. and ..\\n are removed, not their parents (the cache volume stays warm)', async () => {
      await hostileCase(
        { dirs: ['a\n..', '\n..', '..\n', 'deep/x\n..'], files: ['a\n../main.go', '\n../x', '..\n/y', 'deep/x\n../z'] },
        [],
        (result) => {
          expectBuilt(result);
          expect(workspaceOf(TAG)).toEqual([]);
        },
      );
    });

    it('leading dashes are names, not options of rm or find', async () => {
      await hostileCase({ dirs: ['--no-preserve-root', '-rf'], files: ['-', '--help', '-rf/-f', '--no-preserve-root/x'] }, ['BP_KEEP_FILES=--help'], (result) => {
        expectBuilt(result);
        expect(workspaceOf(TAG)).toEqual(['f --help']);
      });
    });

    it('glob characters in names: an escaped glob keeps exactly that name', async () => {
      await hostileCase({ files: ['*', '?', '[', ']', '[a]', 'a', '\\', 'x\\y'] }, ['BP_KEEP_FILES=\\*:\\[a]:x\\\\y'], (result) => {
        expectBuilt(result);
        expect(workspaceOf(TAG)).toEqual(['f *', 'f [a]', 'f x\\y']);
      });
    });

    it('quotes, $(...), backticks and ; in names run nothing', async () => {
      const files = ["'single'", '"double"', '$(touch PWNED)', '`touch PWNED`', ';rm -rf ..;', '$HOME', '${IFS}x'];
      await hostileCase({ files }, [], (result) => {
        expectBuilt(result);
        expect(workspaceOf(TAG)).toEqual([]);
        expect(result.stderr).not.toContain('PWNED:');
      });
    });

    it('names that are not UTF-8 reach the build byte for byte and match globs by byte', async () => {
      await hostileCase({ files: [raw('data-\xff.txt'), raw('src-\xfe\xfd.txt'), raw('\xe9t\xe9.txt')] }, ['BP_KEEP_FILES=data-*'], (result) => {
        expectBuilt(result);
        // The build keeps exactly data-\xff.txt (the input tar carries the byte as it is; see
        // src/build/prepare/inputs.test.ts). The export still rewrites a non-UTF-8 name as U+FFFD, so
        // only the kept file's prefix is checked here until it carries raw bytes too.
        const left = workspaceOf(TAG);
        expect(left).toHaveLength(1);
        expect(left[0]).toMatch(/^f data-[^/]+\.txt$/);
      });
    });

    it('blanks, tabs and UTF-8: ? matches one character (rune), as in filepath.Match', async () => {
      await hostileCase({ dirs: ['my dir'], files: ['my dir/a file.txt', 'tab\there', 'é.txt', 'ab.txt', ' lead', 'trail '] }, ['BP_KEEP_FILES=?.txt:my dir/*'], (result) => {
        expectBuilt(result);
        expect(workspaceOf(TAG)).toEqual(['d my dir', `f ${shown('é.txt')}`, 'f my dir/a file.txt'].sort());
      });
    });

    it('names of 255 bytes and paths over 1000 bytes are sent and kept', async () => {
      const long = 'n'.repeat(255);
      const deep = Array.from({ length: 5 }, (_, i) => `${i}${'d'.repeat(220)}`).join('/');
      await hostileCase({ dirs: [deep], files: [long, `${deep}/${long}`] }, [`BP_KEEP_FILES=${deep}/*`], (result) => {
        expectBuilt(result);
        const parts = deep.split('/');
        const dirs = parts.map((_, i) => `d ${parts.slice(0, i + 1).join('/')}`);
        expect(workspaceOf(TAG)).toEqual([...dirs, `f ${deep}/${long}`].sort());
      });
    });
  });

  describe('links and permissions', () => {
    it('links out of the app (to /layers, the cache, /etc) are removed as links, never followed', async () => {
      await hostileCase(
        {
          dirs: ['static'],
          files: ['static/index.html'],
          links: [
            ['cache', '/layers'],
            ['gocache', '/layers/gobuild-cnb_go/gocache'],
            ['up', '../..'],
            ['passwd', '/etc/passwd'],
            ['static/layers', '/layers'],
          ],
        },
        ['BP_KEEP_FILES=static/*'],
        (result) => {
          expectBuilt(result);
          expect(workspaceOf(TAG)).toEqual(['d static', 'f static/index.html', 'l static/layers']);
        },
      );
    });

    it('a read-only directory of the app is removed too (the build user makes it writable)', async () => {
      const app = makeApp({ dirs: ['ro/sub'], files: ['ro/sub/f', 'ro/g'] });
      chmodSync(join(app.path, 'ro', 'sub'), 0o555);
      chmodSync(join(app.path, 'ro'), 0o555);
      const tmp = privateTmp();
      removeImage(TAG);
      try {
        const result = await build(app.path, tmp);
        expectBuilt(result);
        expect(workspaceOf(TAG)).toEqual([]);
        expectNothingLeft({ tmp, volumePrefix: VOLUME_PREFIX, allowedVolumes: [VOLUME] });
        await expectWarmBuild(base.path, WARM_TAG, VOLUME, tmp.env);
      } finally {
        tmp.cleanup();
        chmodSync(join(app.path, 'ro', 'sub'), 0o755);
        chmodSync(join(app.path, 'ro'), 0o755);
        app.cleanup();
      }
    });

    it('a FIFO in the app is refused by name before anything is sent (exit 2), and never read', async () => {
      const app = makeApp({ dirs: ['run'] });
      execFileSync('mkfifo', [join(app.path, 'run', 'app.pipe')]);
      const tmp = privateTmp();
      try {
        const result = await build(app.path, tmp);
        expect(result.code).toBe(2);
        expect(result.stderr).toContain(`${join(app.path, 'run', 'app.pipe')} is a FIFO (named pipe): only files, directories and symbolic links can be sent to the build`);
        expect(result.stderr).toMatch(/^hint: .*exclude = \["run\/app\.pipe"\]/m);
        expectNothingLeft({ tmp, volumePrefix: VOLUME_PREFIX, allowedVolumes: [VOLUME] });
        await expectWarmBuild(base.path, WARM_TAG, VOLUME, tmp.env);
      } finally {
        tmp.cleanup();
        app.cleanup();
      }
    });
  });

  describe('targets and flags', () => {
    it('a main package in a directory Go cannot name is skipped with a warning; the others are built', async () => {
      const main = 'package main\n\nfunc main() {}\n';
      const app = makeApp({ dirs: ['cmd/api', 'cmd/my app', 'cmd/x\nREADME.md'] });
      // A library at the root: the default targets are the commands under cmd/.
      writeFileSync(join(app.path, 'main.go'), 'package hostile\n');
      for (const dir of ['cmd/api', 'cmd/my app', 'cmd/x\nREADME.md']) writeFileSync(join(app.path, dir, 'main.go'), main);
      const tmp = privateTmp();
      removeImage(TAG);
      try {
        const result = await build(app.path, tmp);
        expectBuilt(result);
        expect(result.stderr).toContain('Warning: skipping the main package in cmd/my app');
        expect(result.stderr).toContain('Warning: skipping the main package in cmd/x?README.md');
        expect(result.stdout).toMatch(/^gobuild-cnb-test\/hostile-sources:it sha256:/);
        expect(result.stderr).toMatch(/Processes: +api \(default\)/);
        expect(workspaceOf(TAG)).toEqual([]);
        expectNothingLeft({ tmp, volumePrefix: VOLUME_PREFIX, allowedVolumes: [VOLUME] });
        await expectWarmBuild(base.path, WARM_TAG, VOLUME, tmp.env);
      } finally {
        tmp.cleanup();
        app.cleanup();
      }
    });

    it('a secret referenced in BP_GO_BUILD_LDFLAGS is in the binary (the user asked) but not in the log or the image metadata', async () => {
      const secret = 's3cr3t-hostile-sources';
      await hostileCase({}, [`MY_SECRET=${secret}`, 'BP_GO_BUILD_LDFLAGS=-X main.version=$MY_SECRET'], (result) => {
        expectBuilt(result);
        expect(docker(['run', '--rm', TAG])).toBe(`hostile ${secret}`);
        expect(result.stderr).toContain("'-ldflags=-X main.version=$MY_SECRET'");
        expect(result.stderr).not.toContain(secret);
        expect(result.stdout).not.toContain(secret);
        const labels = docker(['image', 'inspect', '--format', '{{json .Config.Labels}}', TAG]);
        expect(labels).toContain('-ldflags=-X main.version=$MY_SECRET');
        expect(labels).not.toContain(secret);
        expect(docker(['history', '--no-trunc', TAG])).not.toContain(secret);
        expect(existsSync(join(base.path, 'PWNED'))).toBe(false);
      });
    });
  });
});
