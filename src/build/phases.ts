/**
 * Phases as data: what to run in the build container for detect and build, with which user,
 * env and arguments (spec buildpack.md "Detection" and "Build"; cnb-spec.md section 1).
 * A PhaseRunner executes them; tests check these specs without Docker.
 */
import type { BuildpackDescriptor } from '../cnb/files';
import { BUILDPACK_ENV_ALLOWLIST, Paths, buildpackDir, buildpackLayersDir } from '../cnb/spec';

export type PhaseName = 'detect' | 'build';

export interface PhaseSpec {
  name: PhaseName;
  /** The full command line run with `docker exec`. */
  cmd: string[];
  user: string;
  workingDir: string;
  /** Stream output live (build) or keep it for the error message (detect). */
  streamOutput: boolean;
  /**
   * stdout carries a result for the platform, not output for the user: the build phase's
   * wrapper sends bin/build's output to stderr and lists the layers dir on stdout.
   */
  resultOnStdout: boolean;
}

export interface TargetData {
  os: string;
  arch: string;
  variant?: string;
  distroName?: string;
  distroVersion?: string;
}

export interface PhaseContext {
  buildpack: BuildpackDescriptor;
  uid: number;
  gid: number;
  builderEnv: readonly string[];
  target: TargetData;
  stackId?: string;
}

export const PHASE_WRAPPER = `${Paths.tools}/phase.sh`;
/** Keeps only cache layers in the cache volume before a build (see assets/restore.sh). */
export const RESTORE_SCRIPT = `${Paths.tools}/restore.sh`;
/** Extra CA certificates, beside the phase wrapper, which merges them for the phase (docs/networks.md). */
export const CA_CERTIFICATES = `${Paths.tools}/ca-certificates.pem`;
/** Lists a layers dir with its metadata files (see assets/inventory.sh). */
export const INVENTORY_SCRIPT = `${Paths.tools}/inventory.sh`;
/** Home of the build user when the builder does not set one (plain images have no such user). */
export const BUILD_HOME = `${Paths.plans}/home`;
export const DETECT_PLAN = `${Paths.plans}/plan.toml`;
export const BUILD_PLAN = `${Paths.plans}/buildpack-plan.toml`;

/** The buildpack's env: the lifecycle's allow-list from the builder env, plus CNB_* for its API. */
export function buildpackEnv(ctx: PhaseContext, phase: PhaseName): string[] {
  const fromBuilder = ctx.builderEnv.filter((entry) =>
    (BUILDPACK_ENV_ALLOWLIST as readonly string[]).includes(entry.slice(0, entry.indexOf('='))),
  );
  const env = new Map(fromBuilder.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  if (!env.has('HOME')) env.set('HOME', BUILD_HOME);
  if (!env.has('PATH')) env.set('PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  if (ctx.stackId) env.set('CNB_STACK_ID', ctx.stackId);
  const bpDir = buildpackDir(ctx.buildpack.id, ctx.buildpack.version);
  env.set('CNB_BUILDPACK_DIR', bpDir);
  // No SERVICE_BINDING_ROOT: the lifecycle sets none either; buildpacks then read <platform>/bindings.
  env.set('CNB_PLATFORM_DIR', Paths.platform);
  if (phase === 'detect') {
    env.set('CNB_BUILD_PLAN_PATH', DETECT_PLAN);
  } else {
    env.set('CNB_BP_PLAN_PATH', BUILD_PLAN);
    env.set('CNB_LAYERS_DIR', buildpackLayersDir(ctx.buildpack.id));
  }
  env.set('CNB_TARGET_OS', ctx.target.os);
  env.set('CNB_TARGET_ARCH', ctx.target.arch);
  if (ctx.target.variant) env.set('CNB_TARGET_ARCH_VARIANT', ctx.target.variant);
  if (ctx.target.distroName) env.set('CNB_TARGET_DISTRO_NAME', ctx.target.distroName);
  if (ctx.target.distroVersion) env.set('CNB_TARGET_DISTRO_VERSION', ctx.target.distroVersion);
  return [...env.entries()].map(([k, v]) => `${k}=${v}`);
}

/**
 * `env -i` gives the buildpack exactly the lifecycle's env (Docker exec would add the builder's
 * whole Env); the wrapper then adds the user's /platform/env values.
 */
function command(ctx: PhaseContext, phase: PhaseName, program: string, args: string[], wrapperOptions: string[] = []): string[] {
  return ['/usr/bin/env', '-i', ...buildpackEnv(ctx, phase), '/bin/sh', PHASE_WRAPPER, ...wrapperOptions, program, ...args];
}

export function detectPhase(ctx: PhaseContext): PhaseSpec {
  const bin = `${buildpackDir(ctx.buildpack.id, ctx.buildpack.version)}/bin/detect`;
  return {
    name: 'detect',
    cmd: command(ctx, 'detect', bin, [Paths.platform, DETECT_PLAN]),
    user: `${ctx.uid}:${ctx.gid}`,
    workingDir: Paths.app,
    streamOutput: false,
    resultOnStdout: false,
  };
}

export function buildPhase(ctx: PhaseContext): PhaseSpec {
  const bin = `${buildpackDir(ctx.buildpack.id, ctx.buildpack.version)}/bin/build`;
  return {
    name: 'build',
    cmd: command(ctx, 'build', bin, [buildpackLayersDir(ctx.buildpack.id), Paths.platform, BUILD_PLAN], ['--inventory', buildpackLayersDir(ctx.buildpack.id)]),
    user: `${ctx.uid}:${ctx.gid}`,
    workingDir: Paths.app,
    streamOutput: true,
    resultOnStdout: true,
  };
}
