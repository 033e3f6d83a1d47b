/**
 * Flags + GOBUILD_CNB_* environment + project.toml + defaults, resolved once into a frozen
 * BuildOptions. Every mistake a user can make on the command line fails here, before Docker
 * is touched. Precedence for build env: project.toml < --env-file < --env (as pack does).
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { UsageError } from '../errors';
import { parseProjectToml, type ProjectDescriptor } from '../cnb/project';
import { isValidProcessType } from '../cnb/spec';
import type { Platform } from '../image/types';
import { parseSourceDateEpoch } from '../image/config';
import { dockerConfigDir } from '../registry/credentials';
import { readDockerConfig, resolveCaBundle, resolveProxies, type CaBundle, type ProxyVar } from './prepare/network';
import { resolveBindings, type Binding } from './prepare/bindings';
import { checkImageRef, checkInsecureRegistry, checkNetworkSyntax, checkPlatforms } from './prepare/preflight';
import { checkPathCharacters, STDOUT_PATH } from '../image/output-path';
import { parseReference } from '../registry/reference';

export type PullPolicy = 'always' | 'if-not-present' | 'never';
export const PULL_POLICIES: readonly PullPolicy[] = ['always', 'if-not-present', 'never'];

export type OutputTarget =
  | { kind: 'docker' }
  | { kind: 'oci'; path: string }
  | { kind: 'oci-archive'; path: string }
  | { kind: 'registry' };

/** Values as commander hands them over (all optional, strings). */
export interface BuildFlags {
  tag?: string;
  builder?: string;
  runImage?: string;
  env?: string[];
  envFile?: string[];
  pullPolicy?: string;
  network?: string;
  defaultProcess?: string;
  buildpack?: string;
  keepContainer?: boolean;
  verbose?: boolean;
  json?: boolean;
  /** false with --no-color. */
  color?: boolean;
  cacheVolume?: string;
  clearCache?: boolean;
  output?: string;
  publish?: boolean;
  insecureRegistry?: string[];
  platform?: string;
  caCerts?: string[];
  /** false with --no-host-ca-certs. */
  hostCaCerts?: boolean;
  /** `--volume <dir>:/platform/bindings[/<name>][:ro]`, repeatable. */
  volume?: string[];
  /** `--netrc <file>`, repeatable. */
  netrc?: string[];
}

export interface BuildEnvVar {
  name: string;
  value: string;
}

export interface BuildOptions {
  appDir: string;
  tag: string;
  builder: string;
  /** Where the builder name came from, for --verbose. */
  builderSource: 'flag' | 'GOBUILD_CNB_BUILDER' | 'default';
  runImage?: string;
  env: readonly BuildEnvVar[];
  pullPolicy: PullPolicy;
  network?: string;
  defaultProcess?: string;
  buildpackDir: string;
  keepContainer: boolean;
  verbose: boolean;
  json: boolean;
  /** Seconds since the epoch for the config's `created`, from SOURCE_DATE_EPOCH. */
  sourceDateEpoch?: number;
  project: ProjectDescriptor;
  cacheVolume?: string;
  clearCache: boolean;
  output: OutputTarget;
  insecureRegistries: readonly string[];
  /** Empty: the daemon's own platform. */
  platforms: readonly Platform[];
  /** CA certificates the build trusts besides the builder's own (docs/networks.md). */
  caBundle?: CaBundle;
  /** Proxies of the environment or docker config that reach the build (in `env` too). */
  proxies: readonly ProxyVar[];
  /** Service bindings (--volume, --netrc), read and checked; copied to /platform/bindings (docs/networks.md). */
  bindings: readonly Binding[];
}

