/**
 * The image vocabulary (after go-containerregistry): an Image is a config plus an ordered list
 * of Layers. A layer's diffId hashes its uncompressed tar (what the config's rootfs lists); its
 * digest hashes the blob as stored (gzip for registries and OCI layouts). Keep them apart.
 */
import type { Readable } from 'node:stream';

export type Digest = `sha256:${string}`;

export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** A content-addressed blob that can be read any number of times (never held whole in memory). */
export interface Blob {
  descriptor: Descriptor;
  open(): Readable;
}

/** An uncompressed layer tar on the host's disk. */
export interface LayerFile {
  /** sha256 of the uncompressed tar. */
  diffId: Digest;
  /** Bytes of the uncompressed tar. */
  size: number;
  /** Path of the uncompressed tar file. */
  path: string;
}

/** The OCI image config (the subset we write; unknown fields of a base config are kept). */
export interface ImageConfig {
  created?: string;
  architecture: string;
  os: string;
  variant?: string;
  config: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[];
    Cmd?: string[] | null;
    WorkingDir?: string;
    Labels?: Record<string, string>;
    ExposedPorts?: Record<string, object>;
  };
  rootfs: { type: 'layers'; diff_ids: Digest[] };
  history?: Array<{ created?: string; created_by?: string; comment?: string; empty_layer?: boolean }>;
}

/** An image manifest (OCI or Docker v2 schema 2; same shape, different media types). */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

/** An image index (OCI) or manifest list (Docker): one manifest per platform. */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** JSON as stored and hashed: the exact bytes, their digest and size. */
export interface SerializedJson {
  bytes: Buffer;
  digest: Digest;
  size: number;
}
