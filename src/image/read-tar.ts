/**
 * Reading a tar back: headers and (small) bodies, for looking inside archives we wrote or were
 * given, such as the manifest.json of a `docker save` tarball or an OCI archive's index.json.
 */
import type { Readable } from 'node:stream';
import { extract, type Header } from 'tar-stream';

export interface TarEntry {
  header: Header;
  /** The body, when `keepBody` accepted the entry; otherwise only its size is in the header. */
  body?: Buffer;
}

/** All entries of the tar; bodies are kept only for entries `keepBody` accepts. */
export async function readTarEntries(source: Readable, keepBody: (header: Header) => boolean = () => true): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  const parser = extract();
  source.on('error', (err) => parser.destroy(err));
  source.pipe(parser);
  for await (const entry of parser) {
    if (!keepBody(entry.header)) {
      entries.push({ header: entry.header });
      entry.resume();
      continue;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    entries.push({ header: entry.header, body: Buffer.concat(chunks) });
  }
  return entries;
}
