/**
 * Gzip blobs of layers, for registries and OCI layouts. Deterministic: Node's zlib at a fixed
 * level writes a header with mtime 0 and no file name, so the same tar gives the same blob (with
 * the same zlib build). The blob's digest is computed while it is written, and blobs are cached
 * by diffId: `<diffId hex>.tar.gz` plus a `.digest` file holding its digest, so a layer that did
 * not change is never compressed again.
 */
import { createReadStream } from 'node:fs';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { constants, createGzip } from 'node:zlib';
import { ExportError } from '../errors';
import { digestHex, isDigest, tempPathIn, writeHashedFile } from './digest';
import { MediaType, type Blob, type Digest, type LayerFile } from './types';

/** zlib's default trade-off (Go's gzip.DefaultCompression is the same level). */
const GZIP_LEVEL = constants.Z_DEFAULT_COMPRESSION;

/** A blob backed by a file on disk. */
export function fileBlob(path: string, descriptor: Blob['descriptor']): Blob {
  return { descriptor, open: () => createReadStream(path) };
}

function gzipBlob(path: string, digest: Digest, size: number): Blob {
  return fileBlob(path, { mediaType: MediaType.OciLayerGzip, digest, size });
}

async function cachedBlob(blobPath: string, digestPath: string): Promise<Blob | null> {
  try {
    const digest = (await readFile(digestPath, 'utf8')).trim();
    if (!isDigest(digest)) return null;
    const { size } = await stat(blobPath);
    return gzipBlob(blobPath, digest, size);
  } catch {
    return null;
  }
}

export async function gzipLayer(layer: LayerFile, outDir: string): Promise<Blob> {
  const name = `${digestHex(layer.diffId)}.tar.gz`;
  const blobPath = join(outDir, name);
  const digestPath = `${blobPath}.digest`;
  const cached = await cachedBlob(blobPath, digestPath);
  if (cached) return cached;
  try {
    const written = await writeHashedFile([createReadStream(layer.path), createGzip({ level: GZIP_LEVEL })], outDir, () => name);
    // The digest file goes last: a blob without one is not trusted and is compressed again.
    const tempDigest = tempPathIn(outDir, 'digest');
    await writeFile(tempDigest, `${written.digest}\n`);
    await rename(tempDigest, digestPath);
    return gzipBlob(blobPath, written.digest, written.size);
  } catch (err) {
    throw new ExportError(`could not compress layer ${layer.diffId}: ${(err as Error).message}`, { cause: err });
  }
}
