/**
 * Hashing and content-addressed files: sha256 digests computed while bytes stream past, and
 * files written under a temporary name then renamed, so a reader never sees half a blob.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Digest } from './types';

export function sha256Digest(data: Buffer | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The hex part of a digest (what blob and layer files are named after). */
export function digestHex(digest: Digest): string {
  return digest.slice('sha256:'.length);
}

export function isDigest(value: string): value is Digest {
  return /^sha256:[0-9a-f]{64}$/.test(value);
}

/** A pass-through that hashes and counts what flows through it. */
export class DigestStream extends Transform {
  private readonly hash = createHash('sha256');
  size = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    callback(null, chunk);
  }

  /** Valid once the stream has finished. */
  digest(): Digest {
    return `sha256:${this.hash.copy().digest('hex')}`;
  }
}

export async function digestFile(path: string): Promise<{ digest: Digest; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/** A unique temporary name next to `finalPath`, so the final rename stays on one file system. */
export function tempPathIn(dir: string, purpose: string): string {
  return join(dir, `.tmp-${purpose}-${process.pid}-${randomBytes(6).toString('hex')}`);
}

/**
 * Streams `source` (any chain of stream stages) into a temp file in `dir`, hashing on the way,
 * then renames it to `nameFor(digest)`. Returns the digest, size and final path.
 */
export async function writeHashedFile(
  stages: Array<NodeJS.ReadableStream | NodeJS.ReadWriteStream | AsyncIterable<Buffer>>,
  dir: string,
  nameFor: (digest: Digest) => string,
): Promise<{ digest: Digest; size: number; path: string }> {
  const temp = tempPathIn(dir, 'blob');
  const hasher = new DigestStream();
  try {
    await (pipeline as (...streams: unknown[]) => Promise<void>)(...stages, hasher, createWriteStream(temp));
    const digest = hasher.digest();
    const path = join(dir, nameFor(digest));
    await rename(temp, path);
    return { digest, size: hasher.size, path };
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
