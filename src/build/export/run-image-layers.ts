/**
 * The run image's layers, for sinks that need their bytes (OCI layout/archive, registry, and the
 * daemon when it uses the containerd image store). The build only knows their diffIds; the
 * bytes come from, in order of preference:
 *   1. the run image's own registry, when the image is pushed to that same registry: its blobs
 *      are referenced as they are (HEAD / cross-repository mount; nothing is downloaded);
 *   2. the per-user blob cache (gzip blobs keyed by diffId, see blobCacheDir);
 *   3. the daemon: `docker save`, streamed, keeping the layer tars whose sha256 is wanted;
 *   4. the run image's registry: blobs downloaded, their diffId checked while unpacking.
 * Layers from 3 and 4 are gzipped by src/image/compress.ts into the cache, so the blobs (and
 * the manifest digest) do not depend on where the layers came from.
 */
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import type { DockerClient } from '../../docker/client';
import type { Reporter } from '../../ui/reporter';
import { ExportError, GobuildError } from '../../errors';
import { gzipLayer } from '../../image/compress';
import { digestHex, DigestStream, tempPathIn } from '../../image/digest';
import { MediaType, type Blob, type Digest, type LayerFile, type Platform } from '../../image/types';
import type { RegistryClients } from '../../registry/clients';
import { fetchRemoteImage, type RemoteImage } from '../../registry/pull';
import { parseReference, type ImageReference } from '../../registry/reference';

/** Where gzip blobs of run-image layers are kept between builds: `$XDG_CACHE_HOME/gobuild-cnb/blobs`. */
export function blobCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'gobuild-cnb', 'blobs');
}

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
/** `<v1 id>/layer.tar` (docker save before 25), `blobs/sha256/<hex>` (the OCI layout newer daemons save). */
const LEGACY_LAYER = /(^|\/)layer\.tar$/;
const OCI_BLOB = /^blobs\/sha256\/([0-9a-f]{64})$/;

async function startsWithGzipMagic(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await file.read(head, 0, 2, 0);
    return bytesRead === 2 && head.equals(GZIP_MAGIC);
  } finally {
    await file.close();
  }
}

/** Streams `stages` into a file in `dir`; returns the sha256 of the bytes the last stage gave. */
async function writeHashing(stages: Array<NodeJS.ReadableStream | NodeJS.ReadWriteStream | AsyncIterable<Buffer>>, dir: string): Promise<{ path: string; digest: Digest; size: number }> {
  const path = tempPathIn(dir, 'layer');
  const hasher = new DigestStream();
  try {
    await (pipeline as (...streams: unknown[]) => Promise<void>)(...stages, hasher, createWriteStream(path));
  } catch (err) {
    await rm(path, { force: true });
    throw err;
  }
  return { path, digest: hasher.digest(), size: hasher.size };
}

/**
 * Reads a `docker save` tarball as it streams and writes the uncompressed layer tars whose
 * diffIds are wanted to `outDir/<diffId hex>.tar`. Every layer is identified by hashing it
 * (diffId = sha256 of the tar), so neither the save format nor the order of manifest.json
 * matters; gzip blobs (the containerd image store saves layers as pulled) are unpacked and
 * hashed. Stops reading once every wanted layer is on disk.
 */
export async function extractSavedLayers(save: Readable, wanted: readonly Digest[], outDir: string): Promise<Map<Digest, LayerFile>> {
  await mkdir(outDir, { recursive: true });
  const missing = new Set(wanted);
  const found = new Map<Digest, LayerFile>();
  const keep = async (path: string, digest: Digest, size: number): Promise<boolean> => {
    if (!missing.has(digest)) return false;
    const final = join(outDir, `${digestHex(digest)}.tar`);
    await rename(path, final);
    missing.delete(digest);
    found.set(digest, { diffId: digest, size, path: final });
    return true;
  };
  const parser = extract();
  save.on('error', (err) => parser.destroy(err));
  save.pipe(parser);
  try {
    for await (const entry of parser) {
      const { name, type } = entry.header;
      const blobHex = OCI_BLOB.exec(name)?.[1];
      const candidate = type === 'file' && (LEGACY_LAYER.test(name) || blobHex !== undefined);
      // An OCI blob named by a diffId already found is a duplicate; anything else is not a layer.
      if (!candidate || (blobHex && found.has(`sha256:${blobHex}`))) {
        entry.resume();
        continue;
      }
      const raw = await writeHashing([entry as unknown as AsyncIterable<Buffer>], outDir);
      if (await keep(raw.path, raw.digest, raw.size)) {
        if (missing.size === 0) break;
        continue;
      }
      if (await startsWithGzipMagic(raw.path)) {
        const unpacked = await writeHashing([createReadStream(raw.path), createGunzip()], outDir).catch(() => undefined);
        if (unpacked && !(await keep(unpacked.path, unpacked.digest, unpacked.size))) await rm(unpacked.path, { force: true });
      }
      await rm(raw.path, { force: true });
      if (missing.size === 0) break;
    }
  } finally {
    save.unpipe(parser);
    save.destroy();
    parser.destroy();
  }
  return found;
}

