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

/**
 * The name of the cache volume's lock. The build container is created under this name:
 * container names are unique in an engine, so creating it IS taking the lock (the engine
 * arbitrates two creates at the same instant) and removing or renaming it releases it.
 */
export function cacheLockName(volume: string): string {
  return `gobuild-cnb-lock-${volume}`;
}

const busyHint = (volume: string): string =>
  `Wait for the other build to finish and run again, or give this build its own cache with --cache-volume <name>. ` +
  `A container kept with --keep-container also uses ${volume}: remove it with docker rm -f <id>.`;

/** A lock holder that can no longer release the lock: its CLI is gone. */
function isDead(status: string): boolean {
  return status === 'exited' || status === 'dead';
}

async function removeDeadHolder(docker: DockerClient, id: string, reporter: Reporter): Promise<void> {
  await docker.removeContainer(id);
  reporter.info(`Removed container ${id.slice(0, 12)} of a build that ended without cleaning up`);
}

export async function prepareCacheVolume(
  docker: DockerClient,
  options: { tag: string; cacheVolume?: string; clearCache: boolean },
  reporter: Reporter,
): Promise<CacheVolume> {
  const name = options.cacheVolume ?? defaultCacheVolumeName(options.tag);
  let existed = await docker.volumeExists(name);
  if (existed && options.clearCache) {
    // The engine refuses to remove a volume a container uses, so a live build's cache (its
    // container holds the lock and mounts the volume) is never removed under it.
    let removal = await docker.removeVolumeIfUnused(name);
    const holder = removal === 'in-use' ? await docker.inspectContainer(cacheLockName(name)) : null;
    if (holder && isDead(holder.status)) {
      await removeDeadHolder(docker, holder.id, reporter);
      removal = await docker.removeVolumeIfUnused(name);
    }
    if (removal === 'in-use') {
      const user = holder ?? (await docker.listContainers(Labels.buildContainer, name))[0];
      throw new GobuildError(
        `cannot clear cache volume ${name}: ${user ? `container ${user.id.slice(0, 12)} is using it` : 'a container is using it'}`,
        ExitCode.CacheBusy,
        { hint: busyHint(name) },
      );
    }
    existed = false;
  }
  if (!existed) await docker.createVolume(name, { [CACHE_LABEL]: options.tag });
  const status: CacheVolumeStatus = existed ? 'existing' : options.clearCache ? 'cleared' : 'new';
  reporter.detail(`cache volume ${name} (${status})`);
  return { name, status };
}

export interface LockOptions {
  /** Give up after this long (ms). */
  timeoutMs: number;
  pollMs: number;
  /** A holder still `created` (never started) after this long was left by a killed build. */
  createdGraceMs: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Called before each attempt; throws to stop waiting (e.g. on Ctrl-C). */
  checkStop?: () => void;
}

/**
 * Takes the lock of the cache volume by creating the build container under the lock name
 * (`create` returns null when the name is taken), and returns the container's id. While a live
 * build holds it, waits (saying so once); a holder whose build is gone (its container exited,
 * or never started) is removed, and the create is tried again.
 */
export async function acquireCacheLock(
  docker: DockerClient,
  volume: string,
  create: (name: string) => Promise<string | null>,
  reporter: Reporter,
  options: LockOptions,
): Promise<string> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = options.now ?? Date.now;
  const name = cacheLockName(volume);
  const deadline = now() + options.timeoutMs;
  let announced = false;
  // Measured on our clock, not the engine's: a remote engine's clock may differ.
  let createdSince: { id: string; at: number } | undefined;
  for (;;) {
    options.checkStop?.();
    const id = await create(name);
    if (id) return id;
    const holder = await docker.inspectContainer(name);
    if (!holder) {
      // Released between our create and the look: try again at once (bounded all the same).
      if (now() >= deadline) throw new GobuildError(`gave up waiting for cache volume ${volume}`, ExitCode.CacheBusy, { hint: busyHint(volume) });
      continue;
    }
    if (holder.status === 'created' && createdSince?.id !== holder.id) createdSince = { id: holder.id, at: now() };
    const neverStarted = holder.status === 'created' && now() - (createdSince?.at ?? now()) >= options.createdGraceMs;
    if (isDead(holder.status) || neverStarted) {
      await removeDeadHolder(docker, holder.id, reporter);
      continue;
    }
    const short = holder.id.slice(0, 12);
    if (!announced) {
      reporter.info(`Waiting for build ${short}, which is using cache volume ${volume}`);
      announced = true;
    }
    if (now() >= deadline) {
      throw new GobuildError(`gave up waiting for cache volume ${volume}: build ${short} still uses it`, ExitCode.CacheBusy, {
        hint: `If that build is stuck, remove it (docker rm -f ${short}); or give this build its own cache with --cache-volume <name>.`,
      });
    }
    await sleep(options.pollMs);
  }
}
