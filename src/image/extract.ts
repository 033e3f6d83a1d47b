/**
 * Safe unpacking of a tar stream (what Docker's getArchive returns) into a host directory.
 * Regular files, directories, symlinks and hard links are created with their modes; ownership
 * and timestamps are ignored (layers are normalised when re-tarred). Nothing may land outside
 * destDir: absolute names, `..`, writing through a symlink (even one the tar itself created)
 * and hard links to paths outside are refused with an ExportError naming the entry.
 */
import { constants } from 'node:fs';
import { chmod, link, lstat, mkdir, open, symlink, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { extract, type Header } from 'tar-stream';
import { ExportError, GobuildError } from '../errors';

export interface ExtractOptions {
  /**
   * Leading path of every entry to drop, e.g. `targets` for getArchive of `/layers/x/targets`,
   * so the directory's content lands directly in destDir. Entries outside it are refused.
   */
  stripPrefix?: string;
}

const PERMISSION_BITS = 0o7777;

/** Path components of a tar name, with `.` and empty components dropped. */
function components(name: string): string[] {
  return name.split('/').filter((part) => part !== '' && part !== '.');
}

function refuse(entry: string, why: string): never {
  throw new ExportError(`refusing tar entry "${entry}": ${why}`, {
    hint: 'The archive tries to write outside the directory it is unpacked into; it was not unpacked.',
  });
}

/** The entry's path relative to destDir ('' = destDir itself), after the safety checks. */
function relativeEntryPath(name: string, entry: string, strip: string[]): string {
  if (name.startsWith('/')) refuse(entry, 'absolute path');
  const parts = components(name);
  if (parts.includes('..')) refuse(entry, 'path contains ".."');
  if (strip.some((part, i) => parts[i] !== part)) refuse(entry, `not under "${strip.join('/')}"`);
  return parts.slice(strip.length).join('/');
}

async function lstatOrNull(path: string): Promise<Awaited<ReturnType<typeof lstat>> | null> {
  try {
    return await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

class Unpacker {
  /** Directories (relative) known to be real directories; we never remove one, so this stays true. */
  private readonly verifiedDirs = new Set<string>(['']);
  /** Directory modes applied at the end, so a read-only directory can still receive its entries. */
  private readonly dirModes = new Map<string, number>();

  constructor(
    private readonly root: string,
    private readonly strip: string[],
  ) {}

  async unpack(header: Header, body: Readable): Promise<void> {
    const entry = header.name;
    const rel = relativeEntryPath(entry, entry, this.strip);
    switch (header.type) {
      case 'directory':
        return this.directory(entry, rel, header.mode);
      case 'file':
      case 'contiguous-file':
        return this.file(entry, rel, header.mode, body);
      case 'symlink':
        return this.symlink(entry, rel, header.linkname);
      case 'link':
        return this.hardlink(entry, rel, header.linkname);
      default:
        // Devices, fifos: nothing an image layer needs from a build.
        return;
    }
  }

  async finish(): Promise<void> {
    // Deepest first, so restricting a parent cannot block chmod of its children.
    const dirs = [...this.dirModes.keys()].sort((a, b) => b.length - a.length);
    for (const dir of dirs) await chmod(join(this.root, dir), this.dirModes.get(dir)! & PERMISSION_BITS);
  }

  /** Creates missing parents of `rel`; refuses when one of them is a symlink or not a directory. */
  private async ensureParents(entry: string, rel: string): Promise<void> {
    const parts = rel.split('/');
    let current = '';
    for (const part of parts.slice(0, -1)) {
      current = current ? `${current}/${part}` : part;
      if (this.verifiedDirs.has(current)) continue;
      const stat = await lstatOrNull(join(this.root, current));
      if (!stat) await mkdir(join(this.root, current), { mode: 0o755 });
      else if (stat.isSymbolicLink()) refuse(entry, `"${current}" is a symlink; writing through it could escape`);
      else if (!stat.isDirectory()) refuse(entry, `"${current}" is not a directory`);
      this.verifiedDirs.add(current);
    }
  }

  /** Makes room for a non-directory at `rel`: removes a file or symlink there (never following it). */
  private async clearForNonDirectory(entry: string, rel: string): Promise<void> {
    if (rel === '') refuse(entry, 'replaces the destination directory itself');
    await this.ensureParents(entry, rel);
    const stat = await lstatOrNull(join(this.root, rel));
    if (!stat) return;
    if (stat.isDirectory()) refuse(entry, `replaces the directory "${rel}"`);
    await unlink(join(this.root, rel));
  }

  private async directory(entry: string, rel: string, mode: number): Promise<void> {
    if (rel !== '' && !this.verifiedDirs.has(rel)) {
      await this.ensureParents(entry, rel);
      const path = join(this.root, rel);
      const stat = await lstatOrNull(path);
      if (stat && !stat.isDirectory()) await unlink(path);
      if (!stat || !stat.isDirectory()) await mkdir(path, { mode: 0o755 });
      this.verifiedDirs.add(rel);
    }
    this.dirModes.set(rel, mode);
  }

  private async file(entry: string, rel: string, mode: number, body: Readable): Promise<void> {
    await this.clearForNonDirectory(entry, rel);
    // O_EXCL + O_NOFOLLOW: the name was just cleared; never write through anything put there.
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    const handle = await open(join(this.root, rel), flags, 0o600);
    try {
      for await (const chunk of body) await handle.write(chunk as Buffer);
      await handle.chmod(mode & PERMISSION_BITS);
    } finally {
      await handle.close();
    }
  }

  private async symlink(entry: string, rel: string, target: string): Promise<void> {
    // The link may point anywhere (absolute targets are normal in an image): it is never followed here.
    await this.clearForNonDirectory(entry, rel);
    await symlink(target, join(this.root, rel));
  }

  private async hardlink(entry: string, rel: string, linkname: string): Promise<void> {
    const sourceRel = relativeEntryPath(linkname, `${entry} (hard link to ${linkname})`, this.strip);
    if (sourceRel === '') refuse(entry, 'hard link to the destination directory');
    await this.ensureParents(entry, sourceRel);
    const source = await lstatOrNull(join(this.root, sourceRel));
    if (!source) refuse(entry, `hard link target "${linkname}" was not unpacked before it`);
    if (!source.isFile()) refuse(entry, `hard link target "${linkname}" is not a regular file`);
    await this.clearForNonDirectory(entry, rel);
    await link(join(this.root, sourceRel), join(this.root, rel));
  }
}

export async function extractTar(tar: Readable, destDir: string, opts: ExtractOptions = {}): Promise<void> {
  const root = resolve(destDir);
  const unpacker = new Unpacker(root, components(opts.stripPrefix ?? ''));
  const entries = extract();
  try {
    await mkdir(root, { recursive: true });
    // Pipe only now: entries emitted before the loop below subscribes would be lost.
    tar.on('error', (err) => entries.destroy(err));
    tar.pipe(entries);
    for await (const entry of entries) {
      await unpacker.unpack(entry.header, entry as unknown as Readable);
      entry.resume(); // drain bodies of entries we skipped
    }
    await unpacker.finish();
  } catch (err) {
    tar.unpipe(entries);
    tar.destroy();
    if (err instanceof GobuildError) throw err;
    throw new ExportError(`could not unpack an archive into ${root}: ${(err as Error).message}`, { cause: err });
  }
}
