/**
 * The legacy `docker save` tarball that `docker load` (POST /images/load) accepts:
 *   <config hex>.json            the config bytes as given, so the image ID is their sha256
 *   <diffId hex>/layer.tar       one uncompressed layer (each diffId once)
 *   blank_<i>                    zero bytes, for a layer the daemon already holds (imgutil's trick)
 *   manifest.json                [{"Config": ..., "RepoTags": [...], "Layers": [...]}]
 * Layers are streamed from their files; nothing is held whole in memory.
 * Blank entries only work with graph-driver storage (the daemon skips a layer whose chain ID it
 * has); the containerd image store refuses them, and callers must then send every layer.
 */
import { stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InternalError } from '../errors';
import { digestHex, sha256Digest } from './digest';
import { addTarEntry, NORMALIZED_MTIME, tarStream } from './tar';
import type { Digest, ImageConfig } from './types';

export type DockerArchiveLayer = { diffId: Digest; path: string } | { diffId: Digest; blank: true };

export interface DockerLoadArchiveInput {
  configBytes: Buffer;
  /** One per diffId of the config's rootfs, in the same order. */
  layers: DockerArchiveLayer[];
  /** Names to tag, e.g. ["my-app:latest"]; may be empty. */
  repoTags: string[];
}

/** The manifest.json entry of a docker-save tarball. */
export interface DockerArchiveManifest {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

function checkLayersMatchConfig(input: DockerLoadArchiveInput): void {
  const config = JSON.parse(input.configBytes.toString('utf8')) as ImageConfig;
  const diffIds = config.rootfs?.diff_ids ?? [];
  const given = input.layers.map((layer) => layer.diffId);
  if (diffIds.length !== given.length || diffIds.some((diffId, i) => diffId !== given[i])) {
    throw new InternalError(`docker archive layers (${given.length}) do not match the config's rootfs (${diffIds.length} diffIds)`);
  }
}

/** The tarball as a stream (what DockerClient.loadImage takes). */
export function dockerLoadArchive(input: DockerLoadArchiveInput): Readable {
  checkLayersMatchConfig(input);
  const fileHeader = (name: string, size: number) => ({ name, size, type: 'file' as const, mode: 0o644, mtime: NORMALIZED_MTIME, uid: 0, gid: 0 });
  return tarStream(async (tar) => {
    const configName = `${digestHex(sha256Digest(input.configBytes))}.json`;
    await addTarEntry(tar, fileHeader(configName, input.configBytes.length), input.configBytes);

    const layerNames: string[] = [];
    const written = new Set<Digest>();
    for (const [index, layer] of input.layers.entries()) {
      if ('blank' in layer) {
        const name = `blank_${index}`;
        await addTarEntry(tar, fileHeader(name, 0), Buffer.alloc(0));
        layerNames.push(name);
        continue;
      }
      const dir = digestHex(layer.diffId);
      const name = `${dir}/layer.tar`;
      if (!written.has(layer.diffId)) {
        written.add(layer.diffId);
        const { size } = await stat(layer.path);
        await addTarEntry(tar, { name: `${dir}/`, type: 'directory', mode: 0o755, mtime: NORMALIZED_MTIME, uid: 0, gid: 0 });
        await addTarEntry(tar, fileHeader(name, size), () => createReadStream(layer.path));
      }
      layerNames.push(name);
    }

    const manifest: DockerArchiveManifest[] = [{ Config: configName, RepoTags: input.repoTags, Layers: layerNames }];
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    await addTarEntry(tar, fileHeader('manifest.json', manifestBytes.length), manifestBytes);
  });
}

export async function writeDockerLoadArchive(out: Writable, input: DockerLoadArchiveInput): Promise<void> {
  await pipeline(dockerLoadArchive(input), out);
}
