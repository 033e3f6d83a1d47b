import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { appEntries, buildInputEntries, BUNDLED_BUILDPACK_DIR } from './inputs';
import { packEntries, paxRecords } from './input-tar';
import { READ_WHOLE_MAX_BYTES } from '../../image/tar';
import { ExitCode, GobuildError, UsageError } from '../../errors';

/** node:fs itself (not a namespace copy), so a test can make it refuse access. */
const fs = createRequire(__filename)('node:fs') as typeof import('node:fs');
import { readTarEntries } from '../../image/read-tar';
import { testdir } from '../../../test/helpers/testdir';
import type { BuildpackDescriptor } from '../../cnb/files';

const buildpack: BuildpackDescriptor = { api: '0.10', id: 'gobuild-cnb/go', version: '9.9.9', sbomFormats: [], targets: [] };

describe('what goes into the build container', () => {
  it('puts the app under /workspace owned by the build user, without .git or project.toml excludes', () => {
    const app = testdir({ 'main.go': 'package main\n', '.git/HEAD': 'ref\n', 'notes.md': 'x\n', 'sub/a.go': 'package sub\n' });
    try {
      const entries = buildInputEntries(
        { appDir: app.path, project: { include: [], exclude: ['*.md'], buildEnv: [] }, env: [], buildpackDir: BUNDLED_BUILDPACK_DIR },
        buildpack,
        { uid: 1001, gid: 1002 },
      );
      const workspace = entries.filter((e) => e.path === 'workspace' || e.path.startsWith('workspace/'));
      expect(workspace.map((e) => e.path).sort()).toEqual(['workspace', 'workspace/main.go', 'workspace/sub', 'workspace/sub/a.go']);
      expect(workspace.every((e) => e.owner.uid === 1001 && e.owner.gid === 1002)).toBe(true);
    } finally {
      app.cleanup();
    }
  });

  it('writes --env values as /platform/env files only the build user can read, and an executable buildpack', async () => {
    const app = testdir({ 'main.go': 'package main\n' });
    try {
      const entries = buildInputEntries(
        { appDir: app.path, project: { include: [], exclude: [], buildEnv: [] }, env: [{ name: 'TOKEN', value: 'secret' }], buildpackDir: BUNDLED_BUILDPACK_DIR },
        buildpack,
        { uid: 1000, gid: 1000 },
      );
      const tar = await readTarEntries(packEntries(entries));
      const token = tar.find((e) => e.header.name === 'platform/env/TOKEN');
      expect(token?.header).toMatchObject({ mode: 0o600, uid: 1000, gid: 1000 });
      expect(token?.body?.toString()).toBe('secret');
      const detect = tar.find((e) => e.header.name === 'cnb/buildpacks/gobuild-cnb_go/9.9.9/bin/detect');
      expect(detect?.header).toMatchObject({ mode: 0o755, uid: 0 });
      // The cache volume is mounted at the buildpack's layers dir: the build user must own it.
      expect(tar.find((e) => e.header.name === 'layers/gobuild-cnb_go')?.header).toMatchObject({ uid: 1000, type: 'directory' });
    } finally {
      app.cleanup();
    }
  });
});

