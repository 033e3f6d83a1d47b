/**
 * From assembled images (config + layer files on disk + the run image's diffIds) to images a
 * file or registry sink writes: every layer as a gzip blob, run-image layers included.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AssembledImage } from '../export/export';
import type { SinkContext } from './index';
import { runImageBlobs, type RunImageBlobs } from '../export/run-image-layers';
import { gzipLayer } from '../../image/compress';
import type { SinkImage } from '../../image/config';
import type { RegistryClients } from '../../registry/clients';
import type { ImageReference } from '../../registry/reference';

export interface PreparedImages {
  images: SinkImage[];
  /** The run image's repository, when its blobs are referenced in its registry rather than copied. */
  mountFrom?: ImageReference;
}

export async function prepareSinkImages(
  ctx: SinkContext,
  assembled: readonly AssembledImage[],
  registries: RegistryClients,
  pushRegistry?: string,
): Promise<PreparedImages> {
  const blobDir = join(ctx.workDir, 'blobs');
  await mkdir(blobDir, { recursive: true });
  const images: SinkImage[] = [];
  let mountFrom: ImageReference | undefined;
  for (const [index, image] of assembled.entries()) {
    let base: RunImageBlobs | undefined;
    if (image.runImage) {
      base = await runImageBlobs({
        docker: ctx.docker,
        reporter: ctx.reporter,
        runImage: image.runImage,
        platform: image.platform,
        workDir: join(ctx.workDir, `run-image-${index}`),
        registries,
        pushRegistry,
      });
      ctx.reporter.detail(`run image layers (${base.blobs.length}) from ${base.source === 'registry' ? `its registry (${image.runImage.ref})` : `the ${base.source}`}`);
      mountFrom ??= base.mountFrom;
    }
    const own = [];
    for (const layer of image.layers) own.push(await gzipLayer({ diffId: layer.diffId, size: layer.size ?? 0, path: layer.path }, blobDir));
    images.push({ config: image.config, layers: [...(base?.blobs ?? []), ...own], platform: image.platform });
  }
  return { images, mountFrom };
}
