import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { extractTar } from './extract';
import { addTarEntry, tarStream, type TarHeader } from './tar';
import { ExportError } from '../errors';

type Entry = TarHeader & { body?: string };

function tarOf(entries: Entry[]): Readable {
  return tarStream(async (tar) => {
    for (const { body, ...header } of entries) {
      await addTarEntry(tar, { uid: 12345, gid: 54321, ...header }, body === undefined ? undefined : Buffer.from(body));
    }
  });
}

let scratch: string;
let dest: string;
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'gobuild-cnb-extract-'));
  dest = join(scratch, 'dest');
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

const mode = (path: string): number => lstatSync(path).mode & 0o7777;

describe('extractTar', () => {
  it('unpacks files, directories, symlinks and hard links with their modes, ignoring ownership', async () => {
    await extractTar(
      tarOf([
        { name: 'targets', type: 'directory', mode: 0o750 },
        { name: 'targets/bin', type: 'directory', mode: 0o755 },
        { name: 'targets/bin/hello', type: 'file', mode: 0o4755, body: 'ELF' },
        { name: 'targets/secret', type: 'file', mode: 0o600, body: 'x' },
        { name: 'targets/current', type: 'symlink', linkname: '/layers/other/bin/hello' },
        { name: 'targets/bin/hello-again', type: 'link', linkname: 'targets/bin/hello' },
        { name: 'targets/fifo', type: 'fifo', mode: 0o644 },
      ]),
      dest,
    );
    expect(readFileSync(join(dest, 'targets/bin/hello'), 'utf8')).toBe('ELF');
    expect(mode(join(dest, 'targets'))).toBe(0o750);
    expect(mode(join(dest, 'targets/bin/hello'))).toBe(0o4755);
    expect(mode(join(dest, 'targets/secret'))).toBe(0o600);
    expect(readlinkSync(join(dest, 'targets/current'))).toBe('/layers/other/bin/hello');
    expect(statSync(join(dest, 'targets/bin/hello-again')).ino).toBe(statSync(join(dest, 'targets/bin/hello')).ino);
    expect(existsSync(join(dest, 'targets/fifo'))).toBe(false);
    expect(statSync(join(dest, 'targets/secret')).uid).toBe(process.getuid!());
  });

  it('strips a leading directory (as getArchive of a directory names it) and applies its mode to destDir', async () => {
    await extractTar(
      tarOf([
        { name: 'targets/', type: 'directory', mode: 0o711 },
        { name: 'targets/bin/hello', type: 'file', mode: 0o755, body: 'hi' },
      ]),
      dest,
      { stripPrefix: 'targets' },
    );
    expect(readFileSync(join(dest, 'bin/hello'), 'utf8')).toBe('hi');
    expect(mode(dest)).toBe(0o711);
  });

  it('fills a read-only directory before making it read-only', async () => {
    await extractTar(
      tarOf([
        { name: 'ro', type: 'directory', mode: 0o555 },
        { name: 'ro/file', type: 'file', mode: 0o444, body: 'ok' },
      ]),
      dest,
    );
    expect(readFileSync(join(dest, 'ro/file'), 'utf8')).toBe('ok');
    expect(mode(join(dest, 'ro'))).toBe(0o555);
  });

  it('replaces a symlink by a later file of the same name instead of writing through it', async () => {
    const outside = join(scratch, 'outside.txt');
    writeFileSync(outside, 'untouched');
    await extractTar(
      tarOf([
        { name: 'link', type: 'symlink', linkname: outside },
        { name: 'link', type: 'file', mode: 0o644, body: 'new' },
      ]),
      dest,
    );
    expect(readFileSync(outside, 'utf8')).toBe('untouched');
    expect(lstatSync(join(dest, 'link')).isFile()).toBe(true);
  });

  const escapes: Array<[string, Entry[], RegExp]> = [
    ['an absolute path', [{ name: '/etc/evil', type: 'file', body: 'x' }], /"\/etc\/evil".*absolute/],
    ['a ".." path', [{ name: 'a/../../evil', type: 'file', body: 'x' }], /"a\/\.\.\/\.\.\/evil".*"\.\."/],
    [
      'a write through a symlink the tar created',
      [
        { name: 'escape', type: 'symlink', linkname: '..' },
        { name: 'escape/evil', type: 'file', body: 'x' },
      ],
      /"escape\/evil".*"escape" is a symlink/,
    ],
    [
      'a directory through a symlink',
      [
        { name: 'escape', type: 'symlink', linkname: '/' },
        { name: 'escape/sub', type: 'directory' },
      ],
      /"escape\/sub".*symlink/,
    ],
    ['a hard link out of destDir', [{ name: 'passwd', type: 'link', linkname: '../../etc/passwd' }], /"passwd \(hard link to \.\.\/\.\.\/etc\/passwd\)": path contains "\.\."/],
    [
      'a hard link to a symlink',
      [
        { name: 'sl', type: 'symlink', linkname: '/etc/passwd' },
        { name: 'hl', type: 'link', linkname: 'sl' },
      ],
      /"hl".*not a regular file/,
    ],
    ['an entry outside the stripped prefix', [{ name: 'other/file', type: 'file', body: 'x' }], /"other\/file".*not under "targets"/],
  ];

  it.each(escapes)('refuses %s with an ExportError naming the entry', async (_what, entries, message) => {
    const stripPrefix = entries[0].name.startsWith('other') ? 'targets' : undefined;
    const error = await extractTar(tarOf(entries), dest, { stripPrefix }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ExportError);
    expect((error as Error).message).toMatch(message);
    expect(existsSync(join(scratch, 'evil'))).toBe(false);
    expect(existsSync(join(scratch, 'sub'))).toBe(false);
  });

  it('reports a truncated archive as an ExportError', async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of tarOf([{ name: 'big', type: 'file', body: 'x'.repeat(5000) }])) chunks.push(chunk as Buffer);
    const truncated = Buffer.concat(chunks).subarray(0, 1024);
    await expect(extractTar(Readable.from([truncated]), dest)).rejects.toThrow(ExportError);
  });
});
