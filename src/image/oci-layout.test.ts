import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipLayer } from './compress';
import { buildImageConfig, serializeConfig, type SinkImage } from './config';
import { sha256Digest } from './digest';
import { writeLayer } from './layer';
import { REF_NAME_ANNOTATION, writeOciArchive, writeOciLayout } from './oci-layout';
import { readTarEntries } from './read-tar';
import { MediaType, type Descriptor, type Digest, type ImageIndex, type ImageManifest, type Platform } from './types';
import { UsageError } from '../errors';

let scratch: string;
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'gobuild-cnb-oci-'));
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

async function makeImage(architecture: string, message: string): Promise<SinkImage> {
  const work = join(scratch, 'work');
  mkdirSync(work, { recursive: true });
  const platform: Platform = { os: 'linux', architecture };
  const layer = await writeLayer({
    entries: { entries: [{ type: 'file', path: '/workspace/hello', content: `#!/bin/sh\necho ${message}\n`, mode: 0o755 }] },
    outDir: work,
    uid: 1000,
    gid: 1000,
  });
  const blob = await gzipLayer(layer, work);
  const config = buildImageConfig({
    base: null,
    platform,
    layers: [{ diffId: layer.diffId, createdBy: 'gobuild-cnb: application layer' }],
    env: ['PATH=/cnb/process:/usr/bin:/bin'],
    entrypoint: ['/workspace/hello'],
    workingDir: '/workspace',
  });
  return { config: serializeConfig(config), layers: [blob], platform };
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
const blobPath = (dir: string, digest: Digest): string => join(dir, 'blobs/sha256', digest.slice(7));

/** Every blob file's name is the sha256 of its content. */
function expectBlobsIntact(dir: string): void {
  for (const name of readdirSync(join(dir, 'blobs/sha256'))) {
    expect(sha256Digest(readFileSync(join(dir, 'blobs/sha256', name)))).toBe(`sha256:${name}`);
  }
}

describe('writeOciLayout', () => {
  it('writes oci-layout, index.json with the ref name, and the manifest, config and layer blobs', async () => {
    const image = await makeImage('amd64', 'hi');
    const dir = join(scratch, 'layout');
    const top = await writeOciLayout(dir, image, { refName: 'latest' });

    expect(readJson(join(dir, 'oci-layout'))).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = readJson<ImageIndex>(join(dir, 'index.json'));
    expect(index).toEqual({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [top] });
    expect(top).toMatchObject({ mediaType: MediaType.OciManifest, annotations: { [REF_NAME_ANNOTATION]: 'latest' } });

    const manifest = readJson<ImageManifest>(blobPath(dir, top.digest));
    expect(manifest.config).toEqual({ mediaType: MediaType.OciConfig, digest: image.config.digest, size: image.config.size });
    expect(manifest.layers).toEqual([image.layers[0].descriptor]);
    expect(readFileSync(blobPath(dir, image.config.digest))).toEqual(image.config.bytes);
    expect(readdirSync(join(dir, 'blobs/sha256'))).toHaveLength(3);
    expectBlobsIntact(dir);
  });

  it('replaces the entry of the same ref name in an existing layout and keeps the others', async () => {
    const dir = join(scratch, 'layout');
    const first = await writeOciLayout(dir, await makeImage('amd64', 'one'), { refName: 'latest' });
    const other = await writeOciLayout(dir, await makeImage('amd64', 'two'), { refName: 'v2' });
    const replaced = await writeOciLayout(dir, await makeImage('amd64', 'three'), { refName: 'latest' });
    expect(replaced.digest).not.toBe(first.digest);
    const refs = readJson<ImageIndex>(join(dir, 'index.json')).manifests.map((d) => [d.annotations?.[REF_NAME_ANNOTATION], d.digest]);
    expect(refs).toEqual([
      ['v2', other.digest],
      ['latest', replaced.digest],
    ]);
    expectBlobsIntact(dir);
  });

  it('refuses a path that exists and is neither an empty directory nor a layout, and leaves it alone', async () => {
    const image = await makeImage('amd64', 'hi');
    const busy = join(scratch, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'notes.txt'), 'mine');
    const file = join(scratch, 'file');
    writeFileSync(file, 'mine');
    await expect(writeOciLayout(busy, image)).rejects.toThrow(new UsageError(`cannot write an OCI layout to ${JSON.stringify(busy)}: it is a directory that is neither empty nor an OCI image layout`));
    await expect(writeOciLayout(file, image)).rejects.toThrow(UsageError);
    expect(readdirSync(busy)).toEqual(['notes.txt']);
    expect(readFileSync(file, 'utf8')).toBe('mine');
  });

  it('writes several platforms as a nested image index under one ref name', async () => {
    const dir = join(scratch, 'layout');
    const amd = await makeImage('amd64', 'amd');
    const arm = await makeImage('arm64', 'arm');
    const top = await writeOciLayout(dir, [amd, arm], { refName: 'latest' });
    expect(top.mediaType).toBe(MediaType.OciIndex);
    const nested = readJson<ImageIndex>(blobPath(dir, top.digest));
    expect(nested.manifests.map((m) => m.platform)).toEqual([amd.platform, arm.platform]);
    for (const m of nested.manifests) expect(existsSync(blobPath(dir, m.digest))).toBe(true);
    expectBlobsIntact(dir);
  });
});

