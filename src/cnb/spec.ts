/**
 * Names and numbers of the Cloud Native Buildpacks spec (Buildpack API 0.10, Platform API 0.13),
 * kept in one place so the rest of the code says what the spec says.
 * See ../shared/reference/cnb-spec.md sections 1, 2 and 4.
 */
export const PLATFORM_API = '0.13';
export const BUILDPACK_APIS_SUPPORTED = ['0.7', '0.8', '0.9', '0.10', '0.11', '0.12'] as const;

export const Paths = {
  layers: '/layers',
  app: '/workspace',
  platform: '/platform',
  platformEnv: '/platform/env',
  buildpacks: '/cnb/buildpacks',
  process: '/cnb/process',
  launcher: '/cnb/lifecycle/launcher',
  /** Our own helper scripts inside the build container (not part of the spec). */
  tools: '/cnb/gobuild-cnb',
  /** Plan files live outside /layers so they never become part of a layer. */
  plans: '/tmp/gobuild-cnb',
} as const;

export const DetectExit = { pass: 0, fail: 100 } as const;

export const Labels = {
  lifecycleMetadata: 'io.buildpacks.lifecycle.metadata',
  buildMetadata: 'io.buildpacks.build.metadata',
  projectMetadata: 'io.buildpacks.project.metadata',
  builderMetadata: 'io.buildpacks.builder.metadata',
  stackId: 'io.buildpacks.stack.id',
  distroName: 'io.buildpacks.base.distro.name',
  distroVersion: 'io.buildpacks.base.distro.version',
  /** Ours: every container we create carries it, so it can always be found and removed. */
  buildContainer: 'io.gobuild-cnb.build',
} as const;

/** Reproducible timestamp of every layer entry and, without SOURCE_DATE_EPOCH, of `created`. */
export const NORMALIZED_TIME = new Date('1980-01-01T00:00:01Z');

/** `paketo-buildpacks/go-build` -> `paketo-buildpacks_go-build` (spec: "escaped" id). */
export function escapeBuildpackId(id: string): string {
  return id.replace(/\//g, '_');
}

export function buildpackDir(id: string, version: string): string {
  return `${Paths.buildpacks}/${escapeBuildpackId(id)}/${version}`;
}

export function buildpackLayersDir(id: string): string {
  return `${Paths.layers}/${escapeBuildpackId(id)}`;
}

/** Process types: letters, digits, '.', '_' and '-' (spec launch.toml). */
export function isValidProcessType(type: string): boolean {
  return /^[A-Za-z0-9._-]+$/.test(type);
}

/** Environment variable names that the lifecycle passes from its own env to buildpacks. */
export const BUILDPACK_ENV_ALLOWLIST = [
  'HOME',
  'HOSTNAME',
  'HTTP_PROXY',
  'http_proxy',
  'HTTPS_PROXY',
  'https_proxy',
  'NO_PROXY',
  'no_proxy',
  'CNB_STACK_ID',
  'PATH',
  'LD_LIBRARY_PATH',
  'LIBRARY_PATH',
  'CPATH',
  'PKG_CONFIG_PATH',
] as const;