describe('the app as it is sent: names are bytes, links stay links, nothing blocks or is silently left out', () => {
  const noProject = { include: [], exclude: [], buildEnv: [] };
  const user = { uid: 1000, gid: 1000 };
  const appTar = (appDir: string, project = noProject) => packEntries(appEntries({ appDir, project }, user));
  const at = (dir: string, ...parts: (string | Buffer)[]): Buffer =>
    Buffer.concat([Buffer.from(dir), ...parts.map((p) => Buffer.concat([Buffer.from('/'), Buffer.from(p)]))]);
  const thrown = (f: () => unknown): GobuildError => {
    try {
      f();
    } catch (err) {
      return err as GobuildError;
    }
    throw new Error('expected an error');
  };
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gobuild-cnb-inputs-'));
  });
  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends names with newlines, dashes and over 100 bytes, and links out of the app as links', async () => {
    const long = 'l'.repeat(250);
    const deep = Array.from({ length: 6 }, (_, i) => `${i}${'d'.repeat(200)}`).join('/');
    mkdirSync(join(dir, deep), { recursive: true });
    for (const name of ['x\nREADME.md', '-rf', '--help', ' sp ace ', long, `${deep}/${long}`]) writeFileSync(join(dir, name), name);
    symlinkSync('/etc/passwd', join(dir, 'abs-link'));
    symlinkSync(`../../${'t'.repeat(150)}`, join(dir, 'long-link'));
    const tar = await readTarEntries(appTar(dir));
    const byName = new Map(tar.map((e) => [e.header.name, e]));
    for (const name of ['x\nREADME.md', '-rf', '--help', ' sp ace ', long, `${deep}/${long}`]) {
      expect(byName.get(`workspace/${name}`)?.body?.toString()).toBe(name);
    }
    expect(byName.get('workspace/abs-link')?.header).toMatchObject({ type: 'symlink', linkname: '/etc/passwd', size: 0 });
    expect(byName.get('workspace/long-link')?.header).toMatchObject({ type: 'symlink', linkname: `../../${'t'.repeat(150)}` });
  });

  it('keeps a name that is not UTF-8 byte for byte (a PAX path record), for files and link targets', async () => {
    writeFileSync(at(dir, Buffer.from('\xff\xfe.go', 'latin1')), 'not utf-8');
    symlinkSync(Buffer.from('target-\xe9', 'latin1'), at(dir, Buffer.from('link-\xe9', 'latin1')));
    const chunks: Buffer[] = [];
    for await (const chunk of appTar(dir)) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    expect(bytes.includes(Buffer.from(' path=workspace/\xff\xfe.go\n', 'latin1'))).toBe(true);
    expect(bytes.includes(Buffer.from(' path=workspace/link-\xe9\n', 'latin1'))).toBe(true);
    expect(bytes.includes(Buffer.from(' linkpath=target-\xe9\n', 'latin1'))).toBe(true);
    const tar = await readTarEntries(Readable.from(bytes));
    expect(tar.filter((e) => e.body?.toString() === 'not utf-8')).toHaveLength(1);
  });

  it('PAX records count their own length', () => {
    expect(paxRecords([['path', Buffer.from('a')]]).toString()).toBe('9 path=a\n');
    const record = paxRecords([['path', Buffer.alloc(93, 'x')]]).toString();
    expect(record.length).toBe(Number(record.split(' ')[0]));
  });

  it.each([
    ['a FIFO (named pipe)', (path: string) => execFileSync('mkfifo', [path])],
    ['a socket', (path: string) => execFileSync('python3', ['-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(path)})`])],
  ])('refuses %s by name (never opens it), unless project.toml excludes it', (kind, make) => {
    writeFileSync(join(dir, 'main.go'), 'package main\n');
    mkdirSync(join(dir, 'tmp'));
    make(join(dir, 'tmp', 'special'));
    const err = thrown(() => appEntries({ appDir: dir, project: noProject }, user));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.code).toBe(ExitCode.Usage);
    expect(err.message).toBe(`${join(dir, 'tmp', 'special')} is ${kind}: only files, directories and symbolic links can be sent to the build`);
    expect(err.hint).toContain('exclude = ["tmp/special"]');
    expect(appEntries({ appDir: dir, project: { ...noProject, exclude: ['tmp/'] } }, user).map((e) => e.path)).toEqual(['workspace', 'workspace/main.go']);
  });

  it('an unreadable directory or file is exit 2 naming it, with a hint to fix permissions or exclude it', () => {
    mkdirSync(join(dir, 'secret'));
    writeFileSync(join(dir, 'secret', 'key.pem'), 'k');
    writeFileSync(join(dir, 'main.go'), 'package main\n');
    const eacces = (): never => {
      throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    };
    // Tests run as root, for whom nothing is unreadable: the file system says no instead.
    const realReaddir = fs.readdirSync;
    jest.spyOn(fs, 'readdirSync').mockImplementation(((path: import('node:fs').PathLike, options?: unknown) =>
      String(path).endsWith('/secret') ? eacces() : realReaddir(path, options as never)) as typeof import('node:fs').readdirSync);
    const dirErr = thrown(() => appEntries({ appDir: dir, project: noProject }, user));
    expect(dirErr).toBeInstanceOf(UsageError);
    expect(dirErr.message).toBe(`cannot read ${join(dir, 'secret')} (EACCES) to send it to the build`);
    expect(dirErr.hint).toMatch(/^Make it readable \(chmod a\+r for a file, a\+rx for a directory\).*exclude = \["secret"\]/);
    jest.restoreAllMocks();
    const realAccess = fs.accessSync;
    jest.spyOn(fs, 'accessSync').mockImplementation((path, mode) => (String(path).endsWith('key.pem') ? eacces() : realAccess(path, mode)));
    const fileErr = thrown(() => appEntries({ appDir: dir, project: noProject }, user));
    expect(fileErr.message).toBe(`cannot read ${join(dir, 'secret', 'key.pem')} (EACCES) to send it to the build`);
    expect(fileErr.hint).toContain('exclude = ["secret/key.pem"]');
  });

  it('a small file that changed after the walk is sent as it is when read; a big one that grew is cut at its size', async () => {
    writeFileSync(join(dir, 'small.txt'), 'short');
    const big = Buffer.alloc(READ_WHOLE_MAX_BYTES + 10, 'b');
    writeFileSync(join(dir, 'big.bin'), big);
    const entries = appEntries({ appDir: dir, project: noProject }, user);
    writeFileSync(join(dir, 'small.txt'), 'much longer now');
    appendFileSync(join(dir, 'big.bin'), 'appended');
    const tar = await readTarEntries(packEntries(entries));
    expect(tar.find((e) => e.header.name === 'workspace/small.txt')?.body?.toString()).toBe('much longer now');
    expect(tar.find((e) => e.header.name === 'workspace/big.bin')?.body?.equals(big)).toBe(true);
  });

  it('a big file that shrank while being sent, or a file that disappeared, is exit 2 naming it', async () => {
    writeFileSync(join(dir, 'big.bin'), Buffer.alloc(READ_WHOLE_MAX_BYTES + 10, 'b'));
    const entries = appEntries({ appDir: dir, project: noProject }, user);
    truncateSync(join(dir, 'big.bin'), 100);
    const shrank = await readTarEntries(packEntries(entries)).catch((err: GobuildError) => err);
    expect(shrank).toBeInstanceOf(UsageError);
    expect((shrank as GobuildError).message).toBe(
      `${join(dir, 'big.bin')} changed while it was being sent to the build (it shrank from ${READ_WHOLE_MAX_BYTES + 10} to 100 bytes)`,
    );
    expect((shrank as GobuildError).hint).toContain('exclude = ["big.bin"]');
    writeFileSync(join(dir, 'gone.txt'), 'x');
    const again = appEntries({ appDir: dir, project: noProject }, user);
    rmSync(join(dir, 'gone.txt'));
    const gone = await readTarEntries(packEntries(again)).catch((err: GobuildError) => err);
    expect(gone).toBeInstanceOf(UsageError);
    expect((gone as GobuildError).message).toBe(`${join(dir, 'gone.txt')} disappeared while it was being sent to the build`);
  });
});

