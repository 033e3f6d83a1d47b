/** What an OCI output may be written to: checked before the build, and again before the rename. */
import { execFileSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { ExitCode } from '../errors';
import { checkOciTarget, writeOciArchive } from './oci-layout';
import { serializeConfig } from './config';
import { sha256Digest } from './digest';
import { MediaType, type Digest } from './types';
import type { SinkImage } from './config';

let scratch: string;
beforeEach(() => (scratch = mkdtempSync(join(tmpdir(), 'gobuild-cnb-outpath-'))));
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

async function refusal(promise: Promise<unknown>): Promise<{ code: number; message: string; hint?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as { code: number; message: string; hint?: string };
  }
  throw new Error('expected a refusal');
}

function tinyImage(): SinkImage {
  const layer = Buffer.from('layer');
  const diffId = sha256Digest(layer);
  const config = serializeConfig({ os: 'linux', architecture: 'amd64', config: {}, rootfs: { type: 'layers', diff_ids: [diffId] } });
  return {
    config,
    platform: { os: 'linux', architecture: 'amd64' },
    layers: [{ descriptor: { mediaType: MediaType.OciLayerGzip, digest: diffId as Digest, size: layer.length }, diffId, open: () => Readable.from([layer]) } as never],
  } as unknown as SinkImage;
}