export interface ResolveContext {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The bundled buildpack (default for --buildpack). */
  bundledBuildpackDir: string;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The builder when none is given: one image for every go.mod. `golang:<line>-bookworm` does not
 * exist for lines before 1.20 (golang:1.13 was built on buster and stretch), and old lines' images
 * get no Debian updates; the newest Go builds any older go line, and the buildpack downloads the
 * toolchain a go.mod or BP_GO_VERSION needs when it is newer than the builder's (docs/buildpack.md).
 * Bookworm keeps the glibc of the default run image.
 */
export const DEFAULT_BUILDER = 'golang:1-bookworm';

export function defaultBuilder(env: NodeJS.ProcessEnv): Pick<BuildOptions, 'builder' | 'builderSource'> {
  if (env.GOBUILD_CNB_BUILDER) return { builder: env.GOBUILD_CNB_BUILDER, builderSource: 'GOBUILD_CNB_BUILDER' };
  return { builder: DEFAULT_BUILDER, builderSource: 'default' };
}

/** `NAME=VALUE` or `NAME` (copies the host's value). */
export function parseEnvFlag(entry: string, hostEnv: NodeJS.ProcessEnv, origin: string): BuildEnvVar {
  const eq = entry.indexOf('=');
  const name = eq === -1 ? entry : entry.slice(0, eq);
  if (!ENV_NAME.test(name)) {
    throw new UsageError(`${origin}: ${JSON.stringify(name)} is not a valid environment variable name`, {
      hint: 'Use NAME=VALUE, e.g. --env BP_GO_TARGETS=./cmd/server',
    });
  }
  if (eq !== -1) {
    const value = entry.slice(eq + 1);
    // A NUL cannot be passed on in an environment: the value would be cut short.
    if (value.includes('\0')) {
      throw new UsageError(`${origin}: the value of ${name} contains a NUL byte`, { hint: 'Environment values cannot hold NUL; remove it.' });
    }
    return { name, value };
  }
  const host = hostEnv[name];
  if (host === undefined) {
    throw new UsageError(`${origin}: ${name} is not set in your environment, so there is no value to copy`, {
      hint: `Give a value (--env ${name}=VALUE) or export ${name} first.`,
    });
  }
  return { name, value: host };
}

export function parseEnvFile(text: string, file: string, hostEnv: NodeJS.ProcessEnv): BuildEnvVar[] {
  const vars: BuildEnvVar[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    vars.push(parseEnvFlag(line, hostEnv, `${file}:${i + 1}`));
  });
  return vars;
}

/** Later entries win; order of first appearance is kept so the result is stable. */
function mergeEnv(...lists: BuildEnvVar[][]): BuildEnvVar[] {
  const merged = new Map<string, string>();
  for (const list of lists) for (const v of list) merged.set(v.name, v.value);
  return [...merged.entries()].map(([name, value]) => ({ name, value }));
}

export function parsePlatforms(spec: string | undefined): Platform[] {
  if (!spec) return [];
  const platforms = spec.split(',').map((raw): Platform => {
    const parts = raw.trim().split('/');
    if (parts.length < 2 || parts.length > 3 || parts.some((p) => !p)) {
      throw new UsageError(`--platform: ${JSON.stringify(raw)} is not os/arch[/variant]`, {
        hint: 'e.g. --platform linux/amd64,linux/arm64',
      });
    }
    const [os, architecture, variant] = parts;
    return variant ? { os, architecture, variant } : { os, architecture };
  });
  checkPlatforms(platforms);
  return platforms;
}