/** The run image's layers as uncompressed tars in `outDir`, in the given order, from `docker save`. */
export async function saveRunImageLayers(docker: DockerClient, ref: string, diffIds: readonly Digest[], outDir: string): Promise<LayerFile[]> {
  let found: Map<Digest, LayerFile>;
  try {
    found = await extractSavedLayers(await docker.saveImage(ref), diffIds, outDir);
  } catch (err) {
    if (err instanceof GobuildError) throw err;
    throw new ExportError(`could not read the layers of the run image ${ref} from docker save: ${(err as Error).message}`, { cause: err });
  }
  const lacking = diffIds.filter((diffId) => !found.has(diffId));
  if (lacking.length > 0) {
    throw new ExportError(`docker save ${ref} did not contain ${lacking.length} of its layers (${lacking.map((d) => d.slice(0, 19)).join(', ')})`, {
      hint: 'The run image may have been re-tagged during the build; build again.',
    });
  }
  return diffIds.map((diffId) => found.get(diffId)!);
}

export interface RunImageBlobsInput {
  docker: DockerClient;
  reporter: Reporter;
  runImage: { ref: string; diffIds: readonly Digest[] };
  platform: Platform;
  /** Scratch space for uncompressed layers (removed with the build). */
  workDir: string;
  registries: RegistryClients;
  /** The registry the image is pushed to: a run image on that same registry is referenced, not copied. */
  pushRegistry?: string;
  cacheDir?: string;
}

export interface RunImageBlobs {
  blobs: Blob[];
  source: 'registry' | 'cache' | 'daemon' | 'registry download';
  /** The run image's repository, when its blobs are referenced where they are (mount source). */
  mountFrom?: ImageReference;
}

function tryParseReference(ref: string): ImageReference | undefined {
  try {
    return parseReference(ref);
  } catch {
    return undefined;
  }
}

