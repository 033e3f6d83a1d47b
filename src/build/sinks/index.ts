/**
 * Export, second half: hand an assembled image to where the user wants it. One createSink()
 * picks the target (lifecycle image/handler.go, ko resolver.go): the daemon (here), an OCI
 * layout or archive (sinks/oci.ts), a registry (sinks/registry.ts). All of them get the same
 * config bytes and layer diffIds, so the image ID is the same whatever the output.
 */
import type { DockerClient, EngineInfo } from '../../docker/client';
import type { Reporter } from '../../ui/reporter';
import type { BuildOptions } from '../options';
import type { AssembledImage, ExportResult } from '../export/export';
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { sharedPrefixLength } from '../export/reuse';
import type { Digest } from '../../image/types';
import { dockerLoadArchive, type DockerArchiveLayer } from '../../image/docker-archive';
import { ExportError, UsageError } from '../../errors';
import { saveRunImageLayers } from '../export/run-image-layers';
import { OciArchiveSink, OciLayoutSink } from './oci';
import { RegistrySink } from './registry';
import { checkOciTarget } from '../../image/oci-layout';
import { RegistryClients } from '../../registry/clients';
import { parseReference } from '../../registry/reference';

export type SinkResult = Pick<ExportResult, 'image' | 'id' | 'digest' | 'size' | 'layerBytesSent'>;

export interface ImageSink {
  write(images: AssembledImage[]): Promise<SinkResult>;
}

export interface SinkContext {
  options: Readonly<BuildOptions>;
  docker: DockerClient;
  reporter: Reporter;
  engine: EngineInfo;
  workDir: string;
  /** Layers of the image the tag named before this build (the daemon holds them). */
  previousDiffIds?: readonly Digest[];
}

/** `my-app` -> `my-app:latest`; a registry port (`host:5000/app`) is not a tag. */
export function withDefaultTag(ref: string): string {
  const lastComponent = ref.slice(ref.lastIndexOf('/') + 1);
  return lastComponent.includes(':') || ref.includes('@') ? ref : `${ref}:latest`;
}

/**
 * The daemon: a `docker load` tarball. Run-image layers the daemon already holds go as blank
 * entries (cnb-spec.md section 6). The containerd image store refuses those: there they are
 * sent in full, read back from the daemon with `docker save`.
 */
export class DaemonSink implements ImageSink {
  constructor(private readonly ctx: SinkContext) {}

  async write(images: AssembledImage[]): Promise<SinkResult> {
    if (images.length !== 1) throw new UsageError('the Docker daemon takes one platform at a time');
    const [image] = images;
    const { docker, engine, options, reporter } = this.ctx;
    let runLayers: DockerArchiveLayer[] = (image.runImage?.diffIds ?? []).map((diffId) => ({ diffId, blank: true as const }));
    if (image.runImage && engine.containerdSnapshotter) {
      reporter.detail(`containerd image store: sending the run image's ${image.runImage.diffIds.length} layers in full`);
      const files = await saveRunImageLayers(docker, image.runImage.ref, image.runImage.diffIds, join(this.ctx.workDir, 'run-image-layers'));
      runLayers = files.map((file) => ({ diffId: file.diffId, path: file.path }));
    }
    // Layers that continue the chain of the previous image of the tag are in the daemon already.
    const allDiffIds = [...runLayers.map((l) => l.diffId), ...image.layers.map((l) => l.diffId)];
    const held = engine.containerdSnapshotter ? 0 : sharedPrefixLength(allDiffIds, this.ctx.previousDiffIds ?? []);
    const ours: DockerArchiveLayer[] = image.layers.map((l, i) =>
      runLayers.length + i < held ? { diffId: l.diffId, blank: true as const } : { diffId: l.diffId, path: l.path },
    );
    const sent = [...runLayers, ...ours].filter((l): l is { diffId: Digest; path: string } => 'path' in l);
    let layerBytesSent = sent.reduce((sum, l) => sum + statSync(l.path).size, 0);
    reporter.detail(`sending ${sent.length} of ${allDiffIds.length} layers to the daemon (${layerBytesSent} bytes)`);
    const load = (layers: DockerArchiveLayer[]) =>
      docker.loadImage(dockerLoadArchive({ configBytes: image.config.bytes, layers: [...runLayers, ...layers], repoTags: [withDefaultTag(options.tag)] }));
    try {
      await load(ours);
    } catch (err) {
      // The previous image may have gone between our look and the load: send our layers whole.
      if (held <= runLayers.length) throw err;
      reporter.detail(`the daemon refused the reused layers (${(err as Error).message}); sending them in full`);
      await load(image.layers.map((l) => ({ diffId: l.diffId, path: l.path })));
      layerBytesSent += image.layers.slice(0, held - runLayers.length).reduce((sum, l) => sum + statSync(l.path).size, 0);
    }
    const loaded = await docker.inspectImage(image.config.digest);
    if (!loaded) throw new ExportError(`the daemon did not keep image ${image.config.digest} after docker load`);
    return { image: options.tag, id: image.config.digest, size: loaded.size, layerBytesSent };
  }
}

/**
 * Says before the build, not after minutes of it, when the output cannot be written: an OCI
 * path that is not a layout, a registry that does not answer or refuses the push.
 */
export async function preflightOutput(options: Pick<BuildOptions, 'output' | 'tag' | 'insecureRegistries' | 'caBundle'>): Promise<void> {
  const { output } = options;
  if (output.kind === 'oci' || output.kind === 'oci-archive') {
    await checkOciTarget(output.kind, output.path);
  } else if (output.kind === 'registry') {
    const reference = parseReference(options.tag);
    const registries = new RegistryClients(options.insecureRegistries, options.caBundle?.pem);
    try {
      await registries.get(reference.registry).checkPushAccess(reference.repository);
    } finally {
      registries.close();
    }
  }
}

export function createSink(ctx: SinkContext): ImageSink {
  switch (ctx.options.output.kind) {
    case 'docker':
      return new DaemonSink(ctx);
    case 'oci':
      return new OciLayoutSink(ctx, ctx.options.output.path);
    case 'oci-archive':
      return new OciArchiveSink(ctx, ctx.options.output.path);
    case 'registry':
      return new RegistrySink(ctx);
  }
}
