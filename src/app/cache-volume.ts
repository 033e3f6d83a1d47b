/**
 * The build cache: a named Docker volume per output image, mounted at the buildpack's layers
 * dir, so the `gocache` and `modcache` layers are there at the next build with no copying
 * (the volume-cache idea of pack, without tarring layers in and out). See docs/caching.md.
 */
import { createHash } from 'node:crypto';
import type { DockerClient } from '../docker/client';
import type { Reporter } from '../ui/reporter';
import { Labels } from '../cnb/spec';
import { GobuildError, ExitCode } from '../errors';

/** Label on every cache volume; its value is the image name the cache belongs to. */
export const CACHE_LABEL = 'io.gobuild-cnb.cache';

export type CacheVolumeStatus = 'new' | 'cleared' | 'existing';

export interface CacheVolume {
  name: string;
  status: CacheVolumeStatus;
}

/** `my-app` and `my-app:latest` share a cache; different images never do. */
export function defaultCacheVolumeName(tag: string): string {
  const withTag = /:[^/]+$/.test(tag) ? tag : `${tag}:latest`;
  const readable = withTag.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 60);
  const hash = createHash('sha256').update(withTag).digest('hex').slice(0, 12);
  return `gobuild-cnb-cache-${readable}-${hash}`;
}

export async function prepareCacheVolume(
  docker: DockerClient,
  options: { tag: string; cacheVolume?: string; clearCache: boolean },
  reporter: Reporter,
): Promise<CacheVolume> {
  const name = options.cacheVolume ?? defaultCacheVolumeName(options.tag);
  let existed = await docker.volumeExists(name);
  if (existed && options.clearCache) {
    const users = await docker.listContainers(`${Labels.buildContainer}`, name);
    if (users.length > 0) {
      throw new GobuildError(`cannot clear cache volume ${name}: build container ${users[0].id.slice(0, 12)} is using it`, ExitCode.Failure, {
        hint: 'Wait for the other build to finish, or give this build its own cache with --cache-volume <name>.',
      });
    }
    await docker.removeVolume(name);
    existed = false;
  }
  if (!existed) await docker.createVolume(name, { [CACHE_LABEL]: options.tag });
  const status: CacheVolumeStatus = existed ? 'existing' : options.clearCache ? 'cleared' : 'new';
  reporter.detail(`cache volume ${name} (${status})`);
  return { name, status };
}

export interface WaitOptions {
  /** Give up after this long (ms). */
  timeoutMs: number;
  pollMs: number;
  sleep?: (ms: number) => Promise<void>;
  /** Called before each look; throws to stop waiting (e.g. on Ctrl-C). */
  checkStop?: () => void;
}

/**
 * Two builds of one app at once must not share the cache volume while they run. Every build
 * container mounts it from creation; the one created first (ties: lower id) goes first, the
 * others wait for it to be gone. All builds compute the same order, so exactly one proceeds.
 */
export async function waitForCacheVolume(
  docker: DockerClient,
  volume: string,
  myContainerId: string,
  reporter: Reporter,
  options: WaitOptions,
): Promise<void> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = Date.now() + options.timeoutMs;
  let announced = false;
  for (;;) {
    options.checkStop?.();
    const users = await docker.listContainers(Labels.buildContainer, volume);
    const me = users.find((c) => c.id === myContainerId);
    const ahead = users.filter((c) => c.id !== myContainerId && (!me || c.created < me.created || (c.created === me.created && c.id < me.id)));
    if (ahead.length === 0) return;
    if (!announced) {
      reporter.info(`Waiting for build ${ahead[0].id.slice(0, 12)}, which is using cache volume ${volume}`);
      announced = true;
    }
    if (Date.now() >= deadline) {
      throw new GobuildError(`gave up waiting for cache volume ${volume}: build ${ahead[0].id.slice(0, 12)} still uses it`, ExitCode.Failure, {
        hint: `If that build is stuck, remove it (docker rm -f ${ahead[0].id.slice(0, 12)}), or use another cache with --cache-volume.`,
      });
    }
    await sleep(options.pollMs);
  }
}
