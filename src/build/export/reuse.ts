/**
 * Which layers a target already has. The daemon skips a layer of a `docker load` whose chain
 * (this layer and every layer below it) it already stores, so the longest prefix this image
 * shares with one the daemon holds (the previous image of the tag) can go as blank entries.
 * Not imgutil's behaviour (it resends reused layers); an inference from how chain IDs work,
 * see cnb-spec.md section 6.
 */
import type { Digest } from '../../image/types';

export function sharedPrefixLength(next: readonly Digest[], held: readonly Digest[]): number {
  let n = 0;
  while (n < next.length && n < held.length && next[n] === held[n]) n++;
  return n;
}
