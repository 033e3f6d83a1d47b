/**
 * What a builder image tells us: the build user, and (for a CNB builder) the run image.
 * A CNB builder has the label io.buildpacks.builder.metadata and CNB_USER_ID/CNB_GROUP_ID in
 * its Env; a plain image with Go on PATH (golang:1.23) works too, as uid/gid 1000.
 */
import type { ImageSummary } from '../../docker/client';
import { Labels } from '../../cnb/spec';

export const DEFAULT_BUILD_UID = 1000;
export const DEFAULT_BUILD_GID = 1000;

export interface BuilderInfo {
  image: string;
  uid: number;
  gid: number;
  /** Run image named by the builder's metadata; undefined for a plain builder. */
  runImage?: string;
  stackId?: string;
  isCnbBuilder: boolean;
  env: readonly string[];
  os: string;
  architecture: string;
}

function envValue(env: readonly string[], name: string): string | undefined {
  const entry = env.find((e) => e.startsWith(`${name}=`));
  return entry?.slice(name.length + 1);
}

function parseId(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && value !== '' && Number.isInteger(n) && n >= 0 ? n : fallback;
}

interface BuilderMetadata {
  stack?: { runImage?: { image?: string } };
  images?: Array<{ image?: string }>;
  runImages?: Array<{ image?: string }>;
}

export function runImageFromMetadata(label: string | undefined): string | undefined {
  if (!label) return undefined;
  try {
    const meta = JSON.parse(label) as BuilderMetadata;
    return meta.images?.[0]?.image ?? meta.runImages?.[0]?.image ?? meta.stack?.runImage?.image ?? undefined;
  } catch {
    return undefined;
  }
}

export function describeBuilder(image: string, summary: ImageSummary): BuilderInfo {
  const env = summary.config.Env ?? [];
  const labels = summary.config.Labels ?? {};
  const metadataLabel = labels[Labels.builderMetadata];
  return {
    image,
    uid: parseId(envValue(env, 'CNB_USER_ID'), DEFAULT_BUILD_UID),
    gid: parseId(envValue(env, 'CNB_GROUP_ID'), DEFAULT_BUILD_GID),
    runImage: runImageFromMetadata(metadataLabel),
    stackId: labels[Labels.stackId] ?? envValue(env, 'CNB_STACK_ID'),
    isCnbBuilder: metadataLabel !== undefined,
    env,
    os: summary.os,
    architecture: summary.architecture,
  };
}
