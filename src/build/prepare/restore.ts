/**
 * Steps in the build container between phases: the restorer's work on the cache volume, reading
 * the cache layers' metadata, and resetting the app dir before building another platform.
 */
import type { BuildContainer } from '../build-container';
import type { BuilderInfo } from './builder';
import type { BuildOptions } from '../options';
import type { TomlTable } from '../../cnb/toml';
import { parseLayerToml } from '../../cnb/files';
import { Paths } from '../../cnb/spec';
import { packEntries } from './input-tar';
import { appEntries } from './inputs';
import { GobuildError, ExitCode } from '../../errors';
import { NO_GO_MARKER, builderWithoutGoError } from './preflight';

import { RESTORE_SCRIPT } from '../phases';

function stepFailed(what: string, exitCode: number, output: string): GobuildError {
  return new GobuildError(`could not ${what} in the build container (exit ${exitCode})`, ExitCode.Failure, {
    details: output.trim(),
    hint: 'Rerun with --clear-cache; if it persists, rerun with --verbose --keep-container and look inside.',
  });
}

async function step(container: BuildContainer, cmd: string[], what: string): Promise<void> {
  const result = await container.runCommand(cmd);
  if (result.exitCode !== 0) throw stepFailed(what, result.exitCode, result.output);
}

export interface CacheMetadata {
  gocache?: TomlTable;
  modcache?: TomlTable;
}

/**
 * Keep only cache layers in the buildpack's layers dir (the mounted cache volume), and say
 * what the cache layers' metadata was, in one exec.
 */
export async function restoreCache(container: BuildContainer, layersDir: string, builderImage = 'image'): Promise<CacheMetadata> {
  const { exitCode, output, files } = await container.inventory(layersDir, ['/bin/sh', RESTORE_SCRIPT, layersDir]);
  // restore.sh first checks that the builder has Go: one exec less than a check of its own.
  if (exitCode !== 0 && output.includes(NO_GO_MARKER)) throw builderWithoutGoError(builderImage);
  if (exitCode !== 0) throw stepFailed('restore the build cache', exitCode, output);
  const read = (name: string): TomlTable | undefined => {
    const text = files.get(`${name}.toml`);
    if (text === undefined) return undefined;
    try {
      return parseLayerToml(text, `${name}.toml`).metadata;
    } catch {
      return undefined;
    }
  };
  return { gocache: read('gocache'), modcache: read('modcache') };
}

/** Before building another platform: the app as it came in, and only the cache layers. */
export async function resetForNextPlatform(
  container: BuildContainer,
  layersDir: string,
  builder: Pick<BuilderInfo, 'uid' | 'gid'>,
  options: Pick<BuildOptions, 'appDir' | 'project'>,
): Promise<void> {
  await step(container, ['/bin/sh', '-c', 'cd "$1" && rm -rf -- * .[!.]* ..?*; exit 0', 'sh', Paths.app], 'reset the app dir');
  await container.putArchive(packEntries(appEntries(options, builder)));
  await restoreCache(container, layersDir);
}
