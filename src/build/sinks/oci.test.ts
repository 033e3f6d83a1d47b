import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeDockerClient } from '../../../test/helpers/fake-docker';
import { createSink, type SinkContext } from './index';
import type { AssembledImage } from '../export/export';
import type { BuildOptions } from '../options';
import type { EngineInfo } from '../../docker/client';
import type { Reporter } from '../../ui/reporter';
import { serializeConfig } from '../../image/config';
import { sha256Digest, digestHex } from '../../image/digest';
import type { ImageIndex, Platform } from '../../image/types';

const silent: Reporter = { phaseStart() {}, phaseEnd() {}, info() {}, detail() {}, warn() {}, output() {}, flush() {} };

describe('OCI layout sink', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'oci-sink-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** An image of one layer on disk (as the static base gives), for a platform. */
  const image = (platform: Platform): AssembledImage => {
    const bytes = Buffer.from(`layer for ${platform.architecture}`);
    const path = join(dir, `${platform.architecture}.tar`);
    writeFileSync(path, bytes);
    const diffId = sha256Digest(bytes);
    return {
      config: serializeConfig({ ...platform, config: {}, rootfs: { type: 'layers', diff_ids: [diffId] } }),
      platform,
      layers: [{ name: 'static base', diffId, path }],
      processes: [],
      defaultProcess: 'app',
    };
  };
  const context = (output: BuildOptions['output']): SinkContext => ({
    options: { tag: 'my-app:1', output, insecureRegistries: [] } as unknown as BuildOptions,
    docker: new FakeDockerClient(),
    reporter: silent,
    engine: {} as EngineInfo,
    workDir: join(dir, 'work'),
  });

  it('writes several platforms as one image index under the -t name; the result names the index and the first image', async () => {
    const layout = join(dir, 'layout');
    const images = [image({ os: 'linux', architecture: 'amd64' }), image({ os: 'linux', architecture: 'arm64' })];
    const result = await createSink(context({ kind: 'oci', path: layout })).write(images);

    const top = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as ImageIndex;
    expect(top.manifests).toHaveLength(1);
    expect(top.manifests[0]).toMatchObject({ mediaType: 'application/vnd.oci.image.index.v1+json', annotations: { 'org.opencontainers.image.ref.name': 'my-app:1' } });
    expect(result).toEqual({ image: 'my-app:1', id: images[0].config.digest, digest: top.manifests[0].digest });
    const nested = JSON.parse(readFileSync(join(layout, 'blobs', 'sha256', digestHex(top.manifests[0].digest)), 'utf8')) as ImageIndex;
    expect(nested.manifests.map((m) => m.platform?.architecture)).toEqual(['amd64', 'arm64']);
  });

  it('refuses an output directory that holds something else', async () => {
    writeFileSync(join(dir, 'marker'), 'x');
    await expect(createSink(context({ kind: 'oci', path: dir })).write([image({ os: 'linux', architecture: 'amd64' })])).rejects.toMatchObject({
      code: 2,
      message: expect.stringContaining(`cannot write an OCI layout to ${JSON.stringify(dir)}`),
    });
  });
});
