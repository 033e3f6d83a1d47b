/**
 * The Docker boundary: the only Docker calls gobuild-cnb makes, as one narrow interface
 * (after pack's internal/build/docker.go). The app depends on this interface; tests of the
 * orchestration use a recording fake; src/docker/dockerode-client.ts is the real one.
 */
import type { Readable } from 'node:stream';
import type { Digest } from '../image/types';

export interface ImageConfigSummary {
  User?: string;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
}

export interface ImageSummary {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  os: string;
  architecture: string;
  variant?: string;
  config: ImageConfigSummary;
  diffIds: Digest[];
  /** Bytes of all layers, uncompressed, as the daemon reports. */
  size: number;
}

export interface EngineInfo {
  serverVersion: string;
  storageDriver: string;
  /** Docker's containerd image store: it refuses blank layers in `docker load`. */
  containerdSnapshotter: boolean;
  architecture: string;
}

export interface ContainerSpec {
  image: string;
  user: string;
  labels: Record<string, string>;
  cmd: string[];
  entrypoint?: string[];
  env?: string[];
  workingDir?: string;
  networkMode?: string;
  volumes?: Array<{ name: string; target: string }>;
  /** Keep stdin open for one attached client (see attachStdin). */
  openStdin?: boolean;
}

/** A container as `docker inspect` sees it. */
export interface ContainerState {
  id: string;
  /** created, running, paused, restarting, removing, exited or dead. */
  status: string;
}

/** Our end of a container's stdin: releasing it (or our process dying) closes the container's stdin. */
export interface StdinLease {
  release(): void;
}

export type VolumeRemoval = 'removed' | 'absent' | 'in-use';

export interface ExecSpec {
  cmd: string[];
  user: string;
  env: string[];
  workingDir: string;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
}

export interface ContainerSummary {
  id: string;
  labels: Record<string, string>;
  state: string;
  /** Seconds since the epoch. */
  created: number;
}

export interface VolumeSummary {
  name: string;
  labels: Record<string, string>;
  createdAt?: string;
}

export type PullProgress = (status: string) => void;

export interface DockerClient {
  /** Throws DockerUnavailableError when no engine answers. */
  info(): Promise<EngineInfo>;
  /** null when the image is not in the daemon. */
  inspectImage(ref: string): Promise<ImageSummary | null>;
  pullImage(ref: string, onProgress?: PullProgress): Promise<void>;
  saveImage(ref: string): Promise<Readable>;
  /** Streams a `docker save`-format tarball into the daemon. Returns the daemon's messages. */
  loadImage(tar: Readable): Promise<string>;
  tagImage(image: string, ref: string): Promise<void>;

  createContainer(spec: ContainerSpec): Promise<string>;
  startContainer(id: string): Promise<void>;
  putArchive(id: string, destDir: string, tar: Readable): Promise<void>;
  /** A tar of `path` (its last element is the tar's top directory), or null when absent. */
  getArchive(id: string, path: string): Promise<Readable | null>;
  /** Whether `path` exists in the container. */
  pathExists(id: string, path: string): Promise<boolean>;
  exec(id: string, spec: ExecSpec): Promise<number>;
  /**
   * Creates a container with this name, or returns null when a container already has the name:
   * the engine arbitrates, so of two creates with one name exactly one succeeds.
   */
  createNamedContainer(name: string, spec: ContainerSpec): Promise<string | null>;
  /** null when no container has this id or name. */
  inspectContainer(idOrName: string): Promise<ContainerState | null>;
  /** Attaches to the stdin of a container created with openStdin; call before starting it. */
  attachStdin(id: string): Promise<StdinLease>;
  renameContainer(id: string, name: string): Promise<void>;
  removeContainer(id: string): Promise<void>;
  /** Containers (running or not) with the label, optionally only those mounting a volume. */
  listContainers(labelFilter: string, volume?: string): Promise<ContainerSummary[]>;

  createVolume(name: string, labels: Record<string, string>): Promise<void>;
  listVolumes(labelFilter: string): Promise<VolumeSummary[]>;
  removeVolume(name: string): Promise<void>;
  /** Removes the volume unless a container uses it: the engine refuses, and says 'in-use'. */
  removeVolumeIfUnused(name: string): Promise<VolumeRemoval>;
  volumeExists(name: string): Promise<boolean>;
  /** Names of the engine's networks (for checking --network before the build). */
  listNetworks(): Promise<string[]>;
}
