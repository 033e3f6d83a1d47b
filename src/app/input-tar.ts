/**
 * The one tar that goes into the build container with putArchive (no bind mounts, so a remote
 * engine works): the app under /workspace, the buildpack under /cnb/buildpacks/<id>/<version>,
 * the user's env as /platform/env/<NAME> files, and our phase wrapper. Everything the build
 * writes to is owned by the build user; the buildpack and tools are root-owned and read-only.
 */
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { addTarEntry, hostFileBody, tarStream, type TarHeader } from '../image/tar';

export type InputEntry =
  | { kind: 'dir'; path: string; mode: number; owner: Owner }
  | { kind: 'file'; path: string; mode: number; owner: Owner; content: Buffer | string }
  | { kind: 'host-file'; path: string; mode: number; owner: Owner; hostPath: string; size: number }
  | { kind: 'symlink'; path: string; owner: Owner; target: string };

export interface Owner {
  uid: number;
  gid: number;
}

export const ROOT: Owner = { uid: 0, gid: 0 };

/**
 * Entries for a host directory placed at `imageDir` (no leading slash), walked in sorted order.
 * `include(rel, isDir)` decides per entry; an excluded directory is not descended into.
 * `forceExecutable` sets 0755 on files under bin/ (Windows checkouts lose the exec bit).
 */
export function hostTreeEntries(
  hostDir: string,
  imageDir: string,
  owner: Owner,
  include: (rel: string, isDir: boolean) => boolean = () => true,
  forceExecutable: (rel: string) => boolean = () => false,
): InputEntry[] {
  const entries: InputEntry[] = [];
  const walk = (rel: string): void => {
    const names = readdirSync(join(hostDir, rel)).sort();
    for (const name of names) {
      const childRel = rel ? `${rel}/${name}` : name;
      const hostPath = join(hostDir, childRel);
      const stat = lstatSync(hostPath);
      const path = `${imageDir}/${childRel}`;
      if (!include(childRel, stat.isDirectory())) continue;
      if (stat.isDirectory()) {
        entries.push({ kind: 'dir', path, mode: stat.mode & 0o7777, owner });
        walk(childRel);
      } else if (stat.isSymbolicLink()) {
        entries.push({ kind: 'symlink', path, owner, target: readlinkSync(hostPath) });
      } else if (stat.isFile()) {
        const mode = forceExecutable(childRel) ? 0o755 : stat.mode & 0o7777;
        entries.push({ kind: 'host-file', path, mode, owner, hostPath, size: stat.size });
      }
      // Sockets, fifos and devices have no place in a build context.
    }
  };
  walk('');
  return entries;
}

function header(entry: InputEntry): TarHeader {
  const base = { name: entry.path, uid: entry.owner.uid, gid: entry.owner.gid, mtime: new Date() };
  switch (entry.kind) {
    case 'dir':
      return { ...base, type: 'directory', mode: entry.mode };
    case 'symlink':
      return { ...base, type: 'symlink', linkname: entry.target, mode: 0o777 };
    case 'file':
      return { ...base, type: 'file', mode: entry.mode, size: Buffer.byteLength(entry.content) };
    case 'host-file':
      return { ...base, type: 'file', mode: entry.mode, size: entry.size };
  }
}

/** A tar stream of the entries, produced lazily (file contents are streamed, not buffered). */
export function packEntries(entries: readonly InputEntry[]): Readable {
  return tarStream(async (tar) => {
    for (const entry of entries) {
      const body =
        entry.kind === 'host-file' ? hostFileBody(entry.hostPath, entry.size) : entry.kind === 'file' ? Buffer.from(entry.content) : undefined;
      await addTarEntry(tar, header(entry), body);
    }
  });
}
