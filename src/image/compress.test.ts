import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { gzipLayer } from './compress';
import { sha256Digest } from './digest';
import { writeLayer } from './layer';
import { MediaType, type LayerFile } from './types';

let scratch: string;
let layer: LayerFile;
beforeEach(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'gobuild-cnb-gzip-'));
  mkdirSync(join(scratch, 'layers'));
  layer = await writeLayer({
    entries: { entries: [{ type: 'file', path: '/workspace/app', content: 'binary '.repeat(1000), mode: 0o755 }] },
    outDir: join(scratch, 'layers'),
    uid: 1000,
    gid: 1000,
  });
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('gzipLayer', () => {
  it('writes a gzip blob of the layer with its digest and size, and a header without a timestamp', async () => {
    const blob = await gzipLayer(layer, scratch);
    const bytes = await readAll(blob.open());
    expect(blob.descriptor).toEqual({ mediaType: MediaType.OciLayerGzip, digest: sha256Digest(bytes), size: bytes.length });
    expect(sha256Digest(gunzipSync(bytes))).toBe(layer.diffId);
    expect(bytes.subarray(4, 8)).toEqual(Buffer.alloc(4)); // MTIME field of the gzip header
    expect(bytes.length).toBeLessThan(layer.size / 4);
  });

  it('gives the same blob digest in another directory (deterministic)', async () => {
    mkdirSync(join(scratch, 'a'));
    mkdirSync(join(scratch, 'b'));
    const first = await gzipLayer(layer, join(scratch, 'a'));
    const second = await gzipLayer(layer, join(scratch, 'b'));
    expect(second.descriptor.digest).toBe(first.descriptor.digest);
  });

  it('reuses the cached blob of a diffId instead of compressing again', async () => {
    const first = await gzipLayer(layer, scratch);
    const blobFile = join(scratch, `${layer.diffId.slice(7)}.tar.gz`);
    const before = statSync(blobFile);
    rmSync(layer.path); // a recompression would fail now
    const again = await gzipLayer(layer, scratch);
    expect(again.descriptor).toEqual(first.descriptor);
    expect(statSync(blobFile).mtimeMs).toBe(before.mtimeMs);
    expect(readdirSync(scratch).sort()).toEqual([`${layer.diffId.slice(7)}.tar.gz`, `${layer.diffId.slice(7)}.tar.gz.digest`, 'layers']);
    expect(readFileSync(`${blobFile}.digest`, 'utf8').trim()).toBe(first.descriptor.digest);
  });

  it('compresses again when the digest file is missing (an interrupted earlier run)', async () => {
    const first = await gzipLayer(layer, scratch);
    rmSync(join(scratch, `${layer.diffId.slice(7)}.tar.gz.digest`));
    const again = await gzipLayer(layer, scratch);
    expect(again.descriptor).toEqual(first.descriptor);
    expect(readdirSync(scratch)).toContain(`${layer.diffId.slice(7)}.tar.gz.digest`);
  });
});
