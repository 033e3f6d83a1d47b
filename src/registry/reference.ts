/**
 * Image references, parsed the way docker does (distribution/reference's ParseNormalizedNamed):
 * `my-app` is docker.io/library/my-app:latest; the first path component is a registry host only
 * when it has a `.` or a `:` or is `localhost`.
 */
import { UsageError } from '../errors';
import type { Digest } from '../image/types';

export const DOCKER_HUB = 'docker.io';
/** Where Docker Hub's registry API actually answers. */
const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
const DEFAULT_TAG = 'latest';

export interface ImageReference {
  /** Registry host as the user names it (`docker.io`, `127.0.0.1:5000`, `[::1]:5000`). */
  readonly registry: string;
  /** Repository path inside the registry (`library/my-app`, `foo/bar`). */
  readonly repository: string;
  /** `latest` when neither a tag nor a digest is given. */
  readonly tag?: string;
  readonly digest?: Digest;
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

function invalid(input: string, why: string): UsageError {
  return new UsageError(`invalid image reference ${JSON.stringify(input)}: ${why}`, {
    hint: 'Use [registry/]repository[:tag][@sha256:<digest>], e.g. my-app, 127.0.0.1:5000/team/app:1.0 or ghcr.io/org/app:latest.',
  });
}

/** True when the first path component of a name is a registry host rather than a repository part. */
export function looksLikeRegistryHost(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost';
}

export function parseReference(input: string): ImageReference {
  if (input === '') throw invalid(input, 'it is empty');
  let rest = input;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const digestText = rest.slice(at + 1);
    if (!DIGEST.test(digestText)) throw invalid(input, `${JSON.stringify(digestText)} is not a sha256 digest (sha256: and 64 hex digits)`);
    digest = digestText as Digest;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG.test(tag)) throw invalid(input, `tag ${JSON.stringify(tag)} may hold only letters, digits, _ . - (at most 128, not starting with . or -)`);
  }
  let registry = DOCKER_HUB;
  let repository = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0 && looksLikeRegistryHost(rest.slice(0, slash))) {
    registry = rest.slice(0, slash);
    repository = rest.slice(slash + 1);
    if (!DOMAIN.test(registry)) throw invalid(input, `${JSON.stringify(registry)} is not a valid registry host[:port]`);
    if (registry === 'index.docker.io') registry = DOCKER_HUB;
  }
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  if (repository === '') throw invalid(input, 'the repository name is empty');
  for (const component of repository.split('/')) {
    if (PATH_COMPONENT.test(component)) continue;
    if (PATH_COMPONENT.test(component.toLowerCase())) throw invalid(input, 'repository names must be lowercase');
    throw invalid(input, `${JSON.stringify(component)} is not a valid repository path component`);
  }
  if (repository.length + registry.length + 1 > 255) throw invalid(input, 'the name is longer than 255 characters');
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  return Object.freeze({ registry, repository, tag, digest });
}

/** The fully qualified name without tag or digest: `docker.io/library/my-app`. */
export function fullName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The full reference: `docker.io/library/my-app:latest`, `host/x@sha256:…`. */
export function referenceString(ref: ImageReference): string {
  return fullName(ref) + suffix(ref);
}

/** The short name docker shows: `my-app`, `user/app`, `127.0.0.1:5000/foo/bar`. */
export function familiarName(ref: ImageReference): string {
  if (ref.registry !== DOCKER_HUB) return fullName(ref);
  return ref.repository.startsWith('library/') && ref.repository.split('/').length === 2
    ? ref.repository.slice('library/'.length)
    : ref.repository;
}

/** familiarName plus tag and digest: `my-app:latest`. */
export function familiarString(ref: ImageReference): string {
  return familiarName(ref) + suffix(ref);
}

function suffix(ref: ImageReference): string {
  return (ref.tag ? `:${ref.tag}` : '') + (ref.digest ? `@${ref.digest}` : '');
}

/** The manifest reference to push to or pull: the digest when the reference pins one, else the tag. */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}

/** The same repository with another tag or digest (e.g. a per-platform manifest by digest). */
export function withDigest(ref: ImageReference, digest: Digest): ImageReference {
  return Object.freeze({ registry: ref.registry, repository: ref.repository, digest });
}

/** host[:port] the registry API answers on (Docker Hub's differs from its name). */
export function registryApiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API_HOST : registry;
}

/** The hostname of a host[:port] (brackets of an IPv6 literal removed). */
export function hostnameOf(host: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (bracketed) return bracketed[1];
  const colon = host.lastIndexOf(':');
  return colon >= 0 ? host.slice(0, colon) : host;
}

/** localhost, 127.0.0.0/8 and ::1: hosts docker talks plain HTTP to without being told. */
export function isLoopbackHost(host: string): boolean {
  const hostname = hostnameOf(host).toLowerCase();
  return hostname === 'localhost' || hostname === '::1' || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}

/**
 * Whether plain HTTP (and unverified TLS) is allowed for a registry host: loopback always, as
 * docker does; others only when listed (as host:port, or as a bare hostname covering every port).
 */
export function isInsecureRegistry(host: string, insecureRegistries: readonly string[]): boolean {
  if (isLoopbackHost(host)) return true;
  const wanted = host.toLowerCase();
  return insecureRegistries.some((entry) => {
    const listed = entry.toLowerCase().replace(/^[a-z]+:\/\//, '').replace(/\/+$/, '');
    return listed === wanted || listed === hostnameOf(wanted);
  });
}
