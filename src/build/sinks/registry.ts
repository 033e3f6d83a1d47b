/**
 * `--publish` / `--output registry`: pushes the image (several platforms: an image index) to
 * the registry of the -t name with src/registry. Blobs the repository has are skipped (HEAD),
 * the run image's are mounted from its repository when it lives on the same registry.
 */
import type { AssembledImage } from '../export/export';
import type { ImageSink, SinkContext, SinkResult } from './index';
import { prepareSinkImages } from './sink-images';
import { buildIndex, imageManifest, serializeJson, type SinkImage } from '../../image/config';
import { MediaType, type Blob } from '../../image/types';
import { RegistryClients } from '../../registry/clients';
import { pushImage, pushIndex, type ImageToPush, type PushEvent } from '../../registry/push';
import { familiarName, parseReference } from '../../registry/reference';
import { Readable } from 'node:stream';
import { formatBytes } from '../../ui/format';

function toPush(image: SinkImage): ImageToPush & { descriptor: ReturnType<typeof imageManifest>['descriptor'] } {
  const { config } = image;
  const configBlob: Blob = {
    descriptor: { mediaType: MediaType.OciConfig, digest: config.digest, size: config.size },
    open: () => Readable.from([config.bytes]),
  };
  const { serialized, descriptor } = imageManifest(image, 'oci');
  return { configBlob, layerBlobs: image.layers, manifest: { bytes: serialized.bytes, mediaType: descriptor.mediaType }, descriptor };
}

const short = (digest: string): string => digest.slice(0, 19);

function describe(event: PushEvent): string | undefined {
  switch (event.kind) {
    case 'exists':
      return `blob ${short(event.descriptor.digest)} exists`;
    case 'uploaded':
      return `blob ${short(event.descriptor.digest)} uploaded (${formatBytes(event.bytes)})`;
    case 'mounted':
      return `blob ${short(event.descriptor.digest)} mounted from ${event.from}`;
    case 'manifest':
      return `manifest ${short(event.digest)} pushed as ${event.reference}`;
    default:
      return undefined;
  }
}

export class RegistrySink implements ImageSink {
  constructor(private readonly ctx: SinkContext) {}

  async write(assembled: AssembledImage[]): Promise<SinkResult> {
    const { options, reporter } = this.ctx;
    const reference = parseReference(options.tag);
    const registries = new RegistryClients(options.insecureRegistries, options.caBundle?.pem);
    try {
      const { images, mountFrom } = await prepareSinkImages(this.ctx, assembled, registries, reference.registry);
      const client = registries.get(reference.registry);
      reporter.info(`Pushing ${options.tag} to ${reference.registry}`);
      const onProgress = (event: PushEvent): void => {
        const line = describe(event);
        if (line) reporter.detail(line);
      };
      const common = { client, reference, mountFrom, onProgress };
      const pushes = images.map(toPush);
      const result =
        pushes.length === 1
          ? await pushImage({ ...common, ...pushes[0] })
          : await pushIndex({ ...common, images: pushes, index: { bytes: serializeJson(buildIndex(pushes.map((p) => p.descriptor), 'oci')).bytes, mediaType: MediaType.OciIndex } });
      reporter.info(
        `Pushed ${familiarName(reference)}@${result.digest}: ${result.uploaded} blobs uploaded (${formatBytes(result.bytesUploaded)}), ` +
          `${result.skipped} already there, ${result.mounted} mounted`,
      );
      return { image: options.tag, id: assembled[0].config.digest, digest: result.digest };
    } finally {
      registries.close();
    }
  }
}
