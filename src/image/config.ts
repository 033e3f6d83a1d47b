/**
 * The image config, manifests and indexes, as pure functions of their inputs. JSON is written
 * canonically (keys sorted at every level, no whitespace), so the image ID (sha256 of the config
 * bytes) and manifest digests depend only on content. Config rules follow the lifecycle
 * (phase/exporter.go, imgutil cnb_image.go): the run image's config is the base, CNB settings
 * are added, `created` is fixed (1980-01-01T00:00:01Z) unless SOURCE_DATE_EPOCH is given.
 */
import { ExportError, InternalError, UsageError } from '../errors';
import { sha256Digest } from './digest';
import { MediaType, type Blob, type Descriptor, type Digest, type ImageConfig, type ImageIndex, type ImageManifest, type Platform, type SerializedJson } from './types';

export const DEFAULT_CREATED = '1980-01-01T00:00:01Z';

export type ManifestFlavor = 'oci' | 'docker';

/** A layer this build adds on top of the base image. */
export interface AddedLayer {
  diffId: Digest;
  /** History text, e.g. "gobuild-cnb: buildpack layer gobuild-cnb/go:targets". */
  createdBy: string;
}

export interface ImageConfigInput {
  /** The run image's config, kept whole (Env, Labels, User, ExposedPorts, os/architecture...); null for an image from scratch. */
  base: ImageConfig | null;
  /** os/architecture/variant of an image without a base (a base's own values win). */
  platform?: Platform;
  layers: AddedLayer[];
  /** The final environment: the base's merged with the launch env, in order. */
  env: string[];
  entrypoint: string[];
  workingDir: string;
  /** Replaces the base's User when given (the lifecycle itself never sets it). */
  user?: string;
  /** Added to the base's labels; these win on conflict. */
  labels?: Record<string, string>;
  /** SOURCE_DATE_EPOCH in seconds: sets `created` in the config and its history (never file mtimes). */
  sourceDateEpoch?: number;
}

/** Reads a SOURCE_DATE_EPOCH value (whole seconds since 1970). */
export function parseSourceDateEpoch(value: string): number {
  const trimmed = value.trim();
  if (!/^\d+$/.test(trimmed) || !Number.isSafeInteger(Number(trimmed))) {
    throw new UsageError(`SOURCE_DATE_EPOCH must be a whole number of seconds since 1970-01-01, got "${value}"`, {
      hint: 'e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)',
    });
  }
  return Number(trimmed);
}

/** RFC 3339 without fractions, as Go writes it: 1980-01-01T00:00:01Z. */
export function createdTimestamp(sourceDateEpoch?: number): string {
  if (sourceDateEpoch === undefined) return DEFAULT_CREATED;
  return new Date(sourceDateEpoch * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

type HistoryEntry = NonNullable<ImageConfig['history']>[number];

/** One history entry per layer: the base's (empty-layer entries dropped) then ours, all at `created`. */
function historyFor(base: ImageConfig | null, layers: AddedLayer[], created: string): HistoryEntry[] {
  const baseLayerCount = base?.rootfs.diff_ids.length ?? 0;
  const baseEntries = (base?.history ?? []).filter((entry) => !entry.empty_layer);
  // A base whose history does not line up with its layers gets plain entries (imgutil does the same).
  const kept: HistoryEntry[] = baseEntries.length === baseLayerCount ? baseEntries : Array.from({ length: baseLayerCount }, () => ({}));
  return [
    ...kept.map(({ empty_layer: _dropped, ...entry }) => ({ ...entry, created })),
    ...layers.map((layer) => ({ created, created_by: layer.createdBy })),
  ];
}

export function buildImageConfig(input: ImageConfigInput): ImageConfig {
  const { base } = input;
  const created = createdTimestamp(input.sourceDateEpoch);
  const platform = base ?? input.platform;
  if (!platform?.os || !platform.architecture) {
    throw new InternalError('an image config needs a base config or a platform (os and architecture)');
  }
  // Unknown fields of the base are kept; `container` names the base's build container: blanked.
  const { container: _container, ...baseRest } = (structuredClone(base) ?? {}) as ImageConfig & { container?: unknown };
  const { Cmd: _cmd, ...baseRuntime } = baseRest.config ?? {};

  const config: ImageConfig = {
    ...baseRest,
    created,
    os: platform.os,
    architecture: platform.architecture,
    config: {
      ...baseRuntime,
      Env: [...input.env],
      Entrypoint: [...input.entrypoint],
      WorkingDir: input.workingDir,
      Labels: { ...(baseRuntime.Labels ?? {}), ...(input.labels ?? {}) },
      ...(input.user !== undefined ? { User: input.user } : {}),
    },
    rootfs: { type: 'layers', diff_ids: [...(base?.rootfs.diff_ids ?? []), ...input.layers.map((layer) => layer.diffId)] },
    history: historyFor(base, input.layers, created),
  };
  if (platform.variant) config.variant = platform.variant;
  return config;
}

/** `value` with object keys sorted at every level (arrays keep their order). */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const child = (value as Record<string, unknown>)[key];
      if (child !== undefined) sorted[key] = canonical(child);
    }
    return sorted;
  }
  return value;
}

