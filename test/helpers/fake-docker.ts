/**
 * A recording fake of the DockerClient interface, for unit tests of our own orchestration
 * (beside the real integration tests): it records every call, answers inspect/exec from a
 * script, and serves files for getArchive from an in-memory tree.
 */
import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import type { ContainerSpec, ContainerState, DockerClient, EngineInfo, ExecSpec, ImageSummary, StdinLease, VolumeRemoval, VolumeSummary, ContainerSummary } from '../../src/docker/client';

export interface FakeDockerScript {
  images?: Record<string, ImageSummary>;
  /** Exit code (and output) for an exec whose command line contains the key. */
  exec?: Array<{ match: string; exitCode: number; output?: string; hook?: () => void | Promise<void> }>;
  files?: Record<string, string>;
}

export function imageSummary(overrides: Partial<ImageSummary> = {}): ImageSummary {
  return {
    id: 'sha256:' + '1'.repeat(64),
    repoTags: [],
    repoDigests: [],
    os: 'linux',
    architecture: 'amd64',
    config: { Env: ['PATH=/usr/local/go/bin:/usr/bin:/bin'], Labels: {} },
    diffIds: [],
    size: 0,
    ...overrides,
  };
}

export class FakeDockerClient implements DockerClient {
  readonly calls: string[] = [];
  readonly containers = new Map<string, ContainerSpec>();
  readonly removed: string[] = [];
  private next = 0;

  constructor(private readonly script: FakeDockerScript = {}) {}

  async info(): Promise<EngineInfo> {
    this.calls.push('info');
    return { serverVersion: 'fake', storageDriver: 'overlay2', containerdSnapshotter: false, architecture: 'x86_64' };
  }
  async inspectImage(ref: string): Promise<ImageSummary | null> {
    this.calls.push(`inspectImage ${ref}`);
    return this.script.images?.[ref] ?? null;
  }
  async pullImage(ref: string): Promise<void> {
    this.calls.push(`pullImage ${ref}`);
    throw new Error(`fake: cannot pull ${ref}`);
  }
  async saveImage(ref: string): Promise<Readable> {
    this.calls.push(`saveImage ${ref}`);
    return Readable.from([]);
  }
  async loadImage(tar: Readable): Promise<string> {
    this.calls.push('loadImage');
    for await (const _ of tar) void _;
    return '';
  }
  async tagImage(image: string, ref: string): Promise<void> {
    this.calls.push(`tagImage ${image} ${ref}`);
  }
  async createContainer(spec: ContainerSpec): Promise<string> {
    const id = `container-${++this.next}`;
    this.calls.push(`createContainer ${spec.image} user=${spec.user}`);
    this.containers.set(id, spec);
    return id;
  }
  async startContainer(id: string): Promise<void> {
    this.calls.push(`startContainer ${id}`);
  }
  async putArchive(id: string, destDir: string, tar: Readable): Promise<void> {
    this.calls.push(`putArchive ${id} ${destDir}`);
    for await (const _ of tar) void _;
  }
  async getArchive(id: string, path: string): Promise<Readable | null> {
    this.calls.push(`getArchive ${id} ${path}`);
    const content = this.script.files?.[path];
    if (content === undefined) return null;
    const tar = pack();
    tar.entry({ name: path.split('/').pop() ?? 'file', size: Buffer.byteLength(content) }, content);
    tar.finalize();
    return Readable.from(tar);
  }
  async pathExists(id: string, path: string): Promise<boolean> {
    this.calls.push(`pathExists ${id} ${path}`);
    return this.script.files?.[path] !== undefined;
  }
  async exec(id: string, spec: ExecSpec): Promise<number> {
    const line = spec.cmd.join(' ');
    // The program that matters: the buildpack's bin/ or our script, not the env/sh wrappers.
    const program = spec.cmd.find((c) => c.startsWith('/cnb/buildpacks/')) ?? spec.cmd.find((c) => c.startsWith('/cnb/')) ?? spec.cmd[0];
    this.calls.push(`exec ${id} ${spec.user} ${program}`);
    const rule = this.script.exec?.find((r) => line.includes(r.match));
    if (rule?.hook) await rule.hook();
    if (rule?.output) spec.onStderr?.(Buffer.from(rule.output));
    return rule?.exitCode ?? 0;
  }
  async createNamedContainer(name: string, spec: ContainerSpec): Promise<string | null> {
    const id = await this.createContainer(spec);
    this.calls[this.calls.length - 1] += ` name=${name}`;
    return id;
  }
  async inspectContainer(_idOrName: string): Promise<ContainerState | null> {
    return null;
  }
  async attachStdin(id: string): Promise<StdinLease> {
    this.calls.push(`attachStdin ${id}`);
    return { release: () => undefined };
  }
  async renameContainer(id: string, name: string): Promise<void> {
    this.calls.push(`renameContainer ${id} ${name}`);
  }
  async removeContainer(id: string): Promise<void> {
    this.calls.push(`removeContainer ${id}`);
    this.removed.push(id);
  }
  async listContainers(): Promise<ContainerSummary[]> {
    return [];
  }
  async createVolume(name: string): Promise<void> {
    this.calls.push(`createVolume ${name}`);
  }
  async listVolumes(): Promise<VolumeSummary[]> {
    return [];
  }
  async removeVolume(name: string): Promise<void> {
    this.calls.push(`removeVolume ${name}`);
  }
  async removeVolumeIfUnused(name: string): Promise<VolumeRemoval> {
    this.calls.push(`removeVolume ${name}`);
    return 'removed';
  }
  async volumeExists(): Promise<boolean> {
    return false;
  }
  async listNetworks(): Promise<string[]> {
    this.calls.push('listNetworks');
    return ['bridge', 'host', 'none'];
  }
}
