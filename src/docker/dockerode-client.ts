/**
 * The real DockerClient, on dockerode, connected to the engine `selectEngine` chose (DOCKER_HOST,
 * a docker context, or the local socket: endpoint.ts). ssh:// goes through the system ssh (ssh-dial.ts).
 */
import './defer-unused-deps';
import Docker from 'dockerode';
import { resolveEngineEndpoint, type EngineEndpoint } from './endpoint';
import { parseSshAddress, SshDialAgent, SshDialError } from './ssh-dial';
import { Readable, Writable } from 'node:stream';
import { DockerUnavailableError, EngineError, ImageUnavailableError, GobuildError, UsageError } from '../errors';
import type { Digest } from '../image/types';
import type {
  ContainerSpec,
  ContainerState,
  StdinLease,
  VolumeRemoval,
  ContainerSummary,
  DockerClient,
  EngineInfo,
  ExecSpec,
  ImageSummary,
  PullProgress,
  VolumeSummary,
} from './client';

interface DockerApiError {
  statusCode?: number;
  code?: string;
  /** Set by Node on system errors: `connect` for the engine socket, `open`/`read`/`scandir` for files. */
  syscall?: string;
  path?: string;
  address?: string;
  json?: { message?: string };
  message?: string;
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);
/** Syscalls of our own file reads: their EACCES/ENOENT are about a file, never about the engine. */
const FILE_SYSCALLS = new Set(['open', 'read', 'scandir', 'stat', 'lstat', 'readlink', 'opendir']);

let selected: EngineEndpoint | undefined;

/** The engine every client of this process talks to (the CLI selects it once, from --context and the env). */
export function selectEngine(endpoint: EngineEndpoint): void {
  selected = endpoint;
}

export function selectedEngine(): EngineEndpoint {
  selected ??= resolveEngineEndpoint({}, process.env);
  return selected;
}

function engineAddress(): string {
  return selectedEngine().address;
}

/** dockerode's options for an endpoint: a socket path, host/port with TLS files, or ssh through the system ssh. */
export function dockerodeOptions(endpoint: EngineEndpoint): Docker.DockerOptions {
  const url = new URL(endpoint.address);
  const scheme = url.protocol.replace(/:$/, '');
  if (scheme === 'unix' || scheme === 'npipe') return { socketPath: decodeURIComponent(url.pathname) };
  if (scheme === 'ssh') return { protocol: 'http', host: url.hostname, port: url.port || 22, agent: new SshDialAgent(parseSshAddress(endpoint.address)) } as Docker.DockerOptions;
  const tls = endpoint.tls;
  const secure = scheme === 'https' || tls !== undefined || url.port === '2376';
  const options: Docker.DockerOptions = { protocol: secure ? 'https' : 'http', host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port || (secure ? 2376 : 2375) };
  if (tls?.ca) options.ca = tls.ca;
  if (tls?.cert) options.cert = tls.cert;
  if (tls?.key) options.key = tls.key;
  // A context with SkipTLSVerify: the engine's certificate is not checked (the user asked for it).
  if (tls && !tls.verify) (options as { rejectUnauthorized?: boolean }).rejectUnauthorized = false;
  return options;
}

/** ssh's own words turned into what to do: the key, the host key, or the docker CLI on the host. */
function sshFailure(err: SshDialError): DockerUnavailableError {
  const said = err.sshMessage;
  const where = `${err.target.user ? `${err.target.user}@` : ''}${err.target.host}`;
  let hint = `Check that \`ssh ${where} docker version\` works from this shell (keys in ssh-agent or ~/.ssh, the host in known_hosts).`;
  if (/Permission denied/i.test(said)) hint = `The host refused the key: add your public key to ~/.ssh/authorized_keys of ${err.target.user ?? 'your user'} on ${err.target.host}, or load the right key into ssh-agent (ssh-add). Password logins are not used.`;
  else if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known/i.test(said)) hint = `${err.target.host}'s host key is not in known_hosts, or it changed: run \`ssh ${where}\` once, check the fingerprint and accept it.`;
  else if (/docker: (command )?not found|dial-stdio/i.test(said) || err.exitCode === 127) hint = `The host answered, but has no docker CLI on the PATH of a non-interactive shell: install the docker CLI there (it runs \`docker system dial-stdio\`).`;
  else if (/Connection refused|timed out|Could not resolve/i.test(said)) hint = `Nothing answers ssh at ${err.target.host}${err.target.port ? `:${err.target.port}` : ''}: check the address in DOCKER_HOST or the context.`;
  return new DockerUnavailableError(`cannot reach the Docker engine at ${engineAddress()} over ssh: ${said || `ssh exited with ${err.exitCode}`}`, { hint, cause: err });
}

