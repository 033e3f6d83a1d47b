/**
 * Writing tars with tar-stream, streamed: entries are produced one at a time, file bodies are
 * piped in with backpressure, and the result is a Node Readable (dockerode and fs want those).
 */
import { createReadStream, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack, type Pack } from 'tar-stream';

export type TarHeader = Parameters<Pack['entry']>[0];

/** The timestamp of every entry we write (the lifecycle's: zip-safe, just after the DOS epoch). */
export const NORMALIZED_MTIME = new Date('1980-01-01T00:00:01Z');

/** A body for a file entry: bytes, or a stream opened only when the entry is written. */
export type TarBody = Buffer | (() => NodeJS.ReadableStream);

/**
 * Files up to this size are read whole: opening a stream per file costs about a millisecond,
 * which adds up over a source tree of hundreds of files. Bigger files are streamed.
 */
export const READ_WHOLE_MAX_BYTES = 1024 * 1024;

/** The body of a host file of `size` bytes: its bytes when small, a stream otherwise. */
export function hostFileBody(hostPath: string, size: number): TarBody {
  return size <= READ_WHOLE_MAX_BYTES ? readFileSync(hostPath) : () => createReadStream(hostPath);
}

/** Adds one entry; resolves once its body is fully written into the tar. */
export async function addTarEntry(tar: Pack, header: TarHeader, body?: TarBody): Promise<void> {
  if (typeof body === 'function') {
    await pipeline(body(), tar.entry(header));
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error | null): void => (err ? reject(err) : resolve());
    if (body) tar.entry(header, body, done);
    else tar.entry(header, done);
  });
}

/**
 * A tar whose entries `produce` adds. Nothing is buffered beyond the stream's high-water mark:
 * `produce` waits whenever the reader is slower.
 */
export function tarStream(produce: (tar: Pack) => Promise<void>): Readable {
  const tar = pack();
  produce(tar).then(
    () => tar.finalize(),
    (err: Error) => tar.destroy(err),
  );
  // tar-stream speaks streamx; callers want a Node stream.
  return Readable.from(tar);
}
