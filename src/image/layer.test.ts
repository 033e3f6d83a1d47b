import { chmodSync, chownSync, createReadStream, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { layerFromTarFile, writeLayer, type LayerSource } from './layer';
import { readTarEntries } from './read-tar';
import { ExportError } from '../errors';

let scratch: string;
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'gobuild-cnb-layer-'));
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * The fixed tree of the golden test, made with the given host quirks (umask, mtimes, owner,
 * creation order) that must not leak into the layer.
 */
function makeTargetsTree(root: string, quirks: { umask: number; mtime: Date; owner: number; reverse: boolean }): void {
  const previousUmask = process.umask(quirks.umask);
  try {
    const steps: Array<() => void> = [
      () => {
        mkdirSync(join(root, 'bin'), { recursive: true });
        writeFileSync(join(root, 'bin/hello'), 'hello binary\n');
        chmodSync(join(root, 'bin/hello'), 0o755);
      },
      () => {
        mkdirSync(join(root, 'share'), { recursive: true });
        writeFileSync(join(root, 'share/readme.txt'), 'read me\n');
        chmodSync(join(root, 'share/readme.txt'), 0o644);
        symlinkSync('../bin/hello', join(root, 'share/hello-link'));
      },
      () => mkdirSync(join(root, 'private'), { recursive: true }),
    ];
    if (quirks.reverse) steps.reverse();
    mkdirSync(root, { recursive: true });
    steps.forEach((step) => step());
    for (const dir of ['bin', 'share']) chmodSync(join(root, dir), 0o755);
    chmodSync(join(root, 'private'), 0o700);
    for (const path of ['bin/hello', 'share/readme.txt', 'bin', 'share', 'private']) {
      utimesSync(join(root, path), quirks.mtime, quirks.mtime);
      chownSync(join(root, path), quirks.owner, quirks.owner);
    }
  } finally {
    process.umask(previousUmask);
  }
}

function goldenSource(targets: string): LayerSource {
  return {
    dirs: [{ hostDir: targets, imagePath: '/layers/gobuild-cnb_go/targets', mode: 0o755 }],
    entries: [
      { type: 'symlink', path: '/cnb/process/hello', target: '/layers/gobuild-cnb_go/targets/bin/hello', owner: { uid: 0, gid: 0 } },
      { type: 'dir', path: '/tmp', mode: 0o1777, owner: { uid: 0, gid: 0 } },
      { type: 'file', path: '/etc/motd', content: 'built by gobuild-cnb\n', mode: 0o444 },
    ],
  };
}

const GOLDEN_DIFF_ID = 'sha256:b386856515dca74e396dad123763e1081d5b136e7056f60e29063f7afa5a3e1c';

