/**
 * The run image: the base the app image is exported onto. Either an image (named by --run-image
 * or by the builder's metadata), the built-in `static` base made on the fly from nothing (CA
 * certificates from the builder, passwd/group naming the build user, /tmp), or `scratch`.
 */
import { join } from 'node:path';
import type { DockerClient, ImageSummary } from '../../docker/client';
import type { BuildOptions } from '../options';
import type { BuilderInfo } from './builder';
import type { Reporter } from '../../ui/reporter';
import { ensureImage } from '../../engine/images';
import type { Platform } from '../../image/types';
import { platformString } from '../../image/config';
import { ImageUnavailableError } from '../../errors';

export type RunBase =
  | { kind: 'image'; name: string; summary: ImageSummary }
  | { kind: 'static'; name: 'static' }
  | { kind: 'scratch'; name: 'scratch' };

export const BUILTIN_RUN_IMAGES = ['static', 'scratch'] as const;

export const STATIC_BASE_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** Where the build keeps the builder's CA bundle for the static base. */
export function staticBaseCaPath(workDir: string): string {
  return join(workDir, 'static-base', 'ca-certificates.crt');
}

export async function resolveRunBase(
  docker: DockerClient,
  options: Pick<BuildOptions, 'runImage' | 'pullPolicy'>,
  builder: BuilderInfo,
  reporter: Reporter,
): Promise<RunBase> {
  const name = options.runImage ?? builder.runImage ?? 'static';
  if (name === 'static') return { kind: 'static', name };
  if (name === 'scratch') return { kind: 'scratch', name };
  return { kind: 'image', name, summary: await ensureImage(docker, name, options.pullPolicy, reporter, 'run image') };
}

/** Without --platform: the run image's platform, or the builder's for the built-in bases. */
export function defaultPlatform(run: RunBase, builder: Pick<BuilderInfo, 'os' | 'architecture'>): Platform {
  if (run.kind === 'image') {
    const { os, architecture, variant } = run.summary;
    return variant ? { os, architecture, variant } : { os, architecture };
  }
  return { os: builder.os, architecture: builder.architecture };
}

/** The daemon holds one platform of a tag: a run image of another platform cannot be the base. */
export function checkRunImagePlatform(run: RunBase, platform: Platform): void {
  if (run.kind !== 'image') return;
  if (run.summary.os === platform.os && run.summary.architecture === platform.architecture) return;
  throw new ImageUnavailableError(
    `the run image ${run.name} is ${run.summary.os}/${run.summary.architecture}, not ${platformString(platform)}`,
    {
      hint: `Pull that platform of it (docker pull --platform ${platformString(platform)} ...) under another tag and pass it with --run-image, or use --run-image static for a static binary.`,
    },
  );
}

/** /etc/passwd and /etc/group of the static base: root and the build user, no login shells. */
export function staticBaseAccounts(uid: number, gid: number): { passwd: string; group: string } {
  const user = uid === 0 ? [] : [`cnb:x:${uid}:${gid}:cnb:/home/cnb:/sbin/nologin`];
  const group = gid === 0 ? [] : [`cnb:x:${gid}:`];
  return {
    passwd: ['root:x:0:0:root:/root:/sbin/nologin', ...user, 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin', ''].join('\n'),
    group: ['root:x:0:', ...group, 'nogroup:x:65534:', ''].join('\n'),
  };
}
