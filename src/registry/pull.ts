/**
 * Reading an image from a registry: the manifest for one platform (through an index or
 * manifest list when the tag names one) and its config's diffIds, so each layer blob can be
 * matched to the uncompressed layer it holds.
 */
import { platformString } from '../image/config';
import type { Descriptor, Digest, ImageIndex, ImageManifest, Platform } from '../image/types';
import { MediaType } from '../image/types';
import type { RegistryClient } from './client';
import { RegistryError } from './errors';
import { fullName, manifestReference, type ImageReference } from './reference';

export interface RemoteImage {
  /** Digest of the platform's image manifest. */
  manifestDigest: Digest;
  config: Descriptor;
  /** Layer blobs as stored, in rootfs order. */
  layers: Descriptor[];
  /** The config's rootfs.diff_ids, one per layer. */
  diffIds: Digest[];
}

const INDEX_TYPES: readonly string[] = [MediaType.OciIndex, MediaType.DockerManifestList];

function samePlatform(a: Platform, b: Platform): boolean {
  return a.os === b.os && a.architecture === b.architecture && (!a.variant || !b.variant || a.variant === b.variant);
}

/** The image for `platform` behind `reference`, or undefined when the registry has no such tag or digest. */
export async function fetchRemoteImage(client: RegistryClient, reference: ImageReference, platform: Platform): Promise<RemoteImage | undefined> {
  const { repository } = reference;
  const name = `${fullName(reference)}:${manifestReference(reference)}`;
  let response = await client.getManifest(repository, manifestReference(reference));
  if (!response) return undefined;
  let parsed = JSON.parse(response.bytes.toString('utf8')) as Partial<ImageManifest & ImageIndex>;
  const mediaType = parsed.mediaType ?? response.mediaType;
  if (INDEX_TYPES.includes(mediaType) || Array.isArray(parsed.manifests)) {
    const entry = (parsed.manifests ?? []).find((m) => m.platform && samePlatform(m.platform, platform));
    if (!entry) {
      const offered = (parsed.manifests ?? []).map((m) => (m.platform ? platformString(m.platform) : '?')).join(', ');
      throw new RegistryError(`${name} has no ${platformString(platform)} image (it has: ${offered || 'none'})`, { host: client.apiHost });
    }
    response = await client.getManifest(repository, entry.digest);
    if (!response) throw new RegistryError(`${name} lists manifest ${entry.digest}, which the registry does not have`, { host: client.apiHost });
    parsed = JSON.parse(response.bytes.toString('utf8')) as Partial<ImageManifest>;
  }
  if (!parsed.config || !Array.isArray(parsed.layers)) {
    throw new RegistryError(`${name} is not an image manifest (media type ${mediaType})`, { host: client.apiHost });
  }
  const config = JSON.parse((await client.getBlobBytes(repository, parsed.config)).toString('utf8')) as { rootfs?: { diff_ids?: Digest[] } };
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== parsed.layers.length) {
    throw new RegistryError(`${name}: its config lists ${diffIds.length} layers, its manifest ${parsed.layers.length}`, { host: client.apiHost });
  }
  return { manifestDigest: response.digest, config: parsed.config, layers: parsed.layers, diffIds };
}