describe('writeLayer', () => {
  it('gives the golden diffId for a fixed tree, whatever the host mtimes, owners, umask and creation order', async () => {
    const first = join(scratch, 'a/targets');
    const second = join(scratch, 'b/targets');
    makeTargetsTree(first, { umask: 0o022, mtime: new Date('2001-02-03T04:05:06Z'), owner: 0, reverse: false });
    makeTargetsTree(second, { umask: 0o077, mtime: new Date('2024-06-07T08:09:10Z'), owner: 4242, reverse: true });
    const out = join(scratch, 'out');
    mkdirSync(out);

    const layerA = await writeLayer({ entries: goldenSource(first), outDir: out, uid: 1000, gid: 1001 });
    const layerB = await writeLayer({ entries: goldenSource(second), outDir: out, uid: 1000, gid: 1001 });

    expect(layerA.diffId).toBe(GOLDEN_DIFF_ID);
    expect(layerB.diffId).toBe(layerA.diffId);
    expect(layerA.path).toBe(join(out, `${layerA.diffId.slice(7)}.tar`));
    // Written under a temp name, then renamed: nothing else is left behind.
    expect(readdirSync(out)).toEqual([`${layerA.diffId.slice(7)}.tar`]);
  });

  it('writes parents first in tree order with normalised headers, modes kept and symlinks as symlinks', async () => {
    const targets = join(scratch, 'targets');
    makeTargetsTree(targets, { umask: 0o022, mtime: new Date(), owner: 0, reverse: false });
    writeFileSync(join(targets, 'bin/suid'), 'x');
    chmodSync(join(targets, 'bin/suid'), 0o4755);
    linkSync(join(targets, 'bin/hello'), join(targets, 'bin/hello-hardlink'));
    execFileSync('mkfifo', [join(targets, 'bin/fifo')]);
    mkdirSync(join(targets, 'bin-extra'));
    chmodSync(join(targets, 'bin-extra'), 0o755);

    const layer = await writeLayer({ entries: goldenSource(targets), outDir: scratch, uid: 1000, gid: 1001 });
    const entries = await readTarEntries(createReadStream(layer.path));
    const summary = entries.map(({ header: h }) => `${h.type} ${h.name} ${h.mode.toString(8)} ${h.uid}:${h.gid}${h.linkname ? ` -> ${h.linkname}` : ''}`);
    expect(summary).toEqual([
      'directory cnb/ 755 1000:1001',
      'directory cnb/process/ 755 1000:1001',
      'symlink cnb/process/hello 777 0:0 -> /layers/gobuild-cnb_go/targets/bin/hello',
      'directory etc/ 755 1000:1001',
      'file etc/motd 444 1000:1001',
      'directory layers/ 755 1000:1001',
      'directory layers/gobuild-cnb_go/ 755 1000:1001',
      'directory layers/gobuild-cnb_go/targets/ 755 1000:1001',
      'directory layers/gobuild-cnb_go/targets/bin/ 755 1000:1001',
      'file layers/gobuild-cnb_go/targets/bin/hello 755 1000:1001',
      'file layers/gobuild-cnb_go/targets/bin/hello-hardlink 755 1000:1001',
      'file layers/gobuild-cnb_go/targets/bin/suid 4755 1000:1001',
      // "bin-extra" sorts after everything under "bin/": tree order, as filepath.Walk gives.
      'directory layers/gobuild-cnb_go/targets/bin-extra/ 755 1000:1001',
      'directory layers/gobuild-cnb_go/targets/private/ 700 1000:1001',
      'directory layers/gobuild-cnb_go/targets/share/ 755 1000:1001',
      'symlink layers/gobuild-cnb_go/targets/share/hello-link 777 1000:1001 -> ../bin/hello',
      'file layers/gobuild-cnb_go/targets/share/readme.txt 644 1000:1001',
      'directory tmp/ 1777 0:0',
    ]);
    for (const { header } of entries) {
      expect(header.mtime.toISOString()).toBe('1980-01-01T00:00:01.000Z');
      expect([header.uname, header.gname]).toEqual(['', '']);
      expect(header.pax).toBeNull();
    }
    expect(entries.find((e) => e.header.name.endsWith('hello-hardlink'))!.body!.toString()).toBe('hello binary\n');
  });

  it('splits a long path into the USTAR prefix, and uses a PAX header only for a name USTAR cannot hold', async () => {
    const splittable = `/workspace/${'d'.repeat(120)}/${'f'.repeat(90)}`;
    const tooLong = `/workspace/${'g'.repeat(120)}`;
    const layer = await writeLayer({
      entries: { entries: [{ type: 'file', path: splittable, content: 'deep' }, { type: 'file', path: tooLong, content: 'long' }] },
      outDir: scratch,
      uid: 1000,
      gid: 1000,
    });
    const entries = await readTarEntries(createReadStream(layer.path));
    expect(entries.map((e) => [e.header.name, e.header.pax !== null, e.body?.toString()])).toEqual([
      ['workspace/', false, ''],
      [`workspace/${'d'.repeat(120)}/`, false, ''],
      [splittable.slice(1), false, 'deep'],
      [tooLong.slice(1), true, 'long'],
    ]);
  });

  it('refuses two entries for one path, relative paths and ".."', async () => {
    const dup = writeLayer({
      entries: { entries: [{ type: 'dir', path: '/tmp' }, { type: 'file', path: '/tmp/', content: '' }] },
      outDir: scratch,
      uid: 0,
      gid: 0,
    });
    await expect(dup).rejects.toThrow(new ExportError('two layer entries for /tmp'));
    for (const path of ['relative/file', '/a/../../etc/passwd']) {
      await expect(writeLayer({ entries: { entries: [{ type: 'file', path, content: '' }] }, outDir: scratch, uid: 0, gid: 0 })).rejects.toThrow(
        /must be absolute and must not contain "\.\."/,
      );
    }
  });

  it('layerFromTarFile hashes an existing tar to the same diffId and size', async () => {
    const layer = await writeLayer({ entries: { entries: [{ type: 'file', path: '/a', content: 'a' }] }, outDir: scratch, uid: 0, gid: 0 });
    await expect(layerFromTarFile(layer.path)).resolves.toEqual(layer);
    expect(existsSync(layer.path)).toBe(true);
  });
});