/** Turn dockerode's errors into ours: no engine -> DockerUnavailableError, others keep the daemon's words. */
export function translateDockerError(err: unknown, action: string): GobuildError {
  if (err instanceof GobuildError) return err;
  if (err instanceof SshDialError) return sshFailure(err);
  const e = (err ?? {}) as DockerApiError;
  if (e.code && e.path !== undefined && e.syscall && FILE_SYSCALLS.has(e.syscall)) {
    // A file we were sending (the app dir, the buildpack) could not be read: name it.
    return new UsageError(`cannot read ${e.path ?? 'a file'} (${e.code}) while sending it to the build container`, {
      hint: 'Make the file readable by you (chmod u+r), or leave it out of the build with an exclude in project.toml.',
      cause: err,
    });
  }
  if (e.code === 'EACCES' && e.syscall === 'connect') {
    return new DockerUnavailableError(`permission denied on the Docker socket ${e.address ?? engineAddress()}`, {
      hint:
        'Join the docker group (sudo usermod -aG docker $USER, then log out and in again), ' +
        'or use rootless Docker and point DOCKER_HOST at its socket (e.g. DOCKER_HOST=unix://$XDG_RUNTIME_DIR/docker.sock).',
      cause: err,
    });
  }
  if (e.code && CONNECTION_CODES.has(e.code) && (e.syscall === undefined || ['connect', 'getaddrinfo', 'write', 'read'].includes(e.syscall))) {
    return new DockerUnavailableError(`no Docker engine answers at ${engineAddress()} (${e.code})`, { cause: err });
  }
  const daemonMessage = e.json?.message ?? e.message ?? String(err);
  return new EngineError(`Docker: ${action} failed: ${daemonMessage.trim()}`, { cause: err });
}

const translate = translateDockerError;

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer | string>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

export class DockerodeClient implements DockerClient {
  private readonly docker: Docker;

  constructor(docker?: Docker) {
    this.docker = docker ?? new Docker(dockerodeOptions(selectedEngine()));
  }

  async info(): Promise<EngineInfo> {
    try {
      const info = await this.docker.info();
      const driverStatus: string[][] = info.DriverStatus ?? [];
      const containerdSnapshotter = driverStatus.some(
        ([key, value]) => key === 'driver-type' && String(value).includes('io.containerd.snapshotter'),
      );
      return {
        serverVersion: info.ServerVersion,
        storageDriver: info.Driver,
        containerdSnapshotter,
        architecture: info.Architecture,
      };
    } catch (err) {
      throw translate(err, 'info');
    }
  }

  async inspectImage(ref: string): Promise<ImageSummary | null> {
    try {
      const i = await this.docker.getImage(ref).inspect();
      return {
        id: i.Id,
        repoTags: i.RepoTags ?? [],
        repoDigests: i.RepoDigests ?? [],
        os: i.Os,
        architecture: i.Architecture,
        variant: (i as unknown as { Variant?: string }).Variant || undefined,
        config: (i.Config ?? {}) as ImageSummary['config'],
        diffIds: ((i.RootFS?.Layers ?? []) as string[]).map((l) => l as Digest),
        size: i.Size ?? 0,
      };
    } catch (err) {
      if ((err as DockerApiError).statusCode === 404) return null;
      throw translate(err, `inspect image ${ref}`);
    }
  }

  async pullImage(ref: string, onProgress?: PullProgress): Promise<void> {
    try {
      const stream = await this.docker.pull(ref);
      await new Promise<void>((resolve, reject) => {
        this.docker.modem.followProgress(
          stream,
          (err: Error | null) => (err ? reject(err) : resolve()),
          (event: { status?: string; id?: string; error?: string }) => {
            if (event.error) reject(new Error(event.error));
            else if (event.status && onProgress) onProgress(event.id ? `${event.id}: ${event.status}` : event.status);
          },
        );
      });
    } catch (err) {
      const translated = translate(err, `pull ${ref}`);
      if (translated instanceof DockerUnavailableError) throw translated;
      throw new ImageUnavailableError(`could not pull ${ref}: ${(err as Error).message}`, {
        hint: `Check the name, your network and registry login (docker login), or build with an image the daemon already has and --pull-policy never.`,
        cause: err,
      });
    }
  }

