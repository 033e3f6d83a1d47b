/**
 * After bin/build: read what the buildpack wrote (launch.toml, <layer>.toml, SBOMs) and copy
 * out of the container only what goes into the image: the launch layers, the app dir and the
 * launcher when the builder has one. Cache layers stay in the container (or cache volume).
 * Everything copied out is unpacked by extractTar, which refuses paths that escape their dir.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseInventory, type BuildContainer } from '../build-container';
import type { BuilderInfo } from '../prepare/builder';
import { parseLaunchToml, parseLayerToml, type BuildpackDescriptor, type LaunchToml, type LayerTypes } from '../../cnb/files';
import type { TomlTable } from '../../cnb/toml';
import type { LaunchLayerEnv } from '../../cnb/launch-env';
import { Paths, buildpackLayersDir, escapeBuildpackId } from '../../cnb/spec';
import { extractTar } from '../../image/extract';
import { ExportError } from '../../errors';
import type { Reporter } from '../../ui/reporter';

export interface CollectedLayer extends LaunchLayerEnv {
  name: string;
  types: LayerTypes;
  metadata: TomlTable;
  /** Where the layer's files are on the host. */
  hostDir: string;
}

export interface CollectedFile {
  hostPath: string;
  imagePath: string;
}

export interface CollectedBuild {
  launch: LaunchToml;
  /** Launch layers, sorted by name (the lifecycle's order within a buildpack). */
  layers: CollectedLayer[];
  /** Types and [metadata] of every layer, cache layers included, for reports. */
  layerTypes: Record<string, LayerTypes>;
  layerMetadata: Record<string, TomlTable>;
  sboms: CollectedFile[];
  appHostDir: string;
  launcherHostPath?: string;
}

const RESERVED_TOMLS = new Set(['launch.toml', 'build.toml', 'store.toml']);
const SBOM_FILE = /^(.+)\.sbom\.(cdx|spdx|syft)\.json$/;

async function copyOut(container: BuildContainer, path: string, destDir: string): Promise<boolean> {
  const tar = await container.getArchive(path);
  if (!tar) return false;
  mkdirSync(destDir, { recursive: true });
  await extractTar(tar, destDir);
  return true;
}

function envFiles(layerDir: string): LaunchLayerEnv['envFiles'] {
  const files: LaunchLayerEnv['envFiles'] = [];
  for (const sub of ['env', 'env.launch']) {
    const dir = join(layerDir, sub);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) {
      const file = join(dir, name);
      if (statSync(file).isFile()) files.push({ name, content: readFileSync(file, 'utf8') });
    }
  }
  return files;
}

export async function collectBuild(
  container: BuildContainer,
  buildpack: BuildpackDescriptor,
  builder: BuilderInfo,
  destDir: string,
  reporter: Reporter,
  /** What the build phase listed on stdout when bin/build ended (see assets/phase.sh). */
  listing: string,
): Promise<CollectedBuild> {
  const escaped = escapeBuildpackId(buildpack.id);
  const layersDir = buildpackLayersDir(buildpack.id);
  const { names, files, emptyAppDirMode } = parseInventory(listing);
  reporter.detail(`buildpack wrote: ${names.join(', ') || '(nothing)'}`);

  const launchText = files.get('launch.toml');
  const launch = launchText !== undefined ? parseLaunchToml(launchText, `${layersDir}/launch.toml`) : { processes: [], labels: [] };

  const layers: CollectedLayer[] = [];
  const layerTypes: Record<string, LayerTypes> = {};
  const layerMetadata: Record<string, TomlTable> = {};
  const sboms: CollectedFile[] = [];
  for (const file of names) {
    const sbom = SBOM_FILE.exec(file);
    if (sbom) {
      const hostPath = join(destDir, 'sbom', file);
      mkdirSync(join(destDir, 'sbom'), { recursive: true });
      const content = files.get(file);
      if (content === undefined) continue;
      writeFileSync(hostPath, content);
      const owner = sbom[1] === 'launch' ? '' : `/${sbom[1]}`;
      sboms.push({ hostPath, imagePath: `${Paths.layers}/sbom/launch/${escaped}${owner}/sbom.${sbom[2]}.json` });
      continue;
    }
    if (!file.endsWith('.toml') || RESERVED_TOMLS.has(file)) continue;
    const name = file.slice(0, -'.toml'.length);
    const text = files.get(file);
    if (text === undefined) continue;
    const parsed = parseLayerToml(text, `${layersDir}/${file}`);
    layerTypes[name] = parsed.types;
    layerMetadata[name] = parsed.metadata;
    if (!parsed.types.launch) continue;
    const hostDir = join(destDir, 'layers', name);
    if (!(await copyOut(container, `${layersDir}/${name}`, join(destDir, 'layers')))) {
      throw new ExportError(`layer ${name} is marked launch=true but ${layersDir}/${name} does not exist`, {
        hint: 'The buildpack must create the layer directory it declares.',
      });
    }
    layers.push({
      name,
      types: parsed.types,
      metadata: parsed.metadata,
      hostDir,
      imagePath: `${layersDir}/${name}`,
      hasBin: existsSync(join(hostDir, 'bin')),
      hasLib: existsSync(join(hostDir, 'lib')),
      envFiles: envFiles(hostDir),
    });
  }
  layers.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const appHostDir = join(destDir, 'app', Paths.app.slice(1));
  if (emptyAppDirMode !== undefined) {
    // The usual case once the sources are removed: nothing to copy, one round trip saved.
    mkdirSync(appHostDir, { recursive: true });
    chmodSync(appHostDir, emptyAppDirMode);
  } else if (!(await copyOut(container, Paths.app, join(destDir, 'app')))) {
    throw new ExportError(`${Paths.app} is missing from the build container`);
  }

  let launcherHostPath: string | undefined;
  if (builder.isCnbBuilder && (await copyOut(container, Paths.launcher, join(destDir, 'launcher')))) {
    launcherHostPath = join(destDir, 'launcher', 'launcher');
  }
  return { launch, layers, layerTypes, layerMetadata, sboms, appHostDir, launcherHostPath };
}
