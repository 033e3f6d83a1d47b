/**
 * OCI image layout sinks (image-spec image-layout.md; imgutil layout/):
 *   oci-layout                 {"imageLayoutVersion":"1.0.0"}
 *   index.json                 an index; each top-level entry annotated with its
 *                              org.opencontainers.image.ref.name
 *   blobs/sha256/<hex>         configs, layers (gzip), manifests, nested indexes
 * One image goes in index.json as a manifest; several (one per platform) go in as a nested
 * image index. writeOciLayout updates a directory in place (the entry of the same ref name is
 * replaced, other images are kept); writeOciArchive streams the same layout into a tar file.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ExportError, UsageError } from '../errors';
import { buildIndex, imageManifest, serializeJson, type SinkImage } from './config';
import { digestHex, DigestStream, tempPathIn } from './digest';
import { addTarEntry, NORMALIZED_MTIME, tarStream } from './tar';
import { checkFinalComponent, checkOutputPath, checkRenameTarget, fileKind, lstatOrNull, outputWriteError, STDOUT_PATH } from './output-path';
import { MediaType, type Descriptor, type ImageIndex } from './types';

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
const LAYOUT_FILE = 'oci-layout';
const LAYOUT_BYTES = Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' }));

export interface OciLayoutOptions {
  /** The tag or name the image is stored under (e.g. "latest" or "my-app:1.0"); replaces an entry of the same name. */
  refName?: string;
  /** Where `oci-archive:-` writes (default process.stdout). */
  stdout?: NodeJS.WritableStream;
}

/** A blob of the layout: its descriptor and a way to read it. */
interface LayoutBlob {
  descriptor: Descriptor;
  open(): NodeJS.ReadableStream;
}

interface LayoutPlan {
  /** What index.json points at: the image's manifest, or an index of per-platform manifests. */
  top: Descriptor;
  blobs: LayoutBlob[];
}

const jsonBlob = (descriptor: Descriptor, bytes: Buffer): LayoutBlob => ({ descriptor, open: () => Readable.from([bytes]) });

/** Every blob the images need (each digest once) and the top-level descriptor. */
function planLayout(images: SinkImage[], refName?: string): LayoutPlan {
  if (images.length === 0) throw new ExportError('no image to write');
  const blobs = new Map<string, LayoutBlob>();
  const add = (blob: LayoutBlob): void => {
    if (!blobs.has(blob.descriptor.digest)) blobs.set(blob.descriptor.digest, blob);
  };
  const manifests = images.map((image) => {
    image.layers.forEach(add);
    const config = image.config;
    add(jsonBlob({ mediaType: MediaType.OciConfig, digest: config.digest, size: config.size }, config.bytes));
    const { serialized, descriptor } = imageManifest(image, 'oci');
    add(jsonBlob(descriptor, serialized.bytes));
    return descriptor;
  });

  let top: Descriptor;
  if (images.length === 1) {
    const { platform: _platform, ...manifest } = manifests[0];
    top = manifest;
  } else {
    const index = serializeJson(buildIndex(manifests, 'oci'));
    top = { mediaType: MediaType.OciIndex, digest: index.digest, size: index.size };
    add(jsonBlob(top, index.bytes));
  }
  if (refName) top = { ...top, annotations: { [REF_NAME_ANNOTATION]: refName } };
  return { top, blobs: [...blobs.values()] };
}

function topIndex(manifests: Descriptor[]): Buffer {
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests };
  return serializeJson(index).bytes;
}