describe('writeOciArchive', () => {
  it('streams the same layout into a tar', async () => {
    const image = await makeImage('amd64', 'hi');
    const file = join(scratch, 'image.tar');
    const top = await writeOciArchive(file, image, { refName: 'latest' });
    const entries = await readTarEntries(createReadStream(file));
    expect(entries.slice(0, 4).map((e) => e.header.name)).toEqual(['oci-layout', 'index.json', 'blobs/', 'blobs/sha256/']);
    expect(JSON.parse(entries[1].body!.toString()).manifests).toEqual([top]);
    const blobs = entries.slice(4);
    expect(blobs.map((e) => e.header.name).sort()).toEqual(
      [image.layers[0].descriptor.digest, image.config.digest, top.digest].map((d) => `blobs/sha256/${d.slice(7)}`).sort(),
    );
    for (const blob of blobs) expect(sha256Digest(blob.body!)).toBe(`sha256:${blob.header.name.slice('blobs/sha256/'.length)}`);
    expect(readdirSync(scratch).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('refuses a directory as the archive path', async () => {
    const image = await makeImage('amd64', 'hi');
    await expect(writeOciArchive(scratch, image)).rejects.toThrow(UsageError);
  });
});

/** skopeo (an independent OCI implementation) must accept what we write. */
function skopeoAvailable(): boolean {
  try {
    execFileSync('skopeo', ['--version'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

const skopeo = (...args: string[]): string => execFileSync('skopeo', args, { timeout: 30_000 }).toString();

if (skopeoAvailable()) {
  describe('skopeo reads our layouts', () => {
    it('inspects oci:<dir>:<ref> and oci-archive:<file>:<ref> with the digests we wrote', async () => {
      const image = await makeImage('amd64', 'hi');
      const dir = join(scratch, 'layout');
      const top = await writeOciLayout(dir, image, { refName: 'latest' });
      const archive = join(scratch, 'image.tar');
      await writeOciArchive(archive, image, { refName: 'latest' });
      for (const ref of [`oci:${dir}:latest`, `oci-archive:${archive}:latest`]) {
        const info = JSON.parse(skopeo('inspect', ref)) as { Digest: string; Architecture: string; Layers: string[] };
        expect(info).toMatchObject({ Digest: top.digest, Architecture: 'amd64', Layers: [image.layers[0].descriptor.digest] });
        const config = JSON.parse(skopeo('inspect', '--config', ref)) as { config: { Entrypoint: string[] } };
        expect(config.config.Entrypoint).toEqual(['/workspace/hello']);
      }
      // A copy reads every blob and checks it against its digest.
      skopeo('copy', '--quiet', `oci-archive:${archive}:latest`, `oci:${join(scratch, 'copy')}:latest`);
      expect(readFileSync(blobPath(join(scratch, 'copy'), image.layers[0].descriptor.digest))).toEqual(readFileSync(blobPath(dir, image.layers[0].descriptor.digest)));
    });

    it('picks each platform out of a multi-platform layout', async () => {
      const dir = join(scratch, 'layout');
      const amd = await makeImage('amd64', 'amd');
      const arm = await makeImage('arm64', 'arm');
      const top: Descriptor = await writeOciLayout(dir, [amd, arm], { refName: 'multi' });
      expect(JSON.parse(skopeo('inspect', '--raw', `oci:${dir}:multi`)).manifests).toHaveLength(2);
      expect(sha256Digest(skopeo('inspect', '--raw', `oci:${dir}:multi`).trim())).toBe(top.digest);
      const arm64 = JSON.parse(skopeo('--override-arch', 'arm64', 'inspect', '--config', `oci:${dir}:multi`)) as { architecture: string };
      expect(arm64.architecture).toBe('arm64');
    });
  });
} else if (process.env.CI === 'true') {
  it('needs skopeo on PATH in CI (apt-get install skopeo)', () => {
    throw new Error('skopeo is not on PATH; CI must validate OCI layouts with it');
  });
} else {
  console.warn('NOTICE: skopeo is not on PATH; the skopeo validation of OCI layouts is skipped (install it: apt-get install skopeo)');
}