/** An --env-file's text; a file that cannot be read is a usage error naming it. */
function readEnvFile(path: string, given: string): string {
  if (!existsSync(path)) {
    throw new UsageError(`--env-file ${given}: no such file`, { hint: 'Give the path of a file of NAME=VALUE lines (relative to the current directory).' });
  }
  try {
    if (!statSync(path).isFile()) throw new UsageError(`--env-file ${given} is not a file`, { hint: 'Give the path of a file of NAME=VALUE lines.' });
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`--env-file ${given}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, {
      hint: 'Make the file readable by you (chmod u+r).',
    });
  }
}

export function parseOutput(output: string | undefined, publish: boolean | undefined, cwd: string): OutputTarget {
  const abs = (p: string): string => {
    checkPathCharacters(p);
    return isAbsolute(p) ? p : resolve(cwd, p);
  };
  let target: OutputTarget;
  if (!output || output === 'docker') target = { kind: 'docker' };
  else if (output === 'registry') target = { kind: 'registry' };
  else if (output === `oci-archive:${STDOUT_PATH}`) target = { kind: 'oci-archive', path: STDOUT_PATH };
  else if (output.startsWith('oci-archive:') && output.length > 'oci-archive:'.length) {
    target = { kind: 'oci-archive', path: abs(output.slice('oci-archive:'.length)) };
  } else if (output === `oci:${STDOUT_PATH}`) {
    throw new UsageError('--output oci:- names stdout, but an OCI layout is a directory', {
      hint: 'Use --output oci-archive:- to stream the image to stdout as one tar, or oci:./- for a directory named "-".',
    });
  } else if (output.startsWith('oci:') && output.length > 'oci:'.length) target = { kind: 'oci', path: abs(output.slice(4)) };
  else {
    throw new UsageError(`--output ${JSON.stringify(output)} is not one of docker, registry, oci:<dir>, oci-archive:<file.tar>`, {
      hint: 'e.g. --output oci:./out, --output oci-archive:./my-app.tar or --output oci-archive:- (stdout).',
    });
  }
  if (publish) {
    if (target.kind !== 'docker' && target.kind !== 'registry') {
      throw new UsageError('--publish and --output oci…/oci-archive… name two different outputs', {
        hint: 'Choose one: --publish pushes to the registry of the -t name.',
      });
    }
    target = { kind: 'registry' };
  }
  return target;
}

const TAG_GRAMMAR_HINT =
  'An image name is [registry[:port]/]path[:tag]: path components of lowercase letters and digits joined by . _ __ or -, ' +
  'split by /; a tag of up to 128 letters, digits, _ . - (not starting with . or -); a port of 1-65535; ' +
  'at most 255 characters. e.g. my-app, my-app:1.0, 127.0.0.1:5000/team/app:1.0';

/** The -t value: docker's reference grammar (src/registry/reference.ts), without a digest. */
export function validateTag(tag: string | undefined): string {
  if (tag === undefined) throw new UsageError('missing image name', { hint: 'Name the image with -t, e.g. gobuild-cnb build ./app -t my-app' });
  const invalid = (why: string): UsageError => new UsageError(`-t ${JSON.stringify(tag)} is not a valid image name: ${why}`, { hint: TAG_GRAMMAR_HINT });
  if (tag === '') throw invalid('it is empty');
  if (tag.includes('@')) throw invalid('a digest (@sha256:...) names an existing image, not one to make');
  let reference;
  try {
    reference = parseReference(tag);
  } catch (err) {
    throw invalid((err as Error).message.replace(/^invalid image reference "(?:[^"\\]|\\.)*": /, ''));
  }
  const port = /:(\d+)$/.exec(reference.registry)?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) throw invalid(`port ${port} is not between 1 and 65535`);
  if (tag.length > 255) throw invalid('it is longer than 255 characters');
  return tag;
}

function validateAppDir(dir: string): void {
  if (!existsSync(dir)) {
    throw new UsageError(`the app directory ${dir} does not exist`, { hint: 'Pass the directory of your Go app: gobuild-cnb build ./path/to/app -t my-app' });
  }
  if (!statSync(dir).isDirectory()) throw new UsageError(`${dir} is not a directory`, { hint: 'Pass the directory that holds go.mod.' });
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (err) {
    throw new UsageError(`cannot read the app directory ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, {
      hint: 'Make it readable by you (chmod u+rx), or build as a user who can read it.',
    });
  }
  if (entries.length === 0) {
    throw new UsageError(`the app directory ${dir} is empty`, { hint: 'Point gobuild-cnb at the directory that holds your go.mod and .go files.' });
  }
}

