/**
 * The one container of a build: created from the builder, labelled so it can always be found,
 * fed with putArchive, phases run in it with exec, results read with getArchive, and removed
 * whatever happens (pack's Phase + Cleanup, in one container).
 */
import type { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import type { ContainerSpec, DockerClient, StdinLease } from '../docker/client';
import { Labels } from '../cnb/spec';
import { INVENTORY_SCRIPT, type PhaseSpec } from './phases';
import type { Reporter } from '../ui/reporter';

export interface PhaseResult {
  exitCode: number;
  /** Combined stdout+stderr, kept for error messages (the last 64 KiB). */
  output: string;
  /** With `resultOnStdout`: what the phase wrote on stdout, whole. */
  stdout: string;
  ms: number;
}

const OUTPUT_TAIL_BYTES = 64 * 1024;

export interface Listing {
  names: string[];
  files: Map<string, string>;
  /** Set when the listing says the app dir is empty: its permission bits. */
  emptyAppDirMode?: number;
}

/**
 * assets/inventory.sh's output (each name between \u0001 and \u0002, then a metadata file's
 * content), and after it what assets/phase.sh adds: `\u0003empty-app-dir <octal mode>`.
 */
export function parseInventory(text: string): Listing {
  const [output, ...extras] = text.split('\u0003');
  const names: string[] = [];
  const files = new Map<string, string>();
  let emptyAppDirMode: number | undefined;
  for (const extra of extras) {
    const empty = /^empty-app-dir ([0-7]{3,4})\n?$/.exec(extra);
    if (empty) emptyAppDirMode = parseInt(empty[1], 8);
  }
  for (const record of output.split('\u0001').slice(1)) {
    const split = record.indexOf('\u0002');
    const name = record.slice(0, split);
    names.push(name);
    if (/\.(toml|json)$/.test(name)) files.set(name, record.slice(split + 1));
  }
  return { names: names.sort(), files, ...(emptyAppDirMode !== undefined ? { emptyAppDirMode } : {}) };
}

export interface Inventory extends Listing {
  /** Non-zero when the command run first failed; `output` then says why. */
  exitCode: number;
  output: string;
}

/** A build container ends itself after this long, whatever happens (a fallback; see LIFETIME_SCRIPT). */
export const MAX_LIFETIME_S = 6 * 60 * 60;
/** Written by keep(): the container then outlives the CLI (for `docker exec -it`), up to MAX_LIFETIME_S. */
const KEEP_MARKER = '/tmp/.gobuild-cnb-keep';

/**
 * The container's main process. It ends when its stdin reaches EOF, which the engine causes
 * when our attach connection closes: on a normal end, on a crash, on SIGKILL of the CLI and
 * when the network to a remote engine drops. So a container never outlives its CLI for long,
 * and the next build sees it exited and reaps it. A background reader is needed because the
 * bound (`sleep`) must end it too; an async list reads /dev/null unless given fd 3.
 */
const LIFETIME_SCRIPT =
  'sleep "$1" & bound=$!; exec 3<&0; { read -r _ <&3 || :; kill "$bound" 2>/dev/null; } & wait "$bound"; ' +
  `[ -f ${KEEP_MARKER} ] && exec sleep "$1"; exit 0`;

export interface BuildContainerOptions {
  image: string;
  uid: number;
  gid: number;
  buildId: string;
  networkMode?: string;
  volumes?: Array<{ name: string; target: string }>;
}

export class BuildContainer {
  private removal?: Promise<void>;
  /** Copies out of the container under way: a removal cuts them, or the engine waits for them. */
  private readonly archives = new Set<Readable>();

  private constructor(
    private readonly docker: DockerClient,
    readonly id: string,
    private readonly user: { uid: number; gid: number },
    private readonly stdin: StdinLease,
  ) {}

  static spec(options: BuildContainerOptions): ContainerSpec {
    return {
      image: options.image,
      user: `${options.uid}:${options.gid}`,
      labels: { [Labels.buildContainer]: options.buildId },
      entrypoint: ['/bin/sh', '-c', LIFETIME_SCRIPT, 'gobuild-cnb-build', String(MAX_LIFETIME_S)],
      cmd: [],
      openStdin: true,
      networkMode: options.networkMode,
      volumes: options.volumes,
    };
  }

  /** Takes over a container created from spec(): attaches its stdin, which ties its life to ours. */
  static async attach(docker: DockerClient, id: string, options: BuildContainerOptions): Promise<BuildContainer> {
    const stdin = await docker.attachStdin(id);
    return new BuildContainer(docker, id, { uid: options.uid, gid: options.gid }, stdin);
  }

  static async create(docker: DockerClient, options: BuildContainerOptions): Promise<BuildContainer> {
    const id = await docker.createContainer(BuildContainer.spec(options));
    return BuildContainer.attach(docker, id, options);
  }

  async putArchive(tar: Readable, destDir = '/'): Promise<void> {
    await this.docker.putArchive(this.id, destDir, tar);
  }

  async start(): Promise<void> {
    await this.docker.startContainer(this.id);
  }

  async run(phase: PhaseSpec, reporter: Reporter): Promise<PhaseResult> {
    const started = Date.now();
    let tail = Buffer.alloc(0);
    const keep = (chunk: Buffer): void => {
      tail = Buffer.concat([tail, chunk]);
      if (tail.length > OUTPUT_TAIL_BYTES) tail = tail.subarray(tail.length - OUTPUT_TAIL_BYTES);
    };
    const onChunk = (chunk: Buffer): void => {
      keep(chunk);
      if (phase.streamOutput) reporter.output(phase.name, chunk);
    };
    const stdout: Buffer[] = [];
    const exitCode = await this.docker.exec(this.id, {
      cmd: phase.cmd,
      user: phase.user,
      env: [],
      workingDir: phase.workingDir,
      onStdout: phase.resultOnStdout ? (chunk) => stdout.push(chunk) : onChunk,
      onStderr: onChunk,
    });
    reporter.flush();
    return { exitCode, output: tail.toString('utf8'), stdout: Buffer.concat(stdout).toString('utf8'), ms: Date.now() - started };
  }

  /** A platform chore (listing, cleaning) run as the build user: nothing in a build runs as root. */
  async runCommand(cmd: string[]): Promise<{ exitCode: number; output: string }> {
    let output = '';
    const exitCode = await this.docker.exec(this.id, {
      cmd,
      user: `${this.user.uid}:${this.user.gid}`,
      env: [],
      workingDir: '/',
      onStdout: (c) => (output += c.toString('utf8')),
      onStderr: (c) => (output += c.toString('utf8')),
    });
    return { exitCode, output };
  }

  /**
   * The names at the top of `dir` and the contents of its small metadata files (`*.toml`,
   * `*.json`), in one exec (assets/inventory.sh): each getArchive round trip costs tens of
   * milliseconds, and a tar of the whole dir would copy the cache layers out too. `first`,
   * when given, runs before the listing in the same exec (one round trip less); when it fails,
   * nothing is listed and its exit code and output are returned.
   */
  async inventory(dir: string, first: string[] = []): Promise<Inventory> {
    const script = 'dir=$1; shift; if [ $# -gt 0 ]; then "$@" || exit; fi; exec /bin/sh "$0" "$dir"';
    const result = await this.runCommand(['/bin/sh', '-c', script, INVENTORY_SCRIPT, dir, ...first]);
    if (result.exitCode !== 0) return { ...result, names: [], files: new Map() };
    return { exitCode: 0, output: '', ...parseInventory(result.output) };
  }

  async getArchive(path: string): Promise<Readable | null> {
    const archive = await this.docker.getArchive(this.id, path);
    if (archive) {
      this.archives.add(archive);
      archive.once('close', () => this.archives.delete(archive));
    }
    return archive;
  }

  /** Contents of one small file in the container, or null when it does not exist. */
  async readFile(path: string): Promise<Buffer | null> {
    const tar = await this.getArchive(path);
    if (!tar) return null;
    return new Promise<Buffer | null>((resolve, reject) => {
      const ex = extract();
      let content: Buffer | null = null;
      ex.on('entry', (header, stream, next) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c) => {
          chunks.push(c as Buffer);
        });
        stream.on('end', () => {
          if (content === null && header.type === 'file') content = Buffer.concat(chunks);
          next();
        });
      });
      ex.on('finish', () => resolve(content));
      ex.on('error', reject);
      tar.on('error', reject);
      tar.pipe(ex as unknown as NodeJS.WritableStream);
    });
  }

  /** Removes the container once; every caller gets the same removal. */
  remove(): Promise<void> {
    if (!this.removal) {
      for (const archive of this.archives) archive.destroy();
      this.removal = this.docker.removeContainer(this.id).finally(() => this.stdin.release());
      // Handled by whoever awaits it (the build's finally); not an unhandled rejection meanwhile.
      this.removal.catch(() => undefined);
    }
    return this.removal;
  }

  /**
   * --keep-container: the container stays for `docker exec -it` (up to MAX_LIFETIME_S) under
   * another name, so it no longer holds the cache volume's lock. Returns the new name.
   */
  async keep(): Promise<string> {
    const name = `gobuild-cnb-kept-${this.id.slice(0, 12)}`;
    await this.runCommand(['touch', KEEP_MARKER]);
    await this.docker.renameContainer(this.id, name);
    this.stdin.release();
    return name;
  }
}
