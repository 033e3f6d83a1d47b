/** Build-cache volumes: one per output image, named deterministically (see docs/caching.md). */
import { createHash } from 'node:crypto';

/** Label on every cache volume; its value is the image name the cache belongs to. */
export const CACHE_LABEL = 'io.gobuild-cnb.cache';

export function defaultCacheVolumeName(tag: string): string {
  const withTag = /:[^/]+$/.test(tag) ? tag : `${tag}:latest`;
  const readable = withTag.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 60);
  const hash = createHash('sha256').update(withTag).digest('hex').slice(0, 12);
  return `gobuild-cnb-cache-${readable}-${hash}`;
}