const sameDiffIds = (a: readonly Digest[], b: readonly Digest[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/** The gzip blob the cache holds for a layer (compress.ts names them `<diffId hex>.tar.gz` plus `.digest`). */
async function cachedBlob(diffId: Digest, cacheDir: string): Promise<Blob | undefined> {
  if (!existsSync(join(cacheDir, `${digestHex(diffId)}.tar.gz.digest`))) return undefined;
  // The tar is never read on a cache hit; gzipLayer only checks its cache.
  return gzipLayer({ diffId, size: 0, path: join(cacheDir, 'absent') }, cacheDir).catch(() => undefined);
}

async function gzipAll(layers: LayerFile[], cacheDir: string): Promise<Blob[]> {
  const blobs: Blob[] = [];
  for (const layer of layers) {
    blobs.push(await gzipLayer(layer, cacheDir));
    await rm(layer.path, { force: true }); // the uncompressed copy is no longer needed
  }
  return blobs;
}

/** A blob read from a registry only if someone opens it (a mount needs no bytes). */
function remoteBlob(input: RunImageBlobsInput, reference: ImageReference, descriptor: Blob['descriptor']): Blob {
  return {
    descriptor,
    open: () => {
      const out = new PassThrough();
      input.registries
        .get(reference.registry)
        .getBlob(reference.repository, descriptor)
        .then(
          (stream) => {
            stream.on('error', (err) => out.destroy(err));
            stream.pipe(out);
          },
          (err: Error) => out.destroy(err),
        );
      return out;
    },
  };
}

/** Downloads gzip layer blobs, unpacking each to check its diffId, into uncompressed tars. */
async function downloadLayers(input: RunImageBlobsInput, reference: ImageReference, layers: Array<{ diffId: Digest; descriptor: Blob['descriptor'] }>, outDir: string): Promise<LayerFile[]> {
  await mkdir(outDir, { recursive: true });
  const client = input.registries.get(reference.registry);
  const files: LayerFile[] = [];
  for (const { diffId, descriptor } of layers) {
    const gzip = descriptor.mediaType === MediaType.OciLayerGzip || descriptor.mediaType === MediaType.DockerLayerGzip;
    if (!gzip && descriptor.mediaType !== MediaType.OciLayer) {
      throw new ExportError(`layer ${descriptor.digest} of ${input.runImage.ref} has media type ${descriptor.mediaType}, which gobuild-cnb cannot unpack`, {
        hint: 'Use a run image with gzip layers, or pull it into the Docker daemon first.',
      });
    }
    const download = await client.getBlob(reference.repository, descriptor);
    const stages = gzip ? [download, createGunzip()] : [download];
    const written = await writeHashing(stages, outDir);
    if (written.digest !== diffId) {
      await rm(written.path, { force: true });
      throw new ExportError(`layer ${descriptor.digest} of ${input.runImage.ref} unpacks to ${written.digest}, but its config says ${diffId}`);
    }
    const path = join(outDir, `${digestHex(diffId)}.tar`);
    await rename(written.path, path);
    files.push({ diffId, size: written.size, path });
  }
  return files;
}

/** The run image's layer blobs, in rootfs order; see the file comment for where they come from. */
export async function runImageBlobs(input: RunImageBlobsInput): Promise<RunImageBlobs> {
  const { runImage, reporter, docker } = input;
  const cacheDir = input.cacheDir ?? blobCacheDir();
  const reference = tryParseReference(runImage.ref);
  let remote: Promise<RemoteImage | undefined> | undefined;
  const fetchRemote = (ref: ImageReference): Promise<RemoteImage | undefined> =>
    (remote ??= fetchRemoteImage(input.registries.get(ref.registry), ref, input.platform));

  // 1. Same registry: its blobs stay where they are.
  if (reference && input.pushRegistry === reference.registry) {
    try {
      const found = await fetchRemote(reference);
      if (found && sameDiffIds(found.diffIds, runImage.diffIds)) {
        return { blobs: found.layers.map((d) => remoteBlob(input, reference, d)), source: 'registry', mountFrom: reference };
      }
      reporter.detail(`run image ${runImage.ref}: ${found ? "the registry's copy differs from the daemon's" : 'not in its registry'}; copying its layers`);
    } catch (err) {
      reporter.detail(`run image ${runImage.ref} not usable from its registry (${(err as Error).message}); copying its layers`);
    }
  }

  // 2. Cache.
  await mkdir(cacheDir, { recursive: true });
  const cached = await Promise.all(runImage.diffIds.map((diffId) => cachedBlob(diffId, cacheDir)));
  if (cached.every((blob): blob is Blob => blob !== undefined)) return { blobs: cached, source: 'cache' };

  // 3. Daemon.
  const outDir = join(input.workDir, 'run-image-layers');
  if (await docker.inspectImage(runImage.ref)) {
    reporter.detail(`reading the run image's ${runImage.diffIds.length} layers from the daemon (docker save ${runImage.ref})`);
    return { blobs: await gzipAll(await saveRunImageLayers(docker, runImage.ref, runImage.diffIds, outDir), cacheDir), source: 'daemon' };
  }

  // 4. Its registry.
  const found = reference ? await fetchRemote(reference) : undefined;
  if (!reference || !found || !sameDiffIds(found.diffIds, runImage.diffIds)) {
    throw new ExportError(`the layers of the run image ${runImage.ref} are neither in the Docker daemon nor in its registry`, {
      hint: `Pull it again (docker pull ${runImage.ref}) and rebuild.`,
    });
  }
  reporter.detail(`downloading the run image's ${found.layers.length} layers from ${reference.registry}`);
  const layers = found.layers.map((descriptor, i) => ({ diffId: found.diffIds[i], descriptor }));
  return { blobs: await gzipAll(await downloadLayers(input, reference, layers, outDir), cacheDir), source: 'registry download' };
}
