/**
 * Checks that can be made before a build starts, so a wrong value fails in the prepare phase in
 * well under a second instead of after minutes of building: the engine address, platforms Go can
 * target, the network, flag value syntax. Pure functions except checkNetwork (one engine call).
 */
import type { DockerClient } from '../../docker/client';
import { UsageError } from '../../errors';
import type { Platform } from '../../image/types';

/**
 * `go tool dist list` (Go 1.26), as os -> architectures. A static table: the host may have no Go,
 * and the builder is only asked once the build has started.
 */
export const GO_TARGETS: Readonly<Record<string, readonly string[]>> = {
  aix: ['ppc64'],
  android: ['386', 'amd64', 'arm', 'arm64'],
  darwin: ['amd64', 'arm64'],
  dragonfly: ['amd64'],
  freebsd: ['386', 'amd64', 'arm', 'arm64', 'riscv64'],
  illumos: ['amd64'],
  ios: ['amd64', 'arm64'],
  js: ['wasm'],
  linux: ['386', 'amd64', 'arm', 'arm64', 'loong64', 'mips', 'mips64', 'mips64le', 'mipsle', 'ppc64', 'ppc64le', 'riscv64', 's390x'],
  netbsd: ['386', 'amd64', 'arm', 'arm64'],
  openbsd: ['386', 'amd64', 'arm', 'arm64', 'ppc64', 'riscv64'],
  plan9: ['386', 'amd64', 'arm'],
  solaris: ['amd64'],
  wasip1: ['wasm'],
  windows: ['386', 'amd64', 'arm64'],
};

/** OCI variants the buildpack maps to GOARM / GOARM64 / GOAMD64. */
const GO_VARIANTS: Readonly<Record<string, readonly string[]>> = {
  arm: ['v5', 'v6', 'v7'],
  arm64: ['v8'],
  amd64: ['v1', 'v2', 'v3', 'v4'],
};

export function checkPlatforms(platforms: readonly Platform[]): void {
  for (const { os, architecture, variant } of platforms) {
    const name = `${os}/${architecture}${variant ? `/${variant}` : ''}`;
    const arches = GO_TARGETS[os];
    if (!arches) {
      throw new UsageError(`--platform ${name}: Go cannot target the OS ${JSON.stringify(os)}`, {
        hint: `Use one of Go's targets (go tool dist list), e.g. linux/amd64 or linux/arm64.`,
      });
    }
    if (!arches.includes(architecture)) {
      throw new UsageError(`--platform ${name}: Go cannot target ${os}/${architecture}`, {
        hint: `Go targets ${os} on: ${arches.join(', ')} (go tool dist list).`,
      });
    }
    if (variant !== undefined && !(GO_VARIANTS[architecture] ?? []).includes(variant)) {
      const known = GO_VARIANTS[architecture];
      throw new UsageError(`--platform ${name}: ${JSON.stringify(variant)} is not a variant of ${architecture}`, {
        hint: known ? `Variants of ${architecture}: ${known.join(', ')}; or leave the variant out.` : `Leave the variant out: ${os}/${architecture}.`,
      });
    }
  }
}

/** Docker's network name grammar, plus the container:<id> mode. */
const NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function checkNetworkSyntax(network: string | undefined): void {
  if (network === undefined) return;
  const name = network.startsWith('container:') ? network.slice('container:'.length) : network;
  if (!NETWORK_NAME.test(name)) {
    throw new UsageError(`--network ${JSON.stringify(network)} is not a network name`, {
      hint: 'Use none, host, bridge, the name of a network from `docker network ls`, or container:<name>.',
    });
  }
}

/** The named network exists in the engine (a missing one would fail container creation later). */
export async function checkNetworkExists(docker: Pick<DockerClient, 'listNetworks'>, network: string | undefined): Promise<void> {
  if (network === undefined || network === 'default' || network.startsWith('container:')) return;
  const networks = await docker.listNetworks();
  if (!networks.includes(network)) {
    throw new UsageError(`--network ${network}: the Docker engine has no such network`, {
      hint: `Networks it has: ${networks.join(', ')}. Create one with docker network create ${network}, or use none for a hermetic build.`,
    });
  }
}

/** host[:port] of a registry, as docker's --insecure-registry takes it. */
export function checkInsecureRegistry(host: string): void {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:(\d{1,5}))?$/.exec(host);
  if (!m || (m[4] !== undefined && (Number(m[4]) < 1 || Number(m[4]) > 65535))) {
    throw new UsageError(`--insecure-registry ${JSON.stringify(host)} is not a registry host`, {
      hint: 'Give host or host:port without a scheme or path, e.g. --insecure-registry 127.0.0.1:5000',
    });
  }
}

/**
 * An image reference for --builder/--run-image, loosely docker's grammar: [host[:port]/]path[:tag][@digest].
 * The -t name has its own, stricter check.
 */
const IMAGE_REF = /^([A-Za-z0-9.-]+(:[0-9]+)?\/)?[a-z0-9]+([._-]+[a-z0-9]+)*(\/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$/;

export function checkImageRef(flag: string, ref: string | undefined): void {
  if (ref === undefined) return;
  if (!IMAGE_REF.test(ref)) {
    const source = flag.endsWith('=') ? `${flag}${JSON.stringify(ref)}` : `${flag} ${JSON.stringify(ref)}`;
    throw new UsageError(`${source} is not an image name`, {
      hint: 'Use lowercase letters, digits and . _ - / with an optional :tag or @sha256:digest, e.g. golang:1.23-bookworm',
    });
  }
}

/**
 * Output of the builder check folded into the restore step (assets/restore.sh): the marker says
 * the builder has no go command.
 */
export const NO_GO_MARKER = 'gobuild-cnb: no go command in the builder';

export function builderWithoutGoError(builder: string): UsageError {
  return new UsageError(`the builder ${builder} has no Go toolchain (no go on its PATH or in /usr/local/go/bin)`, {
    hint: 'Build with an image that has Go, e.g. --builder golang:1.23-bookworm (or gobuild-cnb/test-builder:bookworm), or drop --builder for the default.',
  });
}