  async saveImage(ref: string): Promise<Readable> {
    try {
      return (await this.docker.getImage(ref).get()) as unknown as Readable;
    } catch (err) {
      throw translate(err, `save image ${ref}`);
    }
  }

  async loadImage(tar: Readable): Promise<string> {
    try {
      const response = await this.docker.loadImage(tar, { quiet: true });
      const text = await readAll(response);
      // The daemon reports load errors inside a 200 response, as JSON lines.
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        const message = JSON.parse(line) as { error?: string; errorDetail?: { message?: string } };
        if (message.error) throw new Error(message.errorDetail?.message ?? message.error);
      }
      return text;
    } catch (err) {
      throw translate(err, 'load image');
    }
  }

  async tagImage(image: string, ref: string): Promise<void> {
    const at = ref.lastIndexOf(':');
    const slash = ref.lastIndexOf('/');
    const [repo, tag] = at > slash ? [ref.slice(0, at), ref.slice(at + 1)] : [ref, 'latest'];
    try {
      await this.docker.getImage(image).tag({ repo, tag });
    } catch (err) {
      throw translate(err, `tag ${image} as ${ref}`);
    }
  }

  private containerOptions(spec: ContainerSpec): Docker.ContainerCreateOptions {
    return {
      Image: spec.image,
      User: spec.user,
      Labels: spec.labels,
      Cmd: spec.cmd,
      Entrypoint: spec.entrypoint ?? [],
      Env: spec.env,
      WorkingDir: spec.workingDir,
      ...(spec.openStdin ? { OpenStdin: true, StdinOnce: true, AttachStdin: true } : {}),
      HostConfig: {
        NetworkMode: spec.networkMode,
        SecurityOpt: ['no-new-privileges=true'],
        Mounts: (spec.volumes ?? []).map((v) => ({ Type: 'volume' as const, Source: v.name, Target: v.target })),
      },
    };
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    try {
      const container = await this.docker.createContainer(this.containerOptions(spec));
      return container.id;
    } catch (err) {
      throw translate(err, `create container from ${spec.image}`);
    }
  }

  async createNamedContainer(name: string, spec: ContainerSpec): Promise<string | null> {
    try {
      const container = await this.docker.createContainer({ ...this.containerOptions(spec), name });
      return container.id;
    } catch (err) {
      // 409 Conflict: "the container name ... is already in use".
      if ((err as DockerApiError).statusCode === 409) return null;
      throw translate(err, `create container ${name} from ${spec.image}`);
    }
  }

  async inspectContainer(idOrName: string): Promise<ContainerState | null> {
    try {
      const info = await this.docker.getContainer(idOrName).inspect();
      return { id: info.Id, status: info.State.Status };
    } catch (err) {
      if ((err as DockerApiError).statusCode === 404) return null;
      throw translate(err, `inspect container ${idOrName}`);
    }
  }

  async attachStdin(id: string): Promise<StdinLease> {
    try {
      const stream = (await this.docker.getContainer(id).attach({ stream: true, stdin: true, stdout: false, stderr: false, hijack: true })) as unknown as NodeJS.ReadWriteStream & { destroy(): void };
      // The connection closes when the container goes; that is expected, not an error.
      stream.on('error', () => undefined);
      return { release: () => stream.destroy() };
    } catch (err) {
      throw translate(err, 'attach to the container');
    }
  }

  async renameContainer(id: string, name: string): Promise<void> {
    try {
      await this.docker.getContainer(id).rename({ name });
    } catch (err) {
      throw translate(err, `rename container ${id.slice(0, 12)} to ${name}`);
    }
  }

  async startContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (err) {
      throw translate(err, 'start container');
    }
  }

  async putArchive(id: string, destDir: string, tar: Readable): Promise<void> {
    try {
      const response = await this.docker.getContainer(id).putArchive(tar, { path: destDir });
      if (response && typeof (response as NodeJS.ReadableStream).on === 'function') await readAll(response);
    } catch (err) {
      throw translate(err, `copy files into the container at ${destDir}`);
    }
  }

  async getArchive(id: string, path: string): Promise<Readable | null> {
    try {
      return (await this.docker.getContainer(id).getArchive({ path })) as unknown as Readable;
    } catch (err) {
      if ((err as DockerApiError).statusCode === 404) return null;
      throw translate(err, `copy ${path} out of the container`);
    }
  }

  async pathExists(id: string, path: string): Promise<boolean> {
    // Not infoArchive: docker-modem never releases the socket of that HEAD request. The
    // archive stream is dropped unread, which closes its connection.
    const archive = await this.getArchive(id, path);
    archive?.destroy();
    return archive !== null;
  }

  async exec(id: string, spec: ExecSpec): Promise<number> {
    try {
      const exec = await this.docker.getContainer(id).exec({
        Cmd: spec.cmd,
        User: spec.user,
        Env: spec.env,
        WorkingDir: spec.workingDir,
        AttachStdout: true,
        AttachStderr: true,
      });
      const stream = (await exec.start({ hijack: true, stdin: false })) as unknown as Readable;
      const sink = (onChunk?: (chunk: Buffer) => void): Writable =>
        new Writable({
          write(chunk: Buffer, _enc, done) {
            onChunk?.(chunk);
            done();
          },
        });
      const stdout = sink(spec.onStdout);
      const stderr = sink(spec.onStderr);
      this.docker.modem.demuxStream(stream, stdout, stderr);
      await new Promise<void>((resolve, reject) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', reject);
      });
      // The hijacked connection stays open otherwise and keeps the process alive.
      stream.destroy();
      const result = await exec.inspect();
      return result.ExitCode ?? -1;
    } catch (err) {
      throw translate(err, `run ${spec.cmd[0]} in the container`);
    }
  }

  async removeContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (err) {
      if ((err as DockerApiError).statusCode === 404) return;
      throw translate(err, 'remove container');
    }
  }

  async listContainers(labelFilter: string, volume?: string): Promise<ContainerSummary[]> {
    try {
      const filters: Record<string, string[]> = { label: [labelFilter] };
      if (volume) filters.volume = [volume];
      const list = await this.docker.listContainers({ all: true, filters });
      return list.map((c) => ({ id: c.Id, labels: c.Labels ?? {}, state: c.State, created: c.Created }));
    } catch (err) {
      throw translate(err, 'list containers');
    }
  }

  async createVolume(name: string, labels: Record<string, string>): Promise<void> {
    try {
      await this.docker.createVolume({ Name: name, Labels: labels });
    } catch (err) {
      throw translate(err, `create volume ${name}`);
    }
  }

  async listVolumes(labelFilter: string): Promise<VolumeSummary[]> {
    try {
      const result = await this.docker.listVolumes({ filters: { label: [labelFilter] } });
      return (result.Volumes ?? []).map((v) => ({
        name: v.Name,
        labels: v.Labels ?? {},
        createdAt: (v as unknown as { CreatedAt?: string }).CreatedAt,
      }));
    } catch (err) {
      throw translate(err, 'list volumes');
    }
  }

  async removeVolume(name: string): Promise<void> {
    try {
      await this.docker.getVolume(name).remove();
    } catch (err) {
      if ((err as DockerApiError).statusCode === 404) return;
      throw translate(err, `remove volume ${name}`);
    }
  }

  async removeVolumeIfUnused(name: string): Promise<VolumeRemoval> {
    try {
      await this.docker.getVolume(name).remove();
      return 'removed';
    } catch (err) {
      const status = (err as DockerApiError).statusCode;
      if (status === 404) return 'absent';
      // 409 Conflict: "volume is in use".
      if (status === 409) return 'in-use';
      throw translate(err, `remove volume ${name}`);
    }
  }

  async volumeExists(name: string): Promise<boolean> {
    try {
      await this.docker.getVolume(name).inspect();
      return true;
    } catch (err) {
      if ((err as DockerApiError).statusCode === 404) return false;
      throw translate(err, `inspect volume ${name}`);
    }
  }

  async listNetworks(): Promise<string[]> {
    try {
      const networks = await this.docker.listNetworks();
      return networks.map((n) => n.Name).sort();
    } catch (err) {
      throw translate(err, 'list networks');
    }
  }
}
