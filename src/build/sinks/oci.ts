/**
 * OCI image layout (`--output oci:<dir>`) and OCI archive (`--output oci-archive:<file>`):
 * one image is stored as a manifest, several (one per platform) as an image index, under the
 * ref name given with -t.
 */
import type { AssembledImage } from '../export/export';
import type { ImageSink, SinkContext, SinkResult } from './index';
import { prepareSinkImages } from './sink-images';
import { writeOciArchive, writeOciLayout } from '../../image/oci-layout';
import { STDOUT_PATH } from '../../image/output-path';
import { RegistryClients } from '../../registry/clients';
import { platformString } from '../../image/config';

type Writer = typeof writeOciLayout;

class OciSink implements ImageSink {
  constructor(
    private readonly ctx: SinkContext,
    private readonly path: string,
    private readonly what: string,
    private readonly writer: Writer,
  ) {}

  async write(assembled: AssembledImage[]): Promise<SinkResult> {
    const { options, reporter } = this.ctx;
    const registries = new RegistryClients(options.insecureRegistries, options.caBundle?.pem);
    try {
      const { images } = await prepareSinkImages(this.ctx, assembled, registries);
      const top = await this.writer(this.path, images, { refName: options.tag });
      const platforms = images.length > 1 ? ` (index of ${assembled.map((a) => platformString(a.platform)).join(', ')})` : '';
      const where = this.path === STDOUT_PATH ? `${this.what} on stdout` : `${this.what} ${this.path}`;
      reporter.info(`Wrote ${options.tag} to the ${where}${platforms}`);
      return { image: options.tag, id: assembled[0].config.digest, digest: top.digest };
    } finally {
      registries.close();
    }
  }
}

export class OciLayoutSink extends OciSink {
  constructor(ctx: SinkContext, dir: string) {
    super(ctx, dir, 'OCI layout', writeOciLayout);
  }
}

export class OciArchiveSink extends OciSink {
  constructor(ctx: SinkContext, file: string) {
    super(ctx, file, 'OCI archive', writeOciArchive);
  }
}
