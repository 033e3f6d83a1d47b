/**
 * Hostile outputs (issue #10 item 4): an output path is never followed when it is a symbolic
 * link, never replaced when it is not a regular file (or directory) of ours, and refused
 * before the build, fast. `oci-archive:-` streams the archive to stdout. A full disk is exit 62
 * with the previous archive intact. Bad -t values are exit 2 with the reference grammar.
 *
 * Refusals run with DOCKER_HOST pointing at nothing: exit 2 (not 3) proves that no engine call
 * (and so no build container) came before the refusal.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync,
  type Stats,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeWithDocker } from '../helpers/docker';
import { CLI, docker, REPO_ROOT, removeImage, runCli, TEST_BUILDER, type CliResult } from '../helpers/cli';
import { expectNothingLeft, expectWarmBuild, privateTmp, type PrivateTmp } from '../helpers/hostile';

const SCOPE = 'hostile-outputs';
const VOLUME = `gobuild-cnb-test-${SCOPE}-cache`;
const TAG = `gobuild-cnb-test/${SCOPE}:it`;
const HELLO = join(REPO_ROOT, 'fixtures', 'hello');
const NO_ENGINE = { DOCKER_HOST: 'unix:///nonexistent/gobuild-cnb-hostile-outputs.sock' };
/** A refusal is a preflight check: well under a second of work, plus Node's start-up. */
const REFUSAL_MS = 5_000;

/** What a path is, so a test can say it is exactly as it was (same inode, type, content). */
interface PathState {
  ino: number;
  mode: number;
  rdev: number;
  link?: string;
  sha?: string;
}

function stateOf(path: string): PathState {
  const info: Stats = lstatSync(path);
  return {
    ino: info.ino,
    mode: info.mode,
    rdev: info.rdev,
    ...(info.isSymbolicLink() ? { link: readlinkSync(path) } : {}),
    ...(info.isFile() ? { sha: createHash('sha256').update(readFileSync(path)).digest('hex') } : {}),
  };
}

const buildArgs = (output: string, tag = TAG): string[] => [
  'build', HELLO, '-t', tag, '--builder', TEST_BUILDER, '--pull-policy', 'never', '--cache-volume', VOLUME, '--output', output,
];

/** Mounts a tmpfs (root only); null when this machine does not allow it. */
function mountTmpfs(dir: string, options: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    // not mounted
  }
}

