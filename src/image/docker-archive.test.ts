import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImageConfig, serializeConfig } from './config';
import { sha256Digest } from './digest';
import { dockerLoadArchive, writeDockerLoadArchive } from './docker-archive';
import { writeLayer } from './layer';
import { readTarEntries } from './read-tar';
import type { LayerFile } from './types';
import { InternalError } from '../errors';

let scratch: string;
let app: LayerFile;
let configBytes: Buffer;
const runImageDiffId = sha256Digest('run image layer');

beforeEach(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'gobuild-cnb-docker-archive-'));
  app = await writeLayer({
    entries: { entries: [{ type: 'file', path: '/workspace/hello', content: 'hello', mode: 0o755 }] },
    outDir: scratch,
    uid: 1000,
    gid: 1000,
  });
  const config = buildImageConfig({
    base: { os: 'linux', architecture: 'amd64', config: {}, rootfs: { type: 'layers', diff_ids: [runImageDiffId] } },
    // The same layer twice, as happens with two identical empty layers: stored once, listed twice.
    layers: [
      { diffId: app.diffId, createdBy: 'app' },
      { diffId: app.diffId, createdBy: 'app again' },
    ],
    env: [],
    entrypoint: ['/workspace/hello'],
    workingDir: '/workspace',
  });
  configBytes = serializeConfig(config).bytes;
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

describe('writeDockerLoadArchive', () => {
  it('writes the config, a blank entry for a layer the daemon has, each layer once, then manifest.json', async () => {
    const file = join(scratch, 'image.tar');
    await writeDockerLoadArchive(createWriteStream(file), {
      configBytes,
      layers: [{ diffId: runImageDiffId, blank: true }, app, app],
      repoTags: ['my-app:latest'],
    });

    const entries = await readTarEntries(createReadStream(file));
    const configName = `${sha256Digest(configBytes).slice(7)}.json`;
    const layerName = `${app.diffId.slice(7)}/layer.tar`;
    expect(entries.map((e) => [e.header.name, e.header.type, e.header.size])).toEqual([
      [configName, 'file', configBytes.length],
      ['blank_0', 'file', 0],
      [`${app.diffId.slice(7)}/`, 'directory', 0],
      [layerName, 'file', app.size],
      ['manifest.json', 'file', expect.any(Number)],
    ]);
    expect(entries[0].body).toEqual(configBytes);
    expect(entries[3].body).toEqual(readFileSync(app.path));
    expect(JSON.parse(entries[4].body!.toString())).toEqual([{ Config: configName, RepoTags: ['my-app:latest'], Layers: ['blank_0', layerName, layerName] }]);
  });

  it('is byte-for-byte the same when written twice', async () => {
    const input = { configBytes, layers: [{ diffId: runImageDiffId, blank: true as const }, app, app], repoTags: [] };
    const digestOf = async (): Promise<string> => {
      const chunks: Buffer[] = [];
      for await (const chunk of dockerLoadArchive(input)) chunks.push(chunk as Buffer);
      return sha256Digest(Buffer.concat(chunks));
    };
    expect(await digestOf()).toBe(await digestOf());
  });

  it('refuses layers that do not match the config rootfs', () => {
    expect(() => dockerLoadArchive({ configBytes, layers: [app], repoTags: [] })).toThrow(InternalError);
  });
});
