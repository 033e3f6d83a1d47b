import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { FakeDockerClient, imageSummary } from '../../../test/helpers/fake-docker';
import { blobCacheDir, extractSavedLayers, runImageBlobs, saveRunImageLayers } from './run-image-layers';
import { DaemonSink, type SinkContext } from '../sinks';
import type { AssembledImage } from './export';
import { sha256Digest, digestHex } from '../../image/digest';
import { serializeConfig } from '../../image/config';
import { readTarEntries } from '../../image/read-tar';
import { RegistryClients } from '../../registry/clients';
import type { Reporter } from '../../ui/reporter';
import type { BuildOptions } from '../options';
import type { EngineInfo } from '../../docker/client';
import type { Digest } from '../../image/types';

const silent: Reporter = { phaseStart() {}, phaseEnd() {}, info() {}, detail() {}, warn() {}, output() {}, flush() {} };

const layerOne = Buffer.from('layer one: pretend tar bytes '.repeat(200));
const layerTwo = Buffer.from('layer two: other bytes '.repeat(300));
const unrelated = Buffer.from('a layer of another image');
const ONE = sha256Digest(layerOne);
const TWO = sha256Digest(layerTwo);

function tarOf(files: Array<[string, Buffer]>): Readable {
  const tar = pack();
  for (const [name, body] of files) tar.entry({ name, size: body.length }, body);
  tar.finalize();
  return Readable.from(tar);
}

/** What docker save wrote before Docker 25: `<v1 id>/layer.tar`, manifest.json last. */
const legacySave = (): Readable =>
  tarOf([
    ['aaaa/VERSION', Buffer.from('1.0')],
    ['aaaa/layer.tar', layerOne],
    ['bbbb/layer.tar', unrelated],
    ['cccc/layer.tar', layerTwo],
    ['deadbeef.json', Buffer.from('{}')],
    ['manifest.json', Buffer.from('[{"Config":"deadbeef.json","Layers":["aaaa/layer.tar","cccc/layer.tar"]}]')],
  ]);

/** The OCI layout newer daemons save: blobs named by digest; the containerd store keeps layers gzipped. */
function ociSave(): Readable {
  const gzippedTwo = gzipSync(layerTwo);
  return tarOf([
    ['oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}')],
    [`blobs/sha256/${digestHex(ONE)}`, layerOne],
    [`blobs/sha256/${digestHex(sha256Digest(gzippedTwo))}`, gzippedTwo],
    [`blobs/sha256/${digestHex(sha256Digest('{"config":1}'))}`, Buffer.from('{"config":1}')],
    ['index.json', Buffer.from('{}')],
  ]);
}

class SavingDocker extends FakeDockerClient {
  loaded: Array<{ name: string; body?: Buffer }> = [];
  constructor(private readonly save: () => Readable) {
    super({ images: { 'run:latest': imageSummary({ diffIds: [ONE, TWO] }) } });
  }
  override async saveImage(ref: string): Promise<Readable> {
    await super.saveImage(ref);
    return this.save();
  }
  override async loadImage(tar: Readable): Promise<string> {
    this.calls.push('loadImage');
    this.loaded = (await readTarEntries(tar)).map((e) => ({ name: e.header.name, body: e.body }));
    return '';
  }
  override async inspectImage(ref: string) {
    return ref.startsWith('sha256:') ? imageSummary({ id: ref, size: 42 }) : super.inspectImage(ref);
  }
}

