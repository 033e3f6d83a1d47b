/**
 * The CNB labels on an app image and <layers>/config/metadata.toml, in the lifecycle's shape
 * (cnb-spec.md section 4), so tools that read pack-built images (pack inspect, rebase) can read
 * ours. Keys are written in a fixed order: the labels are part of the config, and the config's
 * hash is the image ID.
 */
import type { Process } from './files';
import type { TomlTable } from './toml';
import { stringifyToml } from './toml';

export interface LayerRecord {
  name: string;
  diffId: string;
  launch: boolean;
  build: boolean;
  cache: boolean;
  metadata: TomlTable;
}

export interface LifecycleMetadataInput {
  buildpack: { id: string; version: string; api: string; homepage?: string };
  layers: LayerRecord[];
  appDiffIds: string[];
  configDiffId: string;
  processTypesDiffId: string;
  launcherDiffId?: string;
  sbomDiffId?: string;
  runImage: { reference: string; image: string; topLayer?: string };
}

export function lifecycleMetadataLabel(input: LifecycleMetadataInput): string {
  const layers: Record<string, unknown> = {};
  for (const layer of input.layers) {
    layers[layer.name] = { sha: layer.diffId, data: layer.metadata, launch: layer.launch, build: layer.build, cache: layer.cache };
  }
  return JSON.stringify({
    app: input.appDiffIds.map((sha) => ({ sha })),
    ...(input.sbomDiffId ? { sbom: { sha: input.sbomDiffId } } : {}),
    config: { sha: input.configDiffId },
    ...(input.launcherDiffId ? { launcher: { sha: input.launcherDiffId } } : {}),
    'process-types': { sha: input.processTypesDiffId },
    buildpacks: [{ key: input.buildpack.id, version: input.buildpack.version, layers, store: null }],
    runImage: { topLayer: input.runImage.topLayer ?? '', reference: input.runImage.reference, image: input.runImage.image },
    stack: { runImage: { image: input.runImage.image } },
  });
}

export function buildMetadataLabel(input: {
  buildpack: { id: string; version: string; homepage?: string };
  processes: Process[];
  defaultProcess: string;
  launcher: boolean;
}): string {
  return JSON.stringify({
    bom: null,
    buildpacks: [{ id: input.buildpack.id, version: input.buildpack.version, ...(input.buildpack.homepage ? { homepage: input.buildpack.homepage } : {}) }],
    launcher: input.launcher ? { version: '', source: {} } : null,
    processes: input.processes.map((p) => ({
      type: p.type,
      command: p.command,
      args: p.args,
      direct: true,
      buildpackID: input.buildpack.id,
      ...(p.workingDir ? { 'working-dir': p.workingDir } : {}),
    })),
    'default-process': input.defaultProcess,
  });
}

/** <layers>/config/metadata.toml: what the launcher reads to find processes. */
export function configMetadataToml(input: {
  buildpack: { id: string; version: string; api: string };
  processes: Process[];
  defaultProcess: string;
}): string {
  return stringifyToml({
    'buildpack-default-process-type': input.defaultProcess,
    buildpacks: [{ id: input.buildpack.id, version: input.buildpack.version, api: input.buildpack.api }],
    processes: input.processes.map((p) => ({
      type: p.type,
      command: p.command,
      args: p.args,
      direct: true,
      'buildpack-id': input.buildpack.id,
      ...(p.workingDir ? { 'working-dir': p.workingDir } : {}),
    })),
  });
}
