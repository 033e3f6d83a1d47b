/**
 * Pushing an image (config + layers + manifest) or an image index (several such images plus
 * the index) to a registry. Blobs the repository already has are not sent again (HEAD first);
 * missing ones are mounted from another repository of the same registry when one is given,
 * else uploaded. The manifest goes last, when everything it names is there.
 * The manifest and index bytes come from the caller: their digest is the image's identity.
 */
import type { Blob, Descriptor, Digest } from '../image/types';
import { sha256Digest, type RegistryClient } from './client';
import { fullName, manifestReference, type ImageReference } from './reference';

export type PushEvent =
  | { kind: 'exists'; descriptor: Descriptor }
  | { kind: 'uploading'; descriptor: Descriptor }
  | { kind: 'uploaded'; descriptor: Descriptor; bytes: number }
  | { kind: 'mounted'; descriptor: Descriptor; from: string }
  | { kind: 'manifest'; digest: Digest; mediaType: string; reference: string };

export interface PushCounts {
  /** Blobs sent (upload bytes went over the wire). */
  uploaded: number;
  /** Blobs the repository already had. */
  skipped: number;
  /** Blobs linked from another repository without sending them. */
  mounted: number;
  bytesUploaded: number;
}

export interface PushResult extends PushCounts {
  /** Digest of the pushed manifest (or index). */
  digest: Digest;
  /** `registry/repository@digest`: what to deploy. */
  pinnedReference: string;
}

export interface ManifestBytes {
  bytes: Buffer;
  mediaType: string;
}

export interface ImageToPush {
  configBlob: Blob;
  layerBlobs: readonly Blob[];
  manifest: ManifestBytes;
}

interface PushCommon {
  client: RegistryClient;
  reference: ImageReference;
  /** A repository of the same registry to mount missing blobs from (e.g. the run image's). */
  mountFrom?: ImageReference;
  onProgress?: (event: PushEvent) => void;
  /** Blobs sent at once (default 3). */
  concurrency?: number;
}

export type PushImageOptions = PushCommon & ImageToPush;

export interface PushIndexOptions extends PushCommon {
  /** One image per platform; each manifest is pushed by digest. */
  images: readonly ImageToPush[];
  index: ManifestBytes;
}

export async function pushImage(options: PushImageOptions): Promise<PushResult> {
  return pushManifests(options, [options], undefined);
}

export async function pushIndex(options: PushIndexOptions): Promise<PushResult> {
  return pushManifests(options, options.images, options.index);
}

async function pushManifests(options: PushCommon, images: readonly ImageToPush[], index: ManifestBytes | undefined): Promise<PushResult> {
  const { client, reference, onProgress } = options;
  const repository = reference.repository;
  if (reference.registry !== client.registry) {
    throw new Error(`client for ${client.registry} asked to push ${fullName(reference)}`);
  }
  const blobs = uniqueBlobs(images.flatMap((image) => [...image.layerBlobs, image.configBlob]));
  const counts = await pushBlobs(options, blobs);

  let digest: Digest | undefined;
  const tag = manifestReference(reference);
  for (const image of images) {
    // In an index each image is stored by digest; alone, it gets the tag.
    const target = index ? undefined : tag;
    digest = await putManifest(client, repository, image.manifest, target, onProgress);
  }
  if (index) digest = await putManifest(client, repository, index, tag, onProgress);
  return { ...counts, digest: digest!, pinnedReference: `${fullName(reference)}@${digest}` };
}

async function putManifest(
  client: RegistryClient,
  repository: string,
  manifest: ManifestBytes,
  tag: string | undefined,
  onProgress?: (event: PushEvent) => void,
): Promise<Digest> {
  const target = tag ?? sha256Digest(manifest.bytes);
  const digest = await client.putManifest(repository, target, manifest.bytes, manifest.mediaType);
  onProgress?.({ kind: 'manifest', digest, mediaType: manifest.mediaType, reference: `${repository}:${target}` });
  return digest;
}

function uniqueBlobs(blobs: readonly Blob[]): Blob[] {
  const seen = new Map<Digest, Blob>();
  for (const blob of blobs) if (!seen.has(blob.descriptor.digest)) seen.set(blob.descriptor.digest, blob);
  return [...seen.values()];
}

async function pushBlobs(options: PushCommon, blobs: readonly Blob[]): Promise<PushCounts> {
  const { client, reference, onProgress } = options;
  const repository = reference.repository;
  const mountFrom =
    options.mountFrom && options.mountFrom.registry === reference.registry && options.mountFrom.repository !== repository
      ? options.mountFrom.repository
      : undefined;
  const counts: PushCounts = { uploaded: 0, skipped: 0, mounted: 0, bytesUploaded: 0 };

  const pushOne = async (blob: Blob): Promise<void> => {
    const { descriptor } = blob;
    // Refused credentials show up at the first upload's POST, before any blob is read.
    if (await client.hasBlob(repository, descriptor.digest, { forPush: true })) {
      counts.skipped++;
      onProgress?.({ kind: 'exists', descriptor });
      return;
    }
    onProgress?.({ kind: 'uploading', descriptor });
    const outcome = mountFrom ? await client.mountBlob(repository, blob, mountFrom) : (await client.uploadBlob(repository, blob), 'uploaded');
    if (outcome === 'mounted') {
      counts.mounted++;
      onProgress?.({ kind: 'mounted', descriptor, from: mountFrom! });
      return;
    }
    counts.uploaded++;
    counts.bytesUploaded += descriptor.size;
    onProgress?.({ kind: 'uploaded', descriptor, bytes: descriptor.size });
  };

  await runLimited(blobs, options.concurrency ?? 3, pushOne);
  return counts;
}

/** Runs `work` on every item with at most `limit` at once; the first failure wins. */
async function runLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      try {
        await work(items[next++]);
      } catch (error) {
        failed = true; // the other workers finish their blob and stop
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
