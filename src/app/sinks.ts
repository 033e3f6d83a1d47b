/**
 * Export, second half: hand an assembled image to where the user wants it. One createSink()
 * picks the target (lifecycle image/handler.go, ko resolver.go).
 */
import type { DockerClient, EngineInfo } from '../docker/client';
import type { Reporter } from '../ui/reporter';
import type { BuildOptions } from './options';
import type { AssembledImage, ExportResult } from './export';
import { dockerLoadArchive } from '../image/docker-archive';
import { ExportError, UsageError } from '../errors';

export type SinkResult = Pick<ExportResult, 'image' | 'id' | 'digest' | 'size'>;

export interface ImageSink {
  write(images: AssembledImage[]): Promise<SinkResult>;
}

export interface SinkContext {
  options: Readonly<BuildOptions>;
  docker: DockerClient;
  reporter: Reporter;
  engine: EngineInfo;
  workDir: string;
}

/** `my-app` -> `my-app:latest`; a registry port (`host:5000/app`) is not a tag. */
export function withDefaultTag(ref: string): string {
  const lastComponent = ref.slice(ref.lastIndexOf('/') + 1);
  return lastComponent.includes(':') || ref.includes('@') ? ref : `${ref}:latest`;
}

/**
 * The daemon: a `docker load` tarball. Run-image layers the daemon already holds go as blank
 * entries (cnb-spec.md section 6); the containerd image store refuses those.
 */
export class DaemonSink implements ImageSink {
  constructor(private readonly ctx: SinkContext) {}

  async write(images: AssembledImage[]): Promise<SinkResult> {
    if (images.length !== 1) throw new UsageError('the Docker daemon takes one platform at a time');
    const [image] = images;
    const { docker, engine, options } = this.ctx;
    if (image.runImage && engine.containerdSnapshotter) {
      throw new ExportError('this Docker engine uses the containerd image store, which refuses the blank layers gobuild-cnb sends for the run image', {
        hint: 'Use --output oci-archive:<file> and `docker load -i` it, or use an engine with the overlay2 storage driver.',
      });
    }
    const archive = dockerLoadArchive({
      configBytes: image.config.bytes,
      layers: [
        ...(image.runImage?.diffIds ?? []).map((diffId) => ({ diffId, blank: true as const })),
        ...image.layers.map((l) => ({ diffId: l.diffId, path: l.path })),
      ],
      repoTags: [withDefaultTag(options.tag)],
    });
    await docker.loadImage(archive);
    const loaded = await docker.inspectImage(image.config.digest);
    if (!loaded) throw new ExportError(`the daemon did not keep image ${image.config.digest} after docker load`);
    return { image: options.tag, id: image.config.digest, size: loaded.size };
  }
}

export function createSink(ctx: SinkContext): ImageSink {
  switch (ctx.options.output.kind) {
    case 'docker':
      return new DaemonSink(ctx);
    default:
      throw new UsageError(`--output ${ctx.options.output.kind} is not supported yet`);
  }
}