describe('run-image layers from docker save', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'run-layers-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['legacy layout', legacySave],
    ['OCI layout with a gzip blob', ociSave],
  ])('keeps exactly the wanted layers, named and verified by diffId (%s)', async (_name, save) => {
    const found = await extractSavedLayers(save(), [ONE, TWO], dir);
    expect([...found.keys()].sort()).toEqual([ONE, TWO].sort());
    expect(readFileSync(found.get(ONE)!.path)).toEqual(layerOne);
    expect(readFileSync(found.get(TWO)!.path)).toEqual(layerTwo);
    expect(found.get(TWO)!.size).toBe(layerTwo.length);
    expect(readdirSync(dir).sort()).toEqual([`${digestHex(ONE)}.tar`, `${digestHex(TWO)}.tar`].sort());
  });

  it('says which layers docker save lacked', async () => {
    const docker = new SavingDocker(legacySave);
    const missing = sha256Digest('not there');
    await expect(saveRunImageLayers(docker, 'run:latest', [ONE, missing], dir)).rejects.toThrow(/did not contain 1 of its layers \(sha256:[0-9a-f]{12}\)/);
  });

  it('gzips them into the blob cache once: the second export reads neither the daemon nor the tars', async () => {
    const docker = new SavingDocker(legacySave);
    const cacheDir = join(dir, 'cache');
    const input = {
      docker,
      reporter: silent,
      runImage: { ref: 'run:latest', diffIds: [ONE, TWO] as Digest[] },
      platform: { os: 'linux', architecture: 'amd64' },
      workDir: join(dir, 'work'),
      registries: new RegistryClients([]),
      cacheDir,
    };
    const first = await runImageBlobs(input);
    expect(first.source).toBe('daemon');
    expect(first.blobs.map((b) => b.descriptor.digest)).toEqual([sha256Digest(readFileSync(join(cacheDir, `${digestHex(ONE)}.tar.gz`))), sha256Digest(readFileSync(join(cacheDir, `${digestHex(TWO)}.tar.gz`)))]);
    expect(existsSync(join(dir, 'work', 'run-image-layers', `${digestHex(ONE)}.tar`))).toBe(false);

    const second = await runImageBlobs(input);
    expect(second.source).toBe('cache');
    expect(second.blobs.map((b) => b.descriptor)).toEqual(first.blobs.map((b) => b.descriptor));
    expect(docker.calls.filter((c) => c.startsWith('saveImage'))).toEqual(['saveImage run:latest']);
  });

  it('puts the cache under XDG_CACHE_HOME, else ~/.cache', () => {
    expect(blobCacheDir({ XDG_CACHE_HOME: '/x/cache' })).toBe('/x/cache/gobuild-cnb/blobs');
    expect(blobCacheDir({ XDG_CACHE_HOME: 'relative' })).toMatch(/\/\.cache\/gobuild-cnb\/blobs$/);
  });
});

describe('DaemonSink', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'daemon-sink-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const assembled = (): AssembledImage => ({
    config: serializeConfig({ os: 'linux', architecture: 'amd64', config: {}, rootfs: { type: 'layers', diff_ids: [ONE, TWO] } }),
    platform: { os: 'linux', architecture: 'amd64' },
    runImage: { ref: 'run:latest', diffIds: [ONE, TWO] },
    layers: [],
    processes: [],
    defaultProcess: 'app',
  });
  const context = (docker: SavingDocker, containerdSnapshotter: boolean): SinkContext => ({
    options: { tag: 'my-app', output: { kind: 'docker' } } as unknown as BuildOptions,
    docker,
    reporter: silent,
    engine: { serverVersion: 'fake', storageDriver: 'overlay2', containerdSnapshotter, architecture: 'x86_64' } as EngineInfo,
    workDir: dir,
  });

  it('sends the run image as blank layers to a graph-driver engine, without docker save', async () => {
    const docker = new SavingDocker(legacySave);
    await new DaemonSink(context(docker, false)).write([assembled()]);
    expect(docker.calls).not.toContain('saveImage run:latest');
    expect(docker.loaded.filter((e) => e.name.startsWith('blank_')).map((e) => e.body?.length)).toEqual([0, 0]);
  });

  it('sends the run image layers in full to the containerd image store, read with docker save', async () => {
    const docker = new SavingDocker(ociSave);
    const result = await new DaemonSink(context(docker, true)).write([assembled()]);
    expect(docker.calls).toContain('saveImage run:latest');
    expect(docker.loaded.some((e) => e.name.startsWith('blank_'))).toBe(false);
    expect(docker.loaded.find((e) => e.name === `${digestHex(ONE)}/layer.tar`)?.body).toEqual(layerOne);
    expect(docker.loaded.find((e) => e.name === `${digestHex(TWO)}/layer.tar`)?.body).toEqual(layerTwo);
    expect(result).toMatchObject({ image: 'my-app', id: assembled().config.digest, size: 42 });
  });
});