describe('a file replaced after the walk', () => {
  it('by a FIFO or a link is exit 2 naming it, and the FIFO is never read (no hang)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gobuild-cnb-inputs-'));
    try {
      writeFileSync(join(dir, 'pipe'), 'was a file');
      writeFileSync(join(dir, 'link'), 'was a file');
      const entries = appEntries({ appDir: dir, project: { include: [], exclude: [], buildEnv: [] } }, { uid: 1000, gid: 1000 });
      rmSync(join(dir, 'pipe'));
      execFileSync('mkfifo', [join(dir, 'pipe')]);
      const fifo = await readTarEntries(packEntries(entries)).catch((err: GobuildError) => err);
      expect(fifo).toBeInstanceOf(UsageError);
      expect((fifo as GobuildError).message).toBe(`${join(dir, 'link')} changed while it was being sent to the build (it is no longer a plain file)`.replace('link', 'pipe'));
      rmSync(join(dir, 'pipe'));
      writeFileSync(join(dir, 'pipe'), 'a file again');
      rmSync(join(dir, 'link'));
      symlinkSync('/etc/passwd', join(dir, 'link'));
      const link = await readTarEntries(packEntries(entries)).catch((err: GobuildError) => err);
      expect((link as GobuildError).message).toBe(`${join(dir, 'link')} changed while it was being sent to the build (it is no longer a plain file)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