/** Canonical JSON bytes (sorted keys, no whitespace) with their digest. */
export function serializeJson(value: unknown): SerializedJson {
  const bytes = Buffer.from(JSON.stringify(canonical(value)), 'utf8');
  return { bytes, digest: sha256Digest(bytes), size: bytes.length };
}

/** The config as stored; its digest is the image ID. */
export function serializeConfig(config: ImageConfig): SerializedJson {
  return serializeJson(config);
}

export function configDescriptor(config: SerializedJson, flavor: ManifestFlavor): Descriptor {
  return { mediaType: flavor === 'oci' ? MediaType.OciConfig : MediaType.DockerConfig, digest: config.digest, size: config.size };
}

const GZIP_LAYER_TYPES: readonly string[] = [MediaType.OciLayerGzip, MediaType.DockerLayerGzip];

function layerDescriptor(layer: Descriptor, flavor: ManifestFlavor): Descriptor {
  const mediaType = GZIP_LAYER_TYPES.includes(layer.mediaType)
    ? flavor === 'oci'
      ? MediaType.OciLayerGzip
      : MediaType.DockerLayerGzip
    : layer.mediaType;
  return { mediaType, digest: layer.digest, size: layer.size, ...(layer.annotations ? { annotations: layer.annotations } : {}) };
}

export function buildManifest(config: Descriptor, layers: Descriptor[], flavor: ManifestFlavor): ImageManifest {
  return {
    schemaVersion: 2,
    mediaType: flavor === 'oci' ? MediaType.OciManifest : MediaType.DockerManifest,
    config: { mediaType: flavor === 'oci' ? MediaType.OciConfig : MediaType.DockerConfig, digest: config.digest, size: config.size },
    layers: layers.map((layer) => layerDescriptor(layer, flavor)),
  };
}

/** An index of per-platform manifests; every descriptor must name its platform. */
export function buildIndex(manifests: Descriptor[], flavor: ManifestFlavor = 'oci'): ImageIndex {
  const missing = manifests.find((m) => !m.platform);
  if (missing) throw new InternalError(`manifest ${missing.digest} has no platform; an index needs one per entry`);
  const platforms = manifests.map((m) => platformString(m.platform!));
  const duplicate = platforms.find((p, i) => platforms.indexOf(p) !== i);
  if (duplicate) throw new ExportError(`two images for platform ${duplicate} in one index`);
  return { schemaVersion: 2, mediaType: flavor === 'oci' ? MediaType.OciIndex : MediaType.DockerManifestList, manifests };
}

export function platformString(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

/** An image ready for a sink: the config as stored, layer blobs in order, its platform for indexes. */
export interface SinkImage {
  config: SerializedJson;
  layers: Blob[];
  platform?: Platform;
}

/** The image's manifest and its serialized form; the descriptor carries the platform, if any. */
export function imageManifest(image: SinkImage, flavor: ManifestFlavor): { manifest: ImageManifest; serialized: SerializedJson; descriptor: Descriptor } {
  const manifest = buildManifest(configDescriptor(image.config, flavor), image.layers.map((layer) => layer.descriptor), flavor);
  const serialized = serializeJson(manifest);
  const descriptor: Descriptor = { mediaType: manifest.mediaType, digest: serialized.digest, size: serialized.size };
  if (image.platform) descriptor.platform = image.platform;
  return { manifest, serialized, descriptor };
}
