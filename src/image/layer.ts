/**
 * Reproducible layer tars (lifecycle archive/writer.go, jib ReproducibleLayerBuilder): the same
 * files give the same bytes, whatever the host's mtimes, owners or walk order. Rules:
 * - entries in tree order (parents first; siblings by byte order of their names);
 * - every parent directory is an explicit entry, from the image root down (0755 unless given);
 * - mtime 1980-01-01T00:00:01Z, uid/gid as given, empty uname/gname;
 * - modes kept (permission bits with setuid/setgid/sticky); symlinks kept as symlinks;
 *   hard links stored as ordinary files; sockets, fifos and devices left out;
 * - names relative to the image root (`layers/x/bin/app`, as `docker save` writes them),
 *   USTAR headers, PAX only for names or link targets too long or not ASCII.
 * The tar is hashed while it is written and never held in memory.
 */
import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { ExportError } from '../errors';
import { digestFile, digestHex, writeHashedFile } from './digest';
import { addTarEntry, hostFileBody, NORMALIZED_MTIME, tarStream, type TarHeader } from './tar';
import type { LayerFile } from './types';

export interface Owner {
  uid: number;
  gid: number;
}

/** A host directory placed at `imagePath` (absolute), with everything under it. */
export interface HostDirMapping {
  hostDir: string;
  imagePath: string;
  /** Mode of `imagePath` itself; default: the host directory's. */
  mode?: number;
  /** Owner of every entry from this directory; default: the layer's uid/gid. */
  owner?: Owner;
}

/** An entry made up by the exporter rather than copied from a host directory. */
export type SyntheticEntry =
  | { type: 'dir'; path: string; mode?: number; owner?: Owner }
  | { type: 'file'; path: string; content: string | Buffer; mode?: number; owner?: Owner }
  | { type: 'host-file'; path: string; hostPath: string; mode?: number; owner?: Owner }
  | { type: 'symlink'; path: string; target: string; owner?: Owner };

export interface LayerSource {
  dirs?: HostDirMapping[];
  entries?: SyntheticEntry[];
}

export interface WriteLayerOptions {
  entries: LayerSource;
  outDir: string;
  uid: number;
  gid: number;
  /** Timestamp of every entry; keep the default for reproducible layers. */
  mtime?: Date;
}

type PlannedEntry = { name: string; owner: Owner } & (
  | { kind: 'dir'; mode: number }
  | { kind: 'file'; mode: number; content: Buffer }
  | { kind: 'host-file'; mode: number; hostPath: string; size: number }
  | { kind: 'symlink'; target: string }
);

const PERMISSION_BITS = 0o7777;
const PARENT_DIR_MODE = 0o755;

/** `/layers/x/` -> `layers/x`; refuses relative paths and `..`. '' is the image root. */
function imageName(path: string): string {
  const normalized = posix.normalize(path);
  if (!path.startsWith('/') || path.split('/').includes('..')) {
    throw new ExportError(`layer path "${path}" must be absolute and must not contain ".."`);
  }
  return normalized.replace(/^\/+|\/+$/g, '');
}

/** Tree order: compare component by component, bytewise (the separator sorts before any byte). */
function treeOrderKey(name: string): Buffer {
  return Buffer.from(name.replaceAll('/', '\0'), 'utf8');
}

async function plannedHostTree(mapping: HostDirMapping, fallbackOwner: Owner): Promise<PlannedEntry[]> {
  const owner = mapping.owner ?? fallbackOwner;
  const base = imageName(mapping.imagePath);
  const rootStat = await stat(mapping.hostDir);
  if (!rootStat.isDirectory()) throw new ExportError(`layer source ${mapping.hostDir} is not a directory`);
  const planned: PlannedEntry[] = [];
  if (base) planned.push({ kind: 'dir', name: base, owner, mode: mapping.mode ?? rootStat.mode & PERMISSION_BITS });

  const walk = async (hostDir: string, name: string): Promise<void> => {
    for (const child of await readdir(hostDir)) {
      const hostPath = join(hostDir, child);
      const childName = name ? `${name}/${child}` : child;
      const info = await lstat(hostPath);
      const mode = info.mode & PERMISSION_BITS;
      if (info.isDirectory()) {
        planned.push({ kind: 'dir', name: childName, owner, mode });
        await walk(hostPath, childName);
      } else if (info.isSymbolicLink()) {
        planned.push({ kind: 'symlink', name: childName, owner, target: await readlink(hostPath) });
      } else if (info.isFile()) {
        planned.push({ kind: 'host-file', name: childName, owner, mode, hostPath, size: info.size });
      }
    }
  };
  await walk(mapping.hostDir, base);
  return planned;
}