export function resolveBuildOptions(appArg: string | undefined, flags: BuildFlags, ctx: ResolveContext): Readonly<BuildOptions> {
  const appDir = resolve(ctx.cwd, appArg ?? '.');
  const tag = validateTag(flags.tag);
  validateAppDir(appDir);

  const pullPolicy = (flags.pullPolicy ?? ctx.env.GOBUILD_CNB_PULL_POLICY ?? 'if-not-present') as PullPolicy;
  if (!PULL_POLICIES.includes(pullPolicy)) {
    const source = flags.pullPolicy === undefined ? 'GOBUILD_CNB_PULL_POLICY=' : '--pull-policy ';
    throw new UsageError(`${source}${JSON.stringify(pullPolicy)} is not one of ${PULL_POLICIES.join(', ')}`, {
      hint: 'e.g. --pull-policy never to use only images the Docker daemon already has.',
    });
  }
  checkNetworkSyntax(flags.network);
  for (const host of flags.insecureRegistry ?? []) checkInsecureRegistry(host);
  checkImageRef('--builder', flags.builder);
  const runImageFlag = flags.runImage ?? ctx.env.GOBUILD_CNB_RUN_IMAGE;
  if (runImageFlag !== 'static' && runImageFlag !== 'scratch') checkImageRef('--run-image', runImageFlag);
  if (flags.defaultProcess !== undefined && !isValidProcessType(flags.defaultProcess)) {
    throw new UsageError(`--default-process ${JSON.stringify(flags.defaultProcess)} is not a valid process type`, {
      hint: 'Process types are binary names: letters, digits, ., _ and -.',
    });
  }

  const projectFile = join(appDir, 'project.toml');
  let project: ProjectDescriptor = { include: [], exclude: [], buildEnv: [] };
  if (existsSync(projectFile)) {
    let text: string;
    try {
      text = readFileSync(projectFile, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read ${projectFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, {
        hint: 'Make it readable by you (chmod u+r), or remove it.',
      });
    }
    try {
      project = parseProjectToml(text, projectFile);
    } catch (err) {
      throw new UsageError(`project.toml is not valid: ${(err as Error).message}`, { hint: 'Fix the file or remove it.' });
    }
  }

  const envFileVars = (flags.envFile ?? []).flatMap((file) => {
    return parseEnvFile(readEnvFile(resolve(ctx.cwd, file), file), file, ctx.env);
  });
  const flagVars = (flags.env ?? []).map((e) => parseEnvFlag(e, ctx.env, `--env ${e.split('=')[0]}`));
  // The host's proxies come first: anything the user sets wins over them.
  const userEnv = mergeEnv(project.buildEnv, envFileVars, flagVars);
  const proxies = resolveProxies(ctx.env, readDockerConfig(dockerConfigDir(ctx.env))).filter((p) => !userEnv.some((v) => v.name === p.name));
  const env = mergeEnv(proxies, userEnv);
  const bindings = resolveBindings({ volumes: flags.volume ?? [], netrcFiles: flags.netrc ?? [] }, ctx.cwd);
  const caBundle = resolveCaBundle({ hostCaCerts: flags.hostCaCerts ?? true, caCertFiles: (flags.caCerts ?? []).map((f) => resolve(ctx.cwd, f)) }, ctx.env);

  const buildpackDir = flags.buildpack ? resolve(ctx.cwd, flags.buildpack) : ctx.bundledBuildpackDir;
  if (!existsSync(buildpackDir) || !statSync(buildpackDir).isDirectory()) {
    throw new UsageError(`--buildpack ${buildpackDir} is not a directory`, { hint: 'Point --buildpack at a CNB buildpack directory (it holds buildpack.toml and bin/).' });
  }
  if (!existsSync(join(buildpackDir, 'buildpack.toml'))) {
    throw new UsageError(`--buildpack ${buildpackDir} has no buildpack.toml`, { hint: 'Point --buildpack at a CNB buildpack directory.' });
  }

  const epoch = ctx.env.SOURCE_DATE_EPOCH;
  const sourceDateEpoch = epoch !== undefined && epoch !== '' ? parseSourceDateEpoch(epoch) : undefined;

  const { builder, builderSource } = flags.builder
    ? { builder: flags.builder, builderSource: 'flag' as const }
    : defaultBuilder(ctx.env);
  if (builderSource === 'GOBUILD_CNB_BUILDER') checkImageRef('GOBUILD_CNB_BUILDER=', builder);

  const output = parseOutput(flags.output, flags.publish, ctx.cwd);
  const platforms = parsePlatforms(flags.platform ?? ctx.env.GOBUILD_CNB_PLATFORM);
  if (output.kind === 'docker' && platforms.length > 1) {
    throw new UsageError('the Docker daemon takes one platform at a time', {
      hint: 'Use --publish, --output oci:<dir> or --output oci-archive:<file> for a multi-platform image, or give one --platform.',
    });
  }
  if (flags.cacheVolume !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]+$/.test(flags.cacheVolume)) {
    throw new UsageError(`--cache-volume ${JSON.stringify(flags.cacheVolume)} is not a valid Docker volume name`, {
      hint: 'Use two or more letters, digits, _ . or -, starting with a letter or digit, e.g. --cache-volume my-app-cache',
    });
  }

  return Object.freeze({
    appDir,
    tag,
    builder,
    builderSource,
    runImage: flags.runImage ?? ctx.env.GOBUILD_CNB_RUN_IMAGE,
    env: Object.freeze(env),
    pullPolicy,
    network: flags.network,
    defaultProcess: flags.defaultProcess,
    buildpackDir,
    keepContainer: flags.keepContainer ?? false,
    verbose: flags.verbose ?? false,
    json: flags.json ?? false,
    sourceDateEpoch,
    project,
    cacheVolume: flags.cacheVolume,
    clearCache: flags.clearCache ?? false,
    output,
    insecureRegistries: Object.freeze(flags.insecureRegistry ?? []),
    platforms: Object.freeze(platforms),
    caBundle,
    proxies: Object.freeze(proxies),
    bindings: Object.freeze(bindings),
  });
}