describeWithDocker('hostile outputs: never follow or replace what is not ours', () => {
  jest.setTimeout(600_000);
  let work: string;
  let tmp: PrivateTmp;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'gobuild-cnb-hostile-outputs-'));
    // One warm cache volume for the suite: the builds below only compile what changed.
    const warm = await runCli(['build', HELLO, '-t', TAG, '--builder', TEST_BUILDER, '--pull-policy', 'never', '--cache-volume', VOLUME]);
    expect({ code: warm.code, stderr: warm.code === 0 ? '' : warm.stderr }).toEqual({ code: 0, stderr: '' });
  });
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
    removeImage(TAG);
    docker(['volume', 'rm', '-f', VOLUME]);
  });
  beforeEach(() => (tmp = privateTmp()));
  afterEach(() => tmp.cleanup());

  /** Runs a build that must be refused up front: exit 2, the message, a hint, fast, nothing left. */
  async function expectRefused(args: string[], message: RegExp): Promise<CliResult> {
    const started = Date.now();
    const result = await runCli(args, { env: { ...tmp.env, ...NO_ENGINE } });
    const elapsed = Date.now() - started;
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 2, stderr: expect.stringMatching(message) });
    expect(result.stderr).toMatch(/^hint: \S.+$/m);
    expect(result.stderr).not.toMatch(/===> DETECT/);
    expect(result.stdout).toBe('');
    expect(elapsed).toBeLessThan(REFUSAL_MS);
    expectNothingLeft({ tmp, volumePrefix: `gobuild-cnb-test-${SCOPE}`, allowedVolumes: [VOLUME] });
    return result;
  }

  describe('special files and symlinks are refused before the build, and left as they were', () => {
    it.each([
      ['/dev/full', /cannot write an OCI archive to "\/dev\/full": it is a character device/],
      ['/dev/null', /cannot write an OCI archive to "\/dev\/null": it is a character device/],
    ])('oci-archive:%s', async (device, message) => {
      const before = stateOf(device);
      await expectRefused(buildArgs(`oci-archive:${device}`), message);
      expect(stateOf(device)).toEqual(before);
    });

    it('oci:/dev/null (a layout must be a directory)', async () => {
      const before = stateOf('/dev/null');
      await expectRefused(buildArgs('oci:/dev/null'), /cannot write an OCI layout to "\/dev\/null": it is a character device, not a directory/);
      expect(stateOf('/dev/null')).toEqual(before);
    });

    it('a FIFO', async () => {
      const fifo = join(work, 'fifo');
      execFileSync('mkfifo', [fifo]);
      const before = stateOf(fifo);
      await expectRefused(buildArgs(`oci-archive:${fifo}`), /it is a FIFO \(named pipe\)/);
      expect(stateOf(fifo)).toEqual(before);
    });

    it('a socket', async () => {
      const socketPath = join(work, 'sock');
      const server: Server = createServer();
      await new Promise<void>((resolve) => server.listen(socketPath, resolve));
      try {
        const before = stateOf(socketPath);
        await expectRefused(buildArgs(`oci-archive:${socketPath}`), /it is a socket/);
        expect(stateOf(socketPath)).toEqual(before);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it.each([
      ['a symlink to a file', 'to-file', (dir: string) => join(dir, 'precious.tar')],
      ['a symlink to /proc/self/fd/1', 'to-stdout', () => '/proc/self/fd/1'],
      ['a dangling symlink', 'dangling', (dir: string) => join(dir, 'does-not-exist.tar')],
    ])('%s', async (_name, linkName, targetOf) => {
      const dir = mkdtempSync(join(work, 'links-'));
      writeFileSync(join(dir, 'precious.tar'), 'my previous archive');
      const link = join(dir, linkName);
      symlinkSync(targetOf(dir), link);
      const before = { link: stateOf(link), precious: stateOf(join(dir, 'precious.tar')) };
      const result = await expectRefused(buildArgs(`oci-archive:${link}`), /it is a symbolic link \(to "/);
      expect(result.stderr).toMatch(/hint: gobuild-cnb neither writes through nor replaces a symbolic link/);
      expect({ link: stateOf(link), precious: stateOf(join(dir, 'precious.tar')) }).toEqual(before);
      expect(readdirSync(dir).sort()).toEqual([linkName, 'precious.tar'].sort());
    });

    it('a symlink to a directory as oci: (a layout is never written through a link)', async () => {
      const real = join(work, 'real-layout');
      mkdirSync(real);
      const link = join(work, 'layout-link');
      symlinkSync(real, link);
      await expectRefused(buildArgs(`oci:${link}`), /cannot write an OCI layout to ".*layout-link": it is a symbolic link/);
      expect(readdirSync(real)).toEqual([]);
    });
  });

  describe('paths of the wrong kind or in the wrong place', () => {
    it('a directory as oci-archive', async () => {
      const dir = mkdtempSync(join(work, 'dir-'));
      writeFileSync(join(dir, 'keep'), 'x');
      const before = stateOf(dir);
      await expectRefused(buildArgs(`oci-archive:${dir}`), /cannot write an OCI archive to ".*": it is a directory/);
      expect(stateOf(dir)).toEqual(before);
      expect(readdirSync(dir)).toEqual(['keep']);
    });

    it('a regular file as oci:', async () => {
      const file = join(work, 'not-a-layout.txt');
      writeFileSync(file, 'my notes');
      const before = stateOf(file);
      await expectRefused(buildArgs(`oci:${file}`), /cannot write an OCI layout to ".*not-a-layout.txt": it is a regular file, not a directory/);
      expect(stateOf(file)).toEqual(before);
    });

    it('a directory that is neither empty nor an OCI layout as oci:', async () => {
      const dir = mkdtempSync(join(work, 'busy-'));
      writeFileSync(join(dir, 'notes.txt'), 'mine');
      await expectRefused(buildArgs(`oci:${dir}`), /it is a directory that is neither empty nor an OCI image layout/);
      expect(readdirSync(dir)).toEqual(['notes.txt']);
    });

    it('a read-only file system (exit 2 before the build, not exit 1 after it)', async () => {
      const ro = join(work, 'ro');
      mkdirSync(ro);
      const mounted = mountTmpfs(ro, 'ro,size=1m');
      const place = mounted ? ro : '/proc/self'; // no mount allowed: a place where nobody creates files
      try {
        await expectRefused(buildArgs(`oci-archive:${join(place, 'image.tar')}`), /cannot create files in ".*" \((EROFS|ENOENT|EACCES)/);
        await expectRefused(buildArgs(`oci:${join(place, 'layout')}`), /cannot create files in/);
      } finally {
        if (mounted) unmount(ro);
      }
    });

    it('a parent directory that does not exist (archive)', async () => {
      const result = await expectRefused(buildArgs(`oci-archive:${join(work, 'no', 'such', 'dir', 'x.tar')}`), /its directory ".*no\/such\/dir" does not exist/);
      expect(result.stderr).toMatch(/hint: Create the directory first \(mkdir -p/);
    });

    it('a path with a newline', async () => {
      await expectRefused(buildArgs(`oci-archive:${join(work, 'a\nb.tar')}`), /holds a newline or another control character/);
      expect(readdirSync(work).filter((n) => n.includes('\n'))).toEqual([]);
    });

    it('oci:- (stdout is not a directory)', async () => {
      await expectRefused(buildArgs('oci:-'), /--output oci:- names stdout, but an OCI layout is a directory/);
    });
  });

  describe('a terminal on stdout (run under script(1), which gives the CLI a pty)', () => {
    const hasScript = ((): boolean => {
      try {
        execFileSync('script', ['--version'], { stdio: 'ignore', timeout: 10_000 });
        return true;
      } catch {
        return false;
      }
    })();
    /** The CLI with stdout and stderr on a pty; returns its exit code and everything it drew. */
    const onTerminal = (args: string[], env: NodeJS.ProcessEnv): { code: number; text: string } => {
      const command = [CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
      try {
        const text = execFileSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', env: { ...process.env, CI: '', ...tmp.env, ...NO_ENGINE, ...env }, timeout: 30_000 });
        return { code: 0, text };
      } catch (err) {
        const failed = err as { status: number; stdout: string };
        return { code: failed.status, text: failed.stdout };
      }
    };

    (hasScript ? it : it.skip)('oci-archive:- refuses a terminal: exit 2, nothing written to it but the story', () => {
      const { code, text } = onTerminal(buildArgs('oci-archive:-'), {});
      expect(code).toBe(2);
      expect(text).toMatch(/ERROR: --output oci-archive:- writes a binary archive to stdout, and stdout is a terminal/);
      expect(text).toMatch(/hint: Redirect or pipe stdout/);
      expect(text).not.toContain('oci-layout');
      expectNothingLeft({ tmp, volumePrefix: `gobuild-cnb-test-${SCOPE}`, allowedVolumes: [VOLUME] });
    });

    (hasScript ? it : it.skip)('NO_COLOR=1 and --no-color: no escape codes and no spinner on a terminal', () => {
      const withColor = onTerminal(buildArgs('oci-archive:/dev/full'), { TERM: 'xterm-256color' });
      // On a terminal the spinner draws (its ✖): the checks below can fail.
      expect(withColor.text).toMatch(/✖ prepare failed/);
      for (const [env, extra] of [[{ NO_COLOR: '1' }, []], [{}, ['--no-color']]] as const) {
        const plain = onTerminal([...buildArgs('oci-archive:/dev/full'), ...extra], { TERM: 'xterm-256color', ...env });
        expect(plain.code).toBe(2);
        expect(plain.text).toMatch(/^===> PREPARE\r?\nPreparing builder .*\r?\nprepare failed in \d+ms\r?$/m);
        expect(plain.text).not.toContain('✖');
        // eslint-disable-next-line no-control-regex
        expect(plain.text).not.toMatch(/\u001b/);
      }
    });
  });

  describe('bad -t values are exit 2 with the reference grammar, before any engine call', () => {
    it.each([
      ['127.0.0.1:99999/x', /port 99999 is not between 1 and 65535/],
      ['Upper/Case', /repository names must be lowercase/],
      ['a//b', /not a valid repository path component/],
      ['', /it is empty/],
      [':tag', /not a valid repository path component/],
      [`x${'a'.repeat(255)}`, /longer than 255 characters/],
      ['my app', /not a valid repository path component/],
      ['my-app\nevil', /not a valid/],
    ])('-t %j', async (tag, why) => {
      const result = await expectRefused(buildArgs(`oci-archive:${join(work, 'never.tar')}`, tag), why);
      expect(result.stderr).toContain(`-t ${JSON.stringify(tag)} is not a valid image name`);
      expect(result.stderr).toMatch(/hint: An image name is \[registry\[:port\]\/\]path\[:tag\]/);
      expect(readdirSync(work)).not.toContain('never.tar');
    });
  });

  describe('writing', () => {
    it('oci-archive:- streams the archive into a pipe (skopeo reads it); the result line goes to stderr', async () => {
      const archive = join(work, 'from-stdout.tar');
      const child = spawn(CLI, [...buildArgs('oci-archive:-')], {
        cwd: REPO_ROOT,
        env: { ...process.env, CI: 'true', ...tmp.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const stdout: Buffer[] = [];
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      clearTimeout(timer);
      expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
      writeFileSync(archive, Buffer.concat(stdout));

      // Nothing but the archive on stdout: it is a tar from its first byte to its last.
      expect(Buffer.concat(stdout).subarray(0, 'oci-layout'.length).toString()).toBe('oci-layout');
      expect(statSync(archive).size % 512).toBe(0);
      expect(stderr).toMatch(new RegExp(`^${TAG.replace(/[/.]/g, '\\$&')} sha256:[0-9a-f]{64}$`, 'm'));
      expect(stderr).toMatch(/Wrote .* to the OCI archive on stdout/);
      expect(stderr).toMatch(/gocache: reused/);
      const inspected = JSON.parse(execFileSync('skopeo', ['inspect', `oci-archive:${archive}:${TAG}`], { encoding: 'utf8', timeout: 120_000 })) as { Os: string; Layers: string[] };
      expect(inspected.Os).toBe('linux');
      expect(inspected.Layers.length).toBeGreaterThan(1);
      expectNothingLeft({ tmp, volumePrefix: `gobuild-cnb-test-${SCOPE}`, allowedVolumes: [VOLUME] });
    });

    it('a symlinked parent directory is followed, and a previous archive there is replaced atomically', async () => {
      const real = mkdtempSync(join(work, 'real-'));
      const via = join(work, 'via-link');
      symlinkSync(real, via);
      writeFileSync(join(real, 'image.tar'), 'the previous archive');
      const previous = stateOf(join(real, 'image.tar'));
      const result = await runCli(buildArgs(`oci-archive:${join(via, 'image.tar')}`), { env: tmp.env });
      expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({ code: 0, stderr: '' });
      expect(lstatSync(via).isSymbolicLink()).toBe(true);
      const now = stateOf(join(real, 'image.tar'));
      expect(now.ino).not.toBe(previous.ino); // renamed over, not written into
      expect(readdirSync(real)).toEqual(['image.tar']);
      const inspected = JSON.parse(execFileSync('skopeo', ['inspect', `oci-archive:${join(real, 'image.tar')}:${TAG}`], { encoding: 'utf8', timeout: 120_000 })) as { Os: string };
      expect(inspected.Os).toBe('linux');
      expectNothingLeft({ tmp, volumePrefix: `gobuild-cnb-test-${SCOPE}`, allowedVolumes: [VOLUME] });
    });

    it('a full disk while writing is exit 62: no partial file, the previous archive intact, the cache still warm', async () => {
      const full = join(work, 'full');
      mkdirSync(full);
      if (!mountTmpfs(full, 'size=2m')) {
        process.stderr.write('[hostile-outputs] SKIPPED the full-disk case: this machine does not allow mounting a tmpfs (needs root)\n');
        return;
      }
      try {
        const target = join(full, 'image.tar');
        writeFileSync(target, 'the previous archive');
        const before = stateOf(target);
        const result = await runCli(buildArgs(`oci-archive:${target}`), { env: tmp.env });
        expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 62, stderr: expect.stringMatching(/ERROR: could not write the OCI archive ".*image.tar": .*ENOSPC/) });
        expect(result.stderr).toMatch(/^hint: The file system of ".*image.tar" is full/m);
        expect(stateOf(target)).toEqual(before);
        expect(readdirSync(full)).toEqual(['image.tar']);
        expectNothingLeft({ tmp, volumePrefix: `gobuild-cnb-test-${SCOPE}`, allowedVolumes: [VOLUME] });
      } finally {
        unmount(full);
      }
      await expectWarmBuild(HELLO, TAG, VOLUME, tmp.env);
      expect(tmp.left()).toEqual([]);
    });
  });
});