async function plannedSynthetic(entry: SyntheticEntry, fallbackOwner: Owner): Promise<PlannedEntry> {
  const name = imageName(entry.path);
  if (!name) throw new ExportError('a layer entry cannot replace the image root "/"');
  const owner = entry.owner ?? fallbackOwner;
  switch (entry.type) {
    case 'dir':
      return { kind: 'dir', name, owner, mode: entry.mode ?? PARENT_DIR_MODE };
    case 'file':
      return { kind: 'file', name, owner, mode: entry.mode ?? 0o644, content: Buffer.from(entry.content) };
    case 'symlink':
      return { kind: 'symlink', name, owner, target: entry.target };
    case 'host-file': {
      const info = await stat(entry.hostPath);
      const mode = entry.mode ?? info.mode & PERMISSION_BITS;
      return { kind: 'host-file', name, owner, mode, hostPath: entry.hostPath, size: info.size };
    }
  }
}

/** All entries of the layer, parents added, in tree order. */
async function planLayer(source: LayerSource, owner: Owner): Promise<PlannedEntry[]> {
  const explicit = new Map<string, PlannedEntry>();
  const add = (entry: PlannedEntry): void => {
    if (explicit.has(entry.name)) throw new ExportError(`two layer entries for /${entry.name}`);
    explicit.set(entry.name, entry);
  };
  for (const mapping of source.dirs ?? []) (await plannedHostTree(mapping, owner)).forEach(add);
  for (const entry of source.entries ?? []) add(await plannedSynthetic(entry, owner));

  const all = new Map(explicit);
  for (const name of explicit.keys()) {
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      const existing = all.get(parent);
      if (existing && existing.kind !== 'dir') throw new ExportError(`/${parent} is both a directory and a ${existing.kind} in one layer`);
      if (!existing) all.set(parent, { kind: 'dir', name: parent, owner, mode: PARENT_DIR_MODE });
    }
  }
  return [...all.values()].sort((a, b) => Buffer.compare(treeOrderKey(a.name), treeOrderKey(b.name)));
}

function tarHeader(entry: PlannedEntry, mtime: Date): TarHeader {
  const common = { name: entry.name, uid: entry.owner.uid, gid: entry.owner.gid, uname: '', gname: '', mtime };
  switch (entry.kind) {
    case 'dir':
      // Trailing slash on directories, as GNU tar, Go's archive/tar and `docker save` write them.
      return { ...common, name: `${entry.name}/`, type: 'directory', mode: entry.mode };
    case 'symlink':
      return { ...common, type: 'symlink', mode: 0o777, linkname: entry.target };
    case 'file':
      return { ...common, type: 'file', mode: entry.mode, size: entry.content.length };
    case 'host-file':
      return { ...common, type: 'file', mode: entry.mode, size: entry.size };
  }
}

/** Writes the layer tar to `<outDir>/<diffId hex>.tar` and returns its diffId and size. */
export async function writeLayer(opts: WriteLayerOptions): Promise<LayerFile> {
  const mtime = opts.mtime ?? NORMALIZED_MTIME;
  const planned = await planLayer(opts.entries, { uid: opts.uid, gid: opts.gid });
  const tar = tarStream(async (pack) => {
    for (const entry of planned) {
      const body =
        entry.kind === 'file' ? entry.content : entry.kind === 'host-file' ? hostFileBody(entry.hostPath, entry.size) : undefined;
      await addTarEntry(pack, tarHeader(entry, mtime), body);
    }
  });
  try {
    const written = await writeHashedFile([tar], opts.outDir, (digest) => `${digestHex(digest)}.tar`);
    return { diffId: written.digest, size: written.size, path: written.path };
  } catch (err) {
    if (err instanceof ExportError) throw err;
    throw new ExportError(`could not write a layer into ${opts.outDir}: ${(err as Error).message}`, {
      cause: err,
      hint: (err as Error).message.includes('Size mismatch') ? 'A file changed while the layer was being written.' : undefined,
    });
  }
}

/** A LayerFile for a tar that already exists (hashed, not copied). */
export async function layerFromTarFile(path: string): Promise<LayerFile> {
  const { digest, size } = await digestFile(path);
  return { diffId: digest, size, path };
}