describe('checkOciTarget', () => {
  it('accepts a new archive path, an existing regular file, a new layout dir under new parents', async () => {
    await checkOciTarget('oci-archive', join(scratch, 'new.tar'));
    writeFileSync(join(scratch, 'old.tar'), 'previous');
    await checkOciTarget('oci-archive', join(scratch, 'old.tar'));
    await checkOciTarget('oci', join(scratch, 'a', 'b', 'layout'));
    // The probe leaves nothing behind.
    expect(readdirSync(scratch)).toEqual(['old.tar']);
  });

  it('follows a symlinked parent directory, as users expect', async () => {
    mkdirSync(join(scratch, 'real'));
    symlinkSync(join(scratch, 'real'), join(scratch, 'via'));
    await checkOciTarget('oci-archive', join(scratch, 'via', 'image.tar'));
  });

  it.each([
    ['/dev/full', /it is a character device/],
    ['/dev/null', /it is a character device/],
  ])('refuses the device %s for an archive and for a layout', async (path, why) => {
    expect(await refusal(checkOciTarget('oci-archive', path))).toMatchObject({ code: ExitCode.Usage, message: expect.stringMatching(why), hint: expect.stringMatching(/oci-archive:-/) });
    expect(await refusal(checkOciTarget('oci', path))).toMatchObject({ code: ExitCode.Usage, message: expect.stringMatching(/not a directory/) });
  });

  it('refuses a FIFO, a socket, symlinks (to a file, dangling, to a directory) and names what it found', async () => {
    const fifo = join(scratch, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect((await refusal(checkOciTarget('oci-archive', fifo))).message).toMatch(/it is a FIFO \(named pipe\)/);

    const socketPath = join(scratch, 'sock');
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      expect((await refusal(checkOciTarget('oci-archive', socketPath))).message).toMatch(/it is a socket/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }

    writeFileSync(join(scratch, 'file'), 'x');
    symlinkSync(join(scratch, 'file'), join(scratch, 'to-file'));
    symlinkSync(join(scratch, 'nowhere'), join(scratch, 'dangling'));
    mkdirSync(join(scratch, 'dir'));
    symlinkSync(join(scratch, 'dir'), join(scratch, 'to-dir'));
    for (const [kind, name] of [['oci-archive', 'to-file'], ['oci-archive', 'dangling'], ['oci', 'to-dir'], ['oci', 'dangling']] as const) {
      const error = await refusal(checkOciTarget(kind, join(scratch, name)));
      expect(error).toMatchObject({ code: ExitCode.Usage, message: expect.stringMatching(/it is a symbolic link \(to "/), hint: expect.stringMatching(/neither writes through nor replaces a symbolic link/) });
    }
    expect(lstatSync(join(scratch, 'dangling')).isSymbolicLink()).toBe(true);
  });

  it('refuses a layout whose blobs/ or index.json is a symlink (writes would land elsewhere)', async () => {
    const elsewhere = join(scratch, 'elsewhere');
    mkdirSync(elsewhere);
    const layout = join(scratch, 'layout');
    mkdirSync(layout);
    writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    symlinkSync(elsewhere, join(layout, 'blobs'));
    expect(await refusal(checkOciTarget('oci', layout))).toMatchObject({ code: ExitCode.Usage, message: expect.stringMatching(/its blobs is a symbolic link, not a directory/) });
    rmSync(join(layout, 'blobs'));
    symlinkSync(join(elsewhere, 'index.json'), join(layout, 'index.json'));
    expect((await refusal(checkOciTarget('oci', layout))).message).toMatch(/its index.json is a symbolic link, not a regular file/);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('refuses a directory as an archive, a regular file as a layout', async () => {
    expect((await refusal(checkOciTarget('oci-archive', scratch))).message).toMatch(/it is a directory/);
    writeFileSync(join(scratch, 'file'), 'x');
    expect((await refusal(checkOciTarget('oci', join(scratch, 'file')))).message).toMatch(/it is a regular file, not a directory/);
  });

  it('refuses an archive whose directory is missing or not a directory, and an unwritable place', async () => {
    expect(await refusal(checkOciTarget('oci-archive', join(scratch, 'missing', 'x.tar')))).toMatchObject({ message: expect.stringMatching(/does not exist/), hint: expect.stringMatching(/mkdir -p/) });
    expect((await refusal(checkOciTarget('oci-archive', '/proc/self/image.tar'))).message).toMatch(/cannot create files in "\/proc\/self"/);
    expect((await refusal(checkOciTarget('oci', '/proc/self/layout'))).message).toMatch(/cannot create files in/);
  });

  it('refuses stdout when it is a terminal, accepts it otherwise', async () => {
    expect(await refusal(checkOciTarget('oci-archive', '-', { stdoutIsTerminal: true }))).toMatchObject({ code: ExitCode.Usage, hint: expect.stringMatching(/> image.tar/) });
    await checkOciTarget('oci-archive', '-', { stdoutIsTerminal: false });
  });
});

describe('writeOciArchive to hostile places', () => {
  it('writes to stdout (a stream) and leaves no file', async () => {
    const chunks: Buffer[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) });
    await writeOciArchive('-', tinyImage(), { refName: 'latest', stdout: sink });
    const tar = Buffer.concat(chunks);
    expect(tar.subarray(0, 10).toString()).toBe('oci-layout');
    expect(tar.length % 512).toBe(0);
  });

  it('a reader that closes stdout early is exit 62 with a hint saying so', async () => {
    const closed = new Writable({ write: (_c, _e, cb) => cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })) });
    const error = await refusal(writeOciArchive('-', tinyImage(), { stdout: closed }));
    expect(error).toMatchObject({ code: ExitCode.ExportFailed, message: 'could not write the OCI archive to stdout: write EPIPE', hint: expect.stringMatching(/closed it before the archive was complete/) });
  });

  it('a symlink as the archive path is refused before writing (exit 2)', async () => {
    const target = join(scratch, 'image.tar');
    writeFileSync(join(scratch, 'precious'), 'mine');
    symlinkSync(join(scratch, 'precious'), target);
    expect((await refusal(writeOciArchive(target, tinyImage()))).code).toBe(ExitCode.Usage);
    expect(readFileSync(join(scratch, 'precious'), 'utf8')).toBe('mine');
    expect(readdirSync(scratch).sort()).toEqual(['image.tar', 'precious']);
  });

  it('an archive path that became a symlink while writing is not replaced (exit 62), and no temp file stays', async () => {
    const target = join(scratch, 'image.tar');
    writeFileSync(join(scratch, 'precious'), 'mine');
    const image = tinyImage();
    const swapped = { ...image, layers: [{ ...image.layers[0], open: () => {
      symlinkSync(join(scratch, 'precious'), target); // someone else's move, mid-write
      return image.layers[0].open();
    } }] } as SinkImage;
    const error = await refusal(writeOciArchive(target, swapped));
    expect(error).toMatchObject({ code: ExitCode.ExportFailed, message: expect.stringMatching(/it is a symbolic link/), hint: expect.stringMatching(/changed during the build/) });
    expect(lstatSync(target).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(scratch, 'precious'), 'utf8')).toBe('mine');
    expect(readdirSync(scratch).sort()).toEqual(['image.tar', 'precious']);
  });

  it('a write that fails half-way is exit 62: the previous archive stays, no temp file is left', async () => {
    const target = join(scratch, 'image.tar');
    writeFileSync(target, 'the previous archive');
    const image = tinyImage();
    const failing = { ...image, layers: [{ ...image.layers[0], open: () => Readable.from((async function* () { yield Buffer.from('la'); throw Object.assign(new Error('no space left on device, write'), { code: 'ENOSPC' }); })()) }] } as SinkImage;
    const error = await refusal(writeOciArchive(target, failing));
    expect(error).toMatchObject({ code: ExitCode.ExportFailed, message: expect.stringMatching(/could not write the OCI archive ".*image.tar": no space left/), hint: expect.stringMatching(/is full/) });
    expect(readFileSync(target, 'utf8')).toBe('the previous archive');
    expect(readdirSync(scratch)).toEqual(['image.tar']);
  });

  it('a directory where files cannot be created (read-only) is exit 2 before writing', async () => {
    if (process.getuid?.() === 0) return; // root writes anyway; the integration suite covers a read-only mount
    const dir = join(scratch, 'ro');
    mkdirSync(dir);
    chmodSync(dir, 0o555);
    expect((await refusal(writeOciArchive(join(dir, 'x.tar'), tinyImage()))).code).toBe(ExitCode.Usage);
  });
});