async function statOrNull(path: string): Promise<Awaited<ReturnType<typeof stat>> | null> {
  try {
    return await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

const notALayout = (dir: string, why: string): UsageError =>
  new UsageError(`cannot write an OCI layout to ${JSON.stringify(dir)}: ${why}`, {
    hint: 'Give a new or empty directory, or an existing OCI image layout (one with an oci-layout file).',
  });

/** The top-level descriptors of the layout at `dir` (created when missing); refuses anything else. */
async function openLayoutDir(dir: string): Promise<Descriptor[]> {
  const existing = await existingLayout(dir);
  if (existing) return existing;
  await mkdir(dir, { recursive: true });
  return [];
}

export interface OciTargetCheckOptions {
  /** Whether stdout is a terminal (default: process.stdout's); `oci-archive:-` refuses one. */
  stdoutIsTerminal?: boolean;
}

/**
 * Checks, before any work is done, that the output can be written (see output-path.ts): a
 * layout dir that is new, empty or already a layout; an archive path that is new or a regular
 * file; never a symlink or special file; a parent where files can be created. For `-` (stdout):
 * that stdout is not a terminal.
 */
export async function checkOciTarget(kind: 'oci' | 'oci-archive', path: string, opts: OciTargetCheckOptions = {}): Promise<void> {
  if (kind === 'oci-archive' && path === STDOUT_PATH) {
    if (opts.stdoutIsTerminal ?? Boolean(process.stdout.isTTY)) {
      throw new UsageError('--output oci-archive:- writes a binary archive to stdout, and stdout is a terminal', {
        hint: 'Redirect or pipe stdout: gobuild-cnb build ... --output oci-archive:- > image.tar',
      });
    }
    return;
  }
  await checkOutputPath(kind, path);
  if (kind === 'oci') await existingLayout(path);
}

/** null when `dir` does not exist; its top-level descriptors when it is empty or a layout; else an error. */
async function existingLayout(dir: string): Promise<Descriptor[] | null> {
  // A symlink or a file is refused here (lstat): never followed, never replaced.
  const info = await checkFinalComponent('oci', dir);
  if (!info) return null;
  const names = await readdir(dir);
  if (names.length === 0) return [];
  if (!names.includes(LAYOUT_FILE)) throw notALayout(dir, 'it is a directory that is neither empty nor an OCI image layout');
  await checkLayoutEntries(dir);
  try {
    const layout = JSON.parse(await readFile(join(dir, LAYOUT_FILE), 'utf8')) as { imageLayoutVersion?: string };
    if (!layout.imageLayoutVersion) throw new Error('no imageLayoutVersion');
    if (!names.includes('index.json')) return [];
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as Partial<ImageIndex>;
    return index.manifests ?? [];
  } catch (err) {
    throw notALayout(dir, `its oci-layout or index.json is unreadable (${(err as Error).message})`);
  }
}

/** The files and dirs a layout write goes through: never a symlink (a hostile layout could point blobs/ anywhere). */
async function checkLayoutEntries(dir: string): Promise<void> {
  const expected: Array<[string, 'file' | 'directory']> = [[LAYOUT_FILE, 'file'], ['index.json', 'file'], ['blobs', 'directory'], [join('blobs', 'sha256'), 'directory']];
  for (const [name, kind] of expected) {
    const info = await lstatOrNull(join(dir, name));
    if (!info) continue;
    if (kind === 'file' ? !info.isFile() : !info.isDirectory()) {
      throw notALayout(dir, `its ${name} is ${fileKind(info)}, not a ${kind === 'file' ? 'regular file' : 'directory'}`);
    }
  }
}

/** Copies a blob into blobs/sha256, checking its digest on the way; skips blobs already there. */
async function writeBlob(blobsDir: string, blob: LayoutBlob): Promise<void> {
  const { digest, size } = blob.descriptor;
  const path = join(blobsDir, digestHex(digest));
  if ((await statOrNull(path))?.size === size) return;
  const temp = tempPathIn(blobsDir, 'blob');
  const hasher = new DigestStream();
  try {
    await pipeline(blob.open(), hasher, createWriteStream(temp, { flags: 'wx' }));
    if (hasher.digest() !== digest) throw new ExportError(`blob ${digest} changed on disk: its content now hashes to ${hasher.digest()}`);
    await rename(temp, path);
  } finally {
    await rm(temp, { force: true });
  }
}

async function writeFileAtomically(dir: string, name: string, bytes: Buffer): Promise<void> {
  const temp = tempPathIn(dir, name);
  try {
    await writeFile(temp, bytes, { flag: 'wx' });
    await rename(temp, join(dir, name));
  } finally {
    await rm(temp, { force: true });
  }
}

/**
 * Writes the image (or, for several, an index of them; each needs a platform) into the OCI
 * layout at `dir`. Returns the descriptor index.json now lists for it.
 */
export async function writeOciLayout(dir: string, images: SinkImage | SinkImage[], opts: OciLayoutOptions = {}): Promise<Descriptor> {
  const plan = planLayout([images].flat(), opts.refName);
  const existing = await openLayoutDir(dir);
  try {
    // oci-layout first (an interrupted write leaves a layout a rerun can update), index.json last
    // (readers never see an entry whose blobs are missing).
    await writeFileAtomically(dir, LAYOUT_FILE, LAYOUT_BYTES);
    const blobsDir = join(dir, 'blobs', 'sha256');
    await mkdir(blobsDir, { recursive: true });
    for (const blob of plan.blobs) await writeBlob(blobsDir, blob);
    const kept = opts.refName ? existing.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== opts.refName) : existing;
    await writeFileAtomically(dir, 'index.json', topIndex([...kept, plan.top]));
  } catch (err) {
    throw outputWriteError(err, 'the OCI layout', dir);
  }
  return plan.top;
}

/** The same layout as one tar file (what `oci-archive:` means to skopeo and others), streamed. */
export async function writeOciArchive(file: string, images: SinkImage | SinkImage[], opts: OciLayoutOptions = {}): Promise<Descriptor> {
  const plan = planLayout([images].flat(), opts.refName);
  await checkOciTarget('oci-archive', file, { stdoutIsTerminal: false });
  const dirHeader = (name: string) => ({ name, type: 'directory' as const, mode: 0o755, mtime: NORMALIZED_MTIME, uid: 0, gid: 0 });
  const fileHeader = (name: string, size: number) => ({ name, size, type: 'file' as const, mode: 0o644, mtime: NORMALIZED_MTIME, uid: 0, gid: 0 });
  const archive = tarStream(async (tar) => {
    const index = topIndex([plan.top]);
    await addTarEntry(tar, fileHeader(LAYOUT_FILE, LAYOUT_BYTES.length), LAYOUT_BYTES);
    await addTarEntry(tar, fileHeader('index.json', index.length), index);
    await addTarEntry(tar, dirHeader('blobs/'));
    await addTarEntry(tar, dirHeader('blobs/sha256/'));
    for (const blob of plan.blobs) {
      await addTarEntry(tar, fileHeader(`blobs/sha256/${digestHex(blob.descriptor.digest)}`, blob.descriptor.size), blob.open);
    }
  });
  if (file === STDOUT_PATH) {
    try {
      // stdout stays open: the CLI may still write to it (nothing, by design, but never a crash).
      await pipeline(archive, opts.stdout ?? process.stdout, { end: false });
    } catch (err) {
      throw outputWriteError(err, 'the OCI archive to', file);
    }
    return plan.top;
  }
  // Beside the target (same file system, so the rename is atomic), created with O_EXCL: a
  // failed write leaves the previous archive as it was and no partial file.
  const temp = tempPathIn(dirname(file), `${basename(file)}.partial`);
  try {
    await pipeline(archive, createWriteStream(temp, { flags: 'wx', mode: 0o644 }));
    await checkRenameTarget('oci-archive', file);
    await rename(temp, file);
  } catch (err) {
    throw outputWriteError(err, 'the OCI archive', file);
  } finally {
    await rm(temp, { force: true });
  }
  return plan.top;
}
