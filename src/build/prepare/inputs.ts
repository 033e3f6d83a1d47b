/**
 * What goes into the build container, as tar entries (see input-tar.ts): the app, the
 * buildpack, the user's env as /platform/env files, the phase wrapper and the empty plan files.
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { BuildOptions } from '../options';
import type { BuilderInfo } from './builder';
import type { BuildpackDescriptor } from '../../cnb/files';
import { makeSourceFilter } from '../../cnb/project';
import { Paths, buildpackDir, buildpackLayersDir } from '../../cnb/spec';
import { hostTreeEntries, ROOT, type InputEntry, type Owner } from './input-tar';
import { BINDINGS_DIR, type Binding } from './bindings';
import { BUILD_HOME, BUILD_PLAN, CA_CERTIFICATES, DETECT_PLAN, INVENTORY_SCRIPT, PHASE_WRAPPER, RESTORE_SCRIPT } from '../phases';

/** The package's root: dist/build/prepare/ or src/build/prepare/ -> three levels up. */
export const PACKAGE_ROOT = join(__dirname, '..', '..', '..');
export const BUNDLED_BUILDPACK_DIR = join(PACKAGE_ROOT, 'buildpack');

const rel = (absolute: string): string => absolute.replace(/^\//, '');

/** The app dir under /workspace, owned by the build user; `.git` and project.toml excludes stay out. */
export function appEntries(options: Pick<BuildOptions, 'appDir' | 'project'>, builder: Pick<BuilderInfo, 'uid' | 'gid'>): InputEntry[] {
  const user: Owner = { uid: builder.uid, gid: builder.gid };
  return [{ kind: 'dir', path: rel(Paths.app), mode: 0o755, owner: user }, ...hostTreeEntries(options.appDir, rel(Paths.app), user, makeSourceFilter(options.project))];
}

/**
 * Service bindings under /platform/bindings/<name>/, for the build user's eyes only: never under
 * /workspace (exported) or /layers (the cache volume). See bindings.ts.
 */
export function bindingEntries(bindings: readonly Binding[], user: Owner): InputEntry[] {
  if (bindings.length === 0) return [];
  return [
    { kind: 'dir', path: rel(BINDINGS_DIR), mode: 0o700, owner: user },
    ...bindings.flatMap((b): InputEntry[] => [
      { kind: 'dir', path: `${rel(BINDINGS_DIR)}/${b.name}`, mode: 0o700, owner: user },
      ...b.files.map((f): InputEntry => ({ kind: 'file', path: `${rel(BINDINGS_DIR)}/${b.name}/${f.name}`, mode: 0o600, owner: user, content: f.content })),
    ]),
  ];
}

export function buildInputEntries(
  options: Pick<BuildOptions, 'appDir' | 'project' | 'env' | 'buildpackDir' | 'caBundle'> & { bindings?: readonly Binding[] },
  buildpack: BuildpackDescriptor,
  builder: Pick<BuilderInfo, 'uid' | 'gid'>,
): InputEntry[] {
  const user: Owner = { uid: builder.uid, gid: builder.gid };
  const dir = (path: string, owner: Owner, mode = 0o755): InputEntry => ({ kind: 'dir', path: rel(path), mode, owner });
  const bpDir = rel(buildpackDir(buildpack.id, buildpack.version));
  return [
    ...appEntries(options, builder),
    dir(Paths.layers, user),
    // The cache volume is mounted here: this entry hands its root to the build user.
    dir(buildpackLayersDir(buildpack.id), user),
    dir(Paths.platform, ROOT),
    dir(Paths.platformEnv, ROOT),
    // Readable by the build user only: these may be credentials.
    ...options.env.map((v): InputEntry => ({ kind: 'file', path: `${rel(Paths.platformEnv)}/${v.name}`, mode: 0o600, owner: user, content: v.value })),
    ...bindingEntries(options.bindings ?? [], user),
    dir(Paths.plans, user, 0o700),
    dir(BUILD_HOME, user, 0o700),
    { kind: 'file', path: rel(DETECT_PLAN), mode: 0o644, owner: user, content: '' },
    { kind: 'file', path: rel(BUILD_PLAN), mode: 0o644, owner: user, content: '' },
    dir(Paths.tools, ROOT),
    { kind: 'file', path: rel(PHASE_WRAPPER), mode: 0o755, owner: ROOT, content: readFileSync(join(PACKAGE_ROOT, 'assets', 'phase.sh')) },
    { kind: 'file', path: rel(RESTORE_SCRIPT), mode: 0o755, owner: ROOT, content: readFileSync(join(PACKAGE_ROOT, 'assets', 'restore.sh')) },
    { kind: 'file', path: rel(INVENTORY_SCRIPT), mode: 0o755, owner: ROOT, content: readFileSync(join(PACKAGE_ROOT, 'assets', 'inventory.sh')) },
    // The extra CAs the phase wrapper merges with the builder's bundle (docs/networks.md).
    ...(options.caBundle ? [{ kind: 'file', path: rel(CA_CERTIFICATES), mode: 0o644, owner: ROOT, content: options.caBundle.pem } satisfies InputEntry] : []),
    dir(Paths.buildpacks, ROOT),
    dir(bpDir.split('/').slice(0, -1).join('/'), ROOT),
    dir(bpDir, ROOT),
    ...hostTreeEntries(options.buildpackDir, bpDir, ROOT, undefined, (p) => p.startsWith('bin/')),
  ];
}
